"""Essentials: subscriptions (정기배송), their creating requests, and each customer's "due at"
reorder items."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import ListAttribute, MapAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute, VersionAttribute

from chalicelib.storage.base import MainItem
from chalicelib.storage.buckets import bucket_key, bucket_keys

SUBSCRIPTION = "SUB"
SUBSCRIPTION_REQUEST = "SUBREQ"


def subscription_pk(subscription_id: str) -> str:
    return f"SUB#{subscription_id}"


def my_subscriptions_pk(user_id: str) -> str:
    return f"USER#{user_id}#SUBS"


def shop_subscriptions_pk(shop_id: str) -> str:
    return f"SHOP#{shop_id}#SUBS"


def shop_status_subscriptions_pk(shop_id: str, status: str) -> str:
    return f"SHOP#{shop_id}#SUBS#{status}"


def due_pk(day: str, subscription_id: str) -> str:
    """The subscription's shard of the day bucket (``storage.buckets``)."""
    return bucket_key(f"SUBDUE#{day}", subscription_id)


def due_pks(day: str) -> list[str]:
    """Every key of ``day``'s bucket: its shards, then the legacy ``SUBDUE#<day>``."""
    return bucket_keys(f"SUBDUE#{day}")


def request_pk(user_id: str, key: str) -> str:
    return f"SUBREQ#{user_id}#{key}"


def reorder_pk(user_id: str) -> str:
    return f"REORDER#{user_id}"


def reorder_sk(product_id: str) -> str:
    return f"PRODUCT#{product_id}"


def reorders_due_pk(user_id: str) -> str:
    return f"USER#{user_id}#REORDERS"


class SubscriptionItem(MainItem, discriminator="subscription"):
    """A standing order of one customer at one shop (records.subscriptions.Subscription).

    Key design: ``pk = SUB#<subscription_id>``, ``sk = SUB`` (read and written by id: GetItem,
    conditional UpdateItem/PutItem). Indexes:

    * gsi1 ``USER#<subscriber_id>#SUBS`` / ``<subscription_id>`` — my subscriptions, newest first;
    * gsi2 ``SHOP#<shop_id>#SUBS`` / ``<subscriber_id>#<subscription_id>`` — a shop's
      subscriptions, grouped by customer, so the customer card reads one customer's with a
      ``begins_with`` Query;
    * gsi3 ``SHOP#<shop_id>#SUBS#<status>`` / ``<subscription_id>`` — a shop's in one status;
    * gsi4 ``SUBDUE#<yyyy-mm-dd>#<shard>`` / ``<ISO time>#<subscription_id>`` — the due-date
      index: set only while the subscription is active, at the moment the job next has something
      to do (announce the next period a day before it, or place it), so the scheduled job finds
      what is due with one Query per shard of each day bucket, never a Scan (``storage.buckets``:
      the shard a hash of the id; those written before the sharding are under
      ``SUBDUE#<yyyy-mm-dd>`` until their next write). Paused and cancelled
      subscriptions leave it (sparse).

    Every write is conditional on ``revision`` (the one read), and the period's order is
    placed in the same transaction that moves ``period`` on, so a period is ordered once.
    """

    subscription_id = UnicodeAttribute()
    subscriber_id = UnicodeAttribute()
    subscriber_name = UnicodeAttribute(default="")
    shop_id = UnicodeAttribute()
    shop_name = UnicodeAttribute(default="")
    owner_id = UnicodeAttribute()
    items: ListAttribute[dict[str, Any]] = ListAttribute(default=list)  # maps {product_id, name, quantity, price}
    every_days = NumberAttribute()
    status = UnicodeAttribute()
    period = NumberAttribute()
    next_order_at = NumberAttribute()
    discount_percent = NumberAttribute(default=0)
    quoted_at = NumberAttribute()
    announced_period = NumberAttribute(default=0)
    revision = NumberAttribute(default=0)
    history: ListAttribute[dict[str, Any]] = ListAttribute(default=list)  # maps {period, outcome, due_at, at, order_id, detail}
    last_order_id = UnicodeAttribute(null=True)
    # {order_id, period, attempts, held_until, next_try_at}: a period's order still to be charged
    charge: MapAttribute = MapAttribute(null=True)
    currency = UnicodeAttribute(default="KRW")
    created_at = NumberAttribute()
    updated_at = NumberAttribute()


class SubscriptionRequestItem(MainItem, discriminator="subscription_request"):
    """A ``POST /subscriptions`` Idempotency-Key and the subscription it created.

    Key design: ``pk = SUBREQ#<user_id>#<key>``, ``sk = SUBREQ``; put with
    ``attribute_not_exists(pk)`` in the transaction that creates the subscription, so it exists
    exactly when its subscription does; a retry reads the first answer back from the
    cancellation (ALL_OLD). ``expires_at`` (TTL) ends it after the retention period.
    """

    user_id = UnicodeAttribute()
    key = UnicodeAttribute()
    request_hash = UnicodeAttribute()
    subscription_id = UnicodeAttribute()
    response = UnicodeAttribute()  # the subscription as first answered, JSON
    created_at = NumberAttribute()
    expires_at = TTLAttribute()


class ReorderItem(MainItem, discriminator="reorder"):
    """When one customer's essential (one product) is due again (records.subscriptions.Reorder).

    Key design: ``pk = REORDER#<user_id>``, ``sk = PRODUCT#<product_id>``, written by the
    order stream (placing sets it, a cancellation restores the purchase before). gsi1
    ``USER#<user_id>#REORDERS`` / ``<ISO due time>#<product_id>`` lists a customer's
    essentials by due time, so "due or overdue, soonest first" is one Query
    (``gsi1sk <= now``); an item with no purchase left leaves the index. ``version`` makes
    every write conditional on the one read (two shards' records for one customer never
    lose each other's purchase).
    """

    user_id = UnicodeAttribute()
    product_id = UnicodeAttribute()
    purchases: ListAttribute[dict[str, Any]] = ListAttribute(default=list)  # maps {order_id, at, reorder_days, shop_id, shop_name, name}
    cancelled: ListAttribute[Any] = ListAttribute(of=UnicodeAttribute, default=list)
    due_at = NumberAttribute(null=True)
    updated_at = NumberAttribute()
    version = VersionAttribute()
