"""The pure rules of essentials: periods, subscribers' changes, quotes, notices, reorder items."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from chalicelib.errors import Conflict, Invalid, SubscriptionPeriodPassed, Unavailable
from chalicelib.records.accounts import Shop
from chalicelib.records.commerce import OrderLine
from chalicelib.records.subscriptions import (
    ACTIVE,
    CANCELLED,
    DAY_SECONDS,
    OUT_OF_STOCK,
    PAUSED,
    PeriodOutcome,
    Purchase,
    Reorder,
    StaleReorder,
    Subscription,
    SubscriptionLine,
)
from chalicelib.services import reorders
from chalicelib.services.subscriptions import apply_change, next_due, notices_for, quoted_pricing

DAY = DAY_SECONDS
T0 = 1796083200.0


def subscription(**overrides) -> Subscription:
    base = Subscription(subscription_id="S1", subscriber_id="U1", subscriber_name="김민지", shop_id="SH1",
                        shop_name="성수 커피로스터스", owner_id="O1",
                        items=(SubscriptionLine("P1", "원두 200g", 2, 14000),), every_days=14, status=ACTIVE,
                        period=1, next_order_at=T0, discount_percent=10, quoted_at=T0, created_at=T0, updated_at=T0,
                        revision=1)
    return replace(base, **overrides)


def shop(percent: int = 0) -> Shop:
    return Shop("SH1", "O1", "성수", "seongsu", "", "", 0, 0, T0, subscription_discount_percent=percent)


# --- periods -------------------------------------------------------------------------------------


def test_next_due_keeps_the_cadence_and_lets_missed_periods_pass():
    assert next_due(T0, 14, 1, T0) == (T0 + 14 * DAY, 2)
    assert next_due(T0, 14, 1, T0 + 14 * DAY) == (T0 + 28 * DAY, 3)  # exactly due again: that one passes too
    assert next_due(T0, 14, 1, T0 + 40 * DAY) == (T0 + 42 * DAY, 4)


def test_the_next_action_is_the_announcement_a_day_before_then_the_order():
    fresh = subscription()
    assert fresh.action_at == T0  # subscribed now: the first order is due now, nothing to announce
    later = subscription(next_order_at=T0 + 10 * DAY)
    assert later.needs_announcing and later.action_at == T0 + 9 * DAY
    announced = replace(later, announced_period=1, quoted_at=T0 + 9 * DAY)
    assert not announced.needs_announcing and announced.action_at == T0 + 10 * DAY
    assert replace(later, status=PAUSED).action_at is None and replace(later, status=CANCELLED).action_at is None


def test_subscribers_changes():
    sub = subscription(period=2, next_order_at=T0 + 14 * DAY)
    assert apply_change(sub, status=None, every_days=None, skip_next=False, now=T0) is sub
    paused = apply_change(sub, status=PAUSED, every_days=None, skip_next=False, now=T0)
    assert (paused.status, paused.revision) == (PAUSED, 2)
    resumed = apply_change(paused, status=ACTIVE, every_days=None, skip_next=False, now=T0 + 30 * DAY)
    assert (resumed.period, resumed.next_order_at) == (4, T0 + 42 * DAY)
    longer = apply_change(sub, status=None, every_days=30, skip_next=True, now=T0)
    assert (longer.period, longer.next_order_at, longer.history[-1].outcome) == (3, T0 + 44 * DAY, "skipped")
    with pytest.raises(Conflict):
        apply_change(paused, status=None, every_days=None, skip_next=True, now=T0)
    gone = apply_change(sub, status=CANCELLED, every_days=None, skip_next=False, now=T0)
    assert apply_change(gone, status=CANCELLED, every_days=None, skip_next=False, now=T0) is gone
    for change in ({"status": ACTIVE}, {"every_days": 21}):
        with pytest.raises(Conflict):
            apply_change(gone, **{"status": None, "every_days": None, "skip_next": False, **change}, now=T0)


def test_a_skip_is_for_the_period_named_once():
    sub = subscription(period=2, next_order_at=T0 + 14 * DAY)
    skipped = apply_change(sub, status=None, every_days=None, skip_next=True, skip_period=2, now=T0)
    assert (skipped.period, skipped.history[-1].period, skipped.revision) == (3, 2, sub.revision + 1)
    # The same tap again (a twin or a replay): period 2 is decided and no order was placed for it.
    assert apply_change(skipped, status=None, every_days=None, skip_next=True, skip_period=2, now=T0) is skipped
    short = replace(sub, period=3, history=(PeriodOutcome(2, OUT_OF_STOCK, T0 + 14 * DAY, T0 + 14 * DAY),))
    assert apply_change(short, status=None, every_days=None, skip_next=True, skip_period=2, now=T0) is short
    # Ordered before the tap got there, or not on record: refused, and period 3 is not skipped instead.
    ordered = replace(sub, period=3, history=(PeriodOutcome(2, "ordered", T0 + 14 * DAY, T0 + 14 * DAY, "O2"),))
    with pytest.raises(SubscriptionPeriodPassed) as refused:
        apply_change(ordered, status=None, every_days=None, skip_next=True, skip_period=2, now=T0)
    assert (refused.value.extra["order_id"], refused.value.extra["next_period"]) == ("O2", 3)
    with pytest.raises(SubscriptionPeriodPassed):
        apply_change(ordered, status=None, every_days=None, skip_next=True, skip_period=1, now=T0)
    with pytest.raises(Invalid):  # a period after the one ahead
        apply_change(sub, status=None, every_days=None, skip_next=True, skip_period=3, now=T0)
    # Already skipped, with a pause in the same request: the pause still applies.
    paused = apply_change(skipped, status=PAUSED, every_days=None, skip_next=True, skip_period=2, now=T0)
    assert (paused.status, paused.period) == (PAUSED, 3)


def test_history_is_a_bounded_window():
    sub = subscription()
    for _ in range(20):
        sub = apply_change(sub, status=None, every_days=None, skip_next=True, now=T0)
    assert len(sub.history) == 6 and sub.history[-1].period == 20 and sub.period == 21


# --- quotes --------------------------------------------------------------------------------------


def test_a_period_is_charged_the_lower_of_quote_and_price_and_the_higher_discount():
    price = quoted_pricing(subscription())
    dearer = (OrderLine("P1", "원두 200g", 16000, 2, "essential", 14),)
    lines, discount = price(shop(0), dearer)
    assert (lines[0].price, discount) == (14000, 2800)  # quoted 14,000 and 10%
    cheaper = (OrderLine("P1", "원두 200g", 12000, 2, "essential", 14),)
    lines, discount = price(shop(20), cheaper)
    assert (lines[0].price, discount) == (12000, 4800)


# --- notices -------------------------------------------------------------------------------------


def test_an_announcement_tells_the_subscriber_once_with_the_price_change():
    old = subscription(period=2, next_order_at=T0 + 14 * DAY)
    new = replace(old, items=(SubscriptionLine("P1", "원두 200g", 2, 15000),), announced_period=2,
                  quoted_at=T0 + 13 * DAY, revision=2)
    (notice,) = notices_for(old, new)
    assert (notice.recipient_id, notice.type, notice.source_id) == ("U1", "subscription_upcoming", "S1#2")
    assert notice.data["price_changed"] and notice.data["items"][0]["previous_price"] == 14000
    assert notice.data["total"] == 30000 - 3000
    assert notices_for(new, replace(new, revision=3)) == []  # nothing new announced


def test_a_shortage_tells_both_sides_once():
    old = subscription()
    new = replace(old, period=2, history=(PeriodOutcome(1, OUT_OF_STOCK, T0, T0, detail="Not enough"),))
    notices = notices_for(old, new)
    assert [(n.recipient_id, n.type, n.source_id) for n in notices] == [
        ("U1", "subscription_skipped", "S1#1"), ("O1", "subscription_skipped", "S1#1")]
    assert notices_for(new, replace(new, revision=5)) == []
    skipped_by_choice = replace(old, history=(PeriodOutcome(1, "skipped", T0, T0),))
    assert notices_for(old, skipped_by_choice) == []


# --- reorder items -------------------------------------------------------------------------------


def image(status: str = "pending_payment", **overrides) -> dict:
    base = {"order_id": "OR1", "buyer_id": "U1", "shop_id": "SH1", "shop_name": "두부가게", "status": status,
            "created_at": Decimal(str(T0)),
            "items": [{"product_id": "P1", "name": "손두부", "kind": "essential", "reorder_days": Decimal(7)},
                      {"product_id": "P2", "name": "들기름", "kind": "treat"}]}
    return {**base, **overrides}


PAID_AT = T0 + 3600


def paid(status: str = "paid", **overrides) -> dict:
    return image(status, **{"paid_at": Decimal(str(PAID_AT)), **overrides})


def test_order_records_mean_paid_cancelled_or_nothing():
    bought = reorders.change_of("MODIFY", paid(), image())  # the record where paid_at first appears
    assert (bought.kind, bought.order_id, [p.product_id for p in bought.purchases]) == ("paid", "OR1", ["P1"])
    assert bought.purchases[0].at == PAID_AT and bought.purchases[0].due_at == PAID_AT + 7 * DAY
    assert reorders.change_of("INSERT", paid(), None).kind == "paid"  # placed already paid (a saved card)
    cancelled = reorders.change_of("MODIFY", paid("cancelled"), paid())
    assert cancelled.kind == "cancelled"
    assert reorders.change_of("MODIFY", paid("cancelled"), paid("cancelled")) is None
    assert reorders.change_of("MODIFY", paid("shipped"), paid()) is None  # counted already
    assert reorders.change_of("INSERT", paid(items=[{"product_id": "P2", "kind": "treat"}]), None) is None
    assert reorders.change_of("MODIFY", paid(paid_at="yesterday"), image()) is None  # broken: skipped


def test_an_unpaid_order_is_no_purchase_whatever_becomes_of_it():
    assert reorders.change_of("INSERT", image(), None) is None  # placed, waiting for its money
    assert reorders.change_of("MODIFY", image("expired"), image()) is None
    assert reorders.change_of("MODIFY", image("cancelled"), image()) is None


def purchase(order_id: str, at: float) -> Purchase:
    return Purchase(order_id=order_id, product_id="P1", at=at, reorder_days=7, shop_id="SH1", shop_name="두부",
                    name="손두부")


def test_purchases_are_known_by_order_and_a_cancellation_falls_back():
    r = Reorder("U1", "P1")
    r = reorders.with_purchase(r, purchase("A", T0))
    r = reorders.with_purchase(r, purchase("B", T0 + 5 * DAY))
    assert reorders.with_purchase(r, purchase("B", T0 + 5 * DAY)) == r
    assert r.latest.order_id == "B"
    r = reorders.without_order(r, "B")
    assert r.latest.order_id == "A" and reorders.without_order(r, "B") == r
    assert reorders.with_purchase(r, purchase("B", T0 + 5 * DAY)) == r  # its payment, delivered late
    for n in range(10):
        r = reorders.with_purchase(r, purchase(f"C{n}", T0 + n))
    assert len(r.purchases) == reorders.PURCHASES_KEPT


class ContendedStore:
    """Loses the first ``stale`` writes to 'another shard'."""

    def __init__(self, stale: int) -> None:
        self.items: dict[str, Reorder] = {}
        self.stale = stale
        self.puts = 0

    def get_many(self, user_id, product_ids):
        return {pid: self.items[pid] for pid in product_ids if pid in self.items}

    def put(self, reorder, now):
        self.puts += 1
        if self.stale:
            self.stale -= 1
            raise StaleReorder(reorder.product_id)
        self.items[reorder.product_id] = reorder


def test_a_lost_race_is_decided_again(monkeypatch):
    monkeypatch.setattr(reorders.time, "sleep", lambda s: None)
    store = ContendedStore(stale=2)
    change = reorders.change_of("MODIFY", paid(), image())
    assert reorders.apply(store, change, T0) == 1 and store.items["P1"].latest.order_id == "OR1"
    assert reorders.apply(store, change, T0) == 0  # a replay writes nothing
    with pytest.raises(Unavailable):
        reorders.apply(ContendedStore(stale=99), change, T0)


def test_notices_carry_their_own_korean_words():
    old = subscription(period=2, next_order_at=T0 + 14 * DAY)
    announced = replace(old, announced_period=2, quoted_at=T0 + 13 * DAY, revision=2)
    (upcoming,) = notices_for(old, announced)
    assert upcoming.data["title"] == "내일 정기배송 주문이 들어가요"
    assert upcoming.data["body"] == ("성수 커피로스터스 · 원두 200g 25,200원 (12월 15일). "
                                     "바꾸거나 건너뛰려면 오늘 알려 주세요.")
    skipped = replace(old, period=3, history=(PeriodOutcome(2, OUT_OF_STOCK, T0 + 14 * DAY, T0 + 14 * DAY),),
                      next_order_at=T0 + 28 * DAY)
    to_subscriber, to_owner = notices_for(old, skipped)
    assert to_subscriber.data["title"] == "이번 정기배송은 건너뛰었어요" and "결제된 금액은 없어요" in to_subscriber.data["body"]
    assert to_owner.data["title"] == "김민지님의 정기배송을 건너뛰었어요" and "재고가 부족해" in to_owner.data["body"]
