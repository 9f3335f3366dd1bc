"""Due items: the deadline jobs' work lists (``storage.checkout``), one item per order and kind.

``pk = DUE#<kind>#<yyyy-mm-dd>#<shard>`` (the UTC day it falls due; the shard a stable hash of
the order id or subject, ``storage.buckets``), ``sk = <iso time>#<order_id>``: a job reads what
is due (``sk <= now``) in every shard of the few day buckets it looks back over, never a Scan.
Items written before the sharding sit under ``DUE#<kind>#<yyyy-mm-dd>``, read as one more shard.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from chalicelib.ids import iso
from chalicelib.storage.base import MainItem
from chalicelib.storage.buckets import bucket_key, bucket_keys

EXPIRE, DELIVER, REFUND = "expire", "deliver", "refund"


def _day(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d")


def due_bucket(kind: str, at: float) -> str:
    """The day bucket (and the legacy unsharded key) of ``kind`` due at ``at``."""
    return f"DUE#{kind}#{_day(at)}"


def due_pk(kind: str, at: float, subject: str) -> str:
    return bucket_key(due_bucket(kind, at), subject)


def due_pks(kind: str, at: float) -> list[str]:
    """Every key of the day bucket of ``at``: its shards, then the legacy key."""
    return bucket_keys(due_bucket(kind, at))


def due_sk(at: float, order_id: str) -> str:
    return f"{iso(at)}#{order_id}"


class DueItem(MainItem, discriminator="due"):
    """One order's next deadline of one kind."""

    kind = UnicodeAttribute()
    order_id = UnicodeAttribute()
    at = NumberAttribute()


def due_item(kind: str, at: float, order_id: str) -> DueItem:
    return DueItem(due_pk(kind, at, order_id), due_sk(at, order_id), kind=kind, order_id=order_id, at=at)


