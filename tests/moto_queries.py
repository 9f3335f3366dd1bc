"""A faster Query on a moto table's own key, with the same results.

moto 5.2's ``Table.query`` on the table's key (no index) builds ``all_items()`` — every item of
the table, sorted — and keeps those of the asked partition, so each Query costs the size of the
whole table: a test that loads the demo (tens of thousands of items) and then runs a job reading
day buckets spent over a minute sorting the table for nothing. This patch hands moto's own
``query`` the asked partition's items only (moto keeps them by hash key already); everything after
(the range condition, the sort, the filter, paging, projections) is moto's own code.

A Query on an index gets the table's items unsorted: moto keeps the index entries nowhere, so it
filters every item of the table by the index key anyway, and then sorts what matched by the index's
keys itself; only the sort of the whole table by its own key (for nothing) is skipped. The sharded
day buckets (``storage.buckets``) read 17 index keys where one was read, which made that sort the
bulk of the job tests' time.

Only the moto test backend uses it; DynamoDB Local and AWS are never patched.
"""

from __future__ import annotations

import threading
from typing import Any

from moto.dynamodb.models.table import Table

_original_query = Table.query
_original_all_items = Table.all_items
_local = threading.local()


def _all_items(self: Any) -> list[Any]:
    override = getattr(_local, "partition", None)
    if override is not None and override[0] is self:
        return override[1]
    return _original_all_items(self)


def _unsorted(self: Any) -> list[Any]:
    return [item for bucket in self.items.values() for item in bucket.values()]


def _query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
    index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
    if not self.range_key_attr:
        return _original_query(self, hash_key, *args, **kwargs)
    if index_name is not None:
        _local.partition = (self, _unsorted(self))
        try:
            return _original_query(self, hash_key, *args, **kwargs)
        finally:
            _local.partition = None
    if hash_key is None:
        return _original_query(self, hash_key, *args, **kwargs)
    bucket = self.items.get(hash_key)
    _local.partition = (self, list(bucket.values()) if bucket else [])
    try:
        return _original_query(self, hash_key, *args, **kwargs)
    finally:
        _local.partition = None


def install() -> None:
    Table.query = _query  # type: ignore[method-assign]
    Table.all_items = _all_items  # type: ignore[method-assign]


def uninstall() -> None:
    Table.query = _original_query  # type: ignore[method-assign]
    Table.all_items = _original_all_items  # type: ignore[method-assign]
