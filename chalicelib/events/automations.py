"""Stream handlers of aftercare: the moments a shop's own words are sent (``services.automations``).

* ``tier_transition`` INSERT with milestone ``first_order`` (potential → first_time: the
  customer's first paid order at the shop) → ``first_order_thanks``; with ``came_back``
  (lapsed → regular or first_time through a paid order) → ``welcome_back``. Sent at once.
* ``order`` MODIFY into ``delivered`` (a paid order) → the review request falls due
  ``after_days`` later; the ``aftercare`` schedule sends it (``events.schedules``).

Thin and idempotent: each send is guarded by its moment's item (a replay sends nothing), a due
item is keyed by its order and time (a replay writes the same one). A record that breaks the
event contract is skipped (the service returns None for it); an error of the store raises, so
the stream function reports the record for retry.
"""

from __future__ import annotations

import logging

from chalicelib import clock
from chalicelib.storage.stream import Change

log = logging.getLogger("dongne.automations")


def _context():
    from chalicelib.wiring import container

    return container().aftercare


def tier_moved(change: Change, deadline: float | None = None) -> None:
    from chalicelib.services.automations import on_tier_change

    if change.event_name != "INSERT" or change.new is None or not change.new.get("milestone"):
        return
    outcome = on_tier_change(_context(), change.event_name, change.new, clock.now())
    if outcome is not None:
        log.info("aftercare", extra={"moment": change.new.get("milestone"), "outcome": outcome,
                                     "shop_id": change.new.get("shop_id")})


def order_moved(change: Change, deadline: float | None = None) -> None:
    from chalicelib.services.automations import DELIVERED, on_order

    if change.event_name != "MODIFY" or (change.new or {}).get("status") != DELIVERED:
        return
    outcome = on_order(_context(), change.event_name, change.new, change.old)
    if outcome is not None:
        log.info("aftercare", extra={"moment": "review_request", "outcome": outcome,
                                     "order_id": (change.new or {}).get("order_id")})


HANDLERS = (("tier_transition", tier_moved, ("INSERT",)), ("order", order_moved, ("MODIFY",)))
