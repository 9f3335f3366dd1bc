"""Essentials as services and storage pass them: subscriptions (정기배송) and "due at" reorders."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.records.commerce import CURRENCY

DAY_SECONDS = 86_400.0
# The subscriber hears of each period (its date and prices) this long before it is placed.
ANNOUNCE_LEAD_SECONDS = DAY_SECONDS

ACTIVE, PAUSED, CANCELLED = "active", "paused", "cancelled"
STATUSES = (ACTIVE, PAUSED, CANCELLED)

# What became of one period.
ORDERED = "ordered"
SKIPPED = "skipped"  # the subscriber skipped it
OUT_OF_STOCK = "out_of_stock"  # not enough stock when it was due: nothing ordered, nothing charged
UNAVAILABLE = "unavailable"  # the shop or a product is gone
PAYMENT_FAILED = "payment_failed"  # ordered, but the saved card's charge failed: the order cancelled, stock back
NOTIFIED_OUTCOMES = (OUT_OF_STOCK, UNAVAILABLE, PAYMENT_FAILED)  # both sides are told (subscription_skipped)


@dataclass(frozen=True)
class SubscriptionLine:
    """One product of a subscription, with the price the subscriber was last told (won): a
    period is charged that price or today's, whichever is lower."""

    product_id: str
    name: str
    quantity: int
    price: int

    @property
    def line_total(self) -> int:
        return self.price * self.quantity


@dataclass(frozen=True)
class PeriodOutcome:
    period: int
    outcome: str  # ordered | skipped | out_of_stock | unavailable | payment_failed
    due_at: float
    at: float  # when it was decided
    order_id: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class PendingCharge:
    """A period's card order still to be charged with the subscriber's saved card.

    Written in the period's placing transaction, already held (``held_until``) by the run that
    places it, which charges at once; whoever else reads it leaves it alone until then. A run
    that finds it free (the holder crashed, or the provider was down: ``next_try_at``) takes it
    with a conditional write first, so one run at a time ever charges it."""

    order_id: str
    period: int
    attempts: int
    held_until: float
    next_try_at: float

    def free(self, now: float) -> bool:
        return self.held_until <= now and self.next_try_at <= now

    @property
    def action_at(self) -> float:
        return max(self.held_until, self.next_try_at)


@dataclass(frozen=True)
class Subscription:
    """A standing order: ``items`` from one shop every ``every_days`` days.

    ``period`` numbers the next order (1 for the first) and ``next_order_at`` is when it is
    due; a period is ordered, skipped or let pass (paused), never ordered twice. ``items``'
    prices and ``discount_percent`` are the quote: what the subscriber was last told, refreshed
    a day before each period (``quoted_at``, ``announced_period``). ``revision`` grows with
    every write; each write is conditional on the one it read.
    """

    subscription_id: str
    subscriber_id: str
    subscriber_name: str
    shop_id: str
    shop_name: str
    owner_id: str
    items: tuple[SubscriptionLine, ...]
    every_days: int
    status: str
    period: int
    next_order_at: float
    discount_percent: int
    quoted_at: float
    created_at: float
    updated_at: float
    announced_period: int = 0
    revision: int = 0
    history: tuple[PeriodOutcome, ...] = ()  # latest last, a bounded window
    last_order_id: str | None = None
    currency: str = CURRENCY
    charge: PendingCharge | None = None  # a period's order waiting for its card charge

    @property
    def subtotal(self) -> int:
        return sum(line.line_total for line in self.items)

    @property
    def needs_announcing(self) -> bool:
        """Whether the next period still has to be announced: its quote is older than a day
        before it (a subscription made less than a day before its first order is not)."""
        return (self.announced_period < self.period
                and self.quoted_at < self.next_order_at - ANNOUNCE_LEAD_SECONDS)

    @property
    def action_at(self) -> float | None:
        """When the scheduled job next has something to do: announce the next period a day
        before it, place it, or charge a period's order; None unless active (the due-date index
        leaves it out)."""
        if self.status != ACTIVE:
            return None
        at = self.next_order_at - ANNOUNCE_LEAD_SECONDS if self.needs_announcing else self.next_order_at
        return min(at, self.charge.action_at) if self.charge is not None else at

    @property
    def discount(self) -> int:
        return discount_of(self.subtotal, self.discount_percent)

    @property
    def total(self) -> int:
        return self.subtotal - self.discount


def discount_of(subtotal: int, percent: int) -> int:
    """Whole won off, rounded down (the customer never pays a fraction of a won more)."""
    return subtotal * percent // 100


@dataclass(frozen=True)
class SubscriptionRequest:
    """A ``POST /subscriptions`` Idempotency-Key and the subscription it created."""

    user_id: str
    key: str
    request_hash: str
    subscription: Subscription | None = None


# --- "due at" reorders ------------------------------------------------------------------------


@dataclass(frozen=True)
class Purchase:
    """One purchase of an essential: from which order, when, and how long it lasts."""

    order_id: str
    product_id: str
    at: float
    reorder_days: int
    shop_id: str
    shop_name: str
    name: str

    @property
    def due_at(self) -> float:
        return self.at + self.reorder_days * DAY_SECONDS


@dataclass(frozen=True)
class Reorder:
    """What one customer's essential (a product) is due at: the latest purchase decides.

    ``purchases`` keeps the latest few (newest last) so a cancelled purchase gives way to the
    one before it; ``cancelled`` remembers cancelled orders so a replayed placement of one is
    not taken for a purchase.
    """

    user_id: str
    product_id: str
    purchases: tuple[Purchase, ...] = ()
    cancelled: tuple[str, ...] = ()
    version: int | None = None

    @property
    def latest(self) -> Purchase | None:
        return max(self.purchases, key=lambda p: (p.at, p.order_id)) if self.purchases else None


class StaleSubscription(Exception):
    """The subscription changed since it was read (a conditional write found another revision)."""


class StaleReorder(Exception):
    """A reorder item changed since it was read (its version moved)."""
