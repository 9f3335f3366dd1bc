"""Stream handlers of the feed: posts, follows and fan-out chunks.

Thin: decode the record, call the feed service, log what it did. Everything that makes
them safe to replay or reorder lives in ``chalicelib.services.feed``.
"""

from __future__ import annotations

import logging

from chalicelib import observability
from chalicelib import clock, ids
from chalicelib.storage.stream import Change

log = logging.getLogger("dongne.feed")


def _manager():
    from chalicelib.wiring import container

    return container().feed_manager


def _log(change: Change, outcome, post_id: str | None = None, hops: int = 0) -> None:
    log.info("feed", extra={"entity": change.entity, "event": change.event_name, "action": outcome.action,
                            "readers": outcome.readers, "calls": outcome.writes.calls, "items": outcome.writes.items,
                            "retried": outcome.writes.retried, "trims": outcome.trims, "continued": outcome.continued,
                            "handed_on": outcome.handed_on, "hops": hops})
    if post_id is not None and _leaf_push_chunk(outcome):
        created = ids.time_of(post_id)
        if created is not None:
            observability.fanout_delivered(post_id, clock.now() - created, hops=hops)


def _leaf_push_chunk(outcome) -> bool:
    """This chunk ended a branch of a post's fan-out: a push (re-copied or not) that reached
    someone and handed nothing on. The post's latest such lag is its last follower's."""
    pushed = outcome.action == "push" or outcome.action.startswith("push: re-copied")
    return pushed and not outcome.continued and outcome.readers > 0


def post_changed(change: Change, deadline: float | None) -> None:
    manager = _manager()
    if change.event_name == "REMOVE":
        outcome = manager.post_removed(change.record_old(), deadline)
    else:
        outcome = manager.post_written(change.record_new(), change.record_old(), deadline)
        _log(change, outcome, post_id=change.record_new().post_id)
        return
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
    work = change.record_new()
    _log(change, _manager().run(work, deadline), post_id=work.post_id, hops=work.hops)


HANDLERS = (("post", post_changed), ("follow", follow_changed, ("INSERT", "REMOVE")), ("fanout", fanout_chunk, ("INSERT",)))
