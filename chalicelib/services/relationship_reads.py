"""Reading relationships: ranked lists, the customer card, the owner's note, and the reader's
strengths for the ranked feed.

Every read computes strength and tier for "now" from the stored state (``scoring``), so what
is shown is exact whatever the time since the pair's last event. Stores are passed in.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from chalicelib.errors import FieldProblem, Forbidden, Invalid, NotFound
from chalicelib.records.accounts import Shop
from chalicelib.records.common import Page
from chalicelib.records.relationships import Essential, Note, Pair, TierChange
from chalicelib.services.relationships import CONFIG, favourite_rank
from chalicelib.services.scoring import (
    DAY_SECONDS,
    RelationshipState,
    ScoringConfig,
    Tier,
    breakdown_at,
    lapses_at,
    reorder_due,
    reorder_due_at,
    strength_at,
    tier_at,
    usual_interval_days,
)
from chalicelib.services.shops import ShopsStore, owned_shop

FAVOURITES_SHOWN = 5  # of the 20 the pair remembers
NOTE_MAX = 1000


class RelationshipReads(Protocol):
    def customers(self, shop_id: str, tier: str | None, limit: int, start_key: dict | None) -> Page: ...
    def my_shops(self, user_id: str, limit: int, start_key: dict | None) -> Page: ...
    def card(self, shop_id: str, user_id: str) -> tuple[Shop | None, Pair | None, Note | None]: ...
    def put_note(self, shop_id: str, user_id: str, text: str, now: float) -> Note: ...
    def pairs_of_reader(self, user_id: str, shop_ids: Sequence[str]) -> list[Pair]: ...
    def strongest_shops(self, user_id: str, count: int) -> list[tuple[str, RelationshipState]]: ...


@dataclass(frozen=True)
class Strength:
    """Strength now and its parts, rounded for display so that the parts add up to it."""

    total: float
    parts: dict[str, float]


def strength_now(state: RelationshipState, now: float, config: ScoringConfig = CONFIG) -> Strength:
    parts = {name: round(value, 2) for name, value in breakdown_at(state, now, config).items()}
    return Strength(total=round(math.fsum(parts.values()), 2), parts=parts)


@dataclass(frozen=True)
class CustomerSummary:
    user_id: str
    name: str
    strength: float
    tier: Tier
    order_count: int
    last_order_at: float | None
    following: bool


@dataclass(frozen=True)
class ShopSummary:
    shop_id: str
    name: str
    handle: str
    strength: float
    tier: Tier


def _summary(pair: Pair, now: float) -> CustomerSummary:
    state = pair.state
    return CustomerSummary(user_id=pair.user_id, name=pair.customer_name, strength=strength_now(state, now).total,
                           tier=tier_at(state, max(now, state.updated_at), CONFIG), order_count=state.order_count,
                           last_order_at=state.last_order_at, following=state.following)


def customers_page(shops: ShopsStore, reads: RelationshipReads, owner_id: str, shop_id: str, *,
                   tier: Tier | None, limit: int, start_key: dict | None, now: float) -> Page:
    """A shop's customers, strongest now first (owner only): one Query on the forward-decay key.

    With a tier filter, a pair listed under a tier it has left by time alone (a regular who
    lapsed since the last sweep) is dropped from the page; the sweep moves it shortly.
    """
    owned_shop(shops, owner_id, shop_id)
    page = reads.customers(shop_id, tier.value if tier else None, limit, start_key)
    items = [_summary(pair, now) for pair in page.items]
    if tier is not None:
        items = [item for item in items if item.tier is tier]
    return Page(items=items, last_key=page.last_key)


def my_shops_page(reads: RelationshipReads, user_id: str, *, limit: int, start_key: dict | None,
                  now: float) -> Page:
    page = reads.my_shops(user_id, limit, start_key)
    items = [ShopSummary(shop_id=p.shop_id, name=p.shop_name, handle=p.shop_handle,
                         strength=strength_now(p.state, now).total,
                         tier=tier_at(p.state, max(now, p.state.updated_at), CONFIG)) for p in page.items]
    return Page(items=items, last_key=page.last_key)


@dataclass(frozen=True)
class FavouriteOut:
    product_id: str
    name: str
    orders: int
    quantity: int
    last_bought_at: float


@dataclass(frozen=True)
class ReorderDue:
    product_id: str
    name: str
    reorder_days: int
    last_bought_at: float
    due_at: float
    overdue_days: float
    usual_interval_days: float | None
    times_bought: int


@dataclass(frozen=True)
class CustomerCard:
    user_id: str
    name: str
    tier: Tier
    tier_reason: str
    strength: float
    breakdown: dict[str, float]
    following: bool
    order_count: int
    total_spent: int
    first_order_at: float | None
    last_order_at: float | None
    usual_interval_days: float | None
    became_regular_at: float | None
    lapses_at: float | None
    favourite_products: list[FavouriteOut]
    reorder_due: list[ReorderDue]
    tier_history: list[TierChange]
    customer_since: float
    note: str
    note_updated_at: float | None
    subscriptions: tuple = ()  # the customer's subscriptions at the shop (services.subscriptions)


def _days(seconds: float) -> int:
    return int(seconds // DAY_SECONDS)


def tier_reason(state: RelationshipState, tier: Tier, now: float, config: ScoringConfig = CONFIG) -> str:
    """Why the customer is in their tier, in the owner's words."""
    window, lapse = int(config.regular_window_days), int(config.lapsed_after_days)
    last = state.last_order_at
    if tier is Tier.POTENTIAL:
        return ("Follows the shop but has not ordered yet." if state.following
                else "Has engaged with the shop but has not ordered yet.")
    if tier is Tier.LAPSED:
        return (f"{state.order_count} orders, but none for {_days(now - last)} days "
                f"(a customer lapses after {lapse} days without an order).")
    if tier is Tier.REGULAR:
        return (f"{state.order_count} orders, {config.regular_min_orders} or more within {window} days; "
                f"last order {_days(now - last)} days ago.")
    if state.order_count == 1:
        return f"One order so far, {_days(now - last)} days ago."
    return (f"{state.order_count} orders, but not {config.regular_min_orders} within {window} days of each "
            "other yet.")


def _reorder_due(essentials: Iterable[Essential], now: float) -> list[ReorderDue]:
    due = []
    for e in essentials:
        if not reorder_due(e.last_bought_at, e.reorder_days, now):
            continue
        due_at = reorder_due_at(e.last_bought_at, e.reorder_days)
        due.append(ReorderDue(product_id=e.product_id, name=e.name, reorder_days=e.reorder_days,
                              last_bought_at=e.last_bought_at, due_at=due_at,
                              overdue_days=round((now - due_at) / DAY_SECONDS, 1),
                              usual_interval_days=_round_opt(usual_interval_days(e.times)),
                              times_bought=len(e.times)))
    return sorted(due, key=lambda d: (d.due_at, d.product_id))


def _round_opt(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def customer_card(shops: ShopsStore, reads: RelationshipReads, owner_id: str, shop_id: str, user_id: str,
                  now: float) -> CustomerCard:
    """Everything the shop remembers about one customer (owner only); one BatchGetItem."""
    shop, pair, note = reads.card(shop_id, user_id)
    if shop is None:
        raise NotFound("No such shop.")
    if shop.owner_id != owner_id:
        raise Forbidden("Only the shop's owner can do this.")
    if pair is None:
        raise NotFound("This person is not a customer of the shop.")
    state = pair.state
    clock = max(now, state.updated_at)
    tier = tier_at(state, clock, CONFIG)
    strength = strength_now(state, now)
    favourites = sorted(pair.favourites, key=favourite_rank, reverse=True)[:FAVOURITES_SHOWN]
    return CustomerCard(
        user_id=pair.user_id, name=pair.customer_name, tier=tier, tier_reason=tier_reason(state, tier, clock),
        strength=strength.total, breakdown=strength.parts, following=state.following,
        order_count=state.order_count, total_spent=state.total_spent, first_order_at=state.first_order_at,
        last_order_at=state.last_order_at, usual_interval_days=_round_opt(usual_interval_days(state.order_times)),
        became_regular_at=state.became_regular_at,
        lapses_at=lapses_at(state, CONFIG) if tier is not Tier.LAPSED else None,
        favourite_products=[FavouriteOut(f.product_id, f.name, f.orders, f.quantity, f.last_at) for f in favourites],
        reorder_due=_reorder_due(pair.essentials, now), tier_history=list(pair.history),
        customer_since=pair.since if pair.since is not None else pair.created_at, note=note.text if note else "",
        note_updated_at=note.updated_at if note else None,
    )


def set_note(shops: ShopsStore, reads: RelationshipReads, owner_id: str, shop_id: str, user_id: str,
             text: str, now: float) -> Note:
    """The owner's private memo about a customer (owner only; the customer must exist)."""
    if len(text) > NOTE_MAX:
        raise Invalid("The note is too long.",
                      errors=[FieldProblem("body.note", f"at most {NOTE_MAX} characters", code="too_long",
                                           params={"max_length": NOTE_MAX})])
    owned_shop(shops, owner_id, shop_id)
    return reads.put_note(shop_id, user_id, text, now)  # NotFound when the pair does not exist


# --- for the ranked feed -------------------------------------------------------------------


def reader_strongest_shops(reads: RelationshipReads, user_id: str, count: int, now: float,
                           config: ScoringConfig = CONFIG) -> tuple[dict[str, float], bool]:
    """The reader's ``count`` strongest shops with their strength right now (unrounded, for
    ranking), strongest first, and whether those are all the shops the reader has any
    strength with.

    One Query on "my shops" (gsi3), eventually consistent: its forward-decay key orders pairs
    as their strengths compare at any time after their last events, so the first ``count``
    by key are the ``count`` strongest now, and every other shop is at most as strong as the
    last of them. ``count`` pairs of ≈ 1 KB: 16 cost ≈ 2 RCU (a BatchGetItem of 100 named
    pairs cost ≈ 50).
    """
    strongest = reads.strongest_shops(user_id, count)
    strengths = {shop_id: strength_at(state, now, config) for shop_id, state in strongest}
    return strengths, len(strongest) < count


def reader_strengths(reads: RelationshipReads, user_id: str, shop_ids: Iterable[str], now: float,
                     config: ScoringConfig = CONFIG) -> dict[str, float]:
    """The reader's strength to each shop right now, 0.0 where there is no relationship.

    One BatchGetItem for up to 100 distinct shops (a feed page names at most its page size).
    Unrounded, for ranking.
    """
    wanted = list(dict.fromkeys(shop_ids))
    found = {p.shop_id: strength_at(p.state, now, config) for p in reads.pairs_of_reader(user_id, wanted)}
    return {shop_id: found.get(shop_id, 0.0) for shop_id in wanted}
