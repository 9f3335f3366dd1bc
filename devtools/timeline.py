"""Demo history at past times: one clock for requests and stream handlers, moved forward.

A corner store's story takes weeks: a regular is someone who came back, a lapsed regular is
someone who stopped. ``Timeline`` sets the app's one clock (``chalicelib.clock``) to a simulated
"now" that starts weeks ago and only moves forward; ``TimedCaller`` makes each demo request a few minutes after the previous one.
Before the clock jumps ahead (a new day of the story), the stream handlers run on everything
written so far, so scoring, tiers and notifications happen at the time the story says they
did. Things that happen on their own days while the rest of the story is told (a shop's weeks
of posts and orders) are scheduled with ``Timeline.at`` and happen on the way, at their times.
Tokens (which live 7 days) are renewed when the timeline has moved past them.

Everything goes through the real API and the real stream function, as in ``devtools.demo``.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

DAY = 86_400.0
KST = timedelta(hours=9)


def stream_drainer() -> Callable[[], int]:
    """Deliver what the main table's stream holds from now on to the stream function, on call.

    Reads the configured table's stream (DynamoDB Local's, or moto's in tests); earlier records
    are skipped. A stream poller that also runs (``make run``'s) delivers the same records
    again later: every handler treats that as the replay it is.
    """
    import boto3

    from chalicelib.events.stream import stream
    from chalicelib.wiring import container
    from devtools.stream_poller import StreamPoller

    settings = container().settings
    endpoint = settings.dynamodb_endpoint
    # moto intercepts the classic regional Streams host, not the account-specific one.
    streams_url = endpoint or f"https://streams.dynamodb.{settings.region}.amazonaws.com"
    poller = StreamPoller(boto3.client("dynamodb", region_name=settings.region, endpoint_url=endpoint),
                          boto3.client("dynamodbstreams", region_name=settings.region, endpoint_url=streams_url),
                          settings.table_name, lambda event, context: None, start_at="TRIM_HORIZON")
    poller.drain()  # what was there before the story: not ours
    poller.handler = stream

    def drain() -> int:
        poller.reacquire()  # moto replaces its stream on a failed transaction
        return poller.drain()

    return drain


def kst_day(epoch: float) -> str:
    return (datetime.fromtimestamp(epoch, tz=UTC) + KST).strftime("%Y-%m-%d")


class Timeline:
    """A simulated "now" for the app while the demo history is written."""

    def __init__(self, days_back: float, drain: Callable[[], int] | None = None, real_now: float | None = None) -> None:
        self.real_now = real_now if real_now is not None else time.time()
        self.now = self.real_now - days_back * DAY
        self.start = self.now
        self.drain = drain
        self._saved: list[Callable[[], float]] = []
        self._pending: list[tuple[float, int, Callable[[], Any]]] = []  # (when, order, action)
        self._catching_up = False
        self._order = itertools.count()

    def __enter__(self) -> "Timeline":
        from chalicelib import clock

        self._saved.append(clock.set_source(self.clock))
        return self

    def __exit__(self, *exc: object) -> None:
        from chalicelib import clock

        if exc[0] is None:
            self.catch_up(self.real_now)
            self.settle()
        if self._saved:
            clock.set_source(self._saved.pop())

    def clock(self) -> float:
        return self.now

    def go(self, days_ago: float, hour_kst: int = 10) -> None:
        """Move to ``hour_kst`` o'clock (Korean time) ``days_ago`` days before the real now;
        never backwards. What happened so far is handled first, at its own time."""
        day = datetime.fromtimestamp(self.real_now - days_ago * DAY, tz=UTC) + KST
        target = (day.replace(hour=hour_kst, minute=0, second=0, microsecond=0) - KST).timestamp()
        self.catch_up(target)
        self.settle()
        self.now = max(self.now, min(target, self.real_now))

    def go_to(self, when: float) -> None:
        """Move to ``when`` (epoch seconds, not after the real now); never backwards. What happened
        so far is handled first, at its own time."""
        self.catch_up(when)
        self.settle()
        self.now = max(self.now, min(when, self.real_now))

    def advance(self, seconds: float) -> None:
        """Let time pass; a jump of more than an hour handles what happened so far first."""
        if seconds > 3600:
            self.catch_up(self.now + seconds)
            self.settle()
        self.now = min(self.now + seconds, self.real_now)

    def at(self, when: float, action: Callable[[], Any]) -> None:
        """Have ``action`` happen at ``when`` (epoch seconds): the clock's next jump past it
        (``go``, a long ``advance``, the end of the timeline) stops there first and runs it; one
        the story has already passed runs at the next jump, as soon as it can."""
        heapq.heappush(self._pending, (when, next(self._order), action))

    def catch_up(self, until: float) -> None:
        """Run the scheduled actions due by ``until``, oldest first, each at its time; the stream
        handlers catch up first whenever the clock moves to another day."""
        if self._catching_up:
            return
        self._catching_up = True
        try:
            while self._pending and self._pending[0][0] <= until:
                when, _, action = heapq.heappop(self._pending)
                if when > self.now:
                    if kst_day(when) != kst_day(self.now):
                        self.settle()
                    self.now = min(when, self.real_now)
                action()
        finally:
            self._catching_up = False

    def settle(self) -> None:
        """Run the stream handlers on everything written so far, at the timeline's now."""
        if self.drain is not None:
            self.drain()


class TimedCaller:
    """A ``devtools.demo.Caller`` whose requests happen on the timeline, a few minutes apart."""

    def __init__(self, call: Callable[..., Any], timeline: Timeline, step_seconds: float = 300.0):
        self.call = call
        self.timeline = timeline
        self.step_seconds = step_seconds
        self.issued: dict[str, tuple[str, float]] = {}  # token -> (user id, issued at)
        self.renewed: dict[str, str] = {}  # old token -> its replacement

    def __call__(self, method: str, path: str, body: Any = None, token: str | None = None,
                 expect: tuple[int, ...] = (200, 201, 204), headers: dict | None = None) -> Any:
        token = self.fresh(token)
        result = self.call(method, path, body, token=token, expect=expect, headers=headers)
        if path in ("/auth/signup", "/auth/login") and isinstance(result, dict) and result.get("token"):
            self.issued[result["token"]] = (result["user"]["user_id"], self.timeline.now)
        self.timeline.advance(self.step_seconds)
        return result

    def fresh(self, token: str | None) -> str | None:
        """The token, or its replacement once the timeline has moved past half its lifetime (an access
        token lives an hour): what logging in again would give (the app's token service, for the account's current token version),
        without verifying the password again each week of the story (a deliberately slow hash)."""
        while token in self.renewed:
            token = self.renewed[token]
        if token is None or token not in self.issued:
            return token
        user_id, issued_at = self.issued[token]
        from chalicelib.wiring import container

        deps = container()
        if self.timeline.now - issued_at < deps.settings.token_ttl_seconds / 2:
            return token
        user = deps.accounts.get_user(user_id)
        if user is None:
            return token  # closed meanwhile: the old token is refused, as it should be
        renewed = deps.tokens.issue(user_id, self.timeline.now, user.token_version)
        self.issued[renewed] = (user_id, self.timeline.now)
        self.renewed[token] = renewed
        return renewed
