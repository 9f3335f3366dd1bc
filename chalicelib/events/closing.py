"""Stream handlers that finish closing an account completely (``services.closing``).

* ``user`` REMOVE (the profile erased by ``DELETE /me``): the first step of each kind of work
  the account left is enqueued — its subscriptions, its store links and, for an owner, the
  subscriptions to the shop and the shop's conversations. A replayed record enqueues nothing
  (each step has a fixed key, put on condition it does not exist).
* ``closing_step`` INSERT: one page of that kind (``STEP_PAGE`` items), each write conditional,
  and the next page enqueued as the next step. The work of one record is bounded whatever the
  account holds.
"""

from __future__ import annotations

import logging

from chalicelib import clock
from chalicelib.records.closing import ClosingStep
from chalicelib.storage.stream import Change

log = logging.getLogger("dongne.closing")


def account_closed(change: Change, deadline: float | None = None) -> None:
    old = change.old
    if change.event_name != "REMOVE" or not old or not old.get("user_id"):
        return
    from chalicelib.services.closing import first_steps
    from chalicelib.wiring import container

    deps = container()
    user_id, shop_id = str(old["user_id"]), old.get("shop_id") or None
    shop = deps.shops.get_shop(shop_id) if shop_id else None
    written = first_steps(deps.closing, user_id, shop_id, shop.name if shop else "",
                          float(change.at or clock.now()))
    log.info("closing account %s: %d step(s) enqueued", user_id, written)


def step_written(change: Change, deadline: float | None = None) -> None:
    new = change.new
    if change.event_name != "INSERT" or not new:
        return
    from chalicelib.services.closing import run_step
    from chalicelib.wiring import container

    deps = container()
    step = ClosingStep(user_id=str(new["user_id"]), kind=str(new["kind"]), seq=int(new["seq"]),
                       shop_id=new.get("shop_id") or None, shop_name=str(new.get("shop_name") or ""),
                       closed_at=float(new["closed_at"]), after=new.get("after") or None)
    report = run_step(deps.closing, deps.subscriptions, deps.store_links, deps.conversations, step, clock.now())
    log.info("closing account %s: %s step %d, %d seen, %d changed%s", step.user_id, step.kind, step.seq, report.seen,
             report.changed, ", continued" if report.continued else "")


HANDLERS = (("user", account_closed, ("REMOVE",)), ("closing_step", step_written, ("INSERT",)))
