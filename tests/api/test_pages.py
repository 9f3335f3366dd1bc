"""The sharing pages (/s/{handle}, /p/{post_id}, /l/{code}) and anonymous store-link visits bound at
sign-up or login (docs/sharing.md). Runs on moto and DynamoDB Local; the browser check is
tests/browser/test_pages_browser.py.
"""

from __future__ import annotations

from html.parser import HTMLParser

from tests.api.commerce import pay, placed
from tests.api.conftest import assert_problem, create_post, upload_photo
from tests.api.test_store_links import alice, link_of, rewards_of, shop  # noqa: F401 (fixtures)

HTML = "text/html; charset=utf-8"
BROWSER = {"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Safari/604.1"}


class _Meta(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.og: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "meta" and (attrs.get("property") or "").startswith("og:"):
            self.og[attrs["property"]] = attrs.get("content") or ""


def og_of(answer) -> dict[str, str]:
    parser = _Meta()
    parser.feed(answer.raw.decode("utf-8"))
    return parser.og


def page(api, path: str, status: int = 200, **kw):
    answer = api.get(path, headers={**BROWSER, **kw.pop("headers", {})}, **kw)
    assert answer.status == status, (path, answer.status, answer.raw[:300])
    assert answer.content_type == HTML
    return answer


def cookie_of(answer) -> str:
    header = answer.headers.get("Set-Cookie") or answer.headers.get("set-cookie")
    name, _, rest = header.partition("=")
    assert name == "dongne_visitor"
    value, *attributes = rest.split("; ")
    assert {"HttpOnly", "SameSite=Lax", "Path=/"} <= set(attributes)
    return value


def test_each_page_is_korean_html_with_a_preview_and_no_personal_data(api, shop, alice):
    photo = upload_photo(api, shop["token"])
    post = create_post(api, shop, "오늘 아침 손두부 나왔어요. 따끈할 때 오세요 #망원동", photos=[photo],
                       product_ids=[shop["tofu"]])
    handle = shop["shop"]["handle"]
    pages = {f"/s/{handle}": "망원동 두부가게", f"/s/{handle.upper()}": "망원동 두부가게",
             f"/p/{post['post_id']}": "손두부", f"/l/{alice['code']}": "친구가 추천하는"}
    for path, words in pages.items():
        answer = page(api, path)
        text = answer.raw.decode("utf-8")
        og = og_of(answer)
        assert set(og) >= {"og:title", "og:description", "og:image", "og:url"}, (path, og)
        assert all(og[key] for key in ("og:title", "og:description", "og:image", "og:url")), og
        assert og["og:url"].startswith("http") and og["og:image"].startswith("https://"), og
        assert words in text and '<html lang="ko">' in text and "dongne://" in text
        assert alice["user"]["name"] not in text and alice["email"] not in text  # never a customer
        assert shop["email"] not in text
        assert answer.headers["Cache-Control"] and "script-src" not in answer.headers["Content-Security-Policy"]
    assert og_of(page(api, f"/p/{post['post_id']}"))["og:image"].endswith(photo)  # the photo, through the CDN URL
    assert og_of(page(api, f"/s/{handle}"))["og:url"].endswith(f"/s/{handle}")
    # The shop's and the post's pages are public and revalidate with their ETag.
    first = page(api, f"/s/{handle}")
    assert first.headers["Cache-Control"].startswith("public")
    assert api.get(f"/s/{handle}", headers={"If-None-Match": first.headers["ETag"]}).status == 304
    # share_url names the pages: the sharer's own link's page, else the post's page.
    shared = api.post(f"/posts/{post['post_id']}/shares", token=alice["token"]).body["share_url"]
    assert shared.endswith(f"/l/{alice['code']}") and shared.startswith("http")
    other = api.signup()
    assert api.post(f"/posts/{post['post_id']}/shares", token=other["token"]).body["share_url"].endswith(
        f"/p/{post['post_id']}")
    assert link_of(api, alice, shop["id"])["url"].endswith(f"/l/{alice['code']}")


def test_names_are_escaped_and_gone_things_are_a_404_page(api):
    owner = api.signup(name="박사장")
    made = api.open_shop(owner["token"], name='<script>alert("x")</script> 두부')
    text = page(api, f"/s/{made['handle']}").raw.decode("utf-8")
    assert "<script>" not in text and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; 두부" in text
    post = create_post(api, {**owner, "shop": made}, "<img src=x onerror=alert(1)> 오늘의 두부")
    text = page(api, f"/p/{post['post_id']}").raw.decode("utf-8")
    assert "<img src=x" not in text and "&lt;img src=x onerror=alert(1)&gt;" in text
    # A deleted post, an unknown handle, post or code, a malformed one: the 404 page, never JSON.
    gone = create_post(api, {**owner, "shop": made}, "곧 지울 글")
    assert api.delete(f"/posts/{gone['post_id']}", token=owner["token"]).status == 204
    for path in (f"/p/{gone['post_id']}", "/s/no.such.shop", "/p/01JAAAAAAAAAAAAAAAAAAAAAAA", "/l/nosuchcode1",
                 "/s/<b>", "/l/%3Cscript%3E"):
        assert "페이지를 찾을 수 없어요" in page(api, path, 404).raw.decode("utf-8")
    # The owner closes the account: the shop's page and its posts' pages are gone too.
    assert api.delete("/me", token=owner["token"]).status == 204
    page(api, f"/s/{made['handle']}", 404)
    page(api, f"/p/{post['post_id']}", 404)
    assert_problem(api.post(f"/s/{made['handle']}"), 405)  # a page is read only


def test_an_anonymous_visit_binds_at_sign_up_and_credits_the_first_paid_order(api, shop, alice):
    opened = page(api, f"/l/{alice['code']}")
    visitor = cookie_of(opened)
    assert opened.headers["Cache-Control"] == "private, no-cache"
    page(api, f"/l/{alice['code']}", headers={"Cookie": f"dongne_visitor={visitor}"})  # a reload: one visit
    page(api, f"/l/{alice['code']}", headers={"User-Agent": "facebookexternalhit/1.1;kakaotalk-scrap/1.0"})
    assert link_of(api, alice, shop["id"])["visits"] == 1  # the preview crawler is no visitor
    # The friend signs up in the app with the page's visitor id (or the cookie, in a web view).
    bob = api.post("/auth/signup", {"name": "최서연", "email": "bob-pages@example.kr", "password": "correct horse 1",
                                    "visitor_id": visitor})
    assert bob.status == 201 and "visitor_id" not in bob.body
    order = placed(api, bob.body, shop["id"], (shop["oil"], 1))
    assert order["via_store_link"] == alice["code"]  # credited as a signed-in visit is
    assert rewards_of(api, alice)["pending"] == 0
    pay(api, shop, order["order_id"])
    assert rewards_of(api, alice)["pending"] == 1800  # 10% of 18,000
    # A second account offering the same visitor id binds nothing: its order is its own.
    carol = api.signup()
    again = api.post("/auth/login", {"email": carol["email"], "password": carol["password"]},
                     headers={"Cookie": f"dongne_visitor={visitor}"})
    assert again.status == 200
    assert placed(api, carol, shop["id"], (shop["oil"], 1))["via_store_link"] is None
    # Bob logging in again with it is a no-op (idempotent; the visit was used by his order).
    assert api.post("/auth/login", {"email": "bob-pages@example.kr", "password": "correct horse 1",
                                    "visitor_id": visitor}).status == 200
    assert placed(api, {"token": bob.body["token"]}, shop["id"], (shop["oil"], 1))["via_store_link"] is None


def test_the_apps_anonymous_visit_answers_a_visitor_id_that_login_binds(api, shop, alice):
    dave = api.signup()
    visit = api.post(f"/store-links/{alice['code']}/visits", headers=BROWSER)
    assert visit.status == 200 and len(visit.body["visitor_id"]) == 32
    assert cookie_of(visit) == visit.body["visitor_id"]
    # The app keeps its visitor id across links; a forged one is replaced, never trusted.
    kept = api.post(f"/store-links/{alice['code']}/visits", {"visitor_id": visit.body["visitor_id"]})
    assert kept.body["visitor_id"] == visit.body["visitor_id"]
    forged = "A" * 32
    assert api.post(f"/store-links/{alice['code']}/visits", {"visitor_id": forged}).body["visitor_id"] != forged
    assert api.post(f"/store-links/{alice['code']}/visits", token=dave["token"]).body == {"visitor_id": None}
    # Bad visitor ids: a malformed one is a 422 on the field; a forged or unknown one is ignored,
    # and the answer is the same as without one (no enumeration).
    problem = assert_problem(api.post("/auth/login", {"email": dave["email"], "password": dave["password"],
                                                      "visitor_id": "not a visitor id"}), 422)
    assert problem["code"] == "validation_failed" and problem["errors"][0]["field"] == "body.visitor_id"
    assert api.post("/auth/login", {"email": dave["email"], "password": dave["password"],
                                    "visitor_id": forged}).status == 200
    assert_problem(api.post("/auth/login", {"email": dave["email"], "password": "wrong password",
                                            "visitor_id": visit.body["visitor_id"]}), 401)
    # Dave was signed in when he visited: that visit is remembered already; Erin binds the anonymous one.
    erin = api.signup()
    login = api.post("/auth/login", {"email": erin["email"], "password": erin["password"],
                                     "visitor_id": visit.body["visitor_id"]})
    assert login.status == 200
    assert placed(api, {"token": login.body["token"]}, shop["id"], (shop["tofu"], 1))["via_store_link"] == alice["code"]
