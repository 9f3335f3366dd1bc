"""Broadcasts: the broadcast and its chunks (one partition), the audience's pages, and the
deliveries — many recipients' messages in one transaction each, every one guarded."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from pynamodb.exceptions import PutError, UpdateError

from chalicelib.ids import iso
from chalicelib.records.broadcasts import Audience, Broadcast, Chunk
from chalicelib.records.conversations import Conversation, Message
from chalicelib.records.rates import Ticket
from chalicelib.records.relationships import Pair
from chalicelib.storage.accounts import _connection
from chalicelib.storage.base import MainItem
from chalicelib.storage.conversations import write_message
from chalicelib.storage.models.broadcasts import (
    BROADCAST_SK, HELD_GSI, BroadcastChunkItem, BroadcastItem, broadcast_pk, chunk_sk, shop_broadcasts_gsi,
)
from chalicelib.storage.models.accounts import shop_pk
from chalicelib.storage.models.conversations import BlockItem, block_sk
from chalicelib.storage.models.relationships import (
    RelationshipItem, customers_pk, rel_pk, rel_sk, tier_pk,
)
from chalicelib.storage.rates import add_quota, raise_if_limited
from chalicelib.storage.relationships import to_pair
from chalicelib.storage.retry import with_retries
from chalicelib.storage.transactions import Cancelled, Transaction

# Recipients per delivery transaction: 2 items each (the message, its conversation) and the
# chunk's counter make 99 of DynamoDB's 100 items. Transactions of one chunk sent at a time.
GROUP = 49
WORKERS = 4
SENT = "message#"  # write_message labels a message's item "message<label>"


def to_broadcast(item: BroadcastItem) -> Broadcast:
    audience = Audience(tier=item.audience_tier, essential_due=bool(item.audience_essential_due),
                        user_ids=tuple(item.audience_user_ids or ()))
    return Broadcast(broadcast_id=item.broadcast_id, shop_id=item.shop_id, shop_name=item.shop_name,
                     owner_id=item.owner_id, audience=audience, text=item.text, advertising=bool(item.advertising),
                     coupon_id=item.coupon_id, created_at=float(item.created_at),
                     held_until=None if item.held_until is None else float(item.held_until),
                     held_pass=None if item.held_pass is None else int(item.held_pass))


def to_chunk(item: BroadcastChunkItem) -> Chunk:
    def opt(value) -> int | None:
        return None if value is None else int(value)

    return Chunk(broadcast_id=item.broadcast_id, pass_no=int(item.pass_no), seq=int(item.seq), after=item.after,
                 created_at=float(item.created_at), delivered=int(item.delivered or 0), seen=opt(item.seen),
                 skipped=opt(item.skipped), held=opt(item.held), last=bool(item.last), part=int(item.part or 0))


def chunk_item(chunk: Chunk) -> BroadcastChunkItem:
    return BroadcastChunkItem(broadcast_pk(chunk.broadcast_id), chunk_sk(chunk.pass_no, chunk.seq, chunk.part),
                              broadcast_id=chunk.broadcast_id, pass_no=chunk.pass_no, seq=chunk.seq, part=chunk.part,
                              after=chunk.after, created_at=chunk.created_at)


def _time_key(at: float, broadcast_id: str) -> str:
    return f"{iso(at)}#{broadcast_id}"


class BroadcastsRepository:
    def create(self, broadcast: Broadcast, first: Chunk, quota: Ticket | None = None) -> None:
        """One TransactWriteItems: the broadcast, its first chunk (whose INSERT starts the
        delivery) and the owner's rate window. A full window → ``RateLimited``."""
        b = broadcast
        item = BroadcastItem(broadcast_pk(b.broadcast_id), BROADCAST_SK, broadcast_id=b.broadcast_id,
                             shop_id=b.shop_id, shop_name=b.shop_name, owner_id=b.owner_id,
                             audience_tier=b.audience.tier, audience_essential_due=b.audience.essential_due,
                             audience_user_ids=list(b.audience.user_ids), text=b.text, advertising=b.advertising,
                             coupon_id=b.coupon_id, created_at=b.created_at,
                             gsi1pk=shop_broadcasts_gsi(b.shop_id), gsi1sk=_time_key(b.created_at, b.broadcast_id))
        tx = (Transaction(_connection(), return_consumed_capacity="NONE")
              .put(item, condition=BroadcastItem.pk.does_not_exist(), label="broadcast")
              .put(chunk_item(first), condition=BroadcastChunkItem.pk.does_not_exist(), label="chunk"))
        add_quota(tx, quota)
        try:
            tx.commit()
        except Cancelled as cancelled:
            raise_if_limited(cancelled, quota, b.created_at)
            raise

    def get(self, broadcast_id: str) -> Broadcast | None:
        try:
            item = with_retries(lambda: BroadcastItem.get(broadcast_pk(broadcast_id), BROADCAST_SK))
        except BroadcastItem.DoesNotExist:
            return None
        return to_broadcast(item)

    def progress(self, broadcast_id: str) -> tuple[Broadcast | None, list[Chunk]]:
        """The broadcast and its chunks: one strongly consistent Query of its partition (a few
        hundred small items at 100,000 recipients; more pages only beyond that)."""
        def read() -> tuple[Broadcast | None, list[Chunk]]:
            broadcast: Broadcast | None = None
            chunks: list[Chunk] = []
            for item in MainItem.query(broadcast_pk(broadcast_id), consistent_read=True):
                if isinstance(item, BroadcastItem):
                    broadcast = to_broadcast(item)
                elif isinstance(item, BroadcastChunkItem):
                    chunks.append(to_chunk(item))
            return broadcast, chunks

        return with_retries(read)

    def enqueue(self, chunk: Chunk) -> bool:
        """Write the chunk once: ``False`` when it was already written (a replayed chunk)."""
        try:
            with_retries(lambda: chunk_item(chunk).save(condition=BroadcastChunkItem.pk.does_not_exist()))
        except PutError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def settle(self, chunk: Chunk, *, seen: int, skipped: int, held: int, last: bool) -> None:
        """The chunk's counts once it has gone through its recipients (a replay sets the same)."""
        C = BroadcastChunkItem
        item = BroadcastChunkItem(broadcast_pk(chunk.broadcast_id), chunk_sk(chunk.pass_no, chunk.seq, chunk.part))
        with_retries(lambda: item.update(actions=[C.seen.set(seen), C.skipped.set(skipped), C.held.set(held),
                                                  C.last.set(last)]))

    def hold(self, broadcast_id: str, pass_no: int, until: float) -> bool:
        """Ask for morning pass ``pass_no`` at ``until``, once: one UpdateItem on condition no pass
        as late was asked for (``requested_pass``). False when it already was."""
        B = BroadcastItem
        item = BroadcastItem(broadcast_pk(broadcast_id), BROADCAST_SK)
        try:
            with_retries(lambda: item.update(
                actions=[B.held_until.set(until), B.held_pass.set(pass_no), B.requested_pass.set(pass_no),
                         B.gsi2pk.set(HELD_GSI), B.gsi2sk.set(_time_key(until, broadcast_id))],
                condition=B.pk.exists() & (B.requested_pass.does_not_exist() | (B.requested_pass < pass_no))))
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def held_due(self, now: float, limit: int) -> list[Broadcast]:
        """Broadcasts whose morning pass is due by ``now``, soonest first: one Query of gsi2."""
        def read() -> list[Broadcast]:
            results = BroadcastItem.gsi2.query(HELD_GSI, BroadcastItem.gsi2sk <= f"{iso(now)}#~", limit=limit)
            return [to_broadcast(item) for item in results if isinstance(item, BroadcastItem)]

        return with_retries(read)

    def release(self, broadcast: Broadcast, now: float) -> bool:
        """Start the morning pass: one TransactWriteItems that clears the hold (on condition it is
        still this pass's) and writes the pass's first chunk. False when another run did."""
        B = BroadcastItem
        pass_no = broadcast.held_pass
        if pass_no is None:
            return False
        first = Chunk(broadcast_id=broadcast.broadcast_id, pass_no=pass_no, seq=0, after=None, created_at=now)
        tx = (Transaction(_connection(), return_consumed_capacity="NONE")
              .update(BroadcastItem(broadcast_pk(broadcast.broadcast_id), BROADCAST_SK),
                      [B.held_until.remove(), B.held_pass.remove(), B.gsi2pk.remove(), B.gsi2sk.remove()],
                      condition=B.held_pass == pass_no, label="broadcast")
              .put(chunk_item(first), condition=BroadcastChunkItem.pk.does_not_exist(), label="chunk"))
        try:
            tx.commit()
        except Cancelled:
            return False
        return True

    def audience_page(self, shop_id: str, audience: Audience, after: str | None,
                      limit: int) -> tuple[list[Pair], str | None]:
        """One page of the audience's pairs and the cursor after it (None: the last page). A tier
        is one Query of gsi2; "essential due" reads all customers (gsi1) for the caller to sift;
        chosen customers are one BatchGetItem per 100 (those who are no customer are absent)."""
        if audience.user_ids:
            start = int(after or 0)
            ids = list(dict.fromkeys(audience.user_ids))[start:start + limit]
            keys = [(rel_pk(shop_id), rel_sk(user_id)) for user_id in ids]
            pairs = with_retries(lambda: [to_pair(i) for i in RelationshipItem.batch_get(keys)]) if keys else []
            end = start + len(ids)
            return pairs, (str(end) if end < len(dict.fromkeys(audience.user_ids)) else None)
        start_key = json.loads(after) if after else None
        tier = audience.tier
        if tier:
            def query():
                return RelationshipItem.gsi2.query(tier_pk(shop_id, tier), limit=limit,
                                                   last_evaluated_key=start_key)
        else:
            def query():
                return RelationshipItem.gsi1.query(customers_pk(shop_id), limit=limit, last_evaluated_key=start_key)

        def read() -> tuple[list[Pair], str | None]:
            results = query()
            pairs = [to_pair(item) for item in results]
            last = results.last_evaluated_key
            return pairs, (json.dumps(last, sort_keys=True) if last else None)

        return with_retries(read)

    def blocked(self, shop_id: str, user_ids: list[str]) -> set[str]:
        """Which of these customers the shop blocked: one BatchGetItem per 100 (keys only)."""
        keys = [(shop_pk(shop_id), block_sk(user_id)) for user_id in dict.fromkeys(user_ids)]
        if not keys:
            return set()
        return with_retries(lambda: {item.user_id for item in BlockItem.batch_get(keys)})

    def deliver(self, chunk: Chunk, messages: Sequence[tuple[Conversation, Message]],
                stop: Callable[[], bool] | None = None) -> tuple[int, bool]:
        """Each message once to its customer: groups of ``GROUP`` recipients in one
        TransactWriteItems each, ``WORKERS`` at a time — per recipient the message
        (``attribute_not_exists``: its id is the broadcast's, so a second copy in the same
        conversation cannot be written) and its conversation's move — plus the chunk's
        ``delivered`` counter. A recipient already sent (a replay, an overlapping run, an earlier
        pass) is dropped and the rest of the group sent again, so no one gets it twice and the
        count is exact. Before each round of transactions ``stop()`` may end it early. Returns
        how many were delivered now, and whether every message was gone through."""
        groups = [list(messages[start:start + GROUP]) for start in range(0, len(messages), GROUP)]
        delivered = 0
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            for start in range(0, len(groups), WORKERS):
                if stop is not None and stop():
                    return delivered, False
                delivered += sum(pool.map(lambda group: self._deliver_group(chunk, group),
                                          groups[start:start + WORKERS]))
        return delivered, True

    def _deliver_group(self, chunk: Chunk, group: list[tuple[Conversation, Message]]) -> int:
        while group:
            tx = Transaction(_connection(), return_consumed_capacity="NONE")
            for conversation, message in group:
                write_message(tx, conversation, message, conversation.customer_id, automatic=True,
                              label=f"#{conversation.customer_id}")
            tx.update(BroadcastChunkItem(broadcast_pk(chunk.broadcast_id), chunk_sk(chunk.pass_no, chunk.seq, chunk.part)),
                      [BroadcastChunkItem.delivered.add(len(group))], label="chunk")
            try:
                tx.commit(attempts=8)
            except Cancelled as cancelled:
                sent = {label[len(SENT):] for label in cancelled.failed if label.startswith(SENT)}
                if not sent:
                    raise
                group = [(c, m) for c, m in group if c.customer_id not in sent]
                continue
            return len(group)
        return 0
