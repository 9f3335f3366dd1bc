"""Abuse limits as services and storage pass them: rules, tickets and the login lock policy."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

USER, ADDRESS = "user", "address"

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_spec(spec: str) -> tuple[int, int]:
    """``"120/10m"`` → ``(120, 600)``: count and window in seconds."""
    match = _SPEC.match(spec)
    if not match:
        raise ValueError(f"a rate limit is '<count>/<n><s|m|h|d>', e.g. '120/10m'; got {spec!r}")
    count, size, unit = int(match.group(1)), int(match.group(2)), match.group(3)
    window = size * _UNIT_SECONDS[unit]
    if count < 1 or window < 1:
        raise ValueError(f"a rate limit needs a count and a window of at least 1; got {spec!r}")
    return count, window


@dataclass(frozen=True)
class Rule:
    name: str
    limit: int
    window: int  # seconds
    per: str  # USER or ADDRESS


@dataclass(frozen=True)
class Ticket:
    """One request's claim on a rule's budget: the window it counts in and whose it is."""

    rule: Rule
    subject: str
    window_start: int

    @property
    def window_end(self) -> int:
        return self.window_start + self.rule.window

    def retry_after(self, now: float) -> int:
        """Whole seconds until the window ends (at least 1), for the Retry-After header."""
        return max(1, math.ceil(self.window_end - now))


@dataclass(frozen=True)
class LockPolicy:
    """Login failures per account slow down progressively and reset on success.

    The first ``free`` attempts (between successes, within a day) are answered normally. Every
    attempt after that first claims a lock — ``lock_seconds(n)`` for the n-th attempt, doubling
    from ``base`` to ``cap`` — and only one attempt at a time can claim it, so an attacker gets
    one guess per lock period however many requests they send in parallel. A success clears
    it all; so does a new day.
    """

    free: int = 5
    base: int = 30
    cap: int = 900

    def lock_seconds(self, attempt: int) -> int:
        """How long the n-th attempt (counted from 1) locks the account; 0 for a free one."""
        beyond = attempt - self.free
        if beyond <= 0:
            return 0
        return min(self.cap, self.base * 2 ** min(beyond - 1, 30))
