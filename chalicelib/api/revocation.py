"""The per-request token check, overlapped with the route's own reads on safe requests.

A signed, unexpired token may still be dead: logged out (its id or its login's id is on the
account's logged-out list), ended by a password change or reset (the account's token version
moved on) or its account closed. One strongly consistent GetItem of the profile tells
(``services.accounts.check_token``); it used to run before every signed-in route, so a feed
page was that GetItem and then the page's own Query, one after the other.

Now a **safe** request (GET, HEAD: it changes nothing) starts the check on a worker thread and
runs its route meanwhile; the answer waits for the check before it leaves, and a dead token
gets its 401 with the computed body thrown away. The route starts once the check's GetItem is
on its way (a few tens of microseconds), so the check is always the request's first call, as
call budgets count it, and only the waiting for DynamoDB's answers overlaps. Nothing a dead token asked to read leaves the
server, and the next request after a logout, a password change or a close is refused, as
before — the reads simply overlap. A **write** waits for the check before its route runs, so
a dead token changes nothing; so does a GET whose route is declared ``writes=True`` (none is
today: every GET that takes a token only reads, ``tests/api/test_safe_reads.py``). A view that
needs the account (``ctx.account``: ``GET /me``) waits for the same read: still one read per
request.

The worker uses the shared botocore client of the table's connection (botocore clients are
thread-safe; PynamoDB keeps the client on its connection and only the boto session per
thread), so the check costs no second connection. Lambda runs one request per container at a
time: two workers are plenty; local servers that run requests side by side share them.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from threading import Event, Lock
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from chalicelib.records.accounts import User

SAFE_METHODS = frozenset({"GET", "HEAD"})
WORKERS = 2
# How long a route waits for the check's read to go out before it starts anyway (a worker that
# is busy: the check still decides the answer, it just may not be the first call).
SEND_WAIT_SECONDS = 0.5



class SendSignals(Protocol):
    """Tells a waiting thread when this thread's read has gone out (``storage.sessions``)."""

    def sending(self, event: Event) -> AbstractContextManager[None]: ...


_pool: ThreadPoolExecutor | None = None
_pool_lock = Lock()


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="token-check")
        return _pool


def _in_this_trace(run: Callable[[], User]) -> Callable[[], User]:
    """``run`` on a worker, inside the request's X-Ray segment when tracing is on (the SDK keeps
    the current segment per thread)."""
    from chalicelib import observability

    tracer = observability.tracer()
    if tracer is None:
        return run
    recorder = tracer.provider
    try:
        entity = recorder.get_trace_entity()
    except Exception:  # no segment: trace nothing rather than fail the request
        return run

    def traced() -> User:
        recorder.set_trace_entity(entity)
        try:
            return run()
        finally:
            recorder.clear_trace_entities()

    return traced


class TokenCheck:
    """The token check of one request: run at once (``concurrent=False``) or on a worker."""

    def __init__(self, run: Callable[[], User], concurrent: bool, signals: SendSignals | None = None) -> None:
        self._future: Future[User] | None = None
        self._account: User | None = None
        self._error: BaseException | None = None
        if concurrent:
            sent = Event()
            traced = _in_this_trace(run)

            def check() -> User:
                if signals is None:
                    sent.set()
                    return traced()
                with signals.sending(sent):
                    return traced()

            self._future = _executor().submit(check)
            sent.wait(SEND_WAIT_SECONDS)
        else:
            self._account = run()  # a dead token raises here, before the route runs

    @property
    def pending(self) -> bool:
        return self._future is not None

    def account(self) -> User:
        """The account, once the check has passed; a dead token's ``Unauthorized`` otherwise
        (every time it is asked)."""
        if self._future is not None:
            future, self._future = self._future, None
            try:
                self._account = future.result()
            except BaseException as error:  # noqa: BLE001 - re-raised to every caller
                self._error = error
        if self._error is not None:
            raise self._error
        assert self._account is not None
        return self._account


def start(method: str, run: Callable[[], User], signals: SendSignals | None = None, *,
          writes: bool = False) -> TokenCheck:
    """The check beside the route on a safe request; before it on a write, and on a safe request
    whose route is declared to write (``Router.route(writes=True)``)."""
    return TokenCheck(run, concurrent=method in SAFE_METHODS and not writes, signals=signals)
