"""Translating DynamoDB failures into domain errors, with bounded retries.

Throttling is retried by botocore itself (``max_retry_attempts``); transaction conflicts
(another transaction touching the same item) are retried here with jittered backoff;
whatever still fails becomes ``Unavailable`` (503 + Retry-After), never a 500.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from pynamodb.exceptions import PynamoDBException, TransactWriteError

from chalicelib.errors import Unavailable

T = TypeVar("T")

_RETRYABLE = {
    "TransactionConflict",
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "TransactionInProgressException",  # the same ClientRequestToken is still being processed
}


def cancellation_codes(error: TransactWriteError) -> list[str | None]:
    """The per-item reason codes of a cancelled transaction (None where the item was fine)."""
    return [r.code if r else None for r in (error.cancellation_reasons or [])]


def _retryable(error: PynamoDBException) -> bool:
    if error.cause_response_code in _RETRYABLE:
        return True
    if isinstance(error, TransactWriteError):
        codes = set(cancellation_codes(error)) - {None, "None"}
        return bool(codes) and codes <= _RETRYABLE
    return False


def with_retries(operation: Callable[[], T], attempts: int = 5, base_delay: float = 0.02) -> T:
    """Run ``operation``; retry conflicts and throttling, then answer ``Unavailable``."""
    for attempt in range(attempts):
        try:
            return operation()
        except PynamoDBException as error:
            if not _retryable(error):
                raise
            if attempt == attempts - 1:
                raise Unavailable("The database is busy; retry shortly.", retry_after=1) from error
            time.sleep(random.uniform(0, base_delay * 2**attempt))
    raise AssertionError("unreachable")
