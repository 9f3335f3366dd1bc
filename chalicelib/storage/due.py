"""Reading the due items' day buckets (``storage.models.due``): what every deadline job shares."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from chalicelib.ids import iso
from chalicelib.storage.models.due import DueItem, due_pk
from chalicelib.storage.retry import with_retries

DUE_PAGE = 100


def due_items(kind: str, now: float, look_back_days: int, page_size: int | None = None) -> Iterator[DueItem]:
    """Due items of ``kind`` with a time at or before ``now``, oldest day first: one Query page
    (``page_size``, default ``DUE_PAGE``, items) of one day bucket at a time, the next read only when the caller wants
    more (a job stops taking on work at its deadline; what it did not reach stays due). Buckets
    older than ``look_back_days`` are not read: a job down for longer leaves those for a look."""
    size = page_size or DUE_PAGE  # read at call time (a test pages by two)
    today = datetime.fromtimestamp(now, UTC)
    for back in range(look_back_days, -1, -1):
        pk = due_pk(kind, (today - timedelta(days=back)).timestamp())
        start: dict | None = None
        while True:
            def page(start=start) -> tuple[list[DueItem], dict | None]:
                results = DueItem.query(pk, DueItem.sk <= f"{iso(now)}#~", limit=size, page_size=size,
                                        last_evaluated_key=start)
                items = list(results)
                return items, results.last_evaluated_key

            items, start = with_retries(page)
            yield from items
            if start is None:
                break
