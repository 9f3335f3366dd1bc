"""The pure rules of coupons and the regular perk: discounts and how they combine, what makes a
coupon applicable, the terms a coupon may have, the perk's bounds and who gets it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.errors import CouponNotApplicable, Invalid
from chalicelib.records.accounts import RegularPerk
from chalicelib.records.commerce import DiscountLine
from chalicelib.records.coupons import Coupon, Entitlements, Holding
from chalicelib.records.relationships import RelationshipState
from chalicelib.services import coupons

NOW = 2_000_000_000.0
DAY = 86_400.0


def coupon(kind: str = "percent", value: int = 10, **overrides) -> Coupon:
    fields = dict(coupon_id="C1", shop_id="S1", shop_name="두부가게", name="쿠폰", kind=kind, value=value,
                  min_subtotal=0, starts_at=NOW - DAY, ends_at=NOW + DAY, max_redemptions=10, redeemed=0,
                  created_at=NOW - DAY)
    return Coupon(**{**fields, **overrides})


def amounts(lines) -> list[tuple[str, int]]:
    return [(line.kind, line.amount) for line in lines]


def test_a_percent_coupon_rounds_down_and_a_fixed_one_never_exceeds_the_goods():
    assert coupons.coupon_amount(coupon(value=15), 9999) == 1499
    assert coupons.coupon_amount(coupon(value=100), 9999) == 9999
    assert coupons.coupon_amount(coupon("fixed", 3000), 2000) == 2000
    assert coupons.coupon_amount(coupon("fixed", 3000), 0) == 0


def test_the_perk_applies_first_then_the_coupon_on_what_is_left():
    lines = coupons.discount_lines(30000, 3000, perk=RegularPerk("percent", 10), coupon=coupon(value=50))
    assert amounts(lines) == [("regular_perk", 3000), ("coupon", 13500)]
    assert lines[0].name == "10%" and lines[1].coupon_id == "C1"


def test_free_shipping_takes_off_the_fee_and_leaves_the_goods_to_the_coupon():
    lines = coupons.discount_lines(10000, 3000, perk=RegularPerk("free_shipping"), coupon=coupon("fixed", 2000))
    assert amounts(lines) == [("regular_perk", 3000), ("coupon", 2000)]
    assert coupons.discount_lines(10000, 0, perk=RegularPerk("free_shipping")) == ()  # pickup: nothing to waive


def test_earlier_discounts_come_first_and_a_zero_one_is_left_out():
    earlier = [DiscountLine("store_link", 1000), DiscountLine("subscription", 0)]
    lines = coupons.discount_lines(10000, 0, earlier=earlier, perk=RegularPerk("percent", 10),
                                   coupon=coupon("fixed", 20000))
    assert amounts(lines) == [("store_link", 1000), ("regular_perk", 900), ("coupon", 8100)]


@given(subtotal=st.integers(0, 10_000_000), fee=st.integers(0, 100_000), earlier=st.integers(0, 10_000_000),
       perk=st.one_of(st.none(), st.integers(1, 50).map(lambda v: RegularPerk("percent", v)),
                      st.just(RegularPerk("free_shipping"))),
       kind=st.sampled_from(["percent", "fixed"]), value=st.integers(1, 1_000_000))
def test_an_order_never_costs_less_than_nothing(subtotal, fee, earlier, perk, kind, value):
    value = min(value, 100) if kind == "percent" else value
    first = [DiscountLine("store_link", min(earlier, subtotal))]
    lines = coupons.discount_lines(subtotal, fee, earlier=first, perk=perk, coupon=coupon(kind, value))
    discount = sum(line.amount for line in lines)
    assert all(line.amount >= 0 for line in lines)
    assert 0 <= subtotal - discount + fee <= subtotal + fee
    goods = sum(line.amount for line in lines if line.name != "free_shipping")
    assert goods <= subtotal


def held(**overrides) -> Entitlements:
    c = coupon(**overrides)
    return Entitlements(holding=Holding(user_id="U1", coupon=c, granted_at=NOW - DAY), coupon=c)


@pytest.mark.parametrize("found,shop_id,subtotal,now,why", [
    (Entitlements(), "S1", 10000, NOW, "not_held"),
    (held(), "S2", 10000, NOW, "other_shop"),
    (held(starts_at=NOW + 1), "S1", 10000, NOW, "not_started"),
    (held(ends_at=NOW), "S1", 10000, NOW, "ended"),
    (held(min_subtotal=10001), "S1", 10000, NOW, "below_min_subtotal"),
])
def test_a_coupon_that_does_not_apply_says_why(found, shop_id, subtotal, now, why):
    with pytest.raises(CouponNotApplicable) as raised:
        coupons.applicable_coupon(found, shop_id, subtotal, now)
    assert raised.value.extra == {"reason": why}
    assert raised.value.errors[0].field == "body.coupon_id"


def test_an_applicable_coupon_is_the_coupons_own_copy():
    found = held(min_subtotal=10000)
    assert coupons.applicable_coupon(found, "S1", 10000, NOW) is found.coupon


@pytest.mark.parametrize("kind,value,starts,ends,code", [
    ("percent", 101, NOW, NOW + DAY, "percent_over_100"),
    ("percent", 10, NOW, NOW, "ends_before_starts"),
    ("fixed", 1000, NOW - 3 * DAY, NOW - DAY, "ends_in_past"),
    ("fixed", 1000, NOW + 367 * DAY, NOW + 368 * DAY, "too_large"),
    ("fixed", 1000, NOW, NOW + 367 * DAY, "too_large"),
])
def test_coupon_terms_out_of_bounds_are_refused(kind, value, starts, ends, code):
    with pytest.raises(Invalid) as raised:
        coupons.check_terms(kind, value, starts, ends, NOW)
    assert code in {problem.code for problem in raised.value.errors}


def test_coupon_terms_within_bounds_pass():
    coupons.check_terms("percent", 100, NOW - DAY, NOW + 366 * DAY - DAY, NOW)
    coupons.check_terms("fixed", 1_000_000, NOW, NOW + 1, NOW)


@pytest.mark.parametrize("perk,ok", [(RegularPerk("percent", 1), True), (RegularPerk("percent", 50), True),
                                     (RegularPerk("percent", 51), False), (RegularPerk("percent", 0), False),
                                     (RegularPerk("free_shipping"), True), (RegularPerk("free_shipping", 3), False)])
def test_perk_bounds(perk, ok):
    if ok:
        coupons.check_perk(perk)
    else:
        with pytest.raises(Invalid):
            coupons.check_perk(perk)


def test_the_perk_goes_to_regulars_only():
    perk = RegularPerk("percent", 5)
    regular = RelationshipState(order_count=2, order_times=(NOW - 5 * DAY, NOW - DAY), became_regular_at=NOW - DAY,
                                updated_at=NOW - DAY)
    lapsed = RelationshipState(order_count=2, order_times=(NOW - 95 * DAY, NOW - 90 * DAY),
                               became_regular_at=NOW - 90 * DAY, updated_at=NOW - 90 * DAY)
    first = RelationshipState(order_count=1, order_times=(NOW - DAY,), updated_at=NOW - DAY)
    assert coupons.perk_applies(perk, regular, NOW)
    assert not coupons.perk_applies(perk, lapsed, NOW)
    assert not coupons.perk_applies(perk, first, NOW)
    assert not coupons.perk_applies(None, regular, NOW) and not coupons.perk_applies(perk, None, NOW)


def test_a_new_holding_tells_its_customer_once_per_coupon():
    image = {"user_id": "U1", "coupon_id": "C1", "shop_id": "S1", "shop_name": "두부가게", "name": "쿠폰",
             "kind": "percent", "value": 10, "min_subtotal": 0, "ends_at": NOW + DAY, "granted_at": NOW}
    notice = coupons.coupon_notice(image)
    assert notice is not None and (notice.recipient_id, notice.type, notice.source_id) == ("U1", "coupon", "C1")
    assert notice.data["ends_at"].startswith("2033-")
    assert coupons.coupon_notice({"coupon_id": "C1"}) is None
