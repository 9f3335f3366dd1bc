"""Stream handlers of insights: every record that moves a shop's counters, counted once.

* ``order``: a paid order counts on its ``paid_at`` day; its cancellation takes it back
  (``services.insights.apply_order``). Records that cannot change that (a shipped move) cost
  nothing.
* ``follow`` INSERT / REMOVE: the pair's follow state per day (``apply_follow``).
* ``tier_transition`` INSERT: a move to ``regular`` or ``lapsed``.
* ``post`` INSERT / REMOVE: the day's posts, and the shop's quiet clock for the posting nudge.
* ``insight_day`` INSERT (a shop's first counted event of a day): the weekly summaries it is in.

A new shop and a change of its ``posting_nudge_days`` schedule their nudge check in the shop's own
transaction (``storage.shops``), so the shop's item, changed by every follow and post, is not
routed here (nor let through the stream's filter).

A record that breaks the event contract is logged and skipped (retrying it could never succeed).
"""

from __future__ import annotations

import logging

from chalicelib.services import insights
from chalicelib.storage.stream import Change

log = logging.getLogger("dongne.insights")


def _deps():
    from chalicelib.wiring import container

    return container()


def _guarded(handler):
    def run(change: Change, deadline: float | None = None) -> None:
        try:
            handler(change)
        except insights.Malformed as error:
            log.warning("skipping a %s record that breaks the event contract: %s (eventID %s)",
                        change.entity, error, change.event_id)

    run.__name__ = handler.__name__
    return run


@_guarded
def order_counted(change: Change) -> None:
    if insights.counting_changed(change.event_name, change.new, change.old):
        insights.on_order(_deps().insights, change.event_name, change.new, change.old)


@_guarded
def follow_counted(change: Change) -> None:
    insights.on_follow(_deps().insights, change.event_name, change.new, change.old, change.at)


@_guarded
def tier_counted(change: Change) -> None:
    if change.event_name == "INSERT":
        insights.on_tier(_deps().insights, change.event_name, change.new)


@_guarded
def post_counted(change: Change) -> None:
    if change.event_name not in ("INSERT", "REMOVE"):
        return
    deps = _deps()
    insights.on_post(deps.insights, change.event_name, change.new, change.old)
    if change.event_name == "INSERT" and change.new is not None:
        insights.on_quiet_clock(deps.insights, deps.shops, str(change.new["shop_id"]),
                                float(change.new["created_at"]))


@_guarded
def day_started(change: Change) -> None:
    insights.on_day_created(_deps().insights, change.event_name, change.new)


HANDLERS = (("order", order_counted), ("follow", follow_counted, ("INSERT", "REMOVE")),
            ("tier_transition", tier_counted, ("INSERT",)),
            ("post", post_counted, ("INSERT", "REMOVE")), ("insight_day", day_started, ("INSERT",)))
