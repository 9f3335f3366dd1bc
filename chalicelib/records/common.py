"""Records every domain shares: a page of a list."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    """One page of a list: the items and the DynamoDB key to continue from (or None)."""

    items: list
    last_key: dict | None
