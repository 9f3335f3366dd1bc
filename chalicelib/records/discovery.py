"""Records of discovery: a shop as search results and region lists show it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ShopHit:
    """One shop in a search result or a region's list."""

    shop_id: str
    name: str
    handle: str
    region: str
    follower_count: int


@dataclass(frozen=True)
class SearchPage:
    """One page of search results, best first; ``next_offset`` None at the end."""

    items: list[ShopHit]
    next_offset: int | None
