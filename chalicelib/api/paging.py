"""Cursors at the edge: a page's DynamoDB key goes out signed and bound to its list.

``scope`` names the list and, for private lists, its reader (``"feed:<user_id>"``), so a
cursor from one list or user is refused (400) on another instead of leaking data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalicelib.api.edge import Ctx

if TYPE_CHECKING:
    from chalicelib.records.common import Page


def start_key(ctx: Ctx, cursor: str | None, scope: str) -> dict | None:
    return ctx.deps.cursors.decode(cursor, scope)


def page_out(ctx: Ctx, page: Page, scope: str, convert: Callable[[Any], Any] = lambda item: item) -> dict:
    return {"items": [convert(item) for item in page.items],
            "next_cursor": ctx.deps.cursors.encode(page.last_key, scope)}
