"""The fan-out queue: chunks of work written to the main table and run from its stream."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from chalicelib.records.social import FanoutWork
from chalicelib.storage.models.fanout import FanoutItem, fanout_pk, fanout_sk
from chalicelib.storage.transactions import Cancelled, Transaction

# A chunk item only has to live until its stream record has been handled (seconds; at most
# the stream's 24-hour retention when the handler is failing).
WORK_TTL_SECONDS = 24 * 3600


def to_work(item: FanoutItem) -> FanoutWork:
    return FanoutWork(post_id=item.post_id, shop_id=item.shop_id, action=item.action, version=int(item.version),
                      path=item.path or "", after=item.after, until=item.until, created_at=float(item.created_at))


def to_item(work: FanoutWork) -> FanoutItem:
    return FanoutItem(fanout_pk(work.post_id, work.path), fanout_sk(work.action, work.version),
                      post_id=work.post_id, shop_id=work.shop_id, action=work.action, version=work.version,
                      path=work.path, after=work.after, until=work.until, created_at=work.created_at,
                      expires_at=datetime.fromtimestamp(work.created_at + WORK_TTL_SECONDS, tz=UTC))


class FanoutQueue:
    def enqueue(self, works: Sequence[FanoutWork]) -> bool:
        """Write a chunk's children together, once: one TransactWriteItems, each item
        ``attribute_not_exists``. ``False`` when they were written already (a replayed chunk:
        its first child exists, so nothing is written, whatever the replay computed)."""
        if not works:
            return False
        tx = Transaction(FanoutItem._get_connection().connection, return_consumed_capacity="NONE")
        for work in works:
            tx.put(to_item(work), condition=FanoutItem.pk.does_not_exist(), label=work.path)
        try:
            tx.commit()
        except Cancelled:
            return False
        return True
