"""The fan-out queue: chunks of work written to the main table and run from its stream."""

from __future__ import annotations

from datetime import UTC, datetime

from pynamodb.exceptions import PutError

from chalicelib.records.social import FanoutWork
from chalicelib.storage.models.fanout import FanoutItem, fanout_pk, fanout_sk

# A chunk item only has to live until its stream record has been handled (seconds; at most
# the stream's 24-hour retention when the handler is failing).
WORK_TTL_SECONDS = 24 * 3600


def to_work(item: FanoutItem) -> FanoutWork:
    return FanoutWork(post_id=item.post_id, shop_id=item.shop_id, action=item.action, version=int(item.version),
                      seq=int(item.seq), after=item.after, created_at=float(item.created_at))


def to_item(work: FanoutWork) -> FanoutItem:
    return FanoutItem(fanout_pk(work.post_id), fanout_sk(work.action, work.version, work.seq),
                      post_id=work.post_id, shop_id=work.shop_id, action=work.action, version=work.version,
                      seq=work.seq, after=work.after, created_at=work.created_at,
                      expires_at=datetime.fromtimestamp(work.created_at + WORK_TTL_SECONDS, tz=UTC))


class FanoutQueue:
    def enqueue(self, work: FanoutWork) -> bool:
        """Write the chunk once: ``False`` when it was already written (a replayed chunk)."""
        try:
            to_item(work).save(condition=FanoutItem.pk.does_not_exist())
        except PutError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True
