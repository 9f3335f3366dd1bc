"""The ranked feed through the API: relationship-aware order, stable pages, 2 calls a page."""

from __future__ import annotations

from devtools.callcount import dynamodb_calls
from tests.api.conftest import assert_problem, create_post


def ranked(api, token, limit=20, cursor=None):
    path = f"/feed?order=ranked&limit={limit}" + (f"&cursor={cursor}" if cursor else "")
    answer = api.get(path, token=token)
    assert answer.status == 200, answer.body
    return [i["post_id"] for i in answer.body["items"]], answer.body["next_cursor"]


def buy(api, shop_owner, customer, key):
    shop_id = shop_owner["shop"]["shop_id"]
    product = api.post(f"/shops/{shop_id}/products", {"name": "손두부", "price": 4500, "stock": 100,
                                                       "kind": "essential", "reorder_days": 7},
                       token=shop_owner["token"]).body
    answer = api.post("/orders", {"shop_id": shop_id, "items": [{"product_id": product["product_id"], "quantity": 2}]},
                      token=customer["token"], headers={"Idempotency-Key": key})
    assert answer.status == 201, answer.body


def two_shops(api):
    regular_shop = {**api.signup(name="단골집"), "shop": None}
    regular_shop["shop"] = api.open_shop(regular_shop["token"], name="단골 두부집")
    other_shop = {**api.signup(name="다른집"), "shop": None}
    other_shop["shop"] = api.open_shop(other_shop["token"], name="처음 보는 빵집")
    return regular_shop, other_shop


def test_my_regular_shops_post_outranks_a_newer_post_of_a_shop_i_barely_know(api, user, drain_stream):
    regular, other = two_shops(api)
    for shop in (regular, other):
        assert api.put(f"/shops/{shop['shop']['shop_id']}/follow", token=user["token"]).status == 200
    buy(api, regular, user, "k1")
    buy(api, regular, user, "k2")
    older = create_post(api, regular, "오늘 두부 나왔어요")
    newer = create_post(api, other, "갓 구운 식빵")
    drain_stream()
    recent = [i["post_id"] for i in api.get("/feed", token=user["token"]).body["items"]]
    assert recent == [newer["post_id"], older["post_id"]]
    ids, cursor = ranked(api, user["token"])
    assert ids == [older["post_id"], newer["post_id"]] and cursor is None


def test_pages_never_repeat_or_skip_while_scores_and_the_feed_change(api, user, drain_stream):
    regular, other = two_shops(api)
    for shop in (regular, other):
        api.put(f"/shops/{shop['shop']['shop_id']}/follow", token=user["token"])
    posts = [create_post(api, regular if n % 3 else other, f"게시물 {n}")["post_id"] for n in range(14)]
    drain_stream()
    seen, cursor = ranked(api, user["token"], limit=4)
    n = 0
    while cursor:
        # between pages: likes, a purchase, and new posts arrive
        api.put(f"/posts/{posts[n]}/like", token=user["token"])
        if n == 1:
            buy(api, other, user, "between-pages")
        create_post(api, other, f"새 글 {n}")
        drain_stream()
        page, cursor = ranked(api, user["token"], limit=4, cursor=cursor)
        seen += page
        n += 1
    assert len(seen) == len(set(seen)), "a post was repeated"
    assert sorted(seen) == sorted(posts), "posts were skipped, or new ones slipped into the pages"


def test_a_ranked_page_is_one_query_and_one_batch_read(api, user, drain_stream):
    regular, other = two_shops(api)
    for shop in (regular, other):
        api.put(f"/shops/{shop['shop']['shop_id']}/follow", token=user["token"])
        create_post(api, shop, "안녕하세요")
    drain_stream()
    with dynamodb_calls() as calls:
        ranked(api, user["token"])
    assert sorted(calls.operations) == ["BatchGetItem", "Query"]


def test_ranked_cursors_are_bound_to_the_reader_and_the_order(api, user, drain_stream):
    regular, _ = two_shops(api)
    api.put(f"/shops/{regular['shop']['shop_id']}/follow", token=user["token"])
    for n in range(3):
        create_post(api, regular, f"글 {n}")
    drain_stream()
    _, cursor = ranked(api, user["token"], limit=1)
    assert cursor
    stranger = api.signup()
    assert_problem(api.get(f"/feed?order=ranked&cursor={cursor}", token=stranger["token"]), 400)
    assert_problem(api.get(f"/feed?order=recent&cursor={cursor}", token=user["token"]), 400)
    assert_problem(api.get(f"/feed?order=ranked&cursor={cursor[:-3]}", token=user["token"]), 400)


def test_an_empty_feed_ranks_to_an_empty_page(api, user):
    answer = api.get("/feed?order=ranked", token=user["token"])
    assert answer.status == 200 and answer.body == {"items": [], "next_cursor": None}
