"""Translating DynamoDB failures into domain errors, with bounded retries.

Throttling, timeouts and dropped connections are retried by botocore itself
(``max_retry_attempts``); transaction conflicts (another transaction touching the same item)
and throttling that outlasts botocore's retries are retried here with jittered backoff;
whatever still fails becomes ``Unavailable`` (503 + Retry-After), never a 500. A timeout is
not retried here again: a write that timed out may have landed.
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


def _code(error: PynamoDBException) -> str | None:
    try:
        return error.cause_response_code
    except AttributeError:  # PynamoDB reads ``cause.response``, which a timeout has as None
        return None


def _network(error: BaseException) -> bool:
    """A timeout or a dropped connection (botocore has retried it already)."""
    cause = getattr(error, "cause", None) or error.__cause__
    return cause is not None and any(cls.__name__ in ("HTTPClientError", "ConnectionError")
                                     for cls in type(cause).__mro__)


def _retryable(error: PynamoDBException) -> bool:
    if _code(error) in _RETRYABLE:
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
            if _network(error):
                # not retried here: botocore retried it, and a write that timed out may have landed
                raise Unavailable("The database did not answer in time; retry shortly.", retry_after=1) from error
            if not _retryable(error):
                raise
            if attempt == attempts - 1:
                raise Unavailable("The database is busy; retry shortly.", retry_after=1) from error
            time.sleep(random.uniform(0, base_delay * 2**attempt))
    raise AssertionError("unreachable")
