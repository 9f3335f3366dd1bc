"""Faults injected on the request path and in the stream handlers (``tests/faults.py``).

GIVEN DynamoDB throttling (``ProvisionedThroughputExceededException``, ``ThrottlingException``),
cancelling transactions with ``TransactionConflict``, or not answering (``ReadTimeoutError``,
``ConnectTimeoutError``) — briefly or for good — WHEN clients order, follow, like and read, and
the stream function runs, THEN the answer is correct or a 503 with ``Retry-After``, never a 500;
nothing is half-written (an order, its stock and its idempotency record go together or not at
all), no follow is lost or counted twice, and a stream batch that crashes half-way is retried
from the failed record to the same result as a clean run. Runs on moto and on DynamoDB Local.
"""

from __future__ import annotations

import pytest

from chalicelib.events.stream import dispatch
from tests.api.commerce import buy, make_product, stock
from tests.api.conftest import assert_problem, create_post
from tests.api.relationships_kit import JOURNEY, make_world, records
from tests.faults import conflict, connect_timeout, inject, read_timeout, throttling, throughput_exceeded, touches

BUSY = [pytest.param(throughput_exceeded, id="ProvisionedThroughputExceeded"),
        pytest.param(throttling, id="Throttling"),
        pytest.param(read_timeout, id="ReadTimeout"),
        pytest.param(connect_timeout, id="ConnectTimeout")]


def assert_unavailable(answer) -> None:
    problem = assert_problem(answer, 503)
    assert int(answer.headers["Retry-After"]) >= 1, answer.headers
    assert "Traceback" not in str(problem)


@pytest.fixture
def shop(api, owner):
    product = make_product(api, owner, name="손두부", price=4500, stock=10)
    return {**owner, "id": owner["shop"]["shop_id"], "tofu": product["product_id"]}


def orders_of(api, user) -> list[dict]:
    return api.get("/me/orders", token=user["token"]).body["items"]


# --- reads --------------------------------------------------------------------------------------

@pytest.mark.parametrize("fault", BUSY)
def test_a_read_that_keeps_failing_is_a_503_with_retry_after(api, owner, user, fault):
    post = create_post(api, owner)
    with inject("GetItem", fault()) as injected:
        assert_unavailable(api.get(f"/posts/{post['post_id']}"))
    assert injected.injected >= 2  # botocore retried before giving up
    with inject("Query", fault()):
        assert_unavailable(api.get("/feed", token=user["token"]))
    assert api.get(f"/posts/{post['post_id']}").status == 200  # and it recovers


@pytest.mark.parametrize("fault", BUSY)
def test_a_brief_failure_is_absorbed_by_the_retries(api, owner, fault):
    post = create_post(api, owner)
    with inject("GetItem", fault(), times=1) as injected:
        answer = api.get(f"/posts/{post['post_id']}")
    assert answer.status == 200 and answer.body["post_id"] == post["post_id"]
    assert injected.injected == 1 and injected.attempts == 2


# --- orders: all or nothing, and once ----------------------------------------------------------

@pytest.mark.parametrize("fault", [pytest.param(conflict, id="TransactionConflict"), *BUSY])
def test_an_order_that_cannot_be_written_is_a_503_and_nothing_of_it_exists(api, shop, user, fault):
    with inject("TransactWriteItems", fault()):
        assert_unavailable(buy(api, user, shop["id"], (shop["tofu"], 2), key="order-1"))
    assert stock(api, shop["tofu"]) == 10 and orders_of(api, user) == []
    first = buy(api, user, shop["id"], (shop["tofu"], 2), key="order-1")  # the client retries, same key
    again = buy(api, user, shop["id"], (shop["tofu"], 2), key="order-1")
    assert first.status == again.status == 201 and first.body["order_id"] == again.body["order_id"]
    assert stock(api, shop["tofu"]) == 8 and len(orders_of(api, user)) == 1


@pytest.mark.parametrize("fault", [pytest.param(conflict, id="TransactionConflict"), *BUSY])
def test_an_order_whose_first_attempts_fail_is_placed_once(api, shop, user, fault):
    with inject("TransactWriteItems", fault(), times=2) as injected:
        answer = buy(api, user, shop["id"], (shop["tofu"], 3), key="order-2")
    assert answer.status == 201, answer.body
    assert injected.injected == 2
    assert stock(api, shop["tofu"]) == 7 and [o["order_id"] for o in orders_of(api, user)] == [answer.body["order_id"]]


# --- follows and likes: never lost, never counted twice ----------------------------------------

def follower_count(api, shop_id: str) -> int:
    return api.get(f"/shops/{shop_id}").body["follower_count"]


@pytest.mark.parametrize("fault", [pytest.param(conflict, id="TransactionConflict"), *BUSY])
def test_a_follow_is_written_once_or_not_at_all(api, owner, user, fault):
    shop_id = owner["shop"]["shop_id"]
    with inject("TransactWriteItems", fault()):
        assert_unavailable(api.put(f"/shops/{shop_id}/follow", token=user["token"]))
    assert follower_count(api, shop_id) == 0
    assert api.get("/me/following", token=user["token"]).body["items"] == []
    with inject("TransactWriteItems", fault(), times=2):
        # 200 once botocore's or our retries get through; a 503 when botocore's retry quota (spent
        # by the faults above: 10 units a timeout) lets it retry no more — then the client retries
        assert api.put(f"/shops/{shop_id}/follow", token=user["token"]).status in (200, 503)
    assert api.put(f"/shops/{shop_id}/follow", token=user["token"]).status == 200  # a client retry
    assert follower_count(api, shop_id) == 1
    assert [s["shop_id"] for s in api.get("/me/following", token=user["token"]).body["items"]] == [shop_id]


def test_a_like_under_conflicts_counts_once(api, owner, user):
    post = create_post(api, owner)
    with inject("TransactWriteItems", conflict(), times=3):
        assert api.put(f"/posts/{post['post_id']}/like", token=user["token"]).status == 200
    other = api.signup()
    with inject("TransactWriteItems", conflict()):
        assert_unavailable(api.put(f"/posts/{post['post_id']}/like", token=other["token"]))
    assert api.get(f"/posts/{post['post_id']}").body["like_count"] == 1


# --- the stream: a crash half-way through a batch ---------------------------------------------

def scores(world) -> dict:
    card = world.card().body
    return {"strength": card["strength"], "breakdown": card["breakdown"], "tier": card["tier"]}


@pytest.fixture
def world(api, monkeypatch):
    return make_world(api, monkeypatch)


def test_a_relationships_batch_that_crashes_half_way_is_retried_to_the_same_scores(api, world, monkeypatch):
    from chalicelib.storage.relationships import RelationshipsRepository

    batch = [r for name in JOURNEY for r in records(name, world.ids)]
    real_put = RelationshipsRepository.put_pair
    seen = {"writes": 0}
    crash_at = len(batch) // 2

    def crash_once(self, *args, **kwargs):
        seen["writes"] += 1
        if seen["writes"] == crash_at:
            raise ConnectionError("injected: the connection dropped")
        return real_put(self, *args, **kwargs)

    monkeypatch.setattr(RelationshipsRepository, "put_pair", crash_once)
    failed = dispatch(batch)
    assert len(failed) == 1, failed
    position = [r["dynamodb"]["SequenceNumber"] for r in batch].index(failed[0])
    assert 0 < position < len(batch)
    assert dispatch(batch[position:]) == []  # Lambda retries from the failed record on
    assert dispatch(batch[position:]) == []  # and once more, as a replay would
    crashed = scores(world)

    # the same events, on another pair, with no crash at all
    monkeypatch.setattr(RelationshipsRepository, "put_pair", real_put)
    clean_world = make_world(api, monkeypatch)
    assert dispatch([r for name in JOURNEY for r in records(name, clean_world.ids)]) == []
    assert scores(clean_world) == crashed


def test_a_relationships_batch_under_throttling_reports_the_record_and_loses_nothing(api, world, monkeypatch):
    batch = [r for name in JOURNEY for r in records(name, world.ids)]
    with inject("PutItem", throughput_exceeded(), rate=0.5, seed=3):
        failed = dispatch(batch)
    position = [r["dynamodb"]["SequenceNumber"] for r in batch].index(failed[0]) if failed else len(batch)
    while failed:  # Lambda retries from the failed record until the batch goes through
        failed = dispatch(batch[position:])
        position = position if not failed else [r["dynamodb"]["SequenceNumber"] for r in batch].index(failed[0])
    clean_world = make_world(api, monkeypatch)
    assert dispatch([r for name in JOURNEY for r in records(name, clean_world.ids)]) == []
    assert scores(world) == scores(clean_world)


@pytest.mark.skip(reason="the subscription job (정기배송) is being built on another branch: when it lands, "
                         "crash it half-way through a run of due subscriptions here and assert each period "
                         "places exactly one order and sends one notification")
def test_the_subscription_job_crashing_half_way_places_each_period_once():
    """The place for the subscription job's crash test."""


# --- hot items: a popular post's counters and the orders placed from it ------------------------

def test_orders_from_a_post_do_not_conflict_with_its_likes(api, shop, user):
    """Every transaction naming the post item conflicts (a post liked many times a second): likes
    wait and retry, but the order's check names the post's immutable marker and goes through."""
    post = create_post(api, shop, "오늘의 두부", product_ids=[shop["tofu"]])
    hot = ("POST#" + post["post_id"], "POST")
    with inject("TransactWriteItems", conflict(), when=touches(hot)) as injected:
        assert_unavailable(api.put(f"/posts/{post['post_id']}/like", token=user["token"]))
        answer = buy(api, user, shop["id"], (shop["tofu"], 1), via_post_id=post["post_id"])
    assert answer.status == 201, answer.body
    assert injected.injected >= 2 and stock(api, shop["tofu"]) == 9


def test_a_post_from_before_markers_gets_one_when_an_order_names_it(api, shop, user):
    from chalicelib.storage.models.social import POST_MARKER_SK, PostMarkerItem

    post = create_post(api, shop, product_ids=[shop["tofu"]])
    PostMarkerItem(f"POST#{post['post_id']}", POST_MARKER_SK).delete()
    assert buy(api, user, shop["id"], (shop["tofu"], 1), via_post_id=post["post_id"]).status == 201
    assert PostMarkerItem.get(f"POST#{post['post_id']}", POST_MARKER_SK, consistent_read=True).shop_id == shop["id"]
    other = api.signup()
    other_shop = api.open_shop(other["token"])
    foreign = create_post(api, {**other, "shop": other_shop})
    PostMarkerItem(f"POST#{foreign['post_id']}", POST_MARKER_SK).delete()
    assert_problem(buy(api, user, shop["id"], (shop["tofu"], 1), via_post_id=foreign["post_id"]), 422)
    assert stock(api, shop["tofu"]) == 9
