"""The app's one wall clock.

Every module that needs the time of day — token expiry, rate windows, scores and tiers,
schedules, notifications, store links, subscriptions, new ids — calls ``clock.now()`` when it
needs it. Nothing reads ``time.time()`` or ``datetime.now()`` itself, and nothing keeps a time
read at import (``tests/unit/test_clock.py`` fails if a module under ``chalicelib/`` does).

Tests and the demo's timeline move this one clock with ``set_source`` (or freeze the system
time as a whole); they never patch a module's own copy of it. Durations (deadlines inside one
invocation, cache lifetimes) use ``time.monotonic``, which is not a time of day.
"""

from __future__ import annotations

import time
from collections.abc import Callable

Source = Callable[[], float]

_source: Source = time.time


def now() -> float:
    """Epoch seconds, read from the current source at every call."""
    return _source()


def set_source(source: Source | None) -> Source:
    """Make ``source`` the app's clock (``None``: the system clock again); returns the one
    it replaces, so a caller can put it back."""
    global _source
    previous = _source
    _source = source if source is not None else time.time
    return previous
