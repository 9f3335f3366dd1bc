"""Stream handlers of the feed: posts and follows, routed here by ``chalicelib.events``.

Thin: decode the image, call the feed service, log what it did. Everything that makes
them safe to replay or reorder lives in ``chalicelib.services.feed``.
"""

from __future__ import annotations

import json
import logging

from chalicelib.events import Change, on_entity

log = logging.getLogger("dongne.feed")


def _manager():
    from chalicelib.api.deps import container

    return container().feed_manager


def _log(change: Change, outcome) -> None:
    log.info(json.dumps({"msg": "feed", "entity": change.entity, "event": change.event_name,
                         "action": outcome.action, "readers": outcome.readers, "calls": outcome.writes.calls,
                         "items": outcome.writes.items, "retried": outcome.writes.retried, "trims": outcome.trims}))


@on_entity("post")
def post_changed(change: Change) -> None:
    from chalicelib.storage.posts import post_from_image

    manager = _manager()
    if change.event_name == "REMOVE":
        outcome = manager.post_removed(post_from_image(change.old))
    else:
        previous = post_from_image(change.old) if change.old else None
        outcome = manager.post_written(post_from_image(change.new), previous)
    _log(change, outcome)


@on_entity("follow")
def follow_changed(change: Change) -> None:
    from chalicelib.storage.follows import follow_from_image

    manager = _manager()
    edge = follow_from_image(change.image)
    if change.event_name == "INSERT":
        outcome = manager.follow_added(edge)
    elif change.event_name == "REMOVE":
        outcome = manager.follow_removed(edge)
    else:
        return  # edges are never modified in place
    _log(change, outcome)
