"""Sharded day buckets: the scheduled jobs' work lists, spread over several partitions.

Every job finds its work in day buckets: the due items (``DUE#<kind>#<day>``), and on gsi4 the
lapses (``LAPSE#<day>``), the reorder reminders (``REMIND#<day>``) and the subscriptions
(``SUBDUE#<day>``). One partition key per day puts a whole day's work in one partition, and a
partition key value takes at most 1,000 WCU and 3,000 RCU a second. So each bucket is split
into ``SHARDS`` keys, ``<bucket>#<shard>``, the shard a stable hash of the item's subject
(``shard_of``): the same subject always lands in the same key (a replayed write rewrites the
same item), and a day's writes spread evenly over ``SHARDS`` partition key values.

**Why 16.** A bucket is written in bursts: a job that settles a day's subscriptions moves each
to the same later day; every order of a regular moves its pair to the day its lapse would fall;
every shop's first event of a day writes the same two Mondays' summaries. gsi4 projects whole
items (a pair or a subscription is 1–3 KB: 1–3 WCU per index write), so one partition key
takes 330–1,000 such writes a second. 16 keys take 16,000 WCU a second: 100,000 items of 2 KB
in about 12 s, far above anything one job or Dongne's whole order rate writes at once. The
price is on the read side: a job reads ``SHARDS + 1`` keys per day bucket (the legacy key
below), most of them a single small page or empty (0.5 RCU each). The busiest reader, the
order deadlines every 5 minutes over 3 kinds × 9 days, makes 459 Queries a run, about 132,000
a day — well under a dollar a month on demand — read ``READERS`` at a time.

``SHARDS`` may be raised, never lowered: readers read shards ``0..SHARDS-1``, which holds every
shard an older, smaller count wrote. It is a constant, not a setting, because the functions that
write a bucket (the API, the stream) and the ones that read it (the jobs) must agree on it.

**The legacy key.** Items written before the buckets were sharded sit under the bare
``<bucket>`` key; readers read it as one more shard (``bucket_keys``), so nothing already due
is locked out. Those items leave it as they are settled (deleted, or rewritten under a sharded
key), and no writer adds to it any more.
"""

from __future__ import annotations

import zlib
from collections import deque
from collections.abc import Callable, Generator, Sequence
from typing import TypeVar

T = TypeVar("T")

SHARDS = 16
# Queries of one job in flight at once (boto3/botocore clients are thread-safe; PynamoDB keeps
# a session per thread and shares the client).
READERS = 8


def shard_of(subject: str, shards: int = SHARDS) -> int:
    """A stable shard for ``subject`` (CRC-32: the same in every process and release)."""
    return zlib.crc32(subject.encode("utf-8")) % shards


def bucket_key(bucket: str, subject: str) -> str:
    """The key ``subject``'s item is written under in ``bucket`` (e.g. ``LAPSE#2026-12-01``)."""
    return f"{bucket}#{shard_of(subject)}"


def bucket_keys(bucket: str) -> list[str]:
    """Every key a reader of ``bucket`` reads: its shards, then the legacy unsharded key."""
    return [f"{bucket}#{shard}" for shard in range(SHARDS)] + [bucket]


def is_legacy(key: str, bucket: str) -> bool:
    return key == bucket


PageReader = Callable[[str, dict | None], tuple[list[T], dict | None]]


def read_pages(keys: Sequence[str], page: PageReader[T], readers: int | None = None
               ) -> Generator[list[T], None, None]:
    """Pages of every key in ``keys`` (``page(key, start) -> (items, last_key)``: one Query),
    round by round in key order: each key's next page is read, ``readers`` (default ``READERS``)
    Queries at a time, while the caller works on what came before. At most one page per key is in flight, so a
    caller that stops (a job at its deadline; close the generator) has read at most one page
    of each key it did not reach: nothing is claimed by reading, so what it left stays due.
    Empty pages are skipped."""
    if not keys:
        return
    # The first Query runs here: the client exists before the threads share it.
    first = page(keys[0], None)
    if len(keys) == 1 and first[1] is None:
        if first[0]:
            yield first[0]
        return
    from concurrent.futures import Future, ThreadPoolExecutor

    done: Future = Future()
    done.set_result(first)
    workers = max(1, min(readers or READERS, len(keys)))
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="buckets")
    try:
        pending = deque([(keys[0], done)] + [(key, pool.submit(page, key, None)) for key in keys[1:]])
        while pending:
            key, future = pending.popleft()
            items, last = future.result()
            if last is not None:
                pending.append((key, pool.submit(page, key, last)))
            if items:
                yield items
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def read_items(keys: Sequence[str], page: PageReader[T], readers: int | None = None) -> Generator[T, None, None]:
    """``read_pages``, item by item; closing this iterator closes the reads (a job at its deadline)."""
    reader = read_pages(keys, page, readers)
    try:
        for items in reader:
            yield from items
    finally:
        reader.close()
