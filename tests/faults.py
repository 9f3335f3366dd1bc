"""DynamoDB faults injected where botocore sends a request: every attempt, its own retries included.

``inject(...)`` registers a ``before-send`` handler, first in line (ahead of moto's), on the
clients the app's models share (``MainItem`` and ``FeedItem`` connections) and answers chosen
requests with what DynamoDB answers when it is busy — an HTTP 400 with
``ProvisionedThroughputExceededException``, ``ThrottlingException`` or a
``TransactionCanceledException`` whose reasons say ``TransactionConflict`` — or raises what
botocore raises when the network fails (``ReadTimeoutError``, ``ConnectTimeoutError``). The
rest of the stack runs unchanged: botocore's retries and backoff, PynamoDB's error types, the
app's own retries, the edge. A fault can hit every matching request, the first ``times`` ones,
or a ``rate`` of them (seeded), and ``when`` narrows it to requests naming certain keys::

    with inject("TransactWriteItems", conflict(), rate=0.2, when=touches(("POST#1", "POST"))) as fault:
        ...
    fault.attempts, fault.injected, fault.waits

botocore's backoff between its retries is asked for as usual and recorded (``fault.waits``, in
seconds) but waited at ``WAIT_SCALE`` of its length while the fault is armed: throttling costs
botocore about a second per retry, and the suite injects hundreds of them.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError

PREFIX = "com.amazonaws.dynamodb.v20120810#"
WAIT_SCALE = 0.01


def _moto_skips_injected_requests() -> None:
    """botocore calls every ``before-send`` handler and uses the first answer: moto's handler
    would still carry out a request we answered with a fault. It skips the ones we answered."""
    try:
        from moto.core.botocore_stubber import BotocoreStubber
    except ImportError:
        return
    if getattr(BotocoreStubber.__call__, "_skips_faults", False):
        return
    original = BotocoreStubber.__call__

    def call(self, event_name, request, **kwargs):
        if getattr(request, "_fault_injected", False):
            return None
        return original(self, event_name, request, **kwargs)

    call._skips_faults = True  # type: ignore[attr-defined]
    BotocoreStubber.__call__ = call  # type: ignore[method-assign]


_moto_skips_injected_requests()


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def _error(status: int, code: str, message: str, **extra: Any) -> Callable[[Any], AWSResponse]:
    body = json.dumps({"__type": PREFIX + code, "message": message, **extra}).encode()

    def respond(request) -> AWSResponse:
        return AWSResponse(request.url, status, {"Content-Type": "application/x-amz-json-1.0",
                                                 "x-amzn-RequestId": "injected"}, _Raw(body))

    return respond


def throughput_exceeded() -> Callable:
    return _error(400, "ProvisionedThroughputExceededException",
                  "The level of configured provisioned throughput for the table was exceeded.")


def throttling() -> Callable:
    return _error(400, "ThrottlingException", "Rate of requests exceeds the allowed throughput.")


def conflict() -> Callable:
    """A cancelled transaction: the first item conflicts with another transaction in flight."""
    def respond(request) -> AWSResponse:
        items = json.loads(request.body or b"{}").get("TransactItems", [{}])
        reasons = [{"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}] + \
                  [{"Code": "None"}] * (len(items) - 1)
        return _error(400, "TransactionCanceledException",
                      "Transaction cancelled, please refer cancellation reasons for specific reasons "
                      f"[{', '.join(r['Code'] for r in reasons)}]", CancellationReasons=reasons)(request)

    return respond


def read_timeout() -> Callable:
    def respond(request):
        raise ReadTimeoutError(endpoint_url=request.url)

    return respond


def connect_timeout() -> Callable:
    def respond(request):
        raise ConnectTimeoutError(endpoint_url=request.url)

    return respond


def keys_named(body: dict) -> set[tuple[str, str]]:
    """The (pk, sk) keys a request names: each transaction item's, or the request's own."""
    parts = [next(iter(item.values())) for item in body.get("TransactItems", [])] or [body]
    found = set()
    for part in parts:
        key = part.get("Key") or part.get("Item") or {}
        if "pk" in key and "sk" in key:
            found.add((key["pk"]["S"], key["sk"]["S"]))
    return found


def touches(*keys: tuple[str, str]) -> Callable[[dict], bool]:
    """Requests naming any of these (pk, sk) keys."""
    wanted = set(keys)
    return lambda body: bool(keys_named(body) & wanted)


@dataclass
class Fault:
    operation: str
    respond: Callable
    times: int | None = None
    rate: float | None = None
    when: Callable[[dict], bool] | None = None
    seed: int = 12
    attempts: int = 0  # matching requests seen
    injected: int = 0
    waits: list[float] = field(default_factory=list)  # botocore's backoff, as it asked for it
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def __call__(self, request, **_: Any):
        if self.when is not None and not self.when(json.loads(request.body or b"{}")):
            return None
        self.attempts += 1
        if self.times is not None and self.injected >= self.times:
            return None
        if self.rate is not None and self._rng.random() >= self.rate:
            return None
        self.injected += 1
        request._fault_injected = True
        return self.respond(request)


def _clients() -> list[Any]:
    from chalicelib.storage.base import FeedItem, MainItem
    from chalicelib.wiring import container

    container()._bind()
    return list({id(c): c for c in (MainItem._get_connection().connection.client, FeedItem._get_connection().connection.client)}.values())


@contextmanager
def inject(operation: str, respond: Callable, *, times: int | None = None, rate: float | None = None,
           when: Callable[[dict], bool] | None = None, seed: int = 12) -> Iterator[Fault]:
    import botocore.endpoint

    fault = Fault(operation, respond, times=times, rate=rate, when=when, seed=seed)
    event = f"before-send.dynamodb.{operation}"
    clients = _clients()
    for client in clients:
        client.meta.events.register_first(event, fault, unique_id=f"fault-{id(fault)}")
    waited = botocore.endpoint.time  # the time module (or an outer fault's stand-in)
    botocore.endpoint.time = _Backoff(waited, fault.waits)  # type: ignore[assignment]
    try:
        yield fault
    finally:
        botocore.endpoint.time = waited
        for client in clients:
            client.meta.events.unregister(event, unique_id=f"fault-{id(fault)}")


class _Backoff:
    """``botocore.endpoint``'s view of the time module while a fault is armed: ``sleep`` (its
    retry backoff, the only use it makes of it) is recorded and shortened; the rest is the same."""

    def __init__(self, time_module: Any, waits: list[float]) -> None:
        self._time, self._waits = time_module, waits

    def sleep(self, seconds: float) -> None:
        self._waits.append(seconds)
        self._time.sleep(seconds * WAIT_SCALE)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._time, name)
