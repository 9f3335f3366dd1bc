"""Stream handlers of coupons: a customer who was given a coupon hears of it.

Thin: a new holding (its INSERT; ``storage/models/coupons.py``) becomes one ``coupon``
notification through the notifications domain's inbox (``services.coupons.coupon_notice``),
keyed by the coupon, so replays add nothing. A holding given back by a cancelled order is a
MODIFY and tells nobody.
"""

from __future__ import annotations

import logging

from chalicelib.storage.stream import Change

log = logging.getLogger("dongne.coupons")


def holding_added(change: Change, deadline: float | None = None) -> None:
    if change.event_name != "INSERT" or not change.new:
        return
    from chalicelib.services.coupons import coupon_notice
    from chalicelib.wiring import container

    notice = coupon_notice(change.new)
    if notice is None:
        log.warning("skipping a coupon holding that breaks the event contract (eventID %s)", change.event_id)
        return
    if container().inbox.add(notice):
        log.info("notifications", extra={"entity": change.entity, "event": change.event_name, "added": ["coupon"]})


HANDLERS = (("coupon_holding", holding_added, ("INSERT",)),)
