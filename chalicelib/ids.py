"""Identifiers and time.

Ids are ULIDs: 26 characters, opaque to clients, and sorting by creation time, so a
sort key made of an id lists things newest-first without a separate timestamp.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ulid import ULID, LaxMonotonicPolicy, ULIDGenerator

from chalicelib import clock

# Ids take their time part from the app's clock, and ids made within one millisecond (as under
# a clock a test has stopped) still sort in the order they were made.
_generator = ULIDGenerator(clock=lambda: int(clock.now() * 1000), policy=LaxMonotonicPolicy())


def new_id() -> str:
    return str(_generator.generate())


def id_at(epoch_seconds: float) -> str:
    """A fresh id whose time part is ``epoch_seconds`` (used by demo data and benchmarks)."""
    return str(ULID.from_timestamp(epoch_seconds))


def time_of(id_: str) -> float | None:
    """The epoch seconds an id was made at (its ULID time part), or None if it is not a ULID."""
    try:
        return ULID.from_str(id_).timestamp
    except ValueError:
        return None


def iso(epoch_seconds: float) -> str:
    """ISO 8601 in UTC with millisecond precision, e.g. ``2026-11-23T04:31:00.123Z``."""
    dt = datetime.fromtimestamp(epoch_seconds, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
