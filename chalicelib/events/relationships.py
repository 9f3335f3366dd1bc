"""Stream handlers that keep relationship strength up to date.

Registered for the entities of the event contract that carry a customer's signal to a shop
(follow, like, comment, share, order, review). Each record becomes zero or more scoring
events (``services.signals``), each recorded with one read and one conditional write
(``services.relationships.record``); replays and out-of-order records are safe by design.

A record that breaks the contract is logged and skipped rather than failing the batch:
retrying it could never succeed, and it would hold up every record behind it in its shard.
"""

from __future__ import annotations

import logging

from chalicelib import clock
from chalicelib.services import relationships
from chalicelib.services.signals import ENTITIES, Malformed, signals_from
from chalicelib.storage.stream import Change

log = logging.getLogger("dongne.relationships")


def _store():
    from chalicelib.wiring import container

    return container().relationships


def score_change(change: Change, deadline: float | None = None) -> None:
    try:
        events = signals_from(change.entity, change.event_name, change.new, change.old, change.at)
    except Malformed as error:
        log.warning("skipping a %s record that breaks the event contract: %s (eventID %s)",
                    change.entity, error, change.event_id)
        return
    if not events:
        return
    store = _store()
    for event in events:
        relationships.record(store, event, clock.now())


HANDLERS = tuple((entity, score_change) for entity in ENTITIES)
