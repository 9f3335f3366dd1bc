"""Coupons: a shop's coupon (with its exact redemption count) and each customer's holding of it."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from chalicelib.storage.base import MainItem

COUPON = "COUPON"
HOLDING_PREFIX = "COUPON#"


def coupon_pk(coupon_id: str) -> str:
    return f"COUPON#{coupon_id}"


def shop_coupons_pk(shop_id: str) -> str:
    return f"SHOP#{shop_id}#COUPONS"


def holding_sk(coupon_id: str) -> str:
    return f"{HOLDING_PREFIX}{coupon_id}"


def my_coupons_pk(user_id: str) -> str:
    return f"USER#{user_id}#COUPONS"


class CouponItem(MainItem, discriminator="coupon"):
    """A shop's coupon.

    Key design: ``pk = COUPON#<coupon_id>``, ``sk = COUPON`` (its own partition: the one item
    every order using the coupon updates, so racing orders contend on it alone). gsi1
    ``SHOP#<shop_id>#COUPONS`` / ``<coupon_id>`` — the shop's coupons, newest first (one Query).

    Written once when created; afterwards only ``redeemed`` changes: +1 in the placing
    transaction of an order that uses a holding, on condition ``redeemed < max_redemptions`` (so
    the cap holds under any race), −1 in the transaction that cancels or expires that order.
    """

    coupon_id = UnicodeAttribute()
    shop_id = UnicodeAttribute()
    shop_name = UnicodeAttribute(default="")
    name = UnicodeAttribute()
    kind = UnicodeAttribute()  # percent | fixed
    value = NumberAttribute()
    min_subtotal = NumberAttribute(default=0)
    starts_at = NumberAttribute()
    ends_at = NumberAttribute()
    max_redemptions = NumberAttribute()
    redeemed = NumberAttribute(default=0)
    created_at = NumberAttribute()


class HoldingItem(MainItem, discriminator="coupon_holding"):
    """One customer's coupon.

    Key design: ``pk = USER#<user_id>``, ``sk = COUPON#<coupon_id>``: put with
    ``attribute_not_exists(pk)``, so a customer holds a coupon at most once however often or
    concurrently it is given; an order reads it with the catalogue (one key of its BatchGetItem).
    It copies the coupon's fixed fields, so the customer's list needs no second read.

    While it can be used (``used_order_id`` absent), gsi1 ``USER#<user_id>#COUPONS`` /
    ``<ends_at ISO>#<coupon_id>`` lists it: "my coupons", soonest ending first, is one Query for
    ``sk > now`` (not ended), the ones not started yet filtered out of that page. The order that
    uses it removes the index keys and sets ``used_order_id`` (condition: absent) in its placing
    transaction; cancelling or expiring that order puts them back (condition: used by that order).

    Its INSERT on the stream is the customer's ``coupon`` notification (keyed by the coupon id:
    a replay adds nothing); closing the account deletes it.
    """

    user_id = UnicodeAttribute()
    coupon_id = UnicodeAttribute()
    shop_id = UnicodeAttribute()
    shop_name = UnicodeAttribute(default="")
    name = UnicodeAttribute()
    kind = UnicodeAttribute()
    value = NumberAttribute()
    min_subtotal = NumberAttribute(default=0)
    starts_at = NumberAttribute()
    ends_at = NumberAttribute()
    max_redemptions = NumberAttribute()
    coupon_created_at = NumberAttribute()
    granted_at = NumberAttribute()
    used_order_id = UnicodeAttribute(null=True)
    used_at = NumberAttribute(null=True)
