"""Relationship strength: one item per (customer, shop) pair, the owner's notes about the
customer, tier changes and the lapse sweep's watermark."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    VersionAttribute,
)

from chalicelib.storage.base import MainItem
from chalicelib.storage.buckets import bucket_key, bucket_keys


def rel_pk(shop_id: str) -> str:
    return f"REL#{shop_id}"


def rel_sk(user_id: str) -> str:
    return f"USER#{user_id}"


def note_sk(user_id: str) -> str:
    return f"NOTE#{user_id}"


def customers_pk(shop_id: str) -> str:
    return f"SHOP#{shop_id}#CUSTOMERS"


def tier_pk(shop_id: str, tier: str) -> str:
    return f"SHOP#{shop_id}#TIER#{tier}"


def my_shops_pk(user_id: str) -> str:
    return f"USER#{user_id}#SHOPS"


def lapse_pk(day: str, shop_id: str, user_id: str) -> str:
    """The pair's shard of the day bucket (``storage.buckets``)."""
    return bucket_key(f"LAPSE#{day}", f"{shop_id}#{user_id}")


def lapse_pks(day: str) -> list[str]:
    """Every key of ``day``'s bucket: its shards, then the legacy ``LAPSE#<day>``."""
    return bucket_keys(f"LAPSE#{day}")


class RelationshipItem(MainItem, discriminator="relationship"):
    """How strong one customer's relationship with one shop is, and what the shop remembers.

    Key design: ``pk = REL#<shop_id>``, ``sk = USER#<user_id>`` (the customer card is one
    GetItem). Ranked lists use the forward-decay key ``rank`` (``scoring.encode_rank_key``: a
    fixed-width string that sorts as ``log2(S) + t/H``), so each is one Query, strongest first
    (``ScanIndexForward=False``):

    * gsi1 ``SHOP#<shop_id>#CUSTOMERS`` / ``rank`` — a shop's customers;
    * gsi2 ``SHOP#<shop_id>#TIER#<tier>`` / ``rank`` — one tier of them;
    * gsi3 ``USER#<user_id>#SHOPS`` / ``rank`` — a customer's shops (``rank >= "0"``).

    gsi1 and gsi2 are sparse: a pair with nothing left (unfollowed, every like taken back, no
    order) leaves the lists but keeps its card. gsi3 holds every pair of the customer, the
    unlisted ones under ``"!"`` (below every rank key, never read by "my shops"), so closing an
    account finds all of its pairs with one Query. gsi4 ``LAPSE#<yyyy-mm-dd>#<shard>`` /
    ``<ISO time>#<shop_id>#<user_id>`` is set only while a pair will turn lapsed with no
    further event, so the lapse sweep finds due pairs with one Query per shard and day instead
    of a Scan (``storage.buckets``: the shard a hash of the pair; pairs written before the
    sharding are under ``LAPSE#<yyyy-mm-dd>`` until their next write). Every write is one conditional PutItem (``version``), or one transaction with a
    ``TierTransitionItem`` when the tier changes.
    """

    shop_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    customer_name = UnicodeAttribute(default="")
    shop_name = UnicodeAttribute(default="")
    shop_handle = UnicodeAttribute(default="")
    # scoring.RelationshipState.to_dict(): decayed parts at updated_at, order facts, tier.
    state: MapAttribute[str, Any] = MapAttribute()
    tier = UnicodeAttribute()  # what gsi2 lists it under
    rank = UnicodeAttribute()
    favourites: ListAttribute[dict[str, Any]] = ListAttribute(default=list)  # maps {product_id, name, orders, quantity, last_at}
    essentials: ListAttribute[dict[str, Any]] = ListAttribute(default=list)  # maps {product_id, name, reorder_days, times}
    seen: ListAttribute[Any] = ListAttribute(of=UnicodeAttribute, default=list)  # digests of the latest event ids
    history: ListAttribute[dict[str, Any]] = ListAttribute(default=list)  # maps {from, to, at, milestone}, latest last
    lapse_at = NumberAttribute(null=True)
    since = NumberAttribute(null=True)  # the earliest signal's time
    created_at = NumberAttribute()
    written_at = NumberAttribute()
    version = VersionAttribute()


class CustomerNoteItem(MainItem, discriminator="customer_note"):
    """The shop owner's private memo about one customer.

    Key design: ``pk = REL#<shop_id>``, ``sk = NOTE#<user_id>``: next to the pair (the card
    reads both with one BatchGetItem) but a separate item, so the stream-driven score writes
    never race the owner's edits.
    """

    shop_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    note = UnicodeAttribute(default="")
    updated_at = NumberAttribute()


class TierTransitionItem(MainItem, discriminator="tier_transition"):
    """A customer moved between tiers (e.g. first_time → regular: "became_regular").

    Key design: ``pk = REL#<shop_id>``, ``sk = TRANSITION#<user_id>#<ISO time>#<to_tier>``;
    written in the same transaction as the pair's new state. Its INSERT on the stream is what
    notifications react to; nothing reads it by key.
    """

    shop_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    from_tier = UnicodeAttribute()
    to_tier = UnicodeAttribute()
    milestone = UnicodeAttribute(null=True)
    at = NumberAttribute()
    created_at = NumberAttribute()


class JobStateItem(MainItem, discriminator="job_state"):
    """Progress of a scheduled job (the lapse sweep's last fully swept day).

    Key design: ``pk = JOB#<name>``, ``sk = STATE``.
    """

    day = UnicodeAttribute()
    updated_at = NumberAttribute()
