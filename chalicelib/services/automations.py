"""Aftercare in the owner's words: three moments a shop's own message is sent, once each.

The owner switches each on and writes its text (``GET / PUT /shops/{id}/automations``); it is
sent as the shop's message in the customer's conversation with the shop
(``services.conversations.shop_says``: the conversation is created if the customer never
wrote, the customer gets a ``message`` notification through the stream). The text and the
switch are read when the moment is handled, so the owner's current words go out; each setting
keeps the time it was switched on, so a moment that came while it was off sends nothing, then
or later (not even when its record is handled again after the owner switched it on).

| moment               | when                                                      | guard (``Once``: pk ``AFTERCARE#<shop>#<customer>``) |
|----------------------|-----------------------------------------------------------|------------------------------------------------|
| ``first_order_thanks`` | the customer's first paid order at the shop: the pair's tier moves potential → first_time (``tier_transition`` INSERT, milestone ``first_order``) | ``first_order_thanks``: once per customer, ever |
| ``review_request``     | ``after_days`` after an order is delivered: the delivery's record leaves a due item; the ``aftercare`` job sends it | ``review_request#<order_id>``: once per order |
| ``welcome_back``       | a lapsed customer's paid order brings them back (milestone ``came_back``: lapsed → regular or first_time) | ``welcome_back#<lapse time>``: once per lapse |

The guard item is written in the message's own transaction on condition that it is absent, so
replayed stream records, repeated or overlapping job runs and racing records send nothing
twice. Welcome back is guarded per lapse (the moment the customer turned lapsed, from the
pair's tier history), not per order: an order cancelled and placed again, or a comeback
recorded twice, welcomes the customer once. Orders count only once paid, as everywhere
(``services.signals``): an order never paid moves no tier and thanks no one.

Nothing here knows HTTP or DynamoDB; stores are passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from dataclasses import replace as replaced
from decimal import Decimal
from typing import Any, Protocol

from chalicelib.ids import iso
from chalicelib.records.accounts import Shop
from chalicelib.records.automations import (
    FIRST_ORDER_THANKS, REVIEW_REQUEST, WELCOME_BACK, Automation, Automations, ReviewDue,
)
from chalicelib.records.commerce import Order
from chalicelib.records.conversations import Once
from chalicelib.records.relationships import Pair, Tier
from chalicelib.services.conversations import ConversationsStore, shop_says
from chalicelib.services.shops import ShopsStore, owned_shop

DAY_SECONDS = 86_400.0
DELIVERED = "delivered"
# The milestones of ``scoring.Transition`` that are aftercare moments.
MILESTONE_MOMENTS = {"first_order": FIRST_ORDER_THANKS, "came_back": WELCOME_BACK}
# A comeback is the paid order's own moment: the pair's last order is at the transition's time
# (stored numbers round-trip through Decimal; allow for that).
SAME_MOMENT_SECONDS = 0.001


class AutomationsStore(Protocol):
    def get(self, shop_id: str) -> Automations | None: ...
    def save(self, automations: Automations) -> None: ...
    def add_due(self, due: ReviewDue) -> None: ...
    def due(self, now: float) -> Iterable[ReviewDue]: ...
    def drop_due(self, due: ReviewDue) -> None: ...


class Directory(Protocol):
    """The relationships: a pair (customer card) and a customer's name."""

    def get_pair(self, shop_id: str, user_id: str) -> Pair | None: ...
    def user_name(self, user_id: str) -> str | None: ...


class Orders(Protocol):
    def get_order(self, order_id: str) -> Order | None: ...


class Shops(Protocol):
    def get_shop(self, shop_id: str) -> Shop | None: ...


@dataclass
class Context:
    """What sending needs: the settings, the shop, the customer, the order, the conversation."""

    store: AutomationsStore
    shops: Shops
    directory: Directory
    orders: Orders
    conversations: ConversationsStore


# --- the owner's settings ------------------------------------------------------------------------


def settings(store: AutomationsStore, shops: ShopsStore, user_id: str, shop_id: str) -> Automations:
    """The shop's automations (owner only): never set → all off, with suggested words."""
    owned_shop(shops, user_id, shop_id)
    return store.get(shop_id) or Automations(shop_id=shop_id)


def replace(store: AutomationsStore, shops: ShopsStore, user_id: str, shop_id: str, *,
            first_order_thanks: Automation, review_request: Automation, welcome_back: Automation,
            now: float) -> Automations:
    """Replace the shop's three automations whole (owner only): two GetItems (the shop, the
    current settings), one PutItem. Each keeps the time it was switched on while it stays on."""
    owned_shop(shops, user_id, shop_id)
    current = store.get(shop_id) or Automations(shop_id=shop_id)

    def kept(moment: str, new: Automation) -> Automation:
        was = current.of(moment)
        since = (was.since if was.enabled and was.since is not None else now) if new.enabled else None
        return replaced(new, since=since, after_days=new.after_days if moment == REVIEW_REQUEST else None)

    automations = Automations(shop_id=shop_id, first_order_thanks=kept(FIRST_ORDER_THANKS, first_order_thanks),
                              review_request=kept(REVIEW_REQUEST, review_request),
                              welcome_back=kept(WELCOME_BACK, welcome_back), updated_at=now)
    store.save(automations)
    return automations


# --- sending -------------------------------------------------------------------------------------


def guard(shop_id: str, customer_id: str, moment_key: str) -> Once:
    """The moment's guard item: ``AFTERCARE#<shop_id>#<customer_id>`` / ``moment_key``."""
    return Once(pk=f"AFTERCARE#{shop_id}#{customer_id}", sk=moment_key)


def _send(ctx: Context, shop_id: str, customer_id: str, customer_name: str, moment: str, moment_key: str,
          at: float, now: float) -> str:
    """Send ``moment``'s current words if it was on at ``at`` (the moment's time) and still is:
    ``sent``, ``off``, ``already`` (the guard was there, or the customer is blocked) or
    ``gone`` (the shop no longer exists)."""
    automations = ctx.store.get(shop_id)
    setting = automations.of(moment) if automations is not None else None
    if setting is None or not setting.on_at(at):
        return "off"
    shop = ctx.shops.get_shop(shop_id)
    if shop is None or shop.owner_id == customer_id:
        return "gone"
    sent = shop_says(ctx.conversations, shop, customer_id, customer_name, setting.text,
                     once=guard(shop_id, customer_id, moment_key), now=now)
    return "sent" if sent else "already"


def _str(image: Mapping[str, Any], name: str) -> str | None:
    value = image.get(name)
    return value if isinstance(value, str) and value else None


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return None
    return float(value)


def on_tier_change(ctx: Context, event: str, new: Mapping[str, Any] | None, now: float) -> str | None:
    """A ``tier_transition`` INSERT: thanks for a first paid order, or welcome back after a
    lapse. Returns what happened (None: not an aftercare moment). One GetItem (the pair), and
    when it is a moment: the settings, the shop and one TransactWriteItems."""
    if event != "INSERT" or new is None:
        return None
    moment = MILESTONE_MOMENTS.get(str(new.get("milestone") or ""))
    shop_id, customer_id, at = _str(new, "shop_id"), _str(new, "user_id"), _num(new.get("at"))
    if moment is None or shop_id is None or customer_id is None or at is None:
        return None
    pair = ctx.directory.get_pair(shop_id, customer_id)
    if pair is None:
        return "gone"  # the customer closed their account
    if moment == FIRST_ORDER_THANKS:
        if pair.state.order_count == 0:
            return "cancelled"  # the order was cancelled before we got here: nothing to thank for
        key = FIRST_ORDER_THANKS
    else:
        last = pair.state.last_order_at
        if pair.tier is Tier.LAPSED or last is None or last < at - SAME_MOMENT_SECONDS:
            return "cancelled"  # not (or no longer) back through an order
        key = f"{WELCOME_BACK}#{iso(lapse_of(pair, at))}"
    return _send(ctx, shop_id, customer_id, pair.customer_name, moment, key, at, now)


def lapse_of(pair: Pair, back_at: float) -> float:
    """When the customer turned lapsed before coming back at ``back_at``: the pair's latest
    change into ``lapsed`` up to then (its time is the lapse's own moment, the same however
    often it is recorded), or ``back_at`` itself if the kept history no longer has it."""
    lapses = [c.at for c in pair.history if c.to_tier is Tier.LAPSED and c.at <= back_at + SAME_MOMENT_SECONDS]
    return lapses[-1] if lapses else back_at


def delivered_at(new: Mapping[str, Any]) -> float | None:
    """When the order's latest move into ``delivered`` was (its history), else ``updated_at``."""
    moves = [h for h in new.get("history") or [] if isinstance(h, Mapping) and h.get("status") == DELIVERED]
    return _num(moves[-1].get("at")) if moves else _num(new.get("updated_at"))


def on_order(ctx: Context, event: str, new: Mapping[str, Any] | None, old: Mapping[str, Any] | None) -> str | None:
    """An order's record: when it is the one where a paid order became delivered and the shop's
    review request is on, the request falls due ``after_days`` later (one PutItem; the same
    item for a replay). None when the record is no such moment."""
    if event != "MODIFY" or new is None or new.get("status") != DELIVERED or new.get("paid_at") is None:
        return None
    if (old or {}).get("status") == DELIVERED:
        return None
    order_id, shop_id, at = _str(new, "order_id"), _str(new, "shop_id"), delivered_at(new)
    if order_id is None or shop_id is None or at is None:
        return None
    automations = ctx.store.get(shop_id)
    if automations is None or not automations.review_request.on_at(at):
        return "off"
    days = automations.review_request.after_days or 1
    ctx.store.add_due(ReviewDue(order_id=order_id, at=at + days * DAY_SECONDS))
    return "due"


@dataclass
class JobReport:
    seen: int = 0
    outcomes: dict[str, int] | None = None
    stopped_early: bool = False

    def count(self, outcome: str) -> None:
        self.outcomes = self.outcomes or {}
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


def send_due_reviews(ctx: Context, now: float, *, deadline: float | None = None,
                     tick: Callable[[], float] | None = None) -> JobReport:
    """Send every review request due by ``now``, oldest first, once per order; stops taking
    on work at ``deadline`` (on ``tick``), leaving the rest due for the next run. An order no
    longer delivered (cancelled, refunded) or whose customer closed their account sends nothing."""
    import time

    clock = tick or time.monotonic
    report = JobReport()
    for due in ctx.store.due(now):
        if deadline is not None and clock() >= deadline:
            report.stopped_early = True
            break
        report.seen += 1
        report.count(_review_request(ctx, due, now))
        ctx.store.drop_due(due)
    return report


def _review_request(ctx: Context, due: ReviewDue, now: float) -> str:
    order = ctx.orders.get_order(due.order_id)
    if order is None or order.status != DELIVERED or order.refund is not None or order.buyer_closed:
        return "cancelled"
    name = ctx.directory.user_name(order.buyer_id)
    if name is None:
        return "gone"
    return _send(ctx, order.shop_id, order.buyer_id, name, REVIEW_REQUEST,
                 f"{REVIEW_REQUEST}#{order.order_id}", due.at, now)
