"""The main table's stream: one Lambda function, routed by entity.

Every item of the main table carries ``entity`` ("post", "follow", "order"...). Domain
modules register what reacts to which entity with ``@on_entity(...)``; the stream
handler turns each Lambda record into a ``Change`` and calls them. Handlers must be
idempotent and tolerate replays and out-of-order records: Lambda retries whole batches,
and the local poller replays the stream from its start on every ``make run``.

The stream ARN in the decorator is a placeholder: the deployment template points the
event source mapping at the table's real stream (see ``deploy/``). ``chalice local``
runs no stream handlers; ``make run`` feeds this same function from DynamoDB Local's
stream with ``devtools.stream_poller``.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from chalice import Blueprint

log = logging.getLogger("dongne.events")

events_blueprint = Blueprint(__name__)

STREAM_ARN_PLACEHOLDER = (
    "arn:aws:dynamodb:ap-northeast-2:000000000000:table/dongne-main/stream/1970-01-01T00:00:00.000"
)
# Modules that register handlers; imported on the first batch, not at cold start of the API.
HANDLER_MODULES: tuple[str, ...] = (
    "chalicelib.feed_events",
    "chalicelib.relationship_events",
)


@dataclass(frozen=True)
class Change:
    """One stream record: what changed, with the raw DynamoDB images."""

    event_id: str
    event_name: str  # INSERT | MODIFY | REMOVE
    entity: str
    keys: dict[str, Any]
    new: dict[str, Any] | None
    old: dict[str, Any] | None
    sequence: str
    at: float

    @property
    def image(self) -> dict[str, Any]:
        """The newest image there is (the old one for a REMOVE)."""
        return self.new if self.new is not None else (self.old or {})


Handler = Callable[[Change], None]
_handlers: dict[str, list[Handler]] = {}


def on_entity(*entities: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for entity in entities:
            _handlers.setdefault(entity, []).append(handler)
        return handler

    return register


def to_change(record: dict[str, Any]) -> Change | None:
    data = record.get("dynamodb") or {}
    new, old = data.get("NewImage"), data.get("OldImage")
    entity = ((new or old or {}).get("entity") or {}).get("S")
    if entity is None:
        return None
    return Change(
        event_id=record.get("eventID", ""), event_name=record.get("eventName", ""), entity=entity,
        keys=data.get("Keys") or {}, new=new, old=old, sequence=data.get("SequenceNumber", ""),
        at=float(data.get("ApproximateCreationDateTime") or 0),
    )


_loaded = False


def _load_handlers() -> None:
    global _loaded
    if not _loaded:
        for module in HANDLER_MODULES:
            importlib.import_module(module)
        _loaded = True


def dispatch(records: Iterable[dict[str, Any]]) -> int:
    """Route each record to its entity's handlers; returns how many handler calls ran.

    An exception propagates: Lambda then retries the batch (bisecting it, see the
    template), and every handler is idempotent, so the records that succeeded before
    are harmless to replay.
    """
    _load_handlers()
    calls = 0
    for record in records:
        change = to_change(record)
        if change is None:
            continue
        for handler in _handlers.get(change.entity, ()):
            handler(change)
            calls += 1
    return calls


@events_blueprint.on_dynamodb_record(stream_arn=STREAM_ARN_PLACEHOLDER, batch_size=100,
                                     starting_position="TRIM_HORIZON", name="stream")
def stream(event) -> None:
    dispatch(event.to_dict()["Records"])
