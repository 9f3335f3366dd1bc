"""Conditional multi-item writes with cancellation reasons mapped back to their items.

PynamoDB's ``TransactWrite`` sends its items grouped by kind — condition checks, then
deletes, then puts, then updates — not in the order they were added, so DynamoDB's
positional cancellation reasons cannot be read by call order. ``Transaction`` labels
each item and reorders the labels the way PynamoDB sends them, so callers ask "which
condition failed?" by name. Conflicts and throttling are retried (``retry.with_retries``);
a failed condition raises ``Cancelled``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.storage.retry import with_retries

_SEND_ORDER = ("check", "delete", "put", "update")
CONDITION_FAILED = "ConditionalCheckFailed"


class Cancelled(Exception):
    """The transaction was cancelled because these labelled conditions failed.

    ``old_items`` holds, per label, the item as it was when its condition failed — for
    items added with ``return_old=True`` (ReturnValuesOnConditionCheckFailure=ALL_OLD).
    """

    def __init__(self, failed: list[str], old_items: dict[str, dict]) -> None:
        super().__init__(f"transaction cancelled: {', '.join(failed) or 'unknown reason'}")
        self.failed = failed
        self.old_items = old_items

    def __contains__(self, label: str) -> bool:
        return label in self.failed


class Transaction:
    """Labelled transaction items, sent in PynamoDB's order and reported back by label.

    ``client_request_token`` is a string, or a function of the attempt number (0, 1, ...)
    for callers that resend on purpose after a definite cancellation (a conflict) and must
    not have a remembered cancellation replayed at them. ``return_consumed_capacity`` is
    passed to DynamoDB as is (``"NONE"`` saves DynamoDB Local the accounting).
    """

    def __init__(self, connection: Any, client_request_token: str | Callable[[int], str] | None = None,
                 return_consumed_capacity: str | None = None) -> None:
        self._connection = connection
        self._token = client_request_token
        self._capacity = return_consumed_capacity
        self._ops: dict[str, list[tuple[str, Callable[[TransactWrite], None]]]] = {k: [] for k in _SEND_ORDER}

    def __len__(self) -> int:
        return sum(len(ops) for ops in self._ops.values())

    def check(self, model_cls: type, hash_key: str, range_key: str | None, *, condition: Any, label: str) -> "Transaction":
        self._ops["check"].append(
            (label, lambda tx: tx.condition_check(model_cls, hash_key, range_key, condition=condition)))
        return self

    def delete(self, item: Any, *, condition: Any = None, label: str) -> "Transaction":
        self._ops["delete"].append((label, lambda tx: tx.delete(item, condition=condition)))
        return self

    def put(self, item: Any, *, condition: Any = None, label: str, return_old: bool = False) -> "Transaction":
        values = "ALL_OLD" if return_old else None
        self._ops["put"].append((label, lambda tx: tx.save(item, condition=condition, return_values=values)))
        return self

    def update(self, item: Any, actions: list, *, condition: Any = None, label: str,
               return_old: bool = False) -> "Transaction":
        values = "ALL_OLD" if return_old else None
        self._ops["update"].append(
            (label, lambda tx: tx.update(item, actions=actions, condition=condition, return_values=values)))
        return self

    def labels(self) -> list[str]:
        """Labels in the order DynamoDB receives (and reports on) the items."""
        return [label for kind in _SEND_ORDER for label, _ in self._ops[kind]]

    def commit(self, attempts: int = 5) -> None:
        """Send the items (transaction conflicts retried up to ``attempts`` times).

        Raises ``Cancelled`` naming the labels whose condition failed.
        """
        sent = itertools.count()

        def attempt() -> None:
            token = self._token(next(sent)) if callable(self._token) else self._token
            options = {} if self._capacity is None else {"return_consumed_capacity": self._capacity}
            with TransactWrite(connection=self._connection, client_request_token=token, **options) as tx:
                for kind in _SEND_ORDER:
                    for _, add in self._ops[kind]:
                        add(tx)

        try:
            with_retries(attempt, attempts=attempts)
        except TransactWriteError as error:
            reasons = error.cancellation_reasons or []
            failed, old_items = [], {}
            for label, reason in zip(self.labels(), reasons):
                if reason is not None and reason.code == CONDITION_FAILED:
                    failed.append(label)
                    if reason.raw_item:
                        old_items[label] = reason.raw_item
            if not failed:
                raise
            raise Cancelled(failed, old_items) from error
