"""Which failures of a dependency are transient: a retry a moment later may well succeed.

DynamoDB's throttling and transaction conflicts are retried where they happen
(``storage.retry``) and become ``Unavailable`` there. What can still escape — a timeout or a
dropped connection (botocore retries those itself, then gives up), throttling on a call that
is not wrapped in ``with_retries`` — is recognised here, by the names and codes botocore and
PynamoDB give it (no import of either), so the HTTP edge answers 503 with ``Retry-After``
instead of 500, and a stream record is reported for Lambda to retry.
"""

from __future__ import annotations

# DynamoDB error and cancellation-reason codes that mean "busy", not "wrong".
TRANSIENT_CODES = frozenset({
    "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
    "InternalServerError", "ServiceUnavailable", "TransactionConflict", "TransactionConflictException",
    "TransactionInProgressException",
})
# botocore's network failures (and their bases), and Python's own.
TRANSIENT_TYPES = frozenset({
    "HTTPClientError", "ReadTimeoutError", "ConnectTimeoutError", "EndpointConnectionError",
    "ConnectionClosedError", "ConnectionError", "TimeoutError",
})


def _codes(error: BaseException) -> set[str]:
    codes = {getattr(error, "cause_response_code", None)}
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        codes.add((response.get("Error") or {}).get("Code"))
    reasons = getattr(error, "cancellation_reasons", None) or []
    reason_codes = {getattr(r, "code", None) for r in reasons if r is not None} - {None, "None"}
    if reason_codes and reason_codes <= TRANSIENT_CODES:
        codes |= reason_codes
    return {c for c in codes if c}


def is_transient(error: BaseException) -> bool:
    """True when ``error`` (or what caused it) is a timeout, a dropped connection, throttling
    or a transaction conflict."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if any(cls.__name__ in TRANSIENT_TYPES for cls in type(current).__mro__):
            return True
        if _codes(current) & TRANSIENT_CODES:
            return True
        current = current.__cause__ or current.__context__
    return False
