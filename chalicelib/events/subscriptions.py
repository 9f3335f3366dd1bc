"""Stream handlers of essentials: a subscription's notices, and each customer's reorder items.

* ``subscription`` records: a period announced or skipped for want of stock becomes notices
  (``services.subscriptions.notices_for``) handed to the inbox, which adds each once per
  recipient, type and period — replays add nothing.
* ``order`` records: paying for an order sets its buyer's "due at" items, cancelling a paid
  order restores them (``services.reorders``); an unpaid order writes nothing; idempotent by
  order id.

A record that breaks the order contract is logged and skipped rather than failing the batch
(retrying it could never succeed).
"""

from __future__ import annotations

import logging

from chalicelib import clock
from chalicelib.storage.stream import Change

log = logging.getLogger("dongne.essentials")


def _inbox():
    from chalicelib.wiring import container

    return container().inbox


def _reorders():
    from chalicelib.wiring import container

    return container().reorders


def subscription_changed(change: Change, deadline: float | None) -> None:
    if change.event_name != "MODIFY":
        return  # created: nothing to tell yet; subscriptions are never deleted
    from chalicelib.services.subscriptions import deliver, notices_for

    new = change.record_new()
    notices = notices_for(change.record_old(), new)
    if not notices:
        return  # most changes tell nobody (a period placed, a pause): no inbox needed
    added = deliver(_inbox(), notices)
    log.info("subscription %s: %d notice(s), %d new", new.subscription_id, len(notices), added)


def order_changed(change: Change, deadline: float | None) -> None:
    from chalicelib.services import reorders

    what = reorders.change_of(change.event_name, change.new, change.old)
    if what is None:
        return
    written = reorders.apply(_reorders(), what, clock.now())
    log.info("reorders: order %s %s, %d item(s) written", what.order_id, what.kind, written)


HANDLERS = (("subscription", subscription_changed, ("MODIFY",)),
            ("order", order_changed, ("INSERT", "MODIFY")))
