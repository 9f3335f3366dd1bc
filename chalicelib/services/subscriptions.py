"""Subscriptions (정기배송): subscribing, changing, reading, and the job that places each period.

A subscription is a standing order of essentials from one shop every ``every_days`` days.
Its periods are numbered; each is ordered once, skipped (by the subscriber, or because the
stock ran out: nothing is charged), or let pass while paused. Three rules make "once" hold:

* The period's order goes through the order path's one transaction (stock, order,
  idempotency record) with its Idempotency-Key set to (subscription, period), so any number
  of attempts at one period — overlapping runs, a run retried after a crash — place one
  order; a later attempt gets the first order back.
* The same transaction moves the subscription on to its next period, conditional on the
  ``revision`` the job read while the subscription is active: the order and the move are
  written together or not at all, and a pause, skip or cancellation that commits first makes
  the placing transaction cancel (nothing is ordered).
* Every other write (announce, skip, pause, resume, interval change) is conditional on the
  revision read too, and is retried from a fresh read when it loses a race.

Prices: a period is charged at the day's prices, but never above the quote the subscriber
was last told. The job refreshes the quote a day before each period and the stream tells the
subscriber (``subscription_upcoming``); a price raised after that applies from the next
period. A refresh that comes late (the job was down) only lowers prices. The shop's
subscription discount (``subscription_discount_percent``) follows the same rule.

The job reads the due-date index one day bucket at a time, a page at a time, and stops at
its deadline; what is left stays due for the next run (see ``run_due``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from chalicelib.errors import (FieldProblem, Forbidden, IdempotencyKeyReused, Invalid, NotFound, OutOfStock,
                               OwnShopSubscription, ShopClosed, StaleCatalog, SubscriptionCancelled, SubscriptionNotActive,
                               SubscriptionPeriodPassed, Unavailable)
from chalicelib.ids import iso, new_id
from chalicelib.records.accounts import Shop
from chalicelib.records.commerce import Order, OrderLine, Product
from chalicelib.records.common import Page
from chalicelib.records.closing import SubscriberClosed
from chalicelib.records.notifications import Notice
from chalicelib.records.subscriptions import (
    ACTIVE,
    ANNOUNCE_LEAD_SECONDS,
    CANCELLED,
    DAY_SECONDS,
    NOTIFIED_OUTCOMES,
    ORDERED,
    OUT_OF_STOCK,
    PAUSED,
    PAYMENT_FAILED,
    SKIPPED,
    UNAVAILABLE,
    PendingCharge,
    PeriodOutcome,
    StaleSubscription,
    Subscription,
    SubscriptionLine,
    SubscriptionRequest,
    discount_of,
)
from chalicelib.services import orders as order_rules
from chalicelib.services.shops import ShopsStore, owned_shop

log = logging.getLogger("dongne.subscriptions")

MIN_EVERY_DAYS, MAX_EVERY_DAYS = 7, 90
# How far ahead the first order may be set.
MAX_START_DAYS = 90
# A first order "now" may be a little in the past by the client's clock.
START_TOLERANCE_SECONDS = 300.0
# A quote refreshed this long after "a day before" was not told a day before: it only lowers
# prices (the job runs every few minutes; an hour covers a late run, not an outage).
ANNOUNCE_GRACE_SECONDS = 3600.0
# Periods remembered on the subscription (its recent history; orders are the full record). The
# item rides in every period's transaction, which costs by its size: kept small.
HISTORY_KEPT = 6
# A change that keeps losing races to the job or another change is answered 503.
CHANGE_ATTEMPTS = 3
# The job: due subscriptions read per Query page, and how many days back it looks the first
# time (the watermark keeps its place afterwards).
DUE_PAGE = 50
FIRST_LOOKBACK_DAYS = 7


class Inbox(Protocol):
    """Where notices go (the notifications domain): idempotent per recipient, type and source."""

    def add(self, notice: Notice) -> bool: ...


class OrdersPath(Protocol):
    """The order path a subscription's period goes through (``services.orders.OrdersStore``)."""

    def load_catalog(self, shop_id: str, product_ids: list[str], link_code: str | None = None) -> tuple: ...
    def place(self, order: Order, record, versions, referral=None, remembered=None, quota=None, *,
              shop_version=None) -> object: ...


class Billing(Protocol):
    """Saved cards and their charges (``services.billing.Billing``)."""

    def card_of(self, user_id: str) -> object | None: ...
    def charge(self, order_id: str, attempt: int, now: float): ...


class SubscriptionsStore(Protocol):
    def load_catalog(self, shop_id: str, product_ids: list[str], subscriber_id: str | None = None
                     ) -> tuple[Shop | None, dict[str, Product], str | None]: ...
    def create(self, subscription: Subscription, request: SubscriptionRequest) -> SubscriptionRequest: ...
    def get(self, subscription_id: str) -> Subscription | None: ...
    def save(self, current: Subscription, updated: Subscription) -> None: ...
    def mine(self, user_id: str, start_key: dict | None, limit: int) -> Page: ...
    def of_shop(self, shop_id: str, status: str | None, start_key: dict | None, limit: int) -> Page: ...
    def of_customer(self, shop_id: str, user_id: str) -> list[Subscription]: ...
    def due(self, day: str, until: float, limit: int) -> Iterator[list[Subscription]]: ...
    def watermark(self) -> str | None: ...
    def set_watermark(self, day: str, now: float) -> None: ...
    def period_orders(self, current: Subscription, advance: Callable[[Order], Subscription]) -> OrdersPath: ...


# --- pure rules ------------------------------------------------------------------------------


def day_of(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).date().isoformat()


def days_between(first: str, last: str) -> list[str]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [(start + timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]


def next_due(due_at: float, every_days: int, period: int, now: float) -> tuple[float, int]:
    """The first period after ``period`` (due at ``due_at``) that is still ahead of ``now``:
    periods whose time passed meanwhile (a pause, a long outage) are let pass, not piled up."""
    step = every_days * DAY_SECONDS
    later, number = due_at + step, period + 1
    if later <= now:
        missed = int((now - later) // step) + 1
        later, number = later + missed * step, number + missed
    return later, number


def _kept(history: Iterable[PeriodOutcome]) -> tuple[PeriodOutcome, ...]:
    return tuple(history)[-HISTORY_KEPT:]


def _moved_on(sub: Subscription, outcome: str, now: float, *, order_id: str | None = None,
              detail: str = "") -> Subscription:
    """The subscription after its current period was decided (ordered or skipped)."""
    later, number = next_due(sub.next_order_at, sub.every_days, sub.period, now)
    done = PeriodOutcome(period=sub.period, outcome=outcome, due_at=sub.next_order_at, at=now,
                         order_id=order_id, detail=detail)
    return replace(sub, period=number, next_order_at=later, history=_kept((*sub.history, done)),
                   last_order_id=order_id or sub.last_order_id, revision=sub.revision + 1, updated_at=now)


def check_lines(shop_id: str, products: dict[str, Product], quantities: dict[str, int]) -> list[SubscriptionLine]:
    """The subscription's lines at today's prices; ``Invalid`` names every product that is not
    the shop's, and every treat (only essentials can be subscribed to)."""
    problems = [FieldProblem("body.items", f"{pid}: not a product of this shop", code="not_shop_product",
                             params={"id": pid})
                for pid in quantities if pid not in products or products[pid].shop_id != shop_id]
    if problems:
        raise Invalid("Every item must be a product of the subscription's shop.", errors=problems)
    treats = [FieldProblem("body.items", f"{pid}: '{products[pid].name}' is a treat; only essentials can be "
                                         "subscribed to", code="not_essential",
                           params={"id": pid, "name": products[pid].name})
              for pid in quantities if products[pid].kind != "essential"]
    if treats:
        raise Invalid("Only essentials can be subscribed to.", errors=treats)
    return [SubscriptionLine(product_id=pid, name=products[pid].name, quantity=q, price=products[pid].price)
            for pid, q in quantities.items()]


def check_start(first_order_at: float | None, now: float) -> float:
    if first_order_at is None:
        return now
    if not now - START_TOLERANCE_SECONDS <= first_order_at <= now + MAX_START_DAYS * DAY_SECONDS:
        raise Invalid("The first order must be between now and 90 days from now.",
                      errors=[FieldProblem("body.first_order_at", f"between now and {MAX_START_DAYS} days ahead",
                                           code="first_order_window", params={"days": MAX_START_DAYS})])
    return max(first_order_at, now)


def apply_change(sub: Subscription, *, status: str | None, every_days: int | None, skip_next: bool,
                 now: float, skip_period: int | None = None) -> Subscription:
    """A subscriber's change, all or nothing: the interval, then the status, then a skip.

    * ``every_days`` applies from the period after the next (the next keeps its date);
    * ``paused`` takes the subscription out of the job's index; ``active`` again (resume)
      lets the periods that passed while paused go and continues with the first one ahead;
    * ``cancelled`` is final;
    * ``skip_next`` lets one period pass without an order: period ``skip_period``, the one the
      tap was made for (default: the period ahead after the other changes). See ``skip``.

    ``SubscriptionCancelled`` / ``SubscriptionNotActive`` / ``SubscriptionPeriodPassed`` (409)
    for what cannot be done from the current state; the subscription itself when nothing changes.
    """
    if sub.status == CANCELLED:
        if (status in (None, CANCELLED)) and every_days is None and not skip_next:
            return sub
        raise SubscriptionCancelled("A cancelled subscription cannot change; subscribe again.",
                                    extra={"subscription_status": sub.status})
    changed = sub
    if every_days is not None and every_days != sub.every_days:
        changed = replace(changed, every_days=every_days)
    if status is not None and status != sub.status:
        if status == PAUSED:
            changed = replace(changed, status=PAUSED)
        elif status == ACTIVE:  # resume: the periods that passed while paused go
            if changed.next_order_at <= now:
                later, number = next_due(changed.next_order_at, changed.every_days, changed.period, now)
                changed = replace(changed, next_order_at=later, period=number)
            changed = replace(changed, status=ACTIVE)
        else:
            changed = replace(changed, status=CANCELLED)
    if skip_next:
        skipped = skip(changed, changed.period if skip_period is None else skip_period, now)
        if skipped is not None:
            return skipped
    if changed == sub:
        return sub
    return replace(changed, revision=sub.revision + 1, updated_at=now)


def skip(sub: Subscription, period: int, now: float) -> Subscription | None:
    """Skip ``period``, the period a tap was made for: a tap changes that period, once.

    * the period still ahead → it is skipped (the subscription must be active);
    * an earlier period that no order was placed for (skipped already — by this tap's twin, a
      replay, or for want of stock) → ``None``: nothing to do, the tap's intent holds;
    * an earlier period that was ordered, or that passed unrecorded (the job placed it first,
      or it is older than the history kept) → ``SubscriptionPeriodPassed``: the next period is
      never skipped in its place;
    * a later period than the one ahead → ``Invalid`` (a client cannot have seen it).
    """
    if period == sub.period:
        if sub.status != ACTIVE:
            raise SubscriptionNotActive(f"Only an active subscription can skip its next order; this one is "
                                        f"{sub.status}.", extra={"subscription_status": sub.status})
        return _moved_on(sub, SKIPPED, now)
    if period > sub.period:
        raise Invalid("skip_period must be the period now ahead or an earlier one.",
                      errors=[FieldProblem("body.skip_period", f"the period ahead is {sub.period}",
                                           code="not_next_period", params={"next_period": sub.period})])
    decided = next((outcome for outcome in sub.history if outcome.period == period), None)
    if decided is not None and decided.outcome != ORDERED:
        return None
    raise SubscriptionPeriodPassed(
        f"Period {period} can no longer be skipped; the next one is period {sub.period}.",
        extra={"period": period, "outcome": decided.outcome if decided else None,
               "order_id": decided.order_id if decided else None, "next_period": sub.period,
               "next_order_at": iso(sub.next_order_at)})


# --- use cases: the subscriber and the shop ----------------------------------------------------


def subscribe(store: SubscriptionsStore, user_id: str, *, shop_id: str,
              lines: Iterable[tuple[str, int]], every_days: int, first_order_at: float | None, key: str,
              now: float) -> tuple[Subscription, bool]:
    """Subscribe (``Idempotency-Key`` like an order); ``(subscription, replayed)``.

    The first order is due at ``first_order_at`` (default: now, placed by the job's next run).
    The quote is read fresh with the shop and the subscriber's name: one BatchGetItem, then one
    transaction.
    """
    quantities = order_rules.aggregate(lines)
    if not MIN_EVERY_DAYS <= every_days <= MAX_EVERY_DAYS:  # the schema says so too
        raise Invalid("Choose an interval of 7 to 90 days.",
                      errors=[FieldProblem("body.every_days", "7..90", code="not_allowed",
                                           params={"expected": "7..90", "expected_ko": "7~90"})])
    digest = order_rules.request_hash("subscription", {"shop_id": shop_id, "items": sorted(quantities.items()),
                                                       "every_days": every_days, "first_order_at": first_order_at})
    start = check_start(first_order_at, now)
    shop, products, name = store.load_catalog(shop_id, list(quantities), subscriber_id=user_id)
    if shop is None:
        raise Invalid("No such shop.", errors=[FieldProblem("body.shop_id", "no such shop", code="no_such_shop")])
    if shop.closed_at is not None:
        raise ShopClosed("This shop has closed; it takes no new orders or followers.")
    if shop.owner_id == user_id:
        raise OwnShopSubscription("A shop's owner cannot subscribe to their own shop.")
    items = check_lines(shop_id, products, quantities)
    subscription = Subscription(
        subscription_id=new_id(), subscriber_id=user_id, subscriber_name=name or "",
        shop_id=shop_id, shop_name=shop.name, owner_id=shop.owner_id, items=tuple(items), every_days=every_days,
        status=ACTIVE, period=1, next_order_at=start, discount_percent=shop.subscription_discount_percent,
        quoted_at=now, created_at=now, updated_at=now, revision=1)
    stored = store.create(subscription, SubscriptionRequest(user_id=user_id, key=key, request_hash=digest,
                                                            subscription=subscription))
    first = stored.subscription
    if first is not None and first.subscription_id == subscription.subscription_id:
        return subscription, False
    if stored.request_hash != digest or first is None:
        raise IdempotencyKeyReused("This Idempotency-Key was already used for a different request; use a new key.",
                                   extra={"idempotency_key": key})
    return first, True


def get_subscription(store: SubscriptionsStore, user_id: str, subscription_id: str) -> Subscription:
    """For its subscriber and its shop's owner; anyone else gets the 404 of a missing one."""
    sub = store.get(subscription_id)
    if sub is None or user_id not in (sub.subscriber_id, sub.owner_id):
        raise NotFound("No such subscription.")
    return sub


def change(store: SubscriptionsStore, user_id: str, subscription_id: str, *, status: str | None,
           every_days: int | None, skip_next: bool, now: float, skip_period: int | None = None) -> Subscription:
    """Pause, resume, cancel, change the interval or skip a period (the subscriber only).

    Decided on a fresh read and written conditional on it (its ``revision``). A skip is for one
    period: ``skip_period``, or else the period ahead on this request's first read; a change
    that lost a race is decided again on a fresh read *for that same period*, so taps that race
    one another skip it once and a skip that lost to the job (which just ordered that period)
    is refused (409 ``subscription_period_passed``), never moved on to the period after. Setting
    what is already set writes nothing.
    """
    target = skip_period
    for _ in range(CHANGE_ATTEMPTS):
        current = get_subscription(store, user_id, subscription_id)
        if current.subscriber_id != user_id:
            raise Forbidden("Only the subscriber can change a subscription.")
        if skip_next and skip_period is None:  # the period ahead once this request's other changes apply
            ahead = apply_change(current, status=status, every_days=every_days, skip_next=False, now=now).period
            # Fixed on the first read; never later than the period ahead (a resume by another
            # request with an earlier clock can leave an earlier one due).
            target = ahead if target is None else min(target, ahead)
        updated = apply_change(current, status=status, every_days=every_days, skip_next=skip_next, now=now,
                               skip_period=target)
        if updated is current:
            return current
        try:
            store.save(current, updated)
            return updated
        except StaleSubscription:
            continue
    raise Unavailable("The subscription is being changed by another request; retry shortly.")


def list_mine(store: SubscriptionsStore, user_id: str, start_key: dict | None, limit: int) -> Page:
    return store.mine(user_id, start_key, limit)


def list_shop(shops: ShopsStore, store: SubscriptionsStore, user_id: str, shop_id: str, status: str | None,
              start_key: dict | None, limit: int) -> Page:
    owned_shop(shops, user_id, shop_id)
    return store.of_shop(shop_id, status, start_key, limit)


def of_customer(store: SubscriptionsStore, shop_id: str, user_id: str) -> list[Subscription]:
    """A customer's subscriptions at a shop, for the owner's customer card (the caller has
    checked the owner)."""
    return store.of_customer(shop_id, user_id)


# --- the scheduled job ---------------------------------------------------------------------------


@dataclass
class RunReport:
    days: int = 0
    pages: int = 0
    seen: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    stopped_early: bool = False  # the deadline came first; the rest stays due for the next run
    watermark: str | None = None

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


# A period found at order time to have nobody to order for, or nobody to order from: the
# subscription is cancelled (``services.closing``).
SUBSCRIBER_CLOSED, SHOP_CLOSED = "subscriber_closed", "shop_closed"
# Outcomes after which the subscription has left the bucket it was found in.
SETTLED = frozenset({"ordered", "replayed", "announced", OUT_OF_STOCK, UNAVAILABLE, "inactive", "charged",
                     "charge_refunded", "charge_gone", PAYMENT_FAILED, SUBSCRIBER_CLOSED, SHOP_CLOSED})


def run_due(store: SubscriptionsStore, now: float, deadline: float | None = None,
            clock: Callable[[], float] = time.monotonic, billing: Billing | None = None) -> RunReport:
    """Settle every subscription due by ``now``: announce, place or skip its period.

    Reads the due-date index (gsi4) one day bucket at a time, from the watermark (the oldest
    day that may still hold something due) to today: a page of ``DUE_PAGE`` of each of the
    bucket's shards at a time, the shards read in parallel (``storage.buckets``). Stops taking
    on work at ``deadline`` (on ``clock``); what is left stays in the index for the next run, and
    the watermark stays at the first day not fully settled. Runs that overlap do the same
    work twice at worst: every write is conditional, and a period's order is placed once.
    With ``billing``, a subscriber's saved card pays each period (``charge_period``).
    """
    report = RunReport()
    quotes = Quotes(store)
    today = day_of(now)
    start = store.watermark() or day_of(now - FIRST_LOOKBACK_DAYS * DAY_SECONDS)
    days = days_between(min(start, today), today)
    unsettled: str | None = None
    for day in days:
        report.days += 1
        if deadline is not None and clock() >= deadline:
            report.stopped_early = True
            unsettled = unsettled or day
            break
        pages = store.due(day, now, DUE_PAGE)
        try:
            for page in pages:
                report.pages += 1
                for sub in page:
                    if deadline is not None and clock() >= deadline:
                        report.stopped_early = True
                        break
                    report.seen += 1
                    try:
                        outcome = settle(store, sub, now, quotes, billing)
                    except Exception:  # one bad subscription must not hold up the others
                        log.exception("subscription %s: settling failed; it stays due", sub.subscription_id)
                        outcome = "failed"
                    report.count(outcome)
                    if outcome not in SETTLED and unsettled is None:
                        unsettled = day
                if report.stopped_early:
                    break
        finally:
            close = getattr(pages, "close", None)
            if close is not None:
                close()  # the shards' reads still in flight end here
        if report.stopped_early:
            unsettled = unsettled or day
            break
    report.watermark = unsettled or today
    if report.watermark != start:
        store.set_watermark(report.watermark, now)
    return report


class Quotes:
    """Today's prices for announcements, read fresh once per shop and products in a run (a run
    lasts seconds; a thousand subscriptions to one roaster's beans cost one read)."""

    def __init__(self, store: SubscriptionsStore) -> None:
        self.store = store
        self.read: dict[tuple[str, tuple[str, ...]], tuple[Shop | None, dict[str, Product]]] = {}

    def __call__(self, shop_id: str, product_ids: list[str]) -> tuple[Shop | None, dict[str, Product]]:
        key = (shop_id, tuple(sorted(product_ids)))
        if key not in self.read:
            shop, products, _ = self.store.load_catalog(shop_id, list(key[1]))
            self.read[key] = (shop, products)
        return self.read[key]


def settle(store: SubscriptionsStore, sub: Subscription, now: float, quotes: Quotes | None = None,
           billing: Billing | None = None) -> str:
    """Do what is due for one subscription (found through the index, which may lag behind it).
    A period's order still waiting for its card charge is charged first; the next period is not
    placed until that charge is decided."""
    try:
        if sub.status != ACTIVE:
            return "inactive"
        if sub.charge is not None:
            if billing is None or not sub.charge.free(now):
                return "charging"  # another run holds it, or its retry is not due yet
            return charge_period(store, sub, now, billing)
        outcome = "not_due"
        if sub.needs_announcing and sub.next_order_at - ANNOUNCE_LEAD_SECONDS <= now < sub.next_order_at:
            sub = announce(store, sub, now, quotes or Quotes(store))
            outcome = "announced"
        if sub.next_order_at <= now:
            return place_period(store, sub, now, billing)
        return outcome
    except StaleSubscription:
        return "changed"  # someone else wrote it meanwhile; the next run sees the new state
    except (Unavailable, StaleCatalog):
        return "busy"  # throttled, or products kept changing: the next run tries again


def announce(store: SubscriptionsStore, sub: Subscription, now: float, quotes: Quotes) -> Subscription:
    """Refresh the next period's quote from today's prices and discount, a day before it.

    Written conditionally; the stream tells the subscriber (``subscription_upcoming``). Told
    later than a day (plus grace) before, the new quote only lowers prices.
    """
    shop, products = quotes(sub.shop_id, [line.product_id for line in sub.items])
    told_in_time = now <= sub.next_order_at - ANNOUNCE_LEAD_SECONDS + ANNOUNCE_GRACE_SECONDS
    items, percent = sub.items, sub.discount_percent
    if shop is not None:
        percent = shop.subscription_discount_percent if told_in_time else max(percent,
                                                                               shop.subscription_discount_percent)
        items = tuple(_requoted(line, products.get(line.product_id), told_in_time) for line in sub.items)
    updated = replace(sub, items=items, discount_percent=percent, quoted_at=now, announced_period=sub.period,
                      revision=sub.revision + 1, updated_at=now)
    store.save(sub, updated)
    return updated


def _requoted(line: SubscriptionLine, product: Product | None, told_in_time: bool) -> SubscriptionLine:
    if product is None:
        return line
    price = product.price if told_in_time else min(product.price, line.price)
    return replace(line, name=product.name, price=price)


def quoted_pricing(sub: Subscription) -> order_rules.Pricing:
    """The period's pricing: each line at today's price or the quote, whichever is lower, and
    the shop's subscription discount or the quoted one, whichever is higher."""
    quote = {line.product_id: line.price for line in sub.items}

    def price(shop: Shop, lines: tuple[OrderLine, ...]) -> tuple[tuple[OrderLine, ...], int]:
        charged = tuple(replace(line, price=min(line.price, quote.get(line.product_id, line.price)))
                        for line in lines)
        percent = max(sub.discount_percent, shop.subscription_discount_percent)
        return charged, discount_of(sum(line.line_total for line in charged), percent)

    return price


def place_period(store: SubscriptionsStore, sub: Subscription, now: float, billing: Billing | None = None) -> str:
    """Place the current period's order, moving the subscription on in the same transaction;
    out of stock (or the shop or a product gone) → the period is skipped, nothing charged.

    With a saved card (``billing``) the order is a card payment the server charges right away:
    the placing transaction also writes the pending charge, held by this run, so a run that
    overlaps (and gets the same order back) never charges it too. Without one, the order is a
    bank transfer to the shop's account, waiting for its deposit like any order."""
    from chalicelib.services.billing import CHARGE_HOLD_SECONDS, CHARGE_WINDOW_SECONDS

    card = billing.card_of(sub.subscriber_id) if billing is not None else None
    checkout = None
    if card is not None:
        checkout = order_rules.Checkout(payment_method="card", billing_key_used=True,
                                        payment_window_seconds=CHARGE_WINDOW_SECONDS, buyer_name=sub.subscriber_name)
    written: list[Subscription] = []

    def advance(order: Order) -> Subscription:
        moved = _moved_on(sub, ORDERED, now, order_id=order.order_id)
        if card is not None:
            held = now + CHARGE_HOLD_SECONDS
            moved = replace(moved, charge=PendingCharge(order_id=order.order_id, period=sub.period, attempts=1,
                                                        held_until=held, next_try_at=held))
        written[:] = [moved]
        return moved

    try:
        order, replayed = order_rules.place_subscription_order(
            store.period_orders(sub, advance), sub.subscriber_id, shop_id=sub.shop_id,
            quantities={line.product_id: line.quantity for line in sub.items},
            subscription_id=sub.subscription_id, period=sub.period, pricing=quoted_pricing(sub), now=now,
            checkout=checkout)
    except (SubscriberClosed, ShopClosed) as gone:
        # the subscriber or the shop's owner closed their account: cancelled, nothing ordered
        from chalicelib.services.closing import cancel_subscription

        cancel_subscription(store, sub, now)
        return SUBSCRIBER_CLOSED if isinstance(gone, SubscriberClosed) else SHOP_CLOSED
    except OutOfStock as error:
        store.save(sub, _moved_on(sub, OUT_OF_STOCK, now, detail=error.detail))
        return OUT_OF_STOCK
    except (Invalid, Forbidden) as error:
        store.save(sub, _moved_on(sub, UNAVAILABLE, now, detail=error.detail))
        return UNAVAILABLE
    if replayed:
        return "replayed"  # the run that placed it holds its charge
    if card is None or billing is None or not written:
        return "ordered"
    return finish_charge(store, written[-1], order.order_id, billing.charge(order.order_id, 1, now), now)


def charge_period(store: SubscriptionsStore, sub: Subscription, now: float, billing: Billing) -> str:
    """Take a period's pending charge (free: its holder crashed, or its retry is due) with a
    write conditional on the revision read — of overlapping runs, one takes it — then charge."""
    from chalicelib.services.billing import CHARGE_HOLD_SECONDS

    assert sub.charge is not None
    held = now + CHARGE_HOLD_SECONDS
    taken = replace(sub, charge=replace(sub.charge, attempts=sub.charge.attempts + 1, held_until=held,
                                        next_try_at=held),
                    revision=sub.revision + 1, updated_at=now)
    store.save(sub, taken)  # StaleSubscription: another run took it (settle answers "changed")
    assert taken.charge is not None
    result = billing.charge(taken.charge.order_id, taken.charge.attempts, now)
    return finish_charge(store, taken, taken.charge.order_id, result, now)


# What the subscription says after a charge attempt, by the attempt's outcome.
_CHARGE_OUTCOMES = {"paid": "charged", "refunded": "charge_refunded", "declined": PAYMENT_FAILED,
                    "retry": "charge_retry", "gone": "charge_gone"}


def finish_charge(store: SubscriptionsStore, sub: Subscription, order_id: str, result, now: float) -> str:
    """Write what the attempt decided: the charge done (paid, or the order gone), to be tried
    again later (the provider did not answer), or failed — the period recorded
    ``payment_failed`` (the stream tells both sides). Retried on a fresh read when a change of
    the subscriber's got there first; a charge already finished is left alone."""
    from chalicelib.services.billing import CHARGE_RETRY_SECONDS, DECLINED, GONE, RETRY

    outcome = _CHARGE_OUTCOMES.get(result.outcome, result.outcome)
    failed = result.outcome == DECLINED or (result.outcome == GONE and result.detail == "expired")
    current: Subscription | None = sub
    for _ in range(CHANGE_ATTEMPTS):
        if current is None or current.charge is None or current.charge.order_id != order_id:
            return outcome
        charge = current.charge
        if result.outcome == RETRY:
            updated = replace(current, charge=replace(charge, held_until=now, next_try_at=now + CHARGE_RETRY_SECONDS))
        elif failed:
            updated = replace(_period_failed(current, charge, now, result.detail or "결제 기한이 지났어요"), charge=None)
        else:
            updated = replace(current, charge=None)
        try:
            store.save(current, replace(updated, revision=current.revision + 1, updated_at=now))
            return PAYMENT_FAILED if failed else outcome
        except StaleSubscription:
            current = store.get(sub.subscription_id)
    log.warning("subscription %s: the charge of order %s could not be recorded; it is tried again", sub.subscription_id,
                order_id)
    return "busy"


def _period_failed(sub: Subscription, charge: PendingCharge, now: float, detail: str) -> Subscription:
    """The period ``charge`` paid for, recorded as ``payment_failed`` (it was ``ordered``)."""
    history = list(sub.history)
    for index, outcome in enumerate(history):
        if outcome.period == charge.period and outcome.order_id == charge.order_id:
            history[index] = replace(outcome, outcome=PAYMENT_FAILED, at=now, detail=detail)
            break
    else:  # older than the history kept (a charge decided very late): remembered anyway
        history.append(PeriodOutcome(period=charge.period, outcome=PAYMENT_FAILED, due_at=now, at=now,
                                     order_id=charge.order_id, detail=detail))
        history.sort(key=lambda outcome: outcome.period)
    return replace(sub, history=_kept(history))


# --- notices (from the subscription's stream records) --------------------------------------


def notices_for(old: Subscription | None, new: Subscription) -> list[Notice]:
    """What a change of a subscription tells whom: the next period announced →
    ``subscription_upcoming`` to the subscriber; a period skipped for want of stock (or of the
    product), or an ordered period whose card charge failed (``payment_failed``) →
    ``subscription_skipped`` to the subscriber and the shop's owner. Source ids
    name the subscription's period, so a replayed record adds nothing. Each notice's ``data``
    carries its own Korean ``title`` and ``body`` (the inbox shows them as they are)."""
    notices: list[Notice] = []
    if new.announced_period > (old.announced_period if old else 0) and new.status == ACTIVE:
        before = {line.product_id: line.price for line in (old.items if old else ())}
        changed = any(before.get(line.product_id, line.price) != line.price for line in new.items)
        title = "내일 정기배송 주문이 들어가요" + (" · 가격이 바뀌었어요" if changed else "")
        body = (f"{new.shop_name} · {_items_ko(new.items)} {_won(new.total)} ({_date_ko(new.next_order_at)}). "
                "바꾸거나 건너뛰려면 오늘 알려 주세요.")
        notices.append(Notice(
            recipient_id=new.subscriber_id, type="subscription_upcoming",
            source_id=f"{new.subscription_id}#{new.announced_period}", at=new.quoted_at,
            data={"subscription_id": new.subscription_id, "shop_id": new.shop_id, "shop_name": new.shop_name,
                  "period": new.announced_period, "order_at": iso(new.next_order_at),
                  "items": [{"product_id": line.product_id, "name": line.name, "quantity": line.quantity,
                             "price": line.price, "previous_price": before.get(line.product_id, line.price)}
                            for line in new.items],
                  "price_changed": changed, "subtotal": new.subtotal, "discount": new.discount,
                  "total": new.total, "currency": new.currency, "title": title, "body": body}))
    known = {outcome.period: outcome.outcome for outcome in (old.history if old else ())}
    for outcome in new.history:
        # a period decided now, or one ordered before whose charge failed now
        if known.get(outcome.period) == outcome.outcome or outcome.outcome not in NOTIFIED_OUTCOMES:
            continue
        if outcome.period in known and outcome.outcome != PAYMENT_FAILED:
            continue
        data = {"subscription_id": new.subscription_id, "shop_id": new.shop_id, "shop_name": new.shop_name,
                "subscriber_id": new.subscriber_id, "subscriber_name": new.subscriber_name,
                "period": outcome.period, "due_at": iso(outcome.due_at), "reason": outcome.outcome,
                "detail": outcome.detail, "next_order_at": iso(new.next_order_at)}
        if outcome.outcome == PAYMENT_FAILED:
            texts = payment_failed_texts(new, outcome)
        else:
            texts = skipped_texts(new, outcome)
        for recipient, (title, body) in texts.items():
            notices.append(Notice(recipient_id=recipient, type="subscription_skipped",
                                  source_id=f"{new.subscription_id}#{outcome.period}", at=outcome.at,
                                  data={**data, "title": title, "body": body}))
    return notices


def skipped_texts(new: Subscription, outcome: PeriodOutcome) -> dict[str, tuple[str, str]]:
    """(title, body) per recipient: a period skipped for want of stock or of the product."""
    why = "재고가 부족해" if outcome.outcome == OUT_OF_STOCK else "상품을 구할 수 없어"
    return {
            new.subscriber_id: ("이번 정기배송은 건너뛰었어요",
                                f"{new.shop_name} · {_items_ko(new.items)} {why} {outcome.period}회차 주문을 넣지 못했어요. "
                                f"결제된 금액은 없어요. 다음 주문은 {_date_ko(new.next_order_at)}이에요."),
            new.owner_id: (f"{new.subscriber_name or '고객'}님의 정기배송을 건너뛰었어요",
                           f"{_items_ko(new.items)} {why} {outcome.period}회차 주문이 들어가지 않았어요. "
                           "다음 회차 전에 재고를 확인해 주세요."),
    }


def payment_failed_texts(new: Subscription, outcome: PeriodOutcome) -> dict[str, tuple[str, str]]:
    """(title, body) per recipient: a period whose saved-card charge failed (order cancelled)."""
    why = f" ({outcome.detail})" if outcome.detail else ""
    return {
        new.subscriber_id: ("정기배송 결제가 되지 않아 이번 회차를 건너뛰었어요",
                            f"{new.shop_name} · {_items_ko(new.items)} {outcome.period}회차를 등록한 카드로 결제하지 "
                            f"못했어요{why}. 주문은 취소했고 결제된 금액은 없어요. 카드를 확인해 주세요. "
                            f"다음 주문은 {_date_ko(new.next_order_at)}이에요."),
        new.owner_id: (f"{new.subscriber_name or '고객'}님의 정기배송 결제가 되지 않았어요",
                       f"{_items_ko(new.items)} {outcome.period}회차 주문을 카드로 결제하지 못해 취소했어요. "
                       "재고는 되돌려 놓았어요."),
    }


def _items_ko(items: Iterable[SubscriptionLine]) -> str:
    names = [line.name for line in items]
    return names[0] + (f" 외 {len(names) - 1}건" if len(names) > 1 else "") if names else "상품"


def _won(amount: int) -> str:
    return f"{amount:,}원"


def _date_ko(epoch: float) -> str:
    """The day in Korea, as the app's Korean texts say it: "12월 15일"."""
    day = datetime.fromtimestamp(epoch, tz=UTC) + timedelta(hours=9)
    return f"{day.month}월 {day.day}일"


def deliver(inbox: Inbox, notices: Iterable[Notice]) -> int:
    """Hand notices to the inbox; how many were new there (a replay adds none)."""
    return sum(1 for notice in notices if inbox.add(notice))
