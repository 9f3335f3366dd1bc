"""Posts: owner-only writes, limits, photos that must be the poster's own uploads."""

from __future__ import annotations

import base64
import json

import pytest

from devtools.callcount import dynamodb_calls
from tests.api.commerce import make_product
from tests.api.conftest import JPEG, TOKEN_CHECK, assert_problem, create_post, upload_photo

PRODUCT = "01JDQ3ZK8X9V5W4T3S2R1P0N9M"


def shop_posts(api, shop_id: str) -> list[dict]:
    return api.get(f"/shops/{shop_id}/posts?limit=100").body["items"]


def test_create_read_list_newest_first(api, owner):
    tofu = make_product(api, owner)["product_id"]
    first = create_post(api, owner, "첫 글 #시작", product_ids=[tofu])
    second = create_post(api, owner, "두 번째 글")
    assert first["shop_name"] == owner["shop"]["name"] and first["product_ids"] == [tofu]
    assert first["like_count"] == first["comment_count"] == first["share_count"] == 0
    assert api.get(f"/posts/{first['post_id']}").body == first
    assert [p["post_id"] for p in shop_posts(api, owner["shop"]["shop_id"])] == [second["post_id"], first["post_id"]]
    assert api.get(f"/shops/{owner['shop']['shop_id']}").body["post_count"] == 2


def test_hashtags_are_extracted_in_order_without_duplicates(api, owner):
    post = create_post(api, owner, "#망원동 두부 #Tofu #tofu 가격&#39; 이메일a#b #123 #콩물_한정")
    assert post["hashtags"] == ["망원동", "tofu", "콩물_한정"]


def test_only_the_owner_posts(api, owner, user):
    answer = api.post(f"/shops/{owner['shop']['shop_id']}/posts", {"text": "남의 가게에 글쓰기"}, token=user["token"])
    assert_problem(answer, 403)
    assert_problem(api.post("/shops/01JUNKNOWNSHOP00000000000/posts", {"text": "x"}, token=user["token"]), 404)
    assert shop_posts(api, owner["shop"]["shop_id"]) == []


def test_create_post_is_two_dynamodb_calls(api, owner):
    with dynamodb_calls() as calls:
        answer = api.post(f"/shops/{owner['shop']['shop_id']}/posts", {"text": "두 번의 호출"}, token=owner["token"])
    assert answer.status == 201
    assert calls.operations == TOKEN_CHECK + ["GetItem", "TransactWriteItems"]


def test_korean_text_limit_counts_characters(api, owner):
    shop_id = owner["shop"]["shop_id"]
    assert api.post(f"/shops/{shop_id}/posts", {"text": "가" * 2000}, token=owner["token"]).status == 201
    problem = assert_problem(api.post(f"/shops/{shop_id}/posts", {"text": "가" * 2001}, token=owner["token"]), 422)
    assert problem["errors"][0]["field"] == "body.text"
    # Decomposed jamo (NFD) count as the syllables they compose to.
    nfd = "\u1100\u1161" * 2000  # "가" decomposed, 4000 code points
    assert api.post(f"/shops/{shop_id}/posts", {"text": nfd}, token=owner["token"]).status == 201
    assert api.get(f"/shops/{shop_id}").body["post_count"] == 2


@pytest.mark.parametrize("body", [
    {},
    {"text": "   "},
    {"text": 123},
    {"text": "x", "photos": "uploads/a/b.jpg"},
    {"text": "x", "photos": ["../../etc/passwd"]},
    {"text": "x", "product_ids": ["not-a-ulid"]},
    {"text": "x", "product_ids": [PRODUCT, PRODUCT]},
    {"text": "x", "product_ids": [f"01JDQ3ZK8X9V5W4T3S2R1P0N{n:02d}" for n in range(21)]},
    {"text": "x", "like_count": 1000},
    {"text": "x", "shop_id": "someone-else"},
])
def test_bad_posts_are_422_and_nothing_is_written(api, owner, body):
    shop_id = owner["shop"]["shop_id"]
    assert_problem(api.post(f"/shops/{shop_id}/posts", body, token=owner["token"]), 422)
    assert shop_posts(api, shop_id) == []
    assert api.get(f"/shops/{shop_id}").body["post_count"] == 0


def test_up_to_ten_photos(api, owner):
    keys = [upload_photo(api, owner["token"]) for _ in range(11)]
    shop_id = owner["shop"]["shop_id"]
    problem = assert_problem(api.post(f"/shops/{shop_id}/posts", {"photos": keys}, token=owner["token"]), 422)
    assert problem["errors"][0]["field"] == "body.photos"
    post = create_post(api, owner, "", photos=keys[:10])
    assert post["photos"] == keys[:10] and len(post["photo_urls"]) == 10
    assert len(shop_posts(api, shop_id)) == 1


def test_someone_elses_upload_key_is_refused(api, owner, user):
    theirs = upload_photo(api, user["token"])
    answer = api.post(f"/shops/{owner['shop']['shop_id']}/posts", {"text": "훔친 사진", "photos": [theirs]},
                      token=owner["token"])
    problem = assert_problem(answer, 422)
    assert problem["errors"][0]["field"] == "body.photos.0"
    assert shop_posts(api, owner["shop"]["shop_id"]) == []


def test_a_key_never_uploaded_is_refused(api, owner):
    form = api.post("/uploads", {"content_type": "image/png"}, token=owner["token"]).body
    answer = api.post(f"/shops/{owner['shop']['shop_id']}/posts", {"text": "빈 사진", "photos": [form["key"]]},
                      token=owner["token"])
    assert "not uploaded" in assert_problem(answer, 422)["errors"][0]["message"]


def test_an_upload_over_the_cap_or_of_another_type_is_refused(api, owner, monkeypatch):
    # moto does not enforce POST policies (S3 does), so the post re-checks what was stored.
    import chalicelib.services.limits as limits

    wrong_type = upload_photo(api, owner["token"], content_type="image/png", sent_type="text/html")
    big = upload_photo(api, owner["token"], content=JPEG * 4)
    monkeypatch.setattr(limits, "MAX_UPLOAD_BYTES", len(JPEG) * 2)
    shop_id = owner["shop"]["shop_id"]
    for key in (wrong_type, big):
        assert_problem(api.post(f"/shops/{shop_id}/posts", {"photos": [key]}, token=owner["token"]), 422)
    assert shop_posts(api, shop_id) == []


def test_upload_form_is_a_tight_policy(api, user):
    answer = api.post("/uploads", {"content_type": "image/webp"}, token=user["token"])
    assert answer.status == 201
    form = answer.body
    user_id = user["user"]["user_id"]
    assert form["key"].startswith(f"uploads/{user_id}/") and form["key"].endswith(".webp")
    assert form["fields"]["key"] == form["key"] and form["fields"]["Content-Type"] == "image/webp"
    assert form["max_bytes"] == 10 * 1024 * 1024
    policy = json.loads(base64.b64decode(form["fields"]["policy"]))
    conditions = policy["conditions"]
    assert ["content-length-range", 1, 10 * 1024 * 1024] in conditions
    assert {"Content-Type": "image/webp"} in conditions and {"key": form["key"]} in conditions
    assert {"bucket": "dongne-test-media"} in conditions


@pytest.mark.parametrize("body", [{"content_type": "image/gif"}, {"content_type": "text/html"}, {},
                                  {"content_type": "image/jpeg", "key": "uploads/x/evil.jpg"}])
def test_upload_types_are_allow_listed(api, user, body):
    assert_problem(api.post("/uploads", body, token=user["token"]), 422)


def test_uploads_need_a_token(api):
    assert_problem(api.post("/uploads", {"content_type": "image/jpeg"}, token="bad"), 401)


def test_owner_edits_text_photos_and_products(api, owner):
    photo = upload_photo(api, owner["token"])
    post = create_post(api, owner, "원래 글 #원래", photos=[photo])
    second = upload_photo(api, owner["token"], content_type="image/heic")
    tofu = make_product(api, owner)["product_id"]
    answer = api.patch(f"/posts/{post['post_id']}", {"text": "고친 글 #고침", "photos": [second, photo],
                                                     "product_ids": [tofu]}, token=owner["token"])
    assert answer.status == 200
    edited = answer.body
    assert edited["text"] == "고친 글 #고침" and edited["hashtags"] == ["고침"]
    assert edited["photos"] == [second, photo] and edited["product_ids"] == [tofu]
    assert edited["created_at"] == post["created_at"] and edited["updated_at"] >= post["updated_at"]
    assert api.get(f"/posts/{post['post_id']}").body == edited


def test_edit_cannot_empty_a_post_or_add_foreign_photos(api, owner, user):
    post = create_post(api, owner, "내용")
    assert_problem(api.patch(f"/posts/{post['post_id']}", {"text": ""}, token=owner["token"]), 422)
    theirs = upload_photo(api, user["token"])
    assert_problem(api.patch(f"/posts/{post['post_id']}", {"photos": [theirs]}, token=owner["token"]), 422)
    assert_problem(api.patch(f"/posts/{post['post_id']}", {"like_count": 5}, token=owner["token"]), 422)
    assert api.get(f"/posts/{post['post_id']}").body == post


def test_delete_is_owner_only_and_lowers_the_count(api, owner, user):
    post = create_post(api, owner)
    assert_problem(api.delete(f"/posts/{post['post_id']}", token=user["token"]), 403)
    assert api.get(f"/posts/{post['post_id']}").status == 200
    assert api.delete(f"/posts/{post['post_id']}", token=owner["token"]).status == 204
    assert_problem(api.get(f"/posts/{post['post_id']}"), 404)
    assert_problem(api.delete(f"/posts/{post['post_id']}", token=owner["token"]), 404)
    assert api.get(f"/shops/{owner['shop']['shop_id']}").body["post_count"] == 0


def test_shop_posts_page_and_unknown_shop(api, owner):
    posts = [create_post(api, owner, f"글 {n}") for n in range(3)]
    shop_id = owner["shop"]["shop_id"]
    first = api.get(f"/shops/{shop_id}/posts?limit=2").body
    rest = api.get(f"/shops/{shop_id}/posts?limit=2&cursor={first['next_cursor']}").body
    assert [p["post_id"] for p in first["items"] + rest["items"]] == [p["post_id"] for p in reversed(posts)]
    assert_problem(api.get("/shops/01JUNKNOWNSHOP00000000000/posts"), 404)
    other = api.open_shop(api.signup()["token"])
    assert_problem(api.get(f"/shops/{other['shop_id']}/posts?cursor={first['next_cursor']}"), 400)
    assert api.get(f"/shops/{other['shop_id']}/posts").body == {"items": [], "next_cursor": None}


def test_unknown_post_is_404(api, user):
    assert_problem(api.get("/posts/01JUNKNOWNPOST00000000000"), 404)
    assert_problem(api.patch("/posts/01JUNKNOWNPOST00000000000", {"text": "x"}, token=user["token"]), 404)


def test_an_edit_based_on_a_stale_read_is_409(api, owner):
    from chalicelib.wiring import container
    from chalicelib.errors import Conflict

    post = create_post(api, owner, "처음")
    repo = container().posts
    stale = repo.get_post(post["post_id"], consistent=True)
    repo.update_post(stale, {"text": "먼저 고친 글"}, stale.updated_at + 1)
    with pytest.raises(Conflict):
        repo.update_post(stale, {"text": "늦게 고친 글"}, stale.updated_at + 2)
    assert api.get(f"/posts/{post['post_id']}").body["text"] == "먼저 고친 글"
