"""Reading the due items' day buckets (``storage.models.due``): what every deadline job shares."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from pynamodb.exceptions import DeleteError

from chalicelib.ids import iso
from chalicelib.storage.buckets import read_pages
from chalicelib.storage.models.due import DueItem, due_bucket, due_pk, due_pks, due_sk
from chalicelib.storage.retry import with_retries

DUE_PAGE = 100
CONDITION_FAILED = "ConditionalCheckFailedException"


def due_items(kind: str, now: float, look_back_days: int, page_size: int | None = None) -> Iterator[DueItem]:
    """Due items of ``kind`` with a time at or before ``now``, oldest day first: one Query page
    (``page_size``, default ``DUE_PAGE``, items) of each shard of each day bucket, round by round
    (``storage.buckets.read_pages``: the shards are read in parallel, a page ahead of the caller),
    the next round read only when the caller wants more (a job stops taking on work at its
    deadline; what it did not reach stays due). Buckets older than ``look_back_days`` are not
    read: a job down for longer leaves those for a look."""
    size = page_size or DUE_PAGE  # read at call time (a test pages by two)
    today = datetime.fromtimestamp(now, UTC)
    keys = [key for back in range(look_back_days, -1, -1)
            for key in due_pks(kind, (today - timedelta(days=back)).timestamp())]
    until = f"{iso(now)}#~"

    def page(pk: str, start: dict | None) -> tuple[list[DueItem], dict | None]:
        def read() -> tuple[list[DueItem], dict | None]:
            results = DueItem.query(pk, DueItem.sk <= until, limit=size, page_size=size, last_evaluated_key=start)
            items = list(results)
            return items, results.last_evaluated_key

        return with_retries(read)

    reader = read_pages(keys, page)
    try:
        for items in reader:
            yield from items
    finally:
        reader.close()


def drop_due(kind: str, at: float, subject: str) -> None:
    """Delete the due item of ``kind``, ``at`` and ``subject`` (idempotent): one DeleteItem of its
    shard's key; only when that held nothing, a second of the legacy unsharded key, where an item
    written before the sharding may still be."""
    sk = due_sk(at, subject)
    try:
        with_retries(lambda: DueItem(due_pk(kind, at, subject), sk).delete(condition=DueItem.pk.exists()))
    except DeleteError as error:
        if error.cause_response_code != CONDITION_FAILED:
            raise
        with_retries(lambda: DueItem(due_bucket(kind, at), sk).delete())
