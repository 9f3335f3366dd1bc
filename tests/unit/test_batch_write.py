"""BatchWriteItem paging and the retry of unprocessed items."""

from __future__ import annotations

import pytest

from chalicelib.storage.batch import UnprocessedWrites, batch_write


def put(n: int) -> dict:
    return {"PutRequest": {"Item": {"pk": {"S": f"u{n}"}, "sk": {"S": "p"}}}}


class FlakyTable:
    """Leaves the last ``stubborn`` items of every call unprocessed, ``rounds`` times."""

    def __init__(self, stubborn: int = 0, rounds: int = 0) -> None:
        self.calls: list[int] = []
        self.stubborn, self.rounds = stubborn, rounds

    def __call__(self, operation: str, kwargs: dict) -> dict:
        assert operation == "BatchWriteItem"
        [(table, requests)] = kwargs["RequestItems"].items()
        assert len(requests) <= 25
        self.calls.append(len(requests))
        if self.rounds and self.stubborn:
            self.rounds -= 1
            return {"UnprocessedItems": {table: requests[-self.stubborn:]}}
        return {"UnprocessedItems": {}}


def test_1000_writes_are_40_calls():
    table = FlakyTable()
    stats = batch_write(table, "feed", [put(n) for n in range(1000)], sleep=lambda s: None)
    assert (stats.calls, stats.items, stats.retried) == (40, 1000, 0)
    assert table.calls == [25] * 40


def test_unprocessed_items_are_resent_with_growing_backoff():
    table, slept = FlakyTable(stubborn=5, rounds=3), []
    stats = batch_write(table, "feed", [put(n) for n in range(30)], sleep=slept.append, base_delay=0.1)
    assert table.calls == [25, 5, 5, 5, 5]
    assert (stats.calls, stats.retried) == (5, 15)
    assert len(slept) == 3 and all(0 <= s <= 0.1 * 2 ** (i + 1) for i, s in enumerate(slept))


def test_gives_up_after_max_attempts():
    table = FlakyTable(stubborn=1, rounds=100)
    with pytest.raises(UnprocessedWrites):
        batch_write(table, "feed", [put(1)], sleep=lambda s: None, max_attempts=4)
    assert len(table.calls) == 4


def test_duplicate_keys_are_sent_once_last_wins():
    seen = []

    def dispatch(operation, kwargs):
        seen.extend(kwargs["RequestItems"]["feed"])
        return {}

    first, last = put(1), {"DeleteRequest": {"Key": {"pk": {"S": "u1"}, "sk": {"S": "p"}}}}
    stats = batch_write(dispatch, "feed", [first, put(2), last], sleep=lambda s: None)
    assert stats.items == 2 and last in seen and first not in seen
