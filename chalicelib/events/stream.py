"""The main table's stream: one Lambda function, routed by entity.

Every item of the main table carries ``entity`` ("post", "follow", "order", "fanout"...).
Each domain module of this package lists what it reacts to in ``HANDLERS`` — the entity, the
handler and, when not all three, the events (INSERT, MODIFY, REMOVE) it takes; ``ROUTED`` names
those modules, explicitly. The function decodes each record once
(``storage.stream.decode``) and calls the handlers of its entity, in stream order.

Failures are reported per record (a partial batch response; the event source mapping sets
``ReportBatchItemFailures``): when a record's handler raises, the function stops and names
that record, so Lambda checkpoints everything before it and retries from it — the records
that succeeded are not run again, and a record that keeps failing goes to the failure
queue after the mapping's retries without holding back the rest for long. Handlers must
still be idempotent: a record is retried whole, and a crash (timeout, out of memory) loses
the partial response.

Each invocation has a time budget (``settings.stream_budget_seconds``, within the function's
own timeout): handlers with long work (a big shop's fan-out) read the deadline, stop early
and hand the rest on to a work item, so no invocation runs long whatever a shop's size.

Only records some handler takes invoke the function: the event source mapping carries
``filter_criteria()``, generated from the same routing table (records of inbox keys, unread
counts, idempotency records, visits, a profile's changes when only its deletion matters... never
start an invocation), and the local poller applies the same filter. ``python -m bench.stream_cost``
counts what gets through and whether a handler used it.

The stream ARN in the decorator is a placeholder: the deployment template points the
event source mapping at the table's real stream (see ``deploy/``). ``chalice local``
runs no stream handlers; ``make run`` feeds this same function from DynamoDB Local's
stream with ``devtools.stream_poller``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from chalice import Blueprint

from chalicelib.storage.stream import Change, decode, sequence_of

log = logging.getLogger("dongne.events")

stream_blueprint = Blueprint(__name__)

STREAM_ARN_PLACEHOLDER = (
    "arn:aws:dynamodb:ap-northeast-2:000000000000:table/dongne-main/stream/1970-01-01T00:00:00.000"
)
# Records per invocation. With the time budget, a batch of heavy records ends early and
# hands its remaining fan-out on; light records (scoring, follows) take milliseconds each.
BATCH_SIZE = 100
# Seconds kept free at the end of the function's timeout for the response and logs.
TIMEOUT_MARGIN_SECONDS = 2.0

# (change, deadline on time.monotonic() or None) -> None
Handler = Callable[[Change, float | None], None]
EVENTS = ("INSERT", "MODIFY", "REMOVE")


class Route:
    """A handler and the stream events it takes (a domain's ``HANDLERS`` entry ``(entity, handler)``
    takes all three; ``(entity, handler, ("INSERT",))`` only those named). The router calls it for
    those events only, and the filter lets a record through only when some route takes it."""

    __slots__ = ("handler", "events")

    def __init__(self, handler: Handler, events: Iterable[str] = EVENTS) -> None:
        unknown = set(events) - set(EVENTS)
        if unknown:
            raise ValueError(f"unknown stream events {sorted(unknown)}")
        self.handler, self.events = handler, tuple(events)

    def __call__(self, change: Change, deadline: float | None) -> None:
        if change.event_name in self.events:
            self.handler(change, deadline)


def events_of(route: Handler) -> tuple[str, ...]:
    """The events a routed handler takes (a plain function: all of them)."""
    return route.events if isinstance(route, Route) else EVENTS


def _routes() -> dict[str, tuple[Handler, ...]]:
    # The domains whose handlers run on the stream, listed explicitly; imported on the first
    # batch, off the API's cold start.
    from chalicelib.events import (
        accounts, automations, broadcasts, coupons, feed, insights, notifications, relationships, store_links,
        subscriptions,
    )
    from chalicelib.events import discovery
    from chalicelib.events import closing

    ROUTED = (feed, relationships, store_links, notifications, subscriptions, accounts, automations, broadcasts,
              coupons, insights, discovery, closing)
    table: dict[str, list[Handler]] = {}
    for module in ROUTED:
        for entity, handler, *events in module.HANDLERS:
            table.setdefault(entity, []).append(Route(handler, *events))
    return {entity: tuple(handlers) for entity, handlers in table.items()}


_ROUTES: dict[str, tuple[Handler, ...]] | None = None


def routes() -> dict[str, tuple[Handler, ...]]:
    global _ROUTES
    if _ROUTES is None:
        _ROUTES = _routes()
    return _ROUTES


def filter_criteria() -> dict[str, list[dict[str, str]]]:
    """The event source mapping's ``FilterCriteria``: only records some route takes invoke the
    function — the same table ``dispatch`` routes by, so a record the filter drops is one the
    router would have skipped. One pattern per event (any may match): its name, and the entities
    whose routes take it, read from the new image (INSERT, MODIFY) or the old one (REMOVE has no
    new image). A MODIFY also needs its new image without the ``quiet`` attribute: a quiet write
    (a like's count, a shop's post count, an order's review id) moved only what no handler reads,
    and any other update removes the attribute (``storage.quiet``). Three patterns: within
    Lambda's five filters per event source mapping."""
    from chalicelib.storage.quiet import ATTRIBUTE

    filters = []
    for event in EVENTS:
        entities = sorted(entity for entity, handlers in routes().items()
                          if any(event in events_of(handler) for handler in handlers))
        if entities:
            image: dict[str, Any] = {"entity": {"S": entities}}
            if event == "MODIFY":
                image[ATTRIBUTE] = {"S": [{"exists": False}]}
            name = "OldImage" if event == "REMOVE" else "NewImage"
            filters.append({"Pattern": json.dumps({"eventName": [event], "dynamodb": {name: image}},
                                                  separators=(",", ":"))})
    return {"Filters": filters}


def dispatch(records: Iterable[dict[str, Any]], deadline: float | None = None) -> list[str]:
    """Run each record's handlers in order; return the sequence numbers to report as failed.

    Empty when every record succeeded; otherwise the first failing record's (Lambda retries
    from it, see the module's notes).
    """
    table = routes()
    for record in records:
        change = decode(record)
        if change is None:
            continue
        try:
            for handler in table.get(change.entity, ()):
                handler(change, deadline)
        except Exception:
            log.exception("stream record failed, reporting it for retry: %s %s (eventID %s)",
                          change.entity, change.event_name, change.event_id)
            return [sequence_of(record)]
    return []


def deadline_for(context: Any, budget_seconds: float) -> float:
    """When this invocation's handlers should stop taking on long work (``time.monotonic``)."""
    remaining = budget_seconds
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):
        remaining = min(remaining, context.get_remaining_time_in_millis() / 1000 - TIMEOUT_MARGIN_SECONDS)
    return time.monotonic() + max(0.0, remaining)


def handle(event: dict[str, Any], context: Any) -> dict[str, list[dict[str, str]]]:
    """The whole function: a stream event in, a partial batch response out."""
    from chalicelib.wiring import container

    deadline = deadline_for(context, container().settings.stream_budget_seconds)
    records = event.get("Records", [])
    failed = dispatch(records, deadline)
    if failed:
        from chalicelib import observability

        observability.stream_batch_failed(len(failed), len(records))
    return {"batchItemFailures": [{"itemIdentifier": sequence} for sequence in failed]}


@stream_blueprint.on_dynamodb_record(stream_arn=STREAM_ARN_PLACEHOLDER, batch_size=BATCH_SIZE,
                                     starting_position="TRIM_HORIZON", name="stream")
def stream(event) -> dict[str, list[dict[str, str]]]:
    return handle(event.to_dict(), event.context)
