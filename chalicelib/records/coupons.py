"""Plain records of coupons: a shop's coupon, a customer's holding of it, and what an order
reads of them (no framework types)."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.records.relationships import RelationshipState

PERCENT, FIXED = "percent", "fixed"


@dataclass(frozen=True)
class Coupon:
    """A shop's coupon. Everything but ``redeemed`` is fixed when it is created (holdings copy
    what the customer's list shows); ``redeemed`` changes only in the transactions that use a
    holding (+1, on condition ``redeemed < max_redemptions``) or give one back (−1)."""

    coupon_id: str
    shop_id: str
    shop_name: str
    name: str
    kind: str  # percent | fixed
    value: int  # percent 1-100, or won
    min_subtotal: int  # won: the order's subtotal must reach it
    starts_at: float
    ends_at: float  # usable while starts_at <= now < ends_at
    max_redemptions: int
    redeemed: int
    created_at: float

    def usable_at(self, now: float) -> bool:
        return self.starts_at <= now < self.ends_at


@dataclass(frozen=True)
class Holding:
    """One customer's coupon (each customer holds a coupon at most once). ``used_order_id``:
    the order that used it (None while it can be used; set back to None when that order is
    cancelled or expires)."""

    user_id: str
    coupon: Coupon  # as granted (its ``redeemed`` is not kept up to date here)
    granted_at: float
    used_order_id: str | None = None
    used_at: float | None = None


@dataclass(frozen=True)
class Entitlements:
    """What placing an order reads of its buyer at the shop besides the store-link items, in the
    same BatchGetItem: the relationship pair's state (for the regular perk; None without a pair
    or when the shop sets no perk) and the holding and coupon the order names. Hints, not
    decisions: the placing transaction's conditions decide whether the holding is still unused
    and the coupon not used up."""

    pair_state: RelationshipState | None = None
    holding: Holding | None = None
    coupon: Coupon | None = None
    pair_read: bool = False  # whether the pair was asked for (not, when a cached shop set no perk)


@dataclass(frozen=True)
class GrantReport:
    """What giving a coupon to a list of people did: given now, already held, not customers."""

    granted: int = 0
    already_held: int = 0
    not_customers: int = 0


class HoldingUnusable(Exception):
    """An order's placing transaction found the buyer's holding gone (``held`` False) or used
    by another order (``held`` True)."""

    def __init__(self, held: bool) -> None:
        super().__init__("used by another order" if held else "not held")
        self.held = held


class CouponUsedUp(Exception):
    """An order's placing transaction found the coupon's redemptions all taken."""
