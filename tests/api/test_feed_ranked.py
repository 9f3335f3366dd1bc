"""The ranked feed through the API: relationship-aware order, stable pages across windows, the
reads each page makes and (on DynamoDB Local) what they cost."""

from __future__ import annotations

import random
from contextlib import contextmanager

import pytest

from chalicelib.wiring import container
from devtools.callcount import _clients, dynamodb_calls
from tests.api.conftest import TOKEN_CHECK, TOKEN_CHECK_RCU, assert_problem, create_post, real_dynamodb_only


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
    paid = api.post(f"/orders/{answer.body['order_id']}/status", {"status": "paid"}, token=shop_owner["token"])
    assert paid.status == 200, paid.body  # a purchase counts once it is paid


def two_shops(api):
    regular_shop = {**api.signup(name="단골집"), "shop": None}
    regular_shop["shop"] = api.open_shop(regular_shop["token"], name="단골 두부집")
    other_shop = {**api.signup(name="다른집"), "shop": None}
    other_shop["shop"] = api.open_shop(other_shop["token"], name="처음 보는 빵집")
    return regular_shop, other_shop


@pytest.fixture
def small_windows(monkeypatch):
    """Windows of 8 posts (two pages of 4), so a few posts span several windows."""
    from chalicelib.services import ranking

    monkeypatch.setattr(ranking, "RANKED_WINDOW", 8)


@contextmanager
def sent_requests():
    """Every DynamoDB request the app sends: ``[(operation, params)]``."""
    sent: list[tuple[str, dict]] = []

    def record(params, model, **_):
        sent.append((model.name, dict(params)))

    clients = _clients()
    for client in clients:
        client.meta.events.register("before-parameter-build.dynamodb.*", record, unique_id="ranked-sent")
    try:
        yield sent
    finally:
        for client in clients:
            client.meta.events.unregister("before-parameter-build.dynamodb.*", unique_id="ranked-sent")


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


def test_pages_never_repeat_or_skip_while_scores_and_the_feed_change(api, user, drain_stream, small_windows):
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
    assert n == 3, "14 posts in windows of 8: pages of 4, 4 | 4, 2"
    assert len(seen) == len(set(seen)), "a post was repeated"
    assert sorted(seen) == sorted(posts), "posts were skipped, or new ones slipped into the pages"


def test_a_post_deleted_between_pages_is_left_out_and_nothing_else_is(api, user, drain_stream, small_windows):
    regular, _ = two_shops(api)
    api.put(f"/shops/{regular['shop']['shop_id']}/follow", token=user["token"])
    posts = [create_post(api, regular, f"글 {n}")["post_id"] for n in range(5)]
    drain_stream()
    first, cursor = ranked(api, user["token"], limit=3)  # a window of 6 (two pages of 3) holds all 5
    gone = next(p for p in posts if p not in first)
    assert api.delete(f"/posts/{gone}", token=regular["token"]).status == 204
    drain_stream()
    second, cursor = ranked(api, user["token"], limit=3, cursor=cursor)
    assert cursor is None and len(second) == 1 and gone not in second  # one short: the page is shorter
    assert sorted(first + second) == sorted(set(posts) - {gone})


def test_a_window_page_is_two_queries_and_a_later_page_one_batch_read(api, user, drain_stream, small_windows):
    regular, other = two_shops(api)
    for shop in (regular, other):
        api.put(f"/shops/{shop['shop']['shop_id']}/follow", token=user["token"])
    for n in range(10):
        create_post(api, regular if n % 2 else other, f"안녕하세요 {n}")
    drain_stream()
    feed_table = container().settings.feed_table_name
    cursor, pages = None, []
    for _ in range(3):
        with dynamodb_calls() as calls, sent_requests() as sent:
            ids, cursor = ranked(api, user["token"], limit=4, cursor=cursor)
        assert calls.operations[:1] == TOKEN_CHECK and sent[0][0] == "GetItem"  # the token check (consistent)
        pages.append((ids, calls.operations[1:], sent[1:]))
    # Each page also reads my likes of its posts (`liked`): one BatchGetItem, last.
    assert [ops for _, ops, _ in pages] == [["Query", "Query", "BatchGetItem"], ["BatchGetItem", "BatchGetItem"],
                                            ["Query", "Query", "BatchGetItem"]]
    assert [len(ids) for ids, _, _ in pages] == [4, 4, 2] and cursor is None
    for _, _, sent in pages:
        assert not any(params.get("ConsistentRead") for _, params in sent)  # eventually consistent
    (_, first_window), (_, first_strongest), _ = pages[0][2]
    assert first_window["TableName"] == feed_table and first_window["Limit"] == 8
    assert "<" not in first_window["KeyConditionExpression"]
    assert first_strongest["IndexName"] == "gsi3" and first_strongest["Limit"] == 16
    (_, batch), _ = pages[1][2]
    assert [k["sk"]["S"] for k in batch["RequestItems"][feed_table]["Keys"]] == pages[1][0]
    (_, next_window), _, _ = pages[2][2]
    assert "sk < :below" in next_window["KeyConditionExpression"]  # below the first window: no re-read


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


def test_a_cursor_of_the_previous_design_is_refused(api, user):
    old = container().cursors.encode({"top": "01KAAAAAAAAAAAAAAAAAAAAAAA", "shown": ""},
                                     f"feed-ranked:{user['user']['user_id']}")
    assert_problem(api.get(f"/feed?order=ranked&cursor={old}", token=user["token"]), 400)


def test_an_empty_feed_ranks_to_an_empty_page_with_one_query(api, user):
    with dynamodb_calls() as calls:
        answer = api.get("/feed?order=ranked", token=user["token"])
    assert answer.status == 200 and answer.body == {"items": [], "next_cursor": None}
    assert calls.operations == TOKEN_CHECK + ["Query"]


# --- what a page costs, with the largest entries -------------------------------------------------


def fill_feed_and_relationships(reader_id: str, posts: int, shops: int, now: float) -> list:
    """``posts`` feed entries of about 1 KB each (the most an entry may be) from ``shops`` shops,
    and a relationship with each shop, written straight through the repositories; returns the pairs."""
    from chalicelib.ids import id_at
    from chalicelib.records.relationships import Pair
    from chalicelib.records.social import FeedEntry, TaggedProduct
    from chalicelib.services import relationships as rel
    from devtools.histories import random_state

    rng = random.Random(11)
    shop_ids = [id_at(now - 10_000 - n) for n in range(shops)]
    text = "오늘 아침에 갓 만든 손두부와 콩물이 나왔어요. 국산 콩만 씁니다. " * 4
    entries = []
    for n in range(posts):
        at = now - n * 1800
        products = tuple(TaggedProduct(f"01PRODUCT{n:05d}{k}00000000000"[:26], f"유기농 손두부 {k}호 (500g)", 4500, "KRW")
                         for k in range(3))
        entries.append(FeedEntry(
            reader_id=reader_id, post_id=id_at(at), shop_id=shop_ids[n % shops], shop_name="망원동 손두부 가게",
            shop_handle="mangwon_tofu", excerpt=text[:140], more=True, photo=f"uploads/{reader_id}/{n:04d}.jpg",
            photo_count=3, product_ids=[p.product_id for p in products], hashtags=["망원동", "두부", "콩물", "국산콩", "아침"],
            like_count=rng.randint(0, 40), comment_count=rng.randint(0, 5), created_at=at, version=1,
            expires_at=at + 90 * 86400, products=products, product_count=len(products)))
    deps = container()
    deps.feed.put_entries(entries)
    pairs = []
    for n, shop_id in enumerate(shop_ids):
        pair = Pair(shop_id=shop_id, user_id=reader_id, customer_name="김민지", shop_name=f"가게 {n}",
                    shop_handle=f"shop_{n}", state=random_state(rng, now), created_at=now)
        pairs.append(rel.settle(pair, now)[0])
    deps.relationships.load([(p, rel.list_rank(p)) for p in pairs], now)
    return pairs


@real_dynamodb_only  # moto's consumed capacity is a constant, not a measurement
def test_a_ranked_page_of_20_costs_at_most_10_read_units_even_with_1_kb_entries(api, user):
    import time

    from chalicelib.storage.feed import MAX_ENTRY_BYTES, compact_item, item_bytes

    reader_id = user["user"]["user_id"]
    fill_feed_and_relationships(reader_id, posts=130, shops=30, now=time.time())
    entries = container().feed.window(reader_id, None, 130)
    sizes = [item_bytes(compact_item(e)) for e in entries]
    assert len(entries) == 130 and min(sizes) > 0.9 * MAX_ENTRY_BYTES  # the worst case, near 1 KB each
    cursor, costs, seen = None, [], []
    while True:
        with dynamodb_calls() as calls:
            ids, cursor = ranked(api, user["token"], limit=20, cursor=cursor)
        # The token check (one consistent GetItem of a small profile: 1 RCU) is the request's,
        # not the page's, and so is the viewer state (my likes of the page's posts: one
        # BatchGetItem, last): the page's own reads are what the 10-unit budget is about. This
        # reader likes nothing, and DynamoDB Local reports no capacity for keys it does not find
        # (DynamoDB charges 0.5 RCU each: docs/discovery.md), so the like check adds 0 here.
        assert calls.operations[:1] == TOKEN_CHECK and calls.operations[-1] == "BatchGetItem"
        costs.append((calls.operations[1:-1], calls.capacity - TOKEN_CHECK_RCU))
        seen += ids
        if cursor is None:
            break
    assert [ops for ops, _ in costs] == [["Query", "Query"], ["BatchGetItem"], ["BatchGetItem"]] * 2 + [
        ["Query", "Query"]]
    assert all(rcu <= 10 for _, rcu in costs), costs
    assert [rcu for _, rcu in costs][1:3] == [10.0, 10.0]  # 20 items by key, 0.5 RCU each
    assert sorted(seen) == sorted(e.post_id for e in entries) and len(seen) == 130


def test_the_readers_strongest_shops_are_one_query_and_bound_every_other_shop(user):
    import time

    from chalicelib.services import relationships as rel
    from chalicelib.services.relationship_reads import reader_strongest_shops
    from chalicelib.services.scoring import strength_at

    now = time.time()
    reader_id = user["user"]["user_id"]
    pairs = fill_feed_and_relationships(reader_id, posts=0, shops=30, now=now)
    truth = {p.shop_id: strength_at(p.state, now) for p in pairs if rel.list_rank(p) is not None}
    with dynamodb_calls() as calls:
        strengths, complete = reader_strongest_shops(container().relationships, reader_id, 16, now)
    assert calls.operations == ["Query"] and not complete
    assert list(strengths) == sorted(truth, key=truth.get, reverse=True)[:16]  # strongest first, now
    assert all(strengths[shop] == pytest.approx(truth[shop]) for shop in strengths)
    assert min(strengths.values()) >= max(v for shop, v in truth.items() if shop not in strengths)
    everything, complete = reader_strongest_shops(container().relationships, reader_id, 100, now)
    assert complete and set(everything) == set(truth)
