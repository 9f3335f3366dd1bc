"""One page of a Query: at most ``limit`` items and the key to continue from."""

from __future__ import annotations

from itertools import islice
from typing import Any

from chalicelib.records.common import Page


def page_of(results: Any, limit: int, convert=lambda item: item) -> Page:
    """``results`` is a PynamoDB ResultIterator made with ``limit=limit``: one Query call."""
    items = [convert(item) for item in islice(results, limit)]
    last_key = results.last_evaluated_key if len(items) == limit else None
    return Page(items=items, last_key=last_key)
