"""Relationships: the corner-store memory, kept up to date one event at a time.

Every signal a customer gives a shop (follow, like, comment, share, order, review, referral,
and the reversals) becomes a ``SignalEvent`` (see ``services.signals``) and is recorded on the
pair with ``record``: read the pair, ``advance`` it purely (``scoring.apply`` plus the product
memory and the tier), write it back with one conditional write. The write is conditional on
the version that was read, so two writers racing on one pair never lose an update (the loser
re-reads and re-applies), and it carries the event's id, so a replayed event is recognised
and changes nothing. No step depends on how many pairs or events exist: O(1) per event.

Tiers also change with time alone (a regular who stops coming lapses). Each write stores
the moment that will happen (``lapse_at``, indexed by day); ``sweep_lapses`` runs on a
schedule and moves the due pairs, and every read computes the tier for "now" anyway.

Nothing here knows HTTP or DynamoDB; stores are passed in.
"""

from __future__ import annotations

import base64
import hashlib
import math
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from chalicelib.errors import Unavailable
from chalicelib.records.commerce import OrderLine
from chalicelib.records.relationships import (
    Essential,
    Favourite,
    Pair,
    ShopInfo,
    SignalEvent,
    StaleWrite,
    TierChange,
)
from chalicelib.services.scoring import (
    DAY_SECONDS,
    DEFAULT_CONFIG,
    ScoringConfig,
    Signal,
    Tier,
    Transition,
    apply,
    lapses_at,
    rank_key,
    tier_at,
)

# The scoring settings in force: weights, half-life and tier thresholds, each justified in
# scoring.ScoringConfig and the README. The half-life is part of every stored rank key, so
# changing it means re-keying the pairs; weights and thresholds apply from the next event.
CONFIG = DEFAULT_CONFIG

# Replays: Lambda re-delivers a failed batch, and a stream keeps records for 24 hours, so a
# replay is always one of the pair's latest events. 100 event ids (12-character digests,
# ~1.3 KB) cover a day of even a very busy customer; an id older than that cannot come back.
SEEN_MAX = 100
# Tier changes kept on the pair for the card (every change is also its own item).
HISTORY_MAX = 10
# The product memory is bounded so the item (read by every list page) stays small:
# favourites keep the 20 most bought products (the card shows 5), essentials the 20 most
# recently bought everyday products with their last 6 purchase times.
FAVOURITES_MAX = 20
ESSENTIALS_MAX = 20
ESSENTIAL_TIMES = 6
# A write that loses a race re-reads and re-applies after a short jittered pause (doubling,
# from 10 ms); beyond this many attempts (~5 s) the batch fails and Lambda retries it later
# (every step is idempotent). Races need two shards writing one pair at the same moment.
MAX_ATTEMPTS = 10
RETRY_BASE_SECONDS = 0.01

APPLIED, REPLAYED, SKIPPED = "applied", "replayed", "skipped"


class PairStore(Protocol):
    def get_pair(self, shop_id: str, user_id: str) -> Pair | None: ...
    def put_pair(self, pair: Pair, changes: Sequence[TierChange], now: float, rank: float | None) -> None:
        """Write ``pair`` if its stored version is still ``pair.version`` (absent when None),
        with ``changes`` in the same write; ``StaleWrite`` otherwise. ``rank`` is the
        forward-decay key the ranked lists sort by, None when they leave the pair out."""
    def shop_info(self, shop_id: str) -> ShopInfo | None: ...
    def user_name(self, user_id: str) -> str | None: ...


class LapseStore(PairStore, Protocol):
    def due_lapses(self, day: str, until: float) -> Iterable[tuple[str, str]]: ...
    def sweep_watermark(self) -> str | None: ...
    def set_sweep_watermark(self, day: str, now: float) -> None: ...


# --- the write path ------------------------------------------------------------------------


def digest(event_id: str) -> str:
    """A 72-bit digest of an event id: 12 characters instead of ~70 on every pair item."""
    raw = hashlib.blake2b(event_id.encode(), digest_size=9).digest()
    return base64.urlsafe_b64encode(raw).decode("ascii")


def new_pair(shop: ShopInfo, user_id: str, customer_name: str, now: float) -> Pair:
    return Pair(shop_id=shop.shop_id, user_id=user_id, customer_name=customer_name, shop_name=shop.name,
                shop_handle=shop.handle, created_at=now)


def listed(pair: Pair) -> bool:
    """Whether the ranked lists show the pair: anything left of the relationship."""
    return pair.state.score > 0 or pair.state.order_count > 0


def list_rank(pair: Pair, config: ScoringConfig = CONFIG) -> float | None:
    """The pair's key in the ranked lists (forward decay), or None when they leave it out."""
    return rank_key(pair.state, config) if listed(pair) else None


def record(store: PairStore, event: SignalEvent, now: float, config: ScoringConfig = CONFIG) -> str:
    """Apply one event to its pair: ``applied``, ``replayed`` (already applied) or ``skipped``.

    Skipped: the shop or customer is unknown, the customer is the shop's owner (an owner
    liking their own post is not a customer), or a reversal arrives for a pair that does not
    exist (nothing to undo). Costs 1 GetItem + 1 write for an existing pair (plus the shop and
    user profiles once, when the pair is new).
    """
    key = digest(event.event_id)
    for attempt in range(MAX_ATTEMPTS):
        if attempt:
            _pause(attempt)
        pair = store.get_pair(event.shop_id, event.user_id)
        if pair is None:
            if event.is_reversal:
                return SKIPPED
            shop = store.shop_info(event.shop_id)
            if shop is None or shop.owner_id == event.user_id:
                return SKIPPED
            name = store.user_name(event.user_id)
            if name is None:
                return SKIPPED
            pair = new_pair(shop, event.user_id, name, now)
        if key in pair.seen:
            return REPLAYED
        updated, changes = advance(pair, event, now, config)
        try:
            store.put_pair(updated, changes, now, list_rank(updated, config))
            return APPLIED
        except StaleWrite:
            continue
    raise Unavailable("The relationship is being updated concurrently; retry shortly.")


def _pause(attempt: int) -> None:
    time.sleep(random.uniform(0, RETRY_BASE_SECONDS * 2 ** (attempt - 1)))


def advance(pair: Pair, event: SignalEvent, now: float,
            config: ScoringConfig = CONFIG) -> tuple[Pair, tuple[TierChange, ...]]:
    """The pair after ``event`` (pure): new score and facts, product memory, tier as of now.

    Returns the tier changes to record, oldest first. Two when time alone had moved the pair
    before the event and the sweep has not recorded it yet: a regular who lapsed last week and
    orders today is recorded as regular → lapsed, then lapsed → regular ("came_back").
    """
    before = max(event.at, pair.state.updated_at)
    lapsed, gone = settle(pair, before, config=config)
    if gone is None or gone.to_tier is not Tier.LAPSED:
        lapsed, gone = pair, None  # only time's own change (to lapsed) is recorded before the event
    state, _ = apply(lapsed.state, event.signal, event.at, amount=event.amount, rating=event.rating,
                     reverses_at=event.reverses_at, config=config)
    favourites, essentials = pair.favourites, pair.essentials
    if event.signal is Signal.ORDER:
        favourites = add_favourites(favourites, event.lines, event.at)
        essentials = add_essentials(essentials, event.lines, event.at)
    elif event.signal is Signal.ORDER_CANCELLED and event.reverses_at is not None:
        favourites = remove_favourites(favourites, event.lines)
        essentials = remove_essentials(essentials, event.lines, event.reverses_at)
    seen = (*pair.seen, digest(event.event_id))[-SEEN_MAX:]
    since = pair.since if event.is_reversal else min(event.at, pair.since if pair.since is not None else math.inf)
    moved = replace(lapsed, state=state, favourites=favourites, essentials=essentials, seen=seen, since=since)
    settled, change = settle(moved, now, cause_at=event.at, config=config)
    return settled, tuple(c for c in (gone, change) if c is not None)


def settle(pair: Pair, now: float, *, cause_at: float | None = None,
           config: ScoringConfig = CONFIG) -> tuple[Pair, TierChange | None]:
    """Re-derive the listed tier for ``now``, the pending lapse and the tier history.

    The change is judged against the tier the lists show (``pair.tier``), so each change is
    recorded once whichever path notices it first (an event or the sweep).
    """
    state = pair.state
    clock = max(now, state.updated_at)
    tier = tier_at(state, clock, config)
    lapse = lapses_at(state, config)
    change = None
    history = pair.history
    if tier is not pair.tier:
        at = lapse if tier is Tier.LAPSED and lapse is not None else (cause_at if cause_at is not None else clock)
        change = TierChange(pair.tier, tier, at, Transition(pair.tier, tier, at).milestone)
        history = (*history, change)[-HISTORY_MAX:]
    lapse_at = lapse if lapse is not None and tier is not Tier.LAPSED else None
    return replace(pair, tier=tier, history=history, lapse_at=lapse_at), change


# --- the product memory --------------------------------------------------------------------


def _per_product(lines: Iterable[OrderLine]) -> dict[str, OrderLine]:
    """One line per product (an order may list a product twice): quantities summed."""
    merged: dict[str, OrderLine] = {}
    for line in lines:
        if line.product_id in merged:
            first = merged[line.product_id]
            line = replace(line, quantity=first.quantity + line.quantity)
        merged[line.product_id] = line
    return merged


def favourite_rank(f: Favourite) -> tuple:
    return (f.orders, f.quantity, f.last_at, f.product_id)


def add_favourites(favourites: Sequence[Favourite], lines: Iterable[OrderLine], at: float) -> tuple[Favourite, ...]:
    by_id = {f.product_id: f for f in favourites}
    for pid, line in _per_product(lines).items():
        old = by_id.get(pid)
        if old is None:
            by_id[pid] = Favourite(pid, line.name, 1, line.quantity, at)
        else:
            name = line.name if at >= old.last_at else old.name
            by_id[pid] = Favourite(pid, name, old.orders + 1, old.quantity + line.quantity, max(old.last_at, at))
    return tuple(sorted(by_id.values(), key=favourite_rank, reverse=True)[:FAVOURITES_MAX])


def remove_favourites(favourites: Sequence[Favourite], lines: Iterable[OrderLine]) -> tuple[Favourite, ...]:
    by_id = {f.product_id: f for f in favourites}
    for pid, line in _per_product(lines).items():
        old = by_id.get(pid)
        if old is None:
            continue
        if old.orders <= 1:
            del by_id[pid]
        else:
            by_id[pid] = replace(old, orders=old.orders - 1, quantity=max(old.quantity - line.quantity, 0))
    return tuple(sorted(by_id.values(), key=favourite_rank, reverse=True))


def _is_essential(line: OrderLine) -> bool:
    return line.kind == "essential" and line.reorder_days is not None and line.reorder_days > 0


def add_essentials(essentials: Sequence[Essential], lines: Iterable[OrderLine], at: float) -> tuple[Essential, ...]:
    by_id = {e.product_id: e for e in essentials}
    for pid, line in _per_product(lines).items():
        if not _is_essential(line):
            continue
        old = by_id.get(pid)
        times = tuple(sorted((*(old.times if old else ()), at)))[-ESSENTIAL_TIMES:]
        if old is None or at >= old.last_bought_at:  # the newest purchase names it and sets its cycle
            by_id[pid] = Essential(pid, line.name, int(line.reorder_days or 0), times)
        else:
            by_id[pid] = Essential(pid, old.name, old.reorder_days, times)
    ordered = sorted(by_id.values(), key=lambda e: (e.last_bought_at, e.product_id), reverse=True)
    return tuple(ordered[:ESSENTIALS_MAX])


def remove_essentials(essentials: Sequence[Essential], lines: Iterable[OrderLine],
                      order_at: float) -> tuple[Essential, ...]:
    by_id = {e.product_id: e for e in essentials}
    for pid in _per_product(lines):
        old = by_id.get(pid)
        if old is None or order_at not in old.times:
            continue
        times = list(old.times)
        times.remove(order_at)
        if times:
            by_id[pid] = replace(old, times=tuple(times))
        else:
            del by_id[pid]
    return tuple(sorted(by_id.values(), key=lambda e: (e.last_bought_at, e.product_id), reverse=True))


# --- the lapse sweep -----------------------------------------------------------------------

LAPSE_JOB = "lapse-sweep"
# With no watermark yet (first run), look back this far: lapse times are at most
# lapsed_after_days after the write that set them, so older buckets are empty.
SWEEP_FIRST_LOOKBACK_DAYS = 90


def day_of(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).date().isoformat()


def days_between(first: str, last: str) -> list[str]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [(start + timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]


@dataclass(frozen=True)
class SweepReport:
    days: int
    due: int
    lapsed: int
    stopped_early: bool = False


def sweep_lapses(store: LapseStore, now: float, config: ScoringConfig = CONFIG, deadline: float | None = None,
                 clock: Callable[[], float] = time.monotonic) -> SweepReport:
    """Move pairs whose lapse moment has passed to ``lapsed`` (and record the change).

    Reads the gsi4 bucket of each day since the last run (its watermark), every shard of it
    (``storage.buckets``), so the cost follows the number of due pairs, never the number of
    pairs. Each due pair is re-read and settled with the same conditional write as an event, so
    the sweep and the stream never undo each other; a pair whose lapse an order has meanwhile
    pushed back is left alone. Stops taking on pairs at ``deadline`` (on ``clock``): the
    watermark then stays at the day it stopped in, whose pairs left are still in the index
    (a lapsed pair leaves it), so the next run finishes them and does none twice.
    """
    today = day_of(now)
    first = store.sweep_watermark() or day_of(now - SWEEP_FIRST_LOOKBACK_DAYS * DAY_SECONDS)
    days = days_between(min(first, today), today)
    due = lapsed = read = 0
    stopped: str | None = None
    for day in days:
        read += 1
        pairs = iter(store.due_lapses(day, now))
        try:
            for shop_id, user_id in pairs:
                if deadline is not None and clock() >= deadline:
                    stopped = day
                    break
                due += 1
                if _lapse_one(store, shop_id, user_id, now, config):
                    lapsed += 1
        finally:
            close = getattr(pairs, "close", None)
            if close is not None:
                close()  # the shards' reads still in flight end here
        if stopped is not None:
            break
    # Today is read again next time: it is not over yet.
    store.set_sweep_watermark(stopped or today, now)
    return SweepReport(days=read, due=due, lapsed=lapsed, stopped_early=stopped is not None)


def _lapse_one(store: PairStore, shop_id: str, user_id: str, now: float, config: ScoringConfig) -> bool:
    for attempt in range(MAX_ATTEMPTS):
        if attempt:
            _pause(attempt)
        pair = store.get_pair(shop_id, user_id)
        if pair is None:
            return False
        settled, change = settle(pair, now, config=config)
        if change is None and settled.lapse_at == pair.lapse_at:
            return False
        try:
            store.put_pair(settled, (change,) if change else (), now, list_rank(settled, config))
            return change is not None and change.to_tier is Tier.LAPSED
        except StaleWrite:
            continue
    raise Unavailable("The relationship is being updated concurrently; retry shortly.")


__all__ = ["APPLIED", "CONFIG", "REPLAYED", "SKIPPED", "StaleWrite", "advance", "digest", "listed", "record",
           "settle", "sweep_lapses"]
