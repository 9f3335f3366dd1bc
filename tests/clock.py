"""Tests move the app's one clock (``chalicelib.clock``), never a module's own copy of it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from chalicelib import clock


def hold(monkeypatch: pytest.MonkeyPatch, read: Callable[[], float]) -> None:
    """Until the test ends, the app's time is whatever ``read()`` says."""
    monkeypatch.setattr(clock, "_source", read)


class TestClock:
    """A clock of the test's own: stands still at ``now`` until the test moves it."""

    __test__ = False  # not a test class

    def __init__(self, monkeypatch: pytest.MonkeyPatch, now: float) -> None:
        self.now = now
        hold(monkeypatch, lambda: self.now)
