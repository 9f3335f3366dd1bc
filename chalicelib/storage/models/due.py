"""Due items: the deadline jobs' work lists (``storage.checkout``), one item per order and kind.

``pk = DUE#<kind>#<yyyy-mm-dd>`` (the UTC day it falls due), ``sk = <iso time>#<order_id>``: a
job reads what is due (``sk <= now``) in the few day buckets it looks back over, never a Scan.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from chalicelib.ids import iso
from chalicelib.storage.base import MainItem

EXPIRE, DELIVER, REFUND = "expire", "deliver", "refund"


def _day(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d")


def due_pk(kind: str, at: float) -> str:
    return f"DUE#{kind}#{_day(at)}"


def due_sk(at: float, order_id: str) -> str:
    return f"{iso(at)}#{order_id}"


class DueItem(MainItem, discriminator="due"):
    """One order's next deadline of one kind."""

    kind = UnicodeAttribute()
    order_id = UnicodeAttribute()
    at = NumberAttribute()


def due_item(kind: str, at: float, order_id: str) -> DueItem:
    return DueItem(due_pk(kind, at), due_sk(at, order_id), kind=kind, order_id=order_id, at=at)


