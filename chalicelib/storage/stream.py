"""The main table's stream records, decoded in one place.

A Lambda stream event carries DynamoDB's wire format (``{"S": "..."}``). This module is the
only code that reads it: ``decode`` turns one record into a ``Change``, whose images are
available as plain Python (``new``/``old``: numbers as ``Decimal``, for the scoring
signals that read a few fields) or as the records storage defines (``record_new``/
``record_old``: a ``Post``, a ``Follow``, a ``FanoutWork``...), through the same PynamoDB
models that wrote them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

_deserializer = None


def plain(image: dict[str, Any] | None) -> dict[str, Any] | None:
    """A raw image as plain Python values (numbers as Decimal), or None."""
    global _deserializer
    if image is None:
        return None
    if _deserializer is None:  # boto3 is imported on the first record, off the API's cold start
        from boto3.dynamodb.types import TypeDeserializer

        _deserializer = TypeDeserializer()
    return {name: _deserializer.deserialize(value) for name, value in image.items()}


def _converters() -> dict[type, Any]:
    """Stored item class → its record converter (imported on first use, off the API's cold start)."""
    from chalicelib.storage.broadcasts import to_chunk
    from chalicelib.storage.fanout import FanoutItem, to_work
    from chalicelib.storage.models.broadcasts import BroadcastChunkItem
    from chalicelib.storage.follows import to_follow
    from chalicelib.storage.models.notifications import NotificationItem
    from chalicelib.storage.models.social import FollowItem, PostItem
    from chalicelib.storage.models.subscriptions import SubscriptionItem
    from chalicelib.storage.notifications import to_notification
    from chalicelib.storage.posts import to_post
    from chalicelib.storage.subscriptions import to_subscription

    from chalicelib.storage.models.accounts import ShopItem
    from chalicelib.storage.shops import to_shop

    return {PostItem: to_post, FollowItem: to_follow, FanoutItem: to_work, NotificationItem: to_notification,
            SubscriptionItem: to_subscription, BroadcastChunkItem: to_chunk, ShopItem: to_shop}


_CONVERTERS: dict[type, Any] | None = None


def to_record(image: dict[str, Any]) -> Any:
    """The record a raw image of the main table holds (the item's ``entity`` picks the model)."""
    global _CONVERTERS
    from chalicelib.storage.base import MainItem

    if _CONVERTERS is None:
        _CONVERTERS = _converters()
    item = MainItem.from_raw_data(image)
    convert = _CONVERTERS.get(type(item))
    if convert is None:
        raise TypeError(f"no record for stream items of entity {image.get('entity')!r}")
    return convert(item)


@dataclass(frozen=True)
class Change:
    """One stream record: what changed, with its images."""

    event_id: str
    event_name: str  # INSERT | MODIFY | REMOVE
    entity: str
    sequence: str
    at: float  # ApproximateCreationDateTime, epoch seconds
    raw_new: dict[str, Any] | None = field(default=None, repr=False)
    raw_old: dict[str, Any] | None = field(default=None, repr=False)

    @cached_property
    def new(self) -> dict[str, Any] | None:
        return plain(self.raw_new)

    @cached_property
    def old(self) -> dict[str, Any] | None:
        return plain(self.raw_old)

    def record_new(self) -> Any:
        return to_record(self.raw_new) if self.raw_new is not None else None

    def record_old(self) -> Any:
        return to_record(self.raw_old) if self.raw_old is not None else None

    def record(self) -> Any:
        """The newest record there is (the old one for a REMOVE)."""
        return self.record_new() if self.raw_new is not None else self.record_old()


def decode(record: dict[str, Any]) -> Change | None:
    """A Lambda stream record as a ``Change``; None for an item without an ``entity``."""
    data = record.get("dynamodb") or {}
    new, old = data.get("NewImage"), data.get("OldImage")
    entity = ((new or old or {}).get("entity") or {}).get("S")
    if entity is None:
        return None
    return Change(event_id=record.get("eventID", ""), event_name=record.get("eventName", ""), entity=entity,
                  sequence=data.get("SequenceNumber", ""), at=float(data.get("ApproximateCreationDateTime") or 0),
                  raw_new=new, raw_old=old)


def sequence_of(record: dict[str, Any]) -> str:
    """The record's sequence number: what a partial batch response names."""
    return (record.get("dynamodb") or {}).get("SequenceNumber", "")
