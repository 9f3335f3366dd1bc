"""Stream handlers of the feed: posts, follows and fan-out chunks.

Thin: decode the record, call the feed service, log what it did. Everything that makes
them safe to replay or reorder lives in ``chalicelib.services.feed``.
"""

from __future__ import annotations

import json
import logging

from chalicelib.storage.stream import Change

log = logging.getLogger("dongne.feed")


def _manager():
    from chalicelib.wiring import container

    return container().feed_manager


def _log(change: Change, outcome) -> None:
    log.info(json.dumps({"msg": "feed", "entity": change.entity, "event": change.event_name,
                         "action": outcome.action, "readers": outcome.readers, "calls": outcome.writes.calls,
                         "items": outcome.writes.items, "retried": outcome.writes.retried, "trims": outcome.trims,
                         "continued": outcome.continued}))


def post_changed(change: Change, deadline: float | None) -> None:
    manager = _manager()
    if change.event_name == "REMOVE":
        outcome = manager.post_removed(change.record_old(), deadline)
    else:
        outcome = manager.post_written(change.record_new(), change.record_old(), deadline)
    _log(change, outcome)


def follow_changed(change: Change, deadline: float | None) -> None:
    manager = _manager()
    edge = change.record()
    if change.event_name == "INSERT":
        outcome = manager.follow_added(edge)
    elif change.event_name == "REMOVE":
        outcome = manager.follow_removed(edge)
    else:
        return  # edges are never modified in place
    _log(change, outcome)


def fanout_chunk(change: Change, deadline: float | None) -> None:
    if change.event_name != "INSERT":
        return  # a chunk item expiring (TTL) is nothing to do
    _log(change, _manager().run(change.record_new(), deadline))


HANDLERS = (("post", post_changed), ("follow", follow_changed), ("fanout", fanout_chunk))
