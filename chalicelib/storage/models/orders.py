"""Orders and the idempotency records of the requests that created them."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (BooleanAttribute, ListAttribute, MapAttribute, NumberAttribute, TTLAttribute,
                                 UnicodeAttribute)

from chalicelib.storage.base import MainItem
from chalicelib.storage.quiet import QuietWrites

ORDER = "ORDER"
IDEMPOTENCY = "IDEMP"


def order_pk(order_id: str) -> str:
    return f"ORDER#{order_id}"


def buyer_orders_pk(user_id: str) -> str:
    return f"USER#{user_id}#ORDERS"


def shop_orders_pk(shop_id: str) -> str:
    return f"SHOP#{shop_id}#ORDERS"


def shop_status_pk(shop_id: str, status: str) -> str:
    return f"SHOP#{shop_id}#STATUS#{status}"


def idempotency_pk(user_id: str, key: str) -> str:
    return f"IDEMP#{user_id}#{key}"


class LineMap(MapAttribute):
    """One line of an order: the product as it was sold (name and price copied at placement)."""

    product_id = UnicodeAttribute()
    name = UnicodeAttribute()
    price = NumberAttribute()
    quantity = NumberAttribute()
    kind = UnicodeAttribute()
    reorder_days = NumberAttribute(null=True)


class HistoryMap(MapAttribute):
    """One status the order went through: which, when (epoch seconds) and who moved it."""

    status = UnicodeAttribute()
    at = NumberAttribute()
    by = UnicodeAttribute()


class OrderItem(QuietWrites, MainItem, discriminator="order"):
    """A purchase from one shop.

    Key design: ``pk = ORDER#<order_id>``, ``sk = ORDER``. Indexes (all sorted by the order id,
    a ULID, so "newest first" is a descending Query):

    * ``gsi1pk = USER#<buyer_id>#ORDERS`` — my orders;
    * ``gsi2pk = SHOP#<shop_id>#ORDERS`` — a shop's orders;
    * ``gsi3pk = SHOP#<shop_id>#STATUS#<status>`` — a shop's orders in one status (rewritten
      with the status, in the same conditional update);
    * ``gsi4pk = SHOP#<shop_id>#REFERRALS`` — only orders credited to a store link: the
      shop's referrals, with the reward and the status on the order itself.

    Written once by the order's transaction (with the stock decrements and the idempotency
    record); afterwards only ``status`` (conditional on the status read, so racing moves have
    one winner), ``history`` (appended), ``updated_at``, ``review_id`` and ``buyer_closed`` change. An
    order that used a coupon (``coupon_id``) gives it back in the transaction that cancels or
    expires it (``storage.coupons.add_return``). This item is
    the "order" record of the stream contract (README, "Order events").
    """

    QUIET = frozenset({"review_id"})  # a review: the order's handlers key on its status

    order_id = UnicodeAttribute()
    shop_id = UnicodeAttribute()
    shop_name = UnicodeAttribute(default="")
    owner_id = UnicodeAttribute()
    buyer_id = UnicodeAttribute()
    status = UnicodeAttribute()
    items = ListAttribute(of=LineMap)
    subtotal = NumberAttribute()
    discount = NumberAttribute(default=0)
    total = NumberAttribute()
    currency = UnicodeAttribute(default="KRW")
    via_post_id = UnicodeAttribute(null=True)
    via_store_link = UnicodeAttribute(null=True)
    referrer_id = UnicodeAttribute(null=True)  # the link's owner (stream contract: the referral signal)
    referrer_name = UnicodeAttribute(null=True)
    referral_reward = NumberAttribute(null=True)  # won, as computed at placement; null: no reward set
    reward_given = BooleanAttribute(null=True)  # set on credited orders only
    reorder_of = UnicodeAttribute(null=True)
    review_id = UnicodeAttribute(null=True)
    subscription_id = UnicodeAttribute(null=True)  # set on a subscription's period order
    buyer_closed = BooleanAttribute(null=True)  # true once the buyer closed their account (absent before)
    history = ListAttribute(of=HistoryMap, default=list)
    created_at = NumberAttribute()
    updated_at = NumberAttribute()
    # Checkout (absent on orders placed before it). Maps as records.commerce has them.
    buyer_name = UnicodeAttribute(null=True)
    shipping_fee = NumberAttribute(null=True)
    fulfilment: MapAttribute = MapAttribute(null=True)  # {method, address{...}, pickup_address, pickup_hours}
    payment: MapAttribute = MapAttribute(null=True)  # {method, payment_id, amount, deadline_at, bank_account, ...}
    paid_at = NumberAttribute(null=True)  # stream contract: set once, when paid; the order counts from then
    refund: MapAttribute = MapAttribute(null=True)  # {status, amount, requested_at, refunded_at, attempts, ...}
    shipment: MapAttribute = MapAttribute(null=True)  # {carrier, tracking_number}
    deliver_by = NumberAttribute(null=True)
    # Discount lines (records.commerce.DiscountLine as maps: kind, amount, coupon_id, name; absent on
    # orders placed before them) and the buyer's coupon the order used (given back if it is cancelled
    # or expires).
    discounts: ListAttribute[dict[str, Any]] = ListAttribute(null=True)
    coupon_id = UnicodeAttribute(null=True)


class IdempotencyItem(MainItem, discriminator="idempotency"):
    """A client's ``Idempotency-Key`` and the first answer given to it.

    Key design: ``pk = IDEMP#<user_id>#<key>``, ``sk = IDEMP``. Put with
    ``attribute_not_exists(pk)`` in the same transaction as the order it answers, so it exists
    exactly when that order does; a retry's transaction is cancelled on this item and reads the
    stored answer back from the cancellation (``ReturnValuesOnConditionCheckFailure=ALL_OLD``).
    ``request_hash`` tells a retry (same hash) from a reuse of the key for another request;
    ``expires_at`` (TTL) lets DynamoDB delete it after the retention period.
    """

    user_id = UnicodeAttribute()
    key = UnicodeAttribute()
    request_hash = UnicodeAttribute()
    order_id = UnicodeAttribute()
    response = UnicodeAttribute()  # the order as first answered, JSON
    created_at = NumberAttribute()
    expires_at = TTLAttribute()
