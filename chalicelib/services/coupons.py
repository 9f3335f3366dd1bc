"""Coupons and the regular perk (단골 우대): rules, discounts, giving coupons out, my coupons.

* A **coupon** is a shop's: ``percent`` (1-100) or ``fixed`` (won) off the goods, usable from
  ``starts_at`` until ``ends_at`` on an order whose subtotal reaches ``min_subtotal``, at most
  ``max_redemptions`` times in all. The owner gives it to customers (people with a relationship
  pair with the shop); each holds it at most once and can use it on one order. The order's one
  transaction uses the holding (condition: unused) and takes a redemption (condition:
  ``redeemed < max_redemptions``), so neither two orders of one holder nor racing orders of many
  ever get past the cap. Cancelling or expiring the order gives it back in the transaction that
  moves its status: exactly once.
* The **regular perk** is a shop setting (``percent`` 1-50 off the goods, or ``free_shipping``)
  applied by itself to the orders of a customer whose tier is ``regular`` when the order is placed.
* **Combining** (``discount_lines``): the discounts apply one after another, each on what the
  goods still cost after the ones before — a subscription's discount or a store-link reward
  given to the friend (as before), then the perk, then the coupon — so the goods never cost less
  than 0 and a percent never applies to money already taken off. A free-shipping perk takes the
  delivery fee off (a line of its own); ``min_subtotal`` is checked against the subtotal before
  any discount. The order lists each as a ``discounts`` line; ``discount`` is their sum and
  ``total = subtotal − discount + shipping_fee``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from chalicelib.errors import CouponEnded, CouponNotApplicable, FieldProblem, Invalid, NotFound
from chalicelib.ids import iso, new_id
from chalicelib.records.accounts import RegularPerk
from chalicelib.records.commerce import DiscountLine
from chalicelib.records.common import Page
from chalicelib.records.coupons import PERCENT, Coupon, Entitlements, GrantReport
from chalicelib.records.notifications import Notice
from chalicelib.records.relationships import Pair, RelationshipState
from chalicelib.services.shops import ShopsStore, owned_shop

# How many people one grant request names (a bigger audience goes through a broadcast's job).
MAX_GRANT_IDS = 100
PERCENT_MAX = 100
# A coupon runs at most this long, and starts at most this far ahead.
MAX_DAYS = 366
DAY_SECONDS = 86_400
PERK_PERCENT = (1, 50)
FREE_SHIPPING = "free_shipping"

# Kinds of discount line, in the order they apply.
SUBSCRIPTION, STORE_LINK, REGULAR_PERK, COUPON = "subscription", "store_link", "regular_perk", "coupon"


class CouponsStore(Protocol):
    def create(self, coupon: Coupon) -> None: ...
    def get_coupon(self, coupon_id: str) -> Coupon | None: ...
    def shop_coupons(self, shop_id: str, start_key: dict | None, limit: int) -> Page: ...
    def grant(self, coupon: Coupon, user_id: str, now: float) -> bool: ...
    def my_coupons(self, user_id: str, now: float, start_key: dict | None, limit: int) -> Page: ...


class Customers(Protocol):
    def pairs_of_shop(self, shop_id: str, user_ids: Sequence[str]) -> list[Pair]: ...


# --- pure rules -------------------------------------------------------------------------------


def check_terms(kind: str, value: int, starts_at: float, ends_at: float, now: float) -> None:
    """``Invalid`` for a percent above 100, an end not after the start or already passed, or
    dates further out than ``MAX_DAYS``. (Types and other bounds are the schema's.)"""
    problems = []
    if kind == PERCENT and value > PERCENT_MAX:
        problems.append(FieldProblem("body.value", "a percent coupon is 1-100", code="percent_over_100"))
    if ends_at <= starts_at:
        problems.append(FieldProblem("body.ends_at", "must be after starts_at", code="ends_before_starts"))
    elif ends_at <= now:
        problems.append(FieldProblem("body.ends_at", "must be in the future", code="ends_in_past"))
    if starts_at > now + MAX_DAYS * DAY_SECONDS:
        problems.append(FieldProblem("body.starts_at", f"at most {MAX_DAYS} days ahead", code="too_large",
                                     params={"limit": iso(now + MAX_DAYS * DAY_SECONDS)}))
    if ends_at > max(starts_at, now) + MAX_DAYS * DAY_SECONDS:
        problems.append(FieldProblem("body.ends_at", f"at most {MAX_DAYS} days after the start", code="too_large",
                                     params={"limit": iso(max(starts_at, now) + MAX_DAYS * DAY_SECONDS)}))
    if problems:
        raise Invalid("The coupon's terms are not valid.", errors=problems)


def check_perk(perk: RegularPerk) -> None:
    low, high = PERK_PERCENT
    if (perk.kind == PERCENT and not low <= perk.value <= high) or (perk.kind == FREE_SHIPPING and perk.value != 0):
        raise Invalid("The regular perk is a percent of 1-50, or free shipping with no value.",
                      errors=[FieldProblem("body.regular_perk.value", "percent 1-50; free_shipping 0",
                                           code="perk_value")])


def perk_applies(perk: RegularPerk | None, pair_state: RelationshipState | None, now: float) -> bool:
    """Whether the shop's perk applies to a buyer whose pair is ``pair_state``: their tier at
    ``now`` is ``regular``."""
    if perk is None or pair_state is None:
        return False
    from chalicelib.records.relationships import Tier
    from chalicelib.services.scoring import tier_at

    return tier_at(pair_state, now) is Tier.REGULAR


def not_applicable(reason: str, field_code: str, message: str, **params) -> CouponNotApplicable:
    return CouponNotApplicable(f"This coupon cannot be used on this order: {message}.", extra={"reason": reason},
                               errors=[FieldProblem("body.coupon_id", message, code=field_code, params=params)])


def applicable_coupon(found: Entitlements, shop_id: str, subtotal: int, now: float) -> Coupon:
    """The coupon an order names, if the buyer can use it on this order as far as the read
    shows; else ``CouponNotApplicable`` with the reason. Whether the holding is still unused and a
    redemption is left is the placing transaction's to decide (a retry of the order that used it
    then gets its first answer back, not a 422)."""
    if found.holding is None:
        raise not_applicable("not_held", "coupon_not_held", "you do not hold this coupon")
    coupon = found.coupon or found.holding.coupon
    if coupon.shop_id != shop_id:
        raise not_applicable("other_shop", "coupon_other_shop", "a coupon of another shop")
    if now < coupon.starts_at:
        raise not_applicable("not_started", "coupon_not_started", f"usable from {iso(coupon.starts_at)}",
                             starts_at=iso(coupon.starts_at))
    if now >= coupon.ends_at:
        raise not_applicable("ended", "coupon_expired", f"ended at {iso(coupon.ends_at)}",
                             ends_at=iso(coupon.ends_at))
    if subtotal < coupon.min_subtotal:
        raise not_applicable("below_min_subtotal", "coupon_min_subtotal",
                             f"needs a subtotal of at least {coupon.min_subtotal} won",
                             min_subtotal=f"{coupon.min_subtotal:,}")
    return coupon


def used_elsewhere() -> CouponNotApplicable:
    return not_applicable("used", "coupon_used", "used on another order")


def not_held() -> CouponNotApplicable:
    return not_applicable("not_held", "coupon_not_held", "you do not hold this coupon")


def coupon_amount(coupon: Coupon, goods: int) -> int:
    """What ``coupon`` takes off goods costing ``goods`` won: a percent rounded down, or the fixed
    sum, never more than ``goods``."""
    amount = goods * coupon.value // 100 if coupon.kind == PERCENT else coupon.value
    return max(0, min(amount, goods))


def discount_lines(subtotal: int, shipping_fee: int, *, earlier: Sequence[DiscountLine] = (),
                   perk: RegularPerk | None = None, coupon: Coupon | None = None) -> tuple[DiscountLine, ...]:
    """The order's discounts in the order they apply (see the module's notes): ``earlier`` (a
    subscription's, a store-link reward given to the friend), the perk, the coupon — each on what
    the goods still cost. The goods never go below 0; a free-shipping perk takes off the fee."""
    lines = [line for line in earlier if line.amount > 0]
    goods = max(0, subtotal - sum(line.amount for line in lines))
    if perk is not None:
        if perk.kind == PERCENT:
            amount = min(goods, goods * perk.value // 100)
            if amount > 0:
                lines.append(DiscountLine(REGULAR_PERK, amount, name=f"{perk.value}%"))
                goods -= amount
        elif perk.kind == FREE_SHIPPING and shipping_fee > 0:
            lines.append(DiscountLine(REGULAR_PERK, shipping_fee, name=FREE_SHIPPING))
    if coupon is not None:
        lines.append(DiscountLine(COUPON, coupon_amount(coupon, goods), coupon_id=coupon.coupon_id, name=coupon.name))
    return tuple(lines)


# --- use cases --------------------------------------------------------------------------------


def create_coupon(shops: ShopsStore, store: CouponsStore, user_id: str, shop_id: str, *, name: str, kind: str,
                  value: int, min_subtotal: int, starts_at: float | None, ends_at: float, max_redemptions: int,
                  now: float) -> Coupon:
    shop = owned_shop(shops, user_id, shop_id)
    start = now if starts_at is None else starts_at
    check_terms(kind, value, start, ends_at, now)
    coupon = Coupon(coupon_id=new_id(), shop_id=shop.shop_id, shop_name=shop.name, name=name, kind=kind,
                    value=value, min_subtotal=min_subtotal, starts_at=start, ends_at=ends_at,
                    max_redemptions=max_redemptions, redeemed=0, created_at=now)
    store.create(coupon)
    return coupon


def shop_coupons(shops: ShopsStore, store: CouponsStore, user_id: str, shop_id: str, start_key: dict | None,
                 limit: int) -> Page:
    owned_shop(shops, user_id, shop_id)
    return store.shop_coupons(shop_id, start_key, limit)


def coupon_of_shop(shops: ShopsStore, store: CouponsStore, user_id: str, shop_id: str, coupon_id: str) -> Coupon:
    """The shop's coupon, for its owner (``Forbidden`` otherwise); another shop's or none → 404."""
    owned_shop(shops, user_id, shop_id)
    coupon = store.get_coupon(coupon_id)
    if coupon is None or coupon.shop_id != shop_id:
        raise NotFound("No such coupon.")
    return coupon


def grant(store: CouponsStore, coupon: Coupon, user_id: str, now: float) -> bool:
    """Give ``coupon`` to one customer; False when they hold it already. Idempotent: the step a
    grant to a large audience (a broadcast's chunked job) takes per recipient. The caller
    decides who is a customer."""
    return store.grant(coupon, user_id, now)


def grant_to_people(shops: ShopsStore, store: CouponsStore, customers: Customers, user_id: str, shop_id: str,
                    coupon_id: str, user_ids: Sequence[str], now: float) -> GrantReport:
    """Give the shop's coupon to the named people who are its customers (a relationship pair
    with the shop); the others are counted, not told. Each holds it at most once: a repeated
    grant counts them as ``already_held``."""
    coupon = coupon_of_shop(shops, store, user_id, shop_id, coupon_id)
    if now >= coupon.ends_at:
        raise CouponEnded("This coupon has ended; create a new one to give out.",
                          extra={"ends_at": iso(coupon.ends_at)})
    wanted = list(dict.fromkeys(user_ids))
    known = {pair.user_id for pair in customers.pairs_of_shop(shop_id, wanted)} - {user_id}
    granted = held = 0
    for person in wanted:
        if person not in known:
            continue
        if grant(store, coupon, person, now):
            granted += 1
        else:
            held += 1
    return GrantReport(granted=granted, already_held=held, not_customers=len(wanted) - len(known))


def my_coupons(store: CouponsStore, user_id: str, now: float, start_key: dict | None, limit: int) -> Page:
    return store.my_coupons(user_id, now, start_key, limit)


def coupon_notice(new: Mapping[str, Any]) -> Notice | None:
    """The ``coupon`` notification a new holding (its stream INSERT image) tells its customer,
    keyed by the coupon, so a replayed record (or a second grant, which writes nothing) adds
    nothing. None for an image without the fields it needs."""
    user_id, coupon_id = new.get("user_id"), new.get("coupon_id")
    if not isinstance(user_id, str) or not user_id or not isinstance(coupon_id, str) or not coupon_id:
        return None
    ends_at = new.get("ends_at")
    data = {"coupon_id": coupon_id, "shop_id": str(new.get("shop_id") or ""),
            "shop_name": str(new.get("shop_name") or ""), "name": str(new.get("name") or ""),
            "kind": str(new.get("kind") or ""), "value": int(new.get("value") or 0),
            "min_subtotal": int(new.get("min_subtotal") or 0),
            "ends_at": iso(float(ends_at)) if ends_at is not None else None}
    return Notice(user_id, "coupon", coupon_id, float(new.get("granted_at") or 0), data)
