"""The subscription job: one order per period, whatever runs, races, replays and crashes.

GIVEN a subscription and a clock the test moves, WHEN the scheduled job runs (as Lambda would,
every few hours of test time, sometimes twice at once), THEN each period is ordered exactly
once at the quoted prices with the shop's discount, or skipped (paused, skipped, out of stock:
nothing charged, both sides told), and the orders count in the relationship.
"""

from __future__ import annotations

import uuid

import pytest

from chalicelib.events.stream import dispatch
from chalicelib.storage.buckets import SHARDS, shard_of
from chalicelib.wiring import container
from devtools.callcount import dynamodb_calls
from tests.api.conftest import real_dynamodb_only
from tests.api.essentials_kit import DAY, T0, make_world, race

PERIOD = 14 * DAY


@pytest.fixture
def world(api, monkeypatch):
    w = make_world(api, monkeypatch, discount=10)
    # Other tests moved the clock around the shared table: this test's job starts at its own day.
    w.run(T0 - DAY)
    return w


def run_until(world, until: float, step: float = 12 * 3600) -> None:
    """Run the job every ``step`` seconds of test time up to ``until`` (inclusive)."""
    t = world.clock.now
    while t <= until:
        world.travel_to(t)
        world.run()
        t += step


def stored_image(subscription_id: str) -> dict:
    from chalicelib.storage.models.subscriptions import SUBSCRIPTION, SubscriptionItem, subscription_pk

    return SubscriptionItem.get(subscription_pk(subscription_id), SUBSCRIPTION, consistent_read=True).serialize()


def modify_record(old: dict, new: dict) -> dict:
    """A Lambda stream record of a subscription's change, in the table's wire format."""
    return {"eventID": uuid.uuid4().hex, "eventName": "MODIFY",
            "dynamodb": {"OldImage": old, "NewImage": new, "SequenceNumber": str(uuid.uuid4().int)[:20],
                         "ApproximateCreationDateTime": T0}}




# --- exactly once per period ---------------------------------------------------------------------


def test_three_periods_pass_and_three_orders_are_placed(world, drain_stream):
    sid = world.subscribed()["subscription_id"]
    run_until(world, T0 + 2 * PERIOD + DAY)
    orders = world.orders_of(sid)
    assert len(orders) == 3
    assert sorted(o["created_at"] for o in orders) == [
        "2026-12-01T00:00:00.000Z", "2026-12-15T00:00:00.000Z", "2026-12-29T00:00:00.000Z"]
    for order in orders:
        assert [(i["name"], i["quantity"], i["price"]) for i in order["items"]] == [("원두 200g", 1, 14000)]
        assert (order["subtotal"], order["discount"], order["total"]) == (14000, 1400, 12600)
        assert order["status"] == "pending_payment" and order["buyer_id"] == world.subscriber["user"]["user_id"]
    sub = world.get(sid).body
    assert (sub["period"], sub["next_order_at"]) == (4, "2027-01-12T00:00:00.000Z")
    assert [(h["period"], h["outcome"]) for h in sub["history"]] == [(1, "ordered"), (2, "ordered"), (3, "ordered")]
    assert sub["last_order_id"] == max(o["order_id"] for o in orders)
    assert world.stock(world.beans) == 50 - 3
    drain_stream()
    # Periods 2 and 3 were announced a day before (the first was ordered as the customer subscribed).
    upcoming = world.inbox.of("subscription_upcoming", sid)
    assert [(n.data["period"], n.data["order_at"], n.data["total"]) for n in upcoming] == [
        (2, "2026-12-15T00:00:00.000Z", 12600), (3, "2026-12-29T00:00:00.000Z", 12600)]
    assert {n.recipient_id for n in upcoming} == {world.subscriber["user"]["user_id"]}
    assert not world.inbox.of("subscription_skipped", sid)


def test_runs_repeated_at_the_same_moment_place_nothing_more(world):
    sid = world.subscribed()["subscription_id"]
    for _ in range(3):
        world.run()
    world.travel_to(T0 + PERIOD)
    world.run()
    world.run()
    assert len(world.orders_of(sid)) == 2
    assert world.get(sid).body["period"] == 3


@real_dynamodb_only
def test_two_runs_at_once_for_each_of_three_periods_place_three_orders(world):
    subs = [world.subscribed()["subscription_id"] for _ in range(4)]
    for k in range(3):
        world.travel_to(T0 + k * PERIOD)
        results = race(world.run, world.run)
        assert not [r for r in results if isinstance(r, Exception)], results
    for sid in subs:
        orders = world.orders_of(sid)
        assert len(orders) == 3, (sid, len(orders))
        assert len({o["created_at"] for o in orders}) == 3
    assert world.stock(world.beans) == 50 - 3 * len(subs)


def test_a_period_retried_after_a_crash_gets_its_first_order_back(world):
    """The job committed period 1 and crashed before anything else; a retry with what it had
    read (the index still showing period 1) places nothing more."""
    from chalicelib.services.subscriptions import settle

    sid = world.subscribed()["subscription_id"]
    store = container().subscriptions
    before = store.get(sid)
    assert settle(store, before, world.clock.now) == "ordered"
    assert settle(store, before, world.clock.now) == "replayed"
    assert len(world.orders_of(sid)) == 1 and world.stock(world.beans) == 49
    assert store.get(sid).period == 2


def test_a_crash_before_the_transaction_leaves_the_period_due(world, monkeypatch):
    from chalicelib.storage.transactions import Transaction

    sid = world.subscribed()["subscription_id"]
    real = Transaction.commit

    def crash(self, attempts: int = 5):
        raise RuntimeError("the function timed out")

    monkeypatch.setattr(Transaction, "commit", crash)
    report = world.run()
    assert report.outcomes == {"failed": 1}
    monkeypatch.setattr(Transaction, "commit", real)
    assert world.orders_of(sid) == [] and world.stock(world.beans) == 50
    world.travel_to(T0 + 600)  # the next run, ten minutes later
    world.run()
    assert len(world.orders_of(sid)) == 1


# --- pause, skip, cancel -------------------------------------------------------------------------


def test_paused_for_one_period_two_orders(world):
    sid = world.subscribed()["subscription_id"]
    world.run()  # period 1
    world.travel_to(T0 + 2 * DAY)
    assert world.change(sid, {"status": "paused"}).status == 200
    run_until(world, T0 + PERIOD + 2 * DAY)  # period 2's date passes while paused
    world.travel_to(T0 + PERIOD + 3 * DAY)
    resumed = world.change(sid, {"status": "active"}).body
    assert (resumed["period"], resumed["next_order_at"]) == (3, "2026-12-29T00:00:00.000Z")
    run_until(world, T0 + 2 * PERIOD + DAY)
    assert len(world.orders_of(sid)) == 2
    assert sorted(o["created_at"] for o in world.orders_of(sid)) == [
        "2026-12-01T00:00:00.000Z", "2026-12-29T00:00:00.000Z"]


def test_skip_next_leaves_that_period_without_an_order(world):
    sid = world.subscribed()["subscription_id"]
    world.run()  # period 1
    world.travel_to(T0 + 5 * DAY)
    assert world.change(sid, {"skip_next": True}).body["period"] == 3
    run_until(world, T0 + 2 * PERIOD + DAY)
    dates = sorted(o["created_at"] for o in world.orders_of(sid))
    assert dates == ["2026-12-01T00:00:00.000Z", "2026-12-29T00:00:00.000Z"]
    history = world.get(sid).body["history"]
    assert [(h["period"], h["outcome"]) for h in history] == [(1, "ordered"), (2, "skipped"), (3, "ordered")]


def test_a_cancelled_subscription_places_nothing(world):
    sid = world.subscribed()["subscription_id"]
    assert world.change(sid, {"status": "cancelled"}).status == 200
    run_until(world, T0 + 2 * PERIOD)
    assert world.orders_of(sid) == [] and world.stock(world.beans) == 50


def test_a_pause_that_commits_first_cancels_the_periods_order(world):
    """The job read the subscription active; the subscriber paused it before the job's
    transaction: the transaction's condition fails and nothing is ordered."""
    from chalicelib.services.subscriptions import settle

    sid = world.subscribed()["subscription_id"]
    store = container().subscriptions
    read_by_job = store.get(sid)
    assert world.change(sid, {"status": "paused"}).status == 200
    assert settle(store, read_by_job, world.clock.now) == "changed"
    assert world.orders_of(sid) == [] and world.stock(world.beans) == 50


# --- stock and prices ----------------------------------------------------------------------------


def test_out_of_stock_skips_the_period_tells_both_and_charges_nothing(world, drain_stream):
    sid = world.subscribed((world.beans["product_id"], 3))["subscription_id"]
    world.api.patch(f"/products/{world.beans['product_id']}", {"stock": 2}, token=world.owner["token"])
    before = stored_image(sid)
    report = world.run()
    assert report.outcomes.get("out_of_stock") == 1
    assert world.orders_of(sid) == [] and world.stock(world.beans) == 2
    sub = world.get(sid).body
    assert (sub["period"], sub["history"][-1]["outcome"]) == (2, "out_of_stock")
    assert "원두 200g" in sub["history"][-1]["detail"]
    world.run()  # runs again: the period is decided, nothing more
    drain_stream()
    told = len(world.inbox.notices)
    assert dispatch([modify_record(before, stored_image(sid))]) == []  # the skip's record, delivered again
    assert len(world.inbox.notices) == told
    skipped = world.inbox.of("subscription_skipped", sid)
    assert sorted(n.recipient_id for n in skipped) == sorted([world.subscriber["user"]["user_id"],
                                                              world.owner["user"]["user_id"]])
    assert all(n.data["period"] == 1 and n.data["reason"] == "out_of_stock" for n in skipped)
    assert {n.source_id for n in skipped} == {f"{sid}#1"}
    world.api.patch(f"/products/{world.beans['product_id']}", {"stock": 10}, token=world.owner["token"])
    run_until(world, T0 + PERIOD)
    assert len(world.orders_of(sid)) == 1 and world.stock(world.beans) == 7


def test_a_price_change_is_told_a_day_before_and_a_later_one_waits_a_period(world, drain_stream):
    sid = world.subscribed()["subscription_id"]
    world.run()  # period 1 at 14,000
    world.travel_to(T0 + 5 * DAY)
    assert world.set_price(world.beans, 15000) == 200
    run_until(world, T0 + PERIOD - DAY)  # the announcement of period 2
    drain_stream()
    told = world.inbox.of("subscription_upcoming", sid)
    assert len(told) == 1 and told[0].data["period"] == 2 and told[0].data["price_changed"] is True
    assert [(i["previous_price"], i["price"]) for i in told[0].data["items"]] == [(14000, 15000)]
    assert told[0].at == T0 + PERIOD - DAY
    # Raised again after the subscriber was told: period 2 keeps the price they were told.
    world.travel_to(T0 + PERIOD - 12 * 3600)
    assert world.set_price(world.beans, 16000) == 200
    run_until(world, T0 + 2 * PERIOD)
    prices = [o["items"][0]["price"] for o in sorted(world.orders_of(sid), key=lambda o: o["created_at"])]
    assert prices == [14000, 15000, 16000]
    drain_stream()
    assert [n.data["items"][0]["price"] for n in world.inbox.of("subscription_upcoming", sid)] == [15000, 16000]


def test_a_price_drop_applies_at_once(world):
    sid = world.subscribed()["subscription_id"]
    world.travel_to(T0 + 60)  # (a product's version is its updated_at: the edit must come later)
    assert world.set_price(world.beans, 12000) == 200
    world.run()
    order = world.orders_of(sid)[0]
    assert (order["items"][0]["price"], order["discount"], order["total"]) == (12000, 1200, 10800)


def test_a_lower_discount_waits_for_the_announcement(world):
    sid = world.subscribed()["subscription_id"]
    world.api.patch(f"/shops/{world.shop_id}", {"subscription_discount_percent": 0}, token=world.owner["token"])
    world.run()  # period 1: the 10% the subscriber was quoted
    assert world.orders_of(sid)[0]["discount"] == 1400
    run_until(world, T0 + PERIOD)  # period 2 was announced at 0%
    assert sorted((o["created_at"], o["discount"]) for o in world.orders_of(sid))[-1][1] == 0


@real_dynamodb_only
def test_the_last_unit_raced_by_a_subscription_and_a_buyer_goes_to_one(world, drain_stream):
    from chalicelib.errors import OutOfStock
    from chalicelib.services import orders

    sid = world.subscribed()["subscription_id"]
    world.api.patch(f"/products/{world.beans['product_id']}", {"stock": 1}, token=world.owner["token"])
    buyer = world.other["user"]["user_id"]

    def buy():
        return orders.place_order(container().orders, buyer, shop_id=world.shop_id,
                                  lines=[(world.beans["product_id"], 1)], via_post_id=None, key="last-unit",
                                  now=world.clock.now)

    report, bought = race(world.run, buy)
    assert world.stock(world.beans) == 0
    drain_stream()
    skipped = world.inbox.of("subscription_skipped", sid)
    if isinstance(bought, OutOfStock):  # the subscription got it; the buyer was told (409)
        assert report.outcomes == {"ordered": 1} and len(world.orders_of(sid)) == 1
        assert bought.extra["available"] == 0 and not skipped
    else:  # the buyer got it; the period is skipped and both sides are told
        order, _ = bought
        assert order.buyer_id == buyer
        assert report.outcomes == {"out_of_stock": 1} and world.orders_of(sid) == []
        assert {n.recipient_id for n in skipped} == {world.subscriber["user"]["user_id"],
                                                      world.owner["user"]["user_id"]}


# --- the relationship and the customer card ------------------------------------------------------


def test_subscription_orders_count_and_the_card_shows_the_subscription(world, drain_stream):
    sid = world.subscribed()["subscription_id"]
    run_until(world, T0 + PERIOD)
    drain_stream()
    user_id = world.subscriber["user"]["user_id"]
    card = world.api.get(f"/shops/{world.shop_id}/customers/{user_id}", token=world.owner["token"])
    assert card.status == 404  # two periods placed, neither paid: not a customer yet
    assert world.pay_all(sid) == 2
    drain_stream()
    card = world.api.get(f"/shops/{world.shop_id}/customers/{user_id}", token=world.owner["token"])
    assert card.status == 200, card.body
    assert (card.body["order_count"], card.body["total_spent"]) == (2, 2 * 12600)
    assert card.body["breakdown"]["orders"] > 0 and card.body["breakdown"]["money"] > 0
    assert [(s["subscription_id"], s["status"], s["every_days"]) for s in card.body["subscriptions"]] == [
        (sid, "active", 14)]


# --- the job's cost and its bound ----------------------------------------------------------------


def test_the_job_queries_the_due_index_and_places_with_one_transaction_each(world):
    subs = [world.subscribed()["subscription_id"] for _ in range(3)]
    world.run()
    world.travel_to(T0 + PERIOD)
    with dynamodb_calls() as calls:
        report = world.run()
    assert report.outcomes == {"ordered": 3}
    ops = calls.by_operation()
    assert "Scan" not in ops
    assert ops["TransactWriteItems"] == 3 and ops.get("BatchGetItem", 0) <= 1  # the catalogue is cached
    # One Query per key of each day bucket read: its shards and the legacy key (each holds one page).
    assert ops["Query"] == report.days * (SHARDS + 1) and report.pages == len({shard_of(sid) for sid in subs})
    assert all(len(world.orders_of(sid)) == 2 for sid in subs)


def test_the_due_index_is_sharded_and_a_subscription_under_the_old_unsharded_key_is_still_placed(world):
    from chalicelib.storage.models.subscriptions import SUBSCRIPTION, SubscriptionItem, subscription_pk

    subs = [world.subscribed()["subscription_id"] for _ in range(4)]
    items = [SubscriptionItem.get(subscription_pk(sid), SUBSCRIPTION) for sid in subs]
    day = items[0].gsi4pk.split("#")[1]
    assert [item.gsi4pk for item in items] == [f"SUBDUE#{day}#{shard_of(sid)}" for sid in subs]
    # The first one as the code before the sharding wrote it: under the bare day bucket.
    items[0].update(actions=[SubscriptionItem.gsi4pk.set(f"SUBDUE#{day}")])
    assert world.run().outcomes == {"ordered": 4}
    assert all(len(world.orders_of(sid)) == 1 for sid in subs)
    # Its next period is under a sharded key; a second run places nothing more.
    assert SubscriptionItem.get(subscription_pk(subs[0]), SUBSCRIPTION).gsi4pk.endswith(f"#{shard_of(subs[0])}")
    assert world.run().outcomes.get("ordered", 0) == 0
    assert all(len(world.orders_of(sid)) == 1 for sid in subs)


def test_a_run_stops_at_its_deadline_and_the_next_one_finishes(world):
    from chalicelib.services.subscriptions import run_due

    subs = [world.subscribed()["subscription_id"] for _ in range(5)]
    ticks = iter(range(1000))
    first = run_due(container().subscriptions, world.clock.now, deadline=4, clock=lambda: next(ticks))
    assert first.stopped_early and 0 < sum(first.outcomes.values()) < 5
    assert first.watermark == "2026-12-01"
    second = world.run()
    assert sum(first.outcomes.values()) + second.outcomes.get("ordered", 0) == 5
    assert all(len(world.orders_of(sid)) == 1 for sid in subs)


def test_a_periods_order_is_never_credited_to_a_store_link(world, drain_stream):
    """The subscriber visited a friend's store link signed in: the subscription's order is not
    the order the link brought (no reward, no second discount); their next own order is."""
    from tests.api.commerce import paid, placed

    world.api.patch(f"/shops/{world.shop_id}", {"referral_reward": {"kind": "percent", "value": 10}},
                    token=world.owner["token"])
    paid(world.api, world.owner, world.other, world.shop_id, (world.filters["product_id"], 1))
    drain_stream()  # the friend's first paid order issues their store link
    links = world.api.get("/me/store-links", token=world.other["token"]).body["items"]
    code = next(link["code"] for link in links if link["shop_id"] == world.shop_id)
    sid = world.subscribed()["subscription_id"]
    assert world.api.post(f"/store-links/{code}/visits", token=world.subscriber["token"]).status == 200
    assert world.run().outcomes == {"ordered": 1}
    (period,) = world.orders_of(sid)
    assert period["via_store_link"] is None and period["discount"] == 1400  # the subscription's 10% only
    own = placed(world.api, world.subscriber, world.shop_id, (world.filters["product_id"], 1))
    assert own["via_store_link"] == code  # the visit is still remembered for an order it brings


def test_the_inbox_shows_a_skipped_period_to_both_sides(api, monkeypatch, drain_stream):
    """Through the notifications domain's own inbox: the subscriber and the owner read it."""
    world = make_world(api, monkeypatch, discount=10, real_inbox=True)
    world.run(T0 - DAY)
    world.subscribed((world.beans["product_id"], 3))
    world.api.patch(f"/products/{world.beans['product_id']}", {"stock": 1}, token=world.owner["token"])
    assert world.run().outcomes == {"out_of_stock": 1}
    drain_stream()
    for who, title in ((world.subscriber, "이번 정기배송은 건너뛰었어요"), (world.owner, "김민지님의 정기배송을 건너뛰었어요")):
        items = world.api.get("/me/notifications?limit=100", token=who["token"]).body["items"]
        skipped = [n for n in items if n["type"] == "subscription_skipped"]
        assert [(n["title"], n["data"]["period"]) for n in skipped] == [(title, 1)], items
