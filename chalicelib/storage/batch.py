"""BatchWriteItem in pages of 25, with the items DynamoDB leaves unprocessed retried.

DynamoDB may accept only part of a batch (``UnprocessedItems``) when a partition is hot
or capacity runs short; the documented answer is to resend the rest with exponential
backoff. Whatever is still unprocessed after ``max_attempts`` raises, so the stream
batch fails and Lambda retries it — every write here is idempotent (a Put of the same
entry, a Delete of a key), so a retried batch is harmless.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from chalicelib.records.social import WriteStats

BATCH_WRITE_LIMIT = 25  # DynamoDB's maximum number of requests in one BatchWriteItem
BATCH_GET_LIMIT = 100  # ... and of keys in one BatchGetItem


class UnprocessedWrites(RuntimeError):
    """Some writes were still unprocessed after every retry."""


def chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _key_of(request: dict[str, Any], key_names: tuple[str, ...]) -> tuple:
    body = request.get("PutRequest", {}).get("Item") or request.get("DeleteRequest", {}).get("Key") or {}
    return tuple(str(body.get(name)) for name in key_names)


def batch_write(dispatch: Callable[[str, dict], dict], table: str, requests: Iterable[dict[str, Any]], *,
                key_names: tuple[str, ...] = ("pk", "sk"), max_attempts: int = 8, base_delay: float = 0.05,
                sleep: Callable[[float], None] = time.sleep) -> WriteStats:
    """Send ``requests`` (``{"PutRequest": ...}`` / ``{"DeleteRequest": ...}``) 25 per call.

    ``dispatch(operation, kwargs)`` sends one DynamoDB call. The last request for a key
    wins (DynamoDB refuses a batch naming one key twice). Backoff is exponential with
    full jitter: ``uniform(0, base_delay * 2**attempt)``.
    """
    unique: dict[tuple, dict[str, Any]] = {}
    for request in requests:
        unique[_key_of(request, key_names)] = request
    stats = WriteStats()
    for chunk in chunks(list(unique.values()), BATCH_WRITE_LIMIT):
        stats.items += len(chunk)
        pending: dict[str, list] = {table: chunk}
        attempt = 0
        while pending:
            response = dispatch("BatchWriteItem", {"RequestItems": pending})
            stats.calls += 1
            pending = {name: reqs for name, reqs in (response.get("UnprocessedItems") or {}).items() if reqs}
            if not pending:
                break
            left = sum(len(reqs) for reqs in pending.values())
            stats.retried += left
            attempt += 1
            if attempt >= max_attempts:
                raise UnprocessedWrites(f"{left} write(s) to {table} still unprocessed after {attempt} attempts")
            sleep(random.uniform(0, base_delay * 2 ** attempt))
    return stats
