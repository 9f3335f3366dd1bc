"""Sharded day buckets on a table (moto, and DynamoDB Local with ``DONGNE_TEST_BACKEND=ddblocal``):
a day's due items spread over the shards' partitions, the readers find all of them and the ones
written before the sharding, and a reader stopped early leaves the rest due. The index buckets'
old unsharded keys (``LAPSE#``, ``SUBDUE#``, ``REMIND#``) are tested with their jobs
(test_relationships, test_subscription_orders, test_notifications)."""

from __future__ import annotations

import uuid

from chalicelib.storage.buckets import SHARDS, shard_of
from devtools.callcount import dynamodb_calls

DAY = 86_400.0
# 2026-12-01 00:00 UTC.
T0 = 1796083200.0


def _kind() -> str:
    """A kind of due item of this test alone: its buckets hold nothing of other tests on a shared table."""
    return f"test_{uuid.uuid4().hex[:10]}"


def _store():
    """The insights store (its due items are the shared ``storage.due`` ones), the models bound."""
    from chalicelib.wiring import container

    return container().insights


def _stored_keys(kind: str, day: str) -> set[str]:
    """The partition keys the items of ``kind`` were written under (read key by key, no Scan)."""
    from chalicelib.storage.models.due import DueItem

    keys = [f"DUE#{kind}#{day}#{shard}" for shard in range(SHARDS)] + [f"DUE#{kind}#{day}"]
    return {key for key in keys if list(DueItem.query(key, limit=1))}


def test_a_days_due_items_spread_over_the_shards_and_the_job_reads_them_all():
    from chalicelib.storage.due import drop_due, due_items

    kind, store = _kind(), _store()
    subjects = [f"01SHOP{n:020d}" for n in range(64)]
    for n, subject in enumerate(subjects):
        store.schedule(kind, T0 + n, subject)
        store.schedule(kind, T0 + n, subject)  # a replayed write lands on the same item
    keys = _stored_keys(kind, "2026-12-01")
    assert len(keys) == len({shard_of(s) for s in subjects}) >= SHARDS - 2  # not one partition
    assert f"DUE#{kind}#2026-12-01" not in keys  # nothing new under the old unsharded key

    with dynamodb_calls() as calls:
        found = list(due_items(kind, T0 + DAY, look_back_days=1))
    assert sorted(item.order_id for item in found) == subjects  # every shard, each item once
    # Two days' buckets, each its shards and the legacy key: one Query each (one page holds them).
    assert calls.by_operation() == {"Query": 2 * (SHARDS + 1)}
    for item in found:
        drop_due(kind, float(item.at), item.order_id)
    assert list(due_items(kind, T0 + DAY, look_back_days=1)) == []


def test_an_item_written_before_the_sharding_is_still_found_and_dropped():
    from chalicelib.storage.due import due_items
    from chalicelib.storage.models.due import DueItem, due_sk

    kind, store = _kind(), _store()
    # As the code before the sharding wrote it: the bare day bucket.
    DueItem(f"DUE#{kind}#2026-12-01", due_sk(T0 + 60, "01OLDSHOP"), kind=kind, order_id="01OLDSHOP",
            at=T0 + 60).save()
    store.schedule(kind, T0 + 120, "01NEWSHOP")
    assert sorted(store.due(kind, T0 + DAY, 1)) == [(T0 + 60, "01OLDSHOP"), (T0 + 120, "01NEWSHOP")]
    store.drop_due(kind, T0 + 60, "01OLDSHOP")  # its shard holds nothing: the legacy key is deleted
    store.drop_due(kind, T0 + 120, "01NEWSHOP")
    assert list(due_items(kind, T0 + DAY, 1)) == []
    assert _stored_keys(kind, "2026-12-01") == set()


def test_a_reader_stopped_early_leaves_the_rest_due_and_the_next_finishes_with_none_twice():
    from chalicelib.storage.due import due_items

    kind, store = _kind(), _store()
    subjects = [f"01SHOP{n:020d}" for n in range(40)]
    for n, subject in enumerate(subjects):
        store.schedule(kind, T0 + n, subject)
    done: list[str] = []
    reader = due_items(kind, T0 + DAY, 1, page_size=2)
    for item in reader:  # a job handles each item, then drops it (as every due-item job does)
        done.append(item.order_id)
        store.drop_due(kind, float(item.at), item.order_id)
        if len(done) == 15:
            break  # its deadline
    reader.close()
    rest = [subject for _, subject in store.due(kind, T0 + DAY, 1)]
    assert len(rest) == 25 and not set(rest) & set(done)
    for n, subject in enumerate(rest):
        store.drop_due(kind, T0 + subjects.index(subject), subject)
    assert sorted(done + rest) == subjects and list(store.due(kind, T0 + DAY, 1)) == []
