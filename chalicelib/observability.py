"""What an on-call engineer sees: structured logs, EMF metrics and X-Ray traces, as middleware.

Powertools for AWS Lambda provides the three: its ``Logger`` (JSON lines, the formatter in
``chalicelib.logs``), ``Metrics`` (CloudWatch embedded metric format: JSON lines on stdout that
CloudWatch Logs turns into metrics, no API call) and ``Tracer`` (X-Ray subsegments, botocore
patched so every DynamoDB, S3 and Secrets Manager call is one). ``observe(app)`` registers one
Chalice middleware for every kind of invocation (HTTP requests, the stream, schedules), which

* adds the invocation's keys to every log line logged while it runs: ``request_id`` (for a
  request, the client's own ``X-Request-Id`` when it is safe, see ``REQUEST_ID``, else API
  Gateway's request id on AWS; Lambda's for events; under ``chalice local`` and in tests the
  local Lambda context's, else a fresh uuid), ``gateway_request_id`` (API Gateway's, when the
  client's id took its place), ``function_request_id``, ``cold_start``, ``function_name``, and
  for requests ``route`` (``"POST /orders"``) and ``user_id`` (added by the edge once the bearer
  token checks out, ``signed_in``; absent when anonymous);
* answers every request with ``X-Request-Id``: that same ``request_id`` (successes, problems,
  the 405s and preflights of ``api.protocol``, the HTML pages, the document and its page);
* opens a trace subsegment named after the route or the handler (when ``settings.tracing``);
* counts what the HTTP answer says (orders placed, out of stock, rate limited, unavailable);
  other ways of ordering (the subscription job) call ``order_placed(source)`` and
  ``out_of_stock(source)`` themselves;
* and flushes the metrics gathered during the invocation as one EMF line.

Cold start: nothing here imports Powertools. The first invocation of a container does
(Logger and Metrics; the Tracer's X-Ray SDK and, for the signing secret, the Parameters
utility and boto3 only on AWS), so
``import app`` stays within its budget (``python -m bench.coldstart``).

Metrics (namespace ``Dongne``, dimensions ``service`` and ``stage``; the helpers below are the
only way code emits them, so the list is here):

============================  =======  =====================================================
``OrdersPlaced``              Count    a new order written (not a replayed Idempotency-Key)
``OutOfStock``                Count    an order refused for stock (409 ``out_of_stock``)
``FanoutLag``                 Seconds  post created → the last chunk of its fan-out delivered
``StreamBatchFailures``       Count    stream records reported failed (Lambda retries them)
``NotificationsSent``         Count    an outbound notification handed to its channel
``NotificationsFailed``       Count    an outbound notification its channel refused
``RateLimitedRequests``       Count    requests answered 429 by the app's own limits
``ServiceUnavailable``        Count    requests answered 503 (database busy after retries)
``RefundFailed``              Count    a card refund PortOne refused or did not answer (retried; alarmed)
``ColdStart``                 Count    a container's first invocation
============================  =======  =====================================================

Locally (stages ``local`` and ``test``) nothing is printed for metrics: the blobs are kept in
``emitted`` (the last 1,000) for tests to read, and the log lines stay readable JSON.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from chalicelib.logs import ROOT_LOGGER, configure_logging, handler

NAMESPACE = "Dongne"
SERVICE = ROOT_LOGGER

ORDERS_PLACED = "OrdersPlaced"
OUT_OF_STOCK = "OutOfStock"
FANOUT_LAG = "FanoutLag"
STREAM_BATCH_FAILURES = "StreamBatchFailures"
NOTIFICATIONS_SENT = "NotificationsSent"
NOTIFICATIONS_FAILED = "NotificationsFailed"
RATE_LIMITED = "RateLimitedRequests"
SERVICE_UNAVAILABLE = "ServiceUnavailable"
COLD_START = "ColdStart"
METRICS = (ORDERS_PLACED, OUT_OF_STOCK, FANOUT_LAG, STREAM_BATCH_FAILURES, NOTIFICATIONS_SENT,
           NOTIFICATIONS_FAILED, RATE_LIMITED, SERVICE_UNAVAILABLE, COLD_START)

# Every answer's header naming its request, the id its log lines carry. A client may send its
# own: letters, digits and ``. _ : -``, 1 to 64 of them (a uuid, a ULID, "web:3f2a-17"), nothing
# that could split a header or a log line; anything else is replaced by the generated id.
REQUEST_ID = "X-Request-Id"
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

# Routes that place an order when they answer 201 (a replay answers 201 too, marked).
ORDER_ROUTES = frozenset({"POST /orders", "POST /orders/{order_id}/reorder"})

_lock = threading.RLock()
_cold = True
_state: dict[str, Any] = {}
emitted: deque[dict] = deque(maxlen=1000)
_local = threading.local()


# --- the Powertools objects, built on first use -----------------------------------------------

def _settings():
    from chalicelib.wiring import container

    return container().settings


def logger():
    """Powertools' Logger over the ``dongne`` logger and its one handler."""
    with _lock:
        if "logger" not in _state:
            from aws_lambda_powertools import Logger

            from chalicelib.logs import formatter

            level = _settings().log_level
            configure_logging(level)
            _state["logger"] = Logger(service=SERVICE, level=level, logger_handler=handler(),
                                      logger_formatter=formatter())
        return _state["logger"]


def metrics():
    with _lock:
        if "metrics" not in _state:
            from aws_lambda_powertools import Metrics

            m = Metrics(namespace=NAMESPACE, service=SERVICE)
            # Powertools keeps dimensions per process, across instances: replace, do not add twice
            m.default_dimensions.pop("stage", None)
            m.dimension_set.pop("stage", None)
            m.set_default_dimensions(stage=_settings().stage)
            _state["metrics"] = m
        return _state["metrics"]


def tracer():
    """Powertools' Tracer when ``settings.tracing`` (on AWS, with active tracing), else None."""
    with _lock:
        if "tracer" not in _state:
            tracer_ = None
            if _settings().tracing:
                from aws_lambda_powertools import Tracer

                # botocore only: the app's AWS calls (DynamoDB, S3, Secrets Manager) as subsegments
                tracer_ = Tracer(service=SERVICE, patch_modules=["botocore"])
            _state["tracer"] = tracer_
        return _state["tracer"]


def reset() -> None:
    """Forget the built objects (tests switch settings)."""
    with _lock:
        _state.clear()
        emitted.clear()


# --- metrics ------------------------------------------------------------------------------------

def add(name: str, value: float = 1, unit: str = "Count", **metadata: Any) -> None:
    """Record one value of a metric (flushed at the end of the invocation); ``metadata`` rides
    along in the EMF line, searchable in Logs Insights but not a dimension."""
    with _lock:
        m = metrics()
        m.add_metric(name=name, unit=unit, value=value)
        for key, item in metadata.items():
            m.add_metadata(key=key, value=item)


def flush() -> None:
    """Emit what was recorded since the last flush as one EMF line (locally: keep it)."""
    with _lock:
        if "metrics" not in _state:
            return
        m = _state["metrics"]
        if not m.metric_set:
            m.clear_metrics()
            return
        blob = m.serialize_metric_set()
        m.clear_metrics()
        if _settings().is_local:
            emitted.append(blob)
        else:
            print(json.dumps(blob, ensure_ascii=False, separators=(",", ":")), flush=True)


def order_placed(source: str = "api") -> None:
    add(ORDERS_PLACED, source=source)


def out_of_stock(source: str = "api") -> None:
    add(OUT_OF_STOCK, source=source)


def fanout_delivered(post_id: str, lag_seconds: float, hops: int) -> None:
    """A last chunk of a branch of a post's fan-out (``hops`` stream hops from the post) was
    delivered ``lag_seconds`` after the post was created; the post's largest is its last follower's."""
    add(FANOUT_LAG, round(max(lag_seconds, 0.0), 3), unit="Seconds", post_id=post_id, hops=hops)


def stream_batch_failed(failed: int, records: int) -> None:
    add(STREAM_BATCH_FAILURES, failed, batch_records=records)


def notification_sent(channel: str) -> None:
    """For the notification delivery: one outbound message handed to ``channel`` (push/email/sms)."""
    add(NOTIFICATIONS_SENT, channel=channel)


def notification_failed(channel: str, notification_type: str = "") -> None:
    """For the notification delivery: ``channel`` refused or failed one outbound message (the
    reason is in the delivery's log line: it may quote an address, which metrics never carry)."""
    add(NOTIFICATIONS_FAILED, channel=channel, notification_type=notification_type)


def rate_limited(rule: str) -> None:
    """For the rate limiter: one request refused by ``rule``. A 429 answer is counted once per
    request: by this call when the limiter makes it, else by the middleware from the status."""
    add(RATE_LIMITED, rule=rule)
    _local.rate_limited = True


# --- the middleware ---------------------------------------------------------------------------

def _take_cold_start() -> bool:
    global _cold
    with _lock:
        cold, _cold = _cold, False
    return cold


def _new_id() -> str:
    import uuid

    return str(uuid.uuid4())


def client_request_id(headers: Any) -> str | None:
    """The client's own ``X-Request-Id`` if it is 1 to 64 safe characters (``SAFE_REQUEST_ID``),
    else None: an unsafe or too long id is not an error, the request gets its generated id."""
    value = (headers or {}).get(REQUEST_ID.lower())
    return value if isinstance(value, str) and SAFE_REQUEST_ID.fullmatch(value) else None


def request_keys(request: Any, cold: bool) -> dict[str, Any]:
    """The log keys of an HTTP request (chalice ``Request``)."""
    context = request.context or {}
    lambda_context = getattr(request, "lambda_context", None)
    function_request_id = getattr(lambda_context, "aws_request_id", None)
    generated = context.get("requestId") or function_request_id or _new_id()
    client = client_request_id(getattr(request, "headers", None))
    keys = {"request_id": client or generated}
    if client is not None:
        keys["gateway_request_id"] = generated
    return {
        **keys,
        "function_request_id": function_request_id,
        "function_name": getattr(lambda_context, "function_name", None),
        "cold_start": cold,
        "route": f"{request.method} {context.get('resourcePath') or request.path}",
    }


def signed_in(user_id: str) -> None:
    """Put the request's user on every later line of the invocation (the edge calls it once the
    bearer token and the account check out). Outside an invocation there is no Logger: a no-op."""
    log_ = _state.get("logger")
    if log_ is not None:
        log_.thread_safe_append_keys(user_id=user_id)


def event_keys(event: Any, cold: bool) -> dict[str, Any]:
    """The log keys of an event invocation (stream batch, schedule)."""
    context = getattr(event, "context", None)
    function_request_id = getattr(context, "aws_request_id", None)
    return {
        "request_id": function_request_id or _new_id(),
        "function_request_id": function_request_id,
        "function_name": getattr(context, "function_name", None),
        "cold_start": cold,
        "handler": type(event).__name__,
    }


@contextmanager
def _invocation(keys: dict[str, Any], segment: str) -> Iterator[Any]:
    log_ = logger()
    log_.thread_safe_append_keys(**keys)
    t = tracer()
    try:
        if keys["cold_start"]:
            add(COLD_START, function=keys.get("function_name") or "local")
        with (t.provider.in_subsegment(segment) if t is not None else nullcontext()) as subsegment:
            if subsegment is not None:
                subsegment.put_annotation("cold_start", keys["cold_start"])
                if keys.get("route"):
                    subsegment.put_annotation("route", keys["route"])
            yield subsegment
    finally:
        log_.thread_safe_clear_keys()
        flush()


def _problem_code(response: Any) -> str | None:
    try:
        body = json.loads(response.body) if isinstance(response.body, (str, bytes)) else response.body
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    return body.get("code") or str(body.get("type", "")).rsplit("/", 1)[-1].replace("-", "_") or None


def count_answer(route: str, response: Any) -> None:
    """The metrics an HTTP answer stands for."""
    status = getattr(response, "status_code", 200)
    headers = getattr(response, "headers", None) or {}
    if status == 201 and route in ORDER_ROUTES and headers.get("Idempotent-Replayed") != "true":
        order_placed("reorder" if route.endswith("/reorder") else "api")
    elif status == 409 and route in ORDER_ROUTES and _problem_code(response) == "out_of_stock":
        out_of_stock("reorder" if route.endswith("/reorder") else "api")
    elif status == 429 and not getattr(_local, "rate_limited", False):
        add(RATE_LIMITED, rule="unknown", route=route)
    elif status == 503:
        add(SERVICE_UNAVAILABLE, route=route)


def middleware(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """One Chalice middleware for every invocation kind (registered for ``all``)."""
    from chalice.app import Request

    cold = _take_cold_start()
    if isinstance(event, Request):
        keys = request_keys(event, cold)
        _local.rate_limited = False
        started = time.perf_counter()
        with _invocation(keys, f"## {keys['route']}") as subsegment:
            response = get_response(event)
            headers = getattr(response, "headers", None)
            if isinstance(headers, dict):
                headers[REQUEST_ID] = keys["request_id"]
            if subsegment is not None:
                subsegment.put_annotation("status", getattr(response, "status_code", 0))
                subsegment.put_metadata("ms", round((time.perf_counter() - started) * 1000, 2), SERVICE)
            count_answer(keys["route"], response)
        return response
    keys = event_keys(event, cold)
    with _invocation(keys, f"## {keys['handler']}"):
        return get_response(event)


def observe(app: Any) -> None:
    """Logging now (cheap), Powertools on the first invocation, for every handler of ``app``."""
    configure_logging()
    app.register_middleware(middleware, "all")
