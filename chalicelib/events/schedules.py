"""Scheduled jobs: time-driven changes that no stream record announces.

``lapse_sweep`` moves customers whose regular cadence has run out to ``lapsed`` (a regular
with no order for longer than the window). It reads only the day buckets of a sparse index
that each pair's last write filled in, so it costs one Query per day since its last run plus
one read and one write per pair actually due — never a Scan. Hourly, so the ``?tier=lapsed``
list trails the exact moment by at most an hour (the tier shown on every read is exact).
``make run`` calls the same function every few minutes (``devtools/run.py``).

The same hourly function then sends ``reorder_due`` to customers whose essentials are about to
run out (``run_reorder_reminders``), reading the day buckets of the reminder index the same way
(``services.notices``). The lapse sweep's tier changes reach owners as ``regular_lapsed``
through the stream.

``order_deadlines`` (every 5 minutes) expires unpaid orders past their payment deadline (their
stock back, once), delivers shipped or ready orders nobody confirmed in 7 days, and retries owed
card refunds (``services.checkout.run_deadlines``), reading day buckets of due items.

``broadcast_release`` (every 5 minutes) starts the morning pass of advertising broadcasts that
reached the night (21:00–08:00 KST) and held customers without night-time consent until 08:00
(``services.broadcasts.release_held``): one Query of a sparse index of held broadcasts.

``subscription_orders`` (every 10 minutes) settles the subscriptions whose next action is
due: it announces a period a day before it and places or skips it when it is due (a subscriber
with a saved card is charged right after, ``services.billing``; a charge the provider did not
answer is tried again by a later run), reading the
subscriptions' due-date index one day bucket at a time (never a Scan), within a time budget;
what a run leaves stays due for the next (``services.subscriptions.run_due``).

``aftercare`` (every 15 minutes) sends the review requests whose day has come, in the shop's
own words as they are then (``services.automations.send_due_reviews``): once per order, nothing
for an order cancelled or refunded meanwhile or while the automation is off. It reads the due
items' day buckets page by page within a time budget; what a run leaves stays due.

``insights_notices`` (on the hour) sends each shop's weekly summary at 09:00 KST on Mondays and
the posting nudge to a shop quiet for its ``posting_nudge_days`` (between 10:00 and 20:00 KST),
reading the due items' day buckets (``services.insights.run_notices``).
"""

from __future__ import annotations

import logging

from chalice import Blueprint, Cron, Rate

log = logging.getLogger("dongne.schedules")

schedules_blueprint = Blueprint(__name__)


def run_lapse_sweep(context=None, now: float | None = None):
    """Lapse the pairs due by ``now`` (default: the clock), within the run's budget
    (``settings.subscription_budget_seconds``, and the Lambda's own remaining time)."""
    from chalicelib.wiring import container
    from chalicelib import clock
    from chalicelib.events.stream import deadline_for
    from chalicelib.services.relationships import sweep_lapses

    deps = container()
    deadline = deadline_for(context, deps.settings.subscription_budget_seconds)
    report = sweep_lapses(deps.relationships, clock.now() if now is None else now, deadline=deadline)
    log.info("lapse sweep: %d day bucket(s), %d due, %d lapsed%s", report.days, report.due, report.lapsed,
             " (stopped at the deadline; the rest stays due)" if report.stopped_early else "")
    return report


def run_reorder_reminders(context=None, now: float | None = None):
    """``reorder_due`` to customers whose essentials are about to run out (once per due date),
    within the same budget (what the sweep left of the Lambda's time)."""
    from chalicelib import clock
    from chalicelib.events.stream import deadline_for
    from chalicelib.services.notices import remind_reorders
    from chalicelib.wiring import container

    deps = container()
    deadline = deadline_for(context, deps.settings.subscription_budget_seconds)
    report = remind_reorders(deps.notice_context, clock.now() if now is None else now, deadline=deadline)
    log.info("reorder reminders: %d day bucket(s), %d due, %d sent%s", report.days, report.due, report.sent,
             " (stopped at the deadline; the rest stays due)" if report.stopped_early else "")
    return report


# One hourly function for both jobs (one role, one schedule): the sweep first; if it fails,
# the reminders wait for the next hour, which catches up from its watermark.
@schedules_blueprint.schedule(Rate(1, unit=Rate.HOURS), name="lapse_sweep",
                              description="Move customers whose regular cadence ran out to 'lapsed'; "
                                          "remind customers whose essentials are about to run out")
def lapse_sweep(event) -> None:
    context = getattr(event, "context", None)
    run_lapse_sweep(context)
    run_reorder_reminders(context)


def billing_of(deps):
    """Saved cards and the gateway that charges them (the SDK loads on the first charge only)."""
    from chalicelib.services.billing import Billing

    return Billing(cards=deps.payment_methods, checkout=deps.checkout, orders=deps.orders, gateway=deps.payments)


def run_subscription_orders(context=None, now: float | None = None):
    """Announce, place or skip every subscription period due by ``now`` (default: the clock),
    within the run's budget (``settings.subscription_budget_seconds``, and the Lambda's own
    remaining time)."""
    from chalicelib.events.stream import deadline_for
    from chalicelib import clock
    from chalicelib.services.subscriptions import run_due
    from chalicelib.wiring import container

    deps = container()
    deadline = deadline_for(context, deps.settings.subscription_budget_seconds)
    report = run_due(deps.subscriptions, clock.now() if now is None else now, deadline, billing=billing_of(deps))
    log.info("subscription orders: %d day bucket(s), %d page(s), %d due, %s%s", report.days, report.pages,
             report.seen, report.outcomes, " (stopped at the deadline; the rest stays due)"
             if report.stopped_early else "")
    return report


@schedules_blueprint.schedule(Rate(10, unit=Rate.MINUTES), name="subscription_orders",
                              description="Place each due subscription period's order once (정기배송)")
def subscription_orders(event) -> None:
    run_subscription_orders(getattr(event, "context", None))


def run_order_deadlines(context=None, now: float | None = None):
    """Expire, deliver and refund what is due by ``now`` (default: the clock), within a budget."""
    from chalicelib import clock
    from chalicelib.events.stream import deadline_for
    from chalicelib.services.checkout import run_deadlines
    from chalicelib.wiring import container

    deps = container()
    deadline = deadline_for(context, deps.settings.subscription_budget_seconds)
    report = run_deadlines(deps.checkout, deps.payments, clock.now() if now is None else now, deadline=deadline)
    log.info("order deadlines: %d expired, %d delivered, refunds %s, %d stale dropped%s", report.expired,
             report.delivered, report.refunds, report.dropped,
             " (stopped at the deadline; the rest stays due)" if report.stopped_early else "")
    return report


@schedules_blueprint.schedule(Rate(5, unit=Rate.MINUTES), name="order_deadlines",
                              description="Expire unpaid orders (stock back), deliver unconfirmed ones after 7 days, "
                                          "retry owed card refunds")
def order_deadlines(event) -> None:
    run_order_deadlines(getattr(event, "context", None))


def run_broadcast_release(context=None, now: float | None = None):
    """Start the morning pass of each broadcast held until ``now`` (default: the clock)."""
    from chalicelib import clock
    from chalicelib.services.broadcasts import release_held
    from chalicelib.wiring import container

    report = release_held(container().broadcasts, clock.now() if now is None else now)
    log.info("broadcast release: %d due, %d started", report.due, report.started)
    return report


@schedules_blueprint.schedule(Rate(5, unit=Rate.MINUTES), name="broadcast_release",
                              description="At 08:00 KST, send held advertising broadcasts to customers without "
                                          "night-time consent")
def broadcast_release(event) -> None:
    run_broadcast_release(getattr(event, "context", None))


def run_aftercare(context=None, now: float | None = None):
    """Send the review requests due by ``now`` (default: the clock), within a budget."""
    from chalicelib import clock
    from chalicelib.events.stream import deadline_for
    from chalicelib.services.automations import send_due_reviews
    from chalicelib.wiring import container

    deps = container()
    deadline = deadline_for(context, deps.settings.subscription_budget_seconds)
    report = send_due_reviews(deps.aftercare, clock.now() if now is None else now, deadline=deadline)
    log.info("aftercare: %d review request(s) due, %s%s", report.seen, report.outcomes or {},
             " (stopped at the deadline; the rest stays due)" if report.stopped_early else "")
    return report


@schedules_blueprint.schedule(Rate(15, unit=Rate.MINUTES), name="aftercare",
                              description="Send the review requests (the shop's own words) whose day has come")
def aftercare(event) -> None:
    run_aftercare(getattr(event, "context", None))


def run_insights_notices(context=None, now: float | None = None):
    """Send the weekly summaries and posting nudges due by ``now`` (default: the clock)."""
    from chalicelib import clock
    from chalicelib.events.stream import deadline_for
    from chalicelib.services.insights import run_notices
    from chalicelib.wiring import container

    deps = container()
    deadline = deadline_for(context, deps.settings.subscription_budget_seconds)
    report = run_notices(deps.insight_notices, clock.now() if now is None else now, deadline=deadline)
    log.info("insights notices: weekly %s, nudges %s%s", dict(report.weekly), dict(report.nudges),
             " (stopped at the deadline; the rest stays due)" if report.stopped_early else "")
    return report


# On the hour: the weekly summaries are due at 09:00 KST on Mondays (00:00 UTC).
@schedules_blueprint.schedule(Cron(0, "*", "*", "*", "?", "*"), name="insights_notices",
                              description="Send each shop's weekly summary (Monday 09:00 KST) and the posting nudge "
                                          "after posting_nudge_days without a post")
def insights_notices(event) -> None:
    run_insights_notices(getattr(event, "context", None))
