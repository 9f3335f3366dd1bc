"""The one-person store's rules on plain data: codes, rewards, attribution, settlements, visitors,
and the referral signals an order's stream record carries."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.records.accounts import RewardSetting, Shop
from chalicelib.records.commerce import Order, OrderLine, StatusChange
from chalicelib.records.store_links import StoreLink
from chalicelib.services import store_links as sl
from chalicelib.services.scoring import Signal
from chalicelib.services.signals import signals_from


def shop(setting: RewardSetting | None) -> Shop:
    return Shop(shop_id="S1", owner_id="O", name="가게", handle="h", bio="", region="", follower_count=0,
                post_count=0, created_at=0.0, referral_reward=setting)


def link(owner: str = "A", give: bool = False, shop_id: str = "S1") -> StoreLink:
    return StoreLink(code="abcdefghjk", owner_id=owner, owner_name="김민지", shop_id=shop_id, shop_name="가게",
                     give_reward_to_friend=give, created_at=0.0)


def order(**credit) -> Order:
    return Order(order_id="O1", shop_id="S1", shop_name="가게", owner_id="O", buyer_id="B",
                 items=(OrderLine("P1", "두부", 4500, 2, "essential", 7),), subtotal=9000, discount=0, total=9000,
                 status="shipped", history=(StatusChange("pending_payment", 0.0, "B"),), created_at=0.0,
                 updated_at=0.0, **credit)


def test_codes_are_ten_unambiguous_characters_and_do_not_repeat():
    codes = {sl.new_code() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(len(c) == 10 and set(c) <= set(sl.CODE_ALPHABET) for c in codes)
    assert not set("01ilo") & set(sl.CODE_ALPHABET)


@pytest.mark.parametrize(("kind", "value", "ok"), [
    ("percent", 1, True), ("percent", 30, True), ("percent", 0, False), ("percent", 31, False),
    ("fixed", 100, True), ("fixed", 50_000, True), ("fixed", 99, False), ("fixed", 50_001, False),
    ("gift", 5, False), ("percent", True, False), ("fixed", 1000.0, False)])
def test_setting_bounds(kind, value, ok):
    from pydantic import ValidationError

    from chalicelib.schemas.store_links import RewardSettingIn

    try:
        RewardSettingIn.model_validate({"kind": kind, "value": value})
    except ValidationError:
        assert not ok
    else:
        assert ok


SETTINGS = st.one_of(st.tuples(st.just("percent"), st.integers(sl.PERCENT_MIN, sl.PERCENT_MAX)),
                     st.tuples(st.just("fixed"), st.integers(sl.FIXED_MIN, sl.FIXED_MAX)))


@given(st.integers(0, 10**9), SETTINGS)
def test_a_reward_is_never_negative_nor_above_the_subtotal(subtotal, setting):
    kind, value = setting
    amount = sl.reward_amount(RewardSetting(kind, value), subtotal)
    assert 0 <= amount <= subtotal
    if kind == "percent":
        assert amount == subtotal * value // 100


def test_referral_rules():
    ten = RewardSetting("percent", 10)
    assert sl.referral_for(None, shop(ten), "B", "O1", 9000, 1.0) is None
    assert sl.referral_for(link(owner="B"), shop(ten), "B", "O1", 9000, 1.0) is None  # own link
    earned = sl.referral_for(link(), shop(ten), "B", "O1", 9000, 1.0)
    assert (earned.reward, earned.discount, earned.entry.amount, earned.entry.status, earned.entry.reason) == (
        900, 0, 900, "pending", "referral")
    given_away = sl.referral_for(link(give=True), shop(ten), "B", "O1", 9000, 1.0)
    assert (given_away.reward, given_away.discount, given_away.entry.amount, given_away.entry.reason) == (
        0, 900, 0, "given_to_friend")
    unpaid = sl.referral_for(link(give=True), shop(None), "B", "O1", 9000, 1.0)
    assert (unpaid.reward, unpaid.discount, unpaid.entry, unpaid.code) == (None, 0, None, "abcdefghjk")


def test_settlements_credit_on_payment_then_confirm_or_take_it_back():
    from chalicelib.records.commerce import Payment

    card = Payment(method="card", payment_id="O1", amount=27000, deadline_at=1.0)
    credited = dict(via_store_link="abcdefghjk", referrer_id="A", referral_reward=900, payment=card)
    paid = dict(credited, paid_at=1.5)
    assert sl.settlement_for(order(), "delivered", 2.0) is None  # not credited
    credit = sl.settlement_for(order(**credited), "paid", 1.5)
    assert (credit.orders, credit.pending, credit.confirmed) == (1, 900, 0)
    assert (credit.entry.status, credit.entry.amount, credit.entry.reason) == ("pending", 900, "referral")
    delivered = sl.settlement_for(order(**paid), "delivered", 2.0)
    assert (delivered.orders, delivered.pending, delivered.confirmed) == (0, -900, 900)
    assert (delivered.entry.status, delivered.entry.amount, delivered.entry.reason) == ("confirmed", 900, "delivered")
    cancelled = sl.settlement_for(order(**paid), "cancelled", 2.0)
    assert (cancelled.orders, cancelled.pending, cancelled.confirmed) == (-1, -900, 0)
    assert (cancelled.entry.status, cancelled.entry.reason) == ("cancelled", "order_cancelled")
    # never paid: never credited, so a cancellation takes nothing back
    assert sl.settlement_for(order(**credited), "cancelled", 2.0) is None
    given = sl.settlement_for(order(**{**paid, "referral_reward": 0, "reward_given": True}), "delivered", 2.0)
    assert (given.entry.amount, given.entry.reason, given.confirmed) == (0, "given_to_friend", 0)
    no_setting = dict(via_store_link="abcdefghjk", referrer_id="A", referral_reward=None, paid_at=1.5, payment=card)
    assert sl.settlement_for(order(**no_setting), "delivered", 2.0) is None
    counted = sl.settlement_for(order(**no_setting), "paid", 1.5)
    assert (counted.orders, counted.pending, counted.entry) == (1, 0, None)
    dropped = sl.settlement_for(order(**no_setting), "cancelled", 2.0)
    assert (dropped.orders, dropped.pending, dropped.entry) == (-1, 0, None)
    # an order placed before checkout (no payment record) was credited when placed: paying adds
    # nothing, cancelling it unpaid takes that credit back, as it always did
    legacy = dict(via_store_link="abcdefghjk", referrer_id="A", referral_reward=900)
    assert sl.settlement_for(order(**legacy), "paid", 1.5) is None
    assert sl.settlement_for(order(**legacy), "cancelled", 2.0).orders == -1


def test_visitors_are_accounts_or_keyed_hashes_of_the_address_alone():
    assert sl.visitor_key("U1", "1.2.3.4", "s" * 32) == "u:U1"
    anon = sl.visitor_key(None, "1.2.3.4", "s" * 32)
    assert anon.startswith("a:") and "1.2.3.4" not in anon
    assert anon == sl.visitor_key(None, "1.2.3.4", "s" * 32)
    assert anon != sl.visitor_key(None, "1.2.3.5", "s" * 32)
    assert anon != sl.visitor_key(None, "1.2.3.4", "t" * 32)
    # one IPv6 subscriber's /64 is one visitor
    assert sl.visitor_key(None, "2001:db8:1:2::1", "s" * 32) == sl.visitor_key(None, "2001:db8:1:2:ffff::9", "s" * 32)
    assert sl.visitor_key(None, "2001:db8:1:2::1", "s" * 32) != sl.visitor_key(None, "2001:db8:1:3::1", "s" * 32)
    assert sl.utc_day(1795400000.0) == "2026-11-23"


def image(**extra) -> dict:
    return {"entity": "order", "order_id": "O1", "shop_id": "S1", "buyer_id": "B", "status": "pending_payment",
            "total": Decimal(9000), "created_at": Decimal("1795400000.5"), "items": [], **extra}


def test_a_credited_order_is_the_referrers_signal_when_paid_and_its_cancellation_takes_it_back():
    credited = image(via_store_link="abcdefghjk", referrer_id="A")
    assert signals_from("order", "INSERT", credited, None, 1795400001.0) == []  # placed, not paid: nothing
    paid = {**credited, "status": "paid", "paid_at": Decimal("1795400100.5")}
    order_event, referral = signals_from("order", "MODIFY", paid, credited, 1795400101.0)
    assert (order_event.signal, order_event.user_id) == (Signal.ORDER, "B")
    assert (referral.signal, referral.user_id, referral.shop_id, referral.at) == (
        Signal.REFERRAL, "A", "S1", 1795400100.5)
    cancelled = {**paid, "status": "cancelled", "updated_at": Decimal(1795500000)}
    *_, taken_back = signals_from("order", "MODIFY", cancelled, paid, 1795500001.0)
    assert (taken_back.signal, taken_back.user_id, taken_back.reverses_at) == (
        Signal.REFERRAL_CANCELLED, "A", 1795400100.5)
    unpaid_cancel = {**credited, "status": "cancelled", "updated_at": Decimal(1795500000)}
    assert signals_from("order", "MODIFY", unpaid_cancel, credited, 1795500001.0) == []  # leaves no trace
    paid = {**image(), "paid_at": Decimal("1795400100.5")}
    assert len(signals_from("order", "INSERT", paid, None, 0.0)) == 1  # not credited: the buyer's only


class _Visitors:
    """A store of anonymous visitors' links and bindings, for ``bind_visitor``."""

    def __init__(self) -> None:
        self.kept: dict[str, list] = {}
        self.bound: dict[str, str] = {}
        self.remembered: dict[tuple[str, str], str] = {}

    def visitor_links(self, visitor_id, limit):
        return self.kept.get(visitor_id, [])[:limit]

    def claim_visitor(self, visitor_id, user_id, now, keep_seconds):
        return self.bound.setdefault(visitor_id, user_id) == user_id

    def remember(self, remembered, now):
        return self.remembered.setdefault((remembered.user_id, remembered.shop_id), remembered.code) == remembered.code


def test_visitor_ids_are_random_signed_and_bind_to_one_account_first_link_first():
    from chalicelib.records.store_links import VisitorVia

    ids = {sl.new_visitor_id("k" * 64) for _ in range(500)}
    assert len(ids) == 500 and all(len(v) == sl.VISITOR_ID_LENGTH and sl.valid_visitor_id(v, "k" * 64) for v in ids)
    one = next(iter(ids))
    assert sl.valid_visitor_id(one, "other-key") is None  # another server's
    assert sl.valid_visitor_id(one[:-1] + ("A" if one[-1] != "A" else "B"), "k" * 64) is None  # tampered
    assert sl.valid_visitor_id("ä" * 32, "k" * 64) is None and sl.valid_visitor_id(None, "k") is None
    store = _Visitors()
    store.kept["v"] = [VisitorVia("v", "S1", "code1", "A", until=100.0), VisitorVia("v", "S2", "code2", "B", until=5.0),
                       VisitorVia("v", "S3", "mine", "U", until=100.0)]
    assert sl.bind_visitor(store, "v", "U", now=10.0) == 1  # S2's visit is over; U's own link binds nothing
    assert store.remembered == {("U", "S1"): "code1"}
    assert sl.bind_visitor(store, "v", "U", now=10.0) == 1  # again: the same, nothing new
    assert sl.bind_visitor(store, "v", "X", now=10.0) == 0 and ("X", "S1") not in store.remembered
    assert sl.is_preview_agent("facebookexternalhit/1.1;kakaotalk-scrap/1.0") and not sl.is_preview_agent(
        "Mozilla/5.0 (iPhone) KAKAOTALK 10.4.3")
