"""Stream handlers of discovery: a shop's search keys and region entries, a post's hashtag pages.

Both derive everything from the record's images (``services.discovery``), so a replay writes
what is already there and a record of a deleted post writes nothing.
"""

from __future__ import annotations

import logging

from chalicelib.storage.stream import Change

log = logging.getLogger("dongne.discovery")


def _store():
    from chalicelib.wiring import container

    return container().discovery


def shop_changed(change: Change, deadline: float | None) -> None:
    from chalicelib.services import discovery

    written, deleted = discovery.shop_changed(_store(), change.record_old(), change.record_new())
    if written or deleted:
        log.info("shop index", extra={"event": change.event_name, "written": written, "deleted": deleted})


def post_changed(change: Change, deadline: float | None) -> None:
    from chalicelib.services import discovery

    outcome = discovery.post_changed(_store(), change.record_old(), change.record_new())
    if outcome != "unchanged":
        log.info("hashtags", extra={"event": change.event_name, "outcome": outcome})


HANDLERS = (("shop", shop_changed), ("post", post_changed))
