"""Sharded day buckets (``storage.buckets``): where a subject's item goes, how readers read every
shard (and the legacy key) in parallel and stop early, and the jobs bounded per invocation."""

from __future__ import annotations

import threading
import time
from collections import Counter

from chalicelib.storage import buckets
from chalicelib.storage.buckets import SHARDS, bucket_key, bucket_keys, read_pages, shard_of


def test_a_subject_always_lands_in_the_same_shard():
    # CRC-32, not hash(): the same in every process (PYTHONHASHSEED) and every release.
    assert shard_of("01JSUBSCRIPTION00000000001") == shard_of("01JSUBSCRIPTION00000000001") == 12
    assert bucket_key("SUBDUE#2026-12-01", "01JSUBSCRIPTION00000000001") == "SUBDUE#2026-12-01#12"
    assert shard_of("shop#user") == 12


def test_a_days_subjects_spread_over_every_shard():
    counts = Counter(shard_of(f"01JSUB{n:020d}") for n in range(10_000))
    assert sorted(counts) == list(range(SHARDS))
    mean = 10_000 / SHARDS
    assert max(counts.values()) < 1.1 * mean and min(counts.values()) > 0.9 * mean


def test_readers_read_every_shard_then_the_legacy_key():
    keys = bucket_keys("LAPSE#2026-12-01")
    assert len(keys) == SHARDS + 1 and keys[-1] == "LAPSE#2026-12-01"
    assert keys[:2] == ["LAPSE#2026-12-01#0", "LAPSE#2026-12-01#1"]
    # Raising SHARDS keeps every shard an older, smaller count wrote.
    assert all(shard_of(f"s{n}", 8) == shard_of(f"s{n}", 16) % 8 for n in range(500))


class Table:
    """Items per key, read a page of ``size`` at a time; counts reads and the reads in flight."""

    def __init__(self, items: dict[str, list[int]], size: int = 2, delay: float = 0.0) -> None:
        self.items, self.size, self.delay = items, size, delay
        self.reads: list[tuple[str, int]] = []
        self.in_flight = self.most_in_flight = 0
        self.threads: set[str] = set()
        self.lock = threading.Lock()

    def page(self, key: str, start: dict | None) -> tuple[list[int], dict | None]:
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            self.threads.add(threading.current_thread().name)
        time.sleep(self.delay)
        offset = start["offset"] if start else 0
        items = self.items.get(key, [])
        chunk = items[offset:offset + self.size]
        with self.lock:
            self.reads.append((key, offset))
            self.in_flight -= 1
        return chunk, ({"offset": offset + self.size} if offset + self.size < len(items) else None)


def test_read_pages_reads_every_key_in_parallel_a_page_at_a_time():
    keys = bucket_keys("DUE#x#2026-12-01")
    items = {key: list(range(n * 100, n * 100 + n % 5)) for n, key in enumerate(keys)}  # 0..4 items each
    table = Table(items, size=2, delay=0.01)
    pages = list(read_pages(keys, table.page, readers=4))
    got = [item for page in pages for item in page]
    assert sorted(got) == sorted(i for v in items.values() for i in v)
    # One Query per key, one more per further page; several at once, never more than the readers.
    assert len(table.reads) == sum(max(1, -(-len(v) // 2)) for v in items.values())
    assert table.most_in_flight <= 4 and len(table.threads) > 1
    # Round by round: every key's first page is handed over before any key's second (what the
    # caller sees, whatever order the threads were scheduled in).
    rounds = [page[0] % 100 // 2 for page in pages]
    assert rounds == sorted(rounds) and rounds[0] == 0 and rounds[-1] == 1


def test_a_reader_that_stops_early_reads_at_most_a_page_ahead_of_each_key():
    keys = [f"K#{n}" for n in range(17)]
    table = Table({key: list(range(20)) for key in keys}, size=2, delay=0.005)
    reader = read_pages(keys, table.page, readers=4)
    taken = [next(reader) for _ in range(3)]
    reader.close()  # a job at its deadline
    assert len(taken) == 3
    reads = len(table.reads)
    time.sleep(0.05)
    assert len(table.reads) == reads  # nothing more is read once closed
    # At most one page ahead of each key: its first page (queued for every key at the start) and,
    # for the keys whose pages were taken, the next one. Nothing beyond, however the threads ran.
    per_key = {key: sum(1 for r in table.reads if r[0] == key) for key in keys}
    assert max(per_key.values()) <= 2 and sum(per_key.values()) <= len(keys) + len(taken)


def test_the_read_pages_default_readers_and_one_key():
    assert 1 < buckets.READERS <= 16
    table = Table({"K": [1, 2, 3]}, size=10)
    assert list(read_pages(["K"], table.page)) == [[1, 2, 3]]
    assert list(read_pages([], table.page)) == []


def test_the_lapse_sweep_stops_at_its_deadline_and_the_next_run_finishes_with_none_twice():
    from chalicelib.records.relationships import Tier
    from chalicelib.services import relationships as rel
    from tests.unit.test_relationships import DAY, T0, MemoryStore, order

    store = MemoryStore()
    users = [f"U{n}" for n in range(12)]
    for n, user in enumerate(users):  # twelve regulars, all due to lapse on the same day
        rel.record(store, order(2 * n, T0, user=user), T0)
        rel.record(store, order(2 * n + 1, T0 + 7 * DAY, user=user), T0 + 7 * DAY)
    due = max(store.pairs[("S1", u)].lapse_at for u in users)
    store.watermark = rel.day_of(due)
    ticks = iter(range(1000))
    first = rel.sweep_lapses(store, due + 1, deadline=5, clock=lambda: next(ticks))
    assert first.stopped_early and 0 < first.lapsed < len(users)
    assert store.watermark == rel.day_of(due)  # the day it stopped in is read again
    second = rel.sweep_lapses(store, due + 2)
    assert not second.stopped_early and first.lapsed + second.lapsed == len(users)
    assert all(store.pairs[("S1", u)].tier is Tier.LAPSED for u in users)
    lapses = [t for t in store.transitions if t.to_tier is Tier.LAPSED]
    assert len(lapses) == len(users)  # each pair lapsed once
    assert rel.sweep_lapses(store, due + 3).due == 0


def test_reorder_reminders_stop_at_their_deadline_and_the_next_run_finishes_with_none_twice():
    from chalicelib.records.notifications import ReorderWatch
    from chalicelib.records.relationships import Essential, Pair
    from chalicelib.services import notices
    from tests.unit.test_notifications import DAY, NOW, FakeWatches, context

    bought = NOW - 6.5 * DAY
    pairs = {f"u{n}": Pair(shop_id="shop", user_id=f"u{n}", customer_name=f"손님 {n}", shop_name="망원동 두부가게",
                           shop_handle="h", essentials=(Essential("tofu", "손두부", 7, (bought,)),))
             for n in range(6)}
    day = notices.day_of(bought + 6 * DAY)

    class Watches(FakeWatches):
        def __init__(self):
            super().__init__()
            self.pending = {u: ReorderWatch(u, "shop", "tofu", "손두부", f"o-{u}", bought, 7, bought + 6 * DAY)
                            for u in pairs}
            self.mark = day

        def due_reminders(self, d, until):
            return iter(list(self.pending.values()) if d == day else [])

        def reminded(self, w):
            self.pending.pop(w.user_id, None)  # the watch leaves the index

        def reminder_watermark(self):
            return self.mark

        def set_reminder_watermark(self, d, now):
            self.mark = d

    ctx = context(next(iter(pairs.values())))
    ctx.directory.get_pair = lambda shop_id, user_id: pairs[user_id]
    ctx.watches = Watches()
    ticks = iter(range(1000))
    first = notices.remind_reorders(ctx, NOW, deadline=3, clock=lambda: next(ticks))
    assert first.stopped_early and 0 < first.sent < len(pairs) and ctx.watches.mark == day
    second = notices.remind_reorders(ctx, NOW)
    assert first.sent + second.sent == len(pairs) and not ctx.watches.pending
    sent_to = [call[1].recipient_id for call in ctx.inbox.calls]
    assert sorted(sent_to) == sorted(pairs)  # each customer reminded once
