"""The two tables, their shared key attributes and indexes, and how they are bound to a stage.

Key design (single-table, see the README's access-pattern table):

* **main** table: every entity, keyed by overloaded ``pk`` / ``sk`` strings, with four
  overloaded, sparse global secondary indexes ``gsi1``..``gsi4`` (string keys). Its stream
  (NEW_AND_OLD_IMAGES) drives feed fan-out, scoring and notifications.
* **feed** table: one partition per reader (``pk`` = user id, ``sk`` = post id, newest
  last) and a TTL; no index, so an entry costs one write unit. It has no stream: fan-out
  writes thousands of items that nothing needs to react to.

Models never read the environment: ``bind(settings)`` points every model at the stage's
tables (and DynamoDB Local when an endpoint is set) before first use, and gives all models
of a table one shared connection, so a cold start creates one botocore client per table
instead of one per model class.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pynamodb.attributes import DiscriminatorAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

if TYPE_CHECKING:
    from chalicelib.settings import Settings


class _Meta:
    region = "ap-northeast-2"
    host: str | None = None
    # Botocore's own retries for throttling; transaction conflicts are retried in retry.py.
    max_retry_attempts = 3
    connect_timeout_seconds = 2
    read_timeout_seconds = 5


def _gsi(n: int) -> type[GlobalSecondaryIndex]:
    meta = type("Meta", (), {"index_name": f"gsi{n}", "projection": AllProjection()})
    attrs = {
        "Meta": meta,
        f"gsi{n}pk": UnicodeAttribute(hash_key=True),
        f"gsi{n}sk": UnicodeAttribute(range_key=True),
        "__doc__": f"Overloaded sparse index {n}: entities opt in by setting gsi{n}pk/gsi{n}sk.",
    }
    return type(f"GSI{n}", (GlobalSecondaryIndex,), attrs)


GSI1 = _gsi(1)
GSI2 = _gsi(2)
GSI3 = _gsi(3)
GSI4 = _gsi(4)


class MainItem(Model):
    """Abstract base of every item of the main table.

    It declares the overloaded indexes, so every entity can opt into any of them
    by setting ``gsiNpk``/``gsiNsk`` (items that leave them unset stay out: sparse), and
    every model of the table shares one schema and therefore one connection.
    """

    class Meta(_Meta):
        table_name = "dongne-local"
        stream_view_type = "NEW_AND_OLD_IMAGES"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    # Which entity an item is ("user", "shop", "post"...): a partition holding several kinds
    # reads back as the right classes, and the stream handler routes records by it.
    entity = DiscriminatorAttribute()
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    gsi3pk = UnicodeAttribute(null=True)
    gsi3sk = UnicodeAttribute(null=True)
    gsi1 = GSI1()
    gsi2 = GSI2()
    gsi3 = GSI3()
    # Sparse "due at" index for time-driven changes (a regular who has not come back turns
    # lapsed): a scheduled job queries one due bucket instead of scanning.
    gsi4pk = UnicodeAttribute(null=True)
    gsi4sk = UnicodeAttribute(null=True)
    gsi4 = GSI4()


class FeedItem(Model):
    """Abstract base of the feed table's items."""

    class Meta(_Meta):
        table_name = "dongne-local-feed"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    expires_at = TTLAttribute(null=True)


def _concrete(base: type[Model]) -> list[type[Model]]:
    found: list[type[Model]] = []
    for sub in base.__subclasses__():
        found.append(sub)
        found.extend(_concrete(sub))
    return found


def models_of(base: type[Model]) -> list[type[Model]]:
    """Every concrete model stored in ``base``'s table (imports all model modules first)."""
    import chalicelib.storage.models  # noqa: F401  (registers the subclasses)

    return _concrete(base)


def table_bases() -> tuple[type[Model], type[Model]]:
    return MainItem, FeedItem


def bind(settings: "Settings") -> None:
    """Point all models at the stage's tables; idempotent and cheap."""
    for base, name in ((MainItem, settings.table_name), (FeedItem, settings.feed_table_name)):
        base.Meta.table_name = name
        base.Meta.region = settings.region
        base.Meta.host = settings.dynamodb_endpoint
        base._connection = None
        shared = base._get_connection()
        for model in models_of(base):
            model._connection = shared
