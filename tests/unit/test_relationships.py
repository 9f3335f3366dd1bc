"""Relationship updates on plain data: the handler logic against an in-memory store.

The store below keeps pairs in a dict and honours the same contract as DynamoDB's
(version-conditional writes), so replays, races and the lapse sweep are tested without I/O.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.errors import Unavailable
from chalicelib.records.commerce import OrderLine
from chalicelib.records.relationships import Pair, ShopInfo, SignalEvent, StaleWrite, TierChange
from chalicelib.services import relationship_reads as reads
from chalicelib.services import relationships as rel
from chalicelib.services.scoring import (
    DAY_SECONDS,
    DEFAULT_CONFIG,
    RelationshipState,
    Signal,
    Tier,
    apply,
    event_id,
    strength_at,
)
from chalicelib.services.signals import referral, referral_cancelled

DAY = DAY_SECONDS
T0 = 1_793_523_600.0  # 2026-11-01 09:00 UTC
SHOP = ShopInfo("S1", "OWNER", "망원동 두부가게", "mangwon_tofu")


@pytest.fixture(autouse=True)
def no_pauses(monkeypatch):
    monkeypatch.setattr(rel, "_pause", lambda attempt: None)


class MemoryStore:
    """Pairs in a dict; writes conditional on the version, like the DynamoDB repository."""

    def __init__(self, *, conflicts: int = 0) -> None:
        self.pairs: dict[tuple[str, str], Pair] = {}
        self.transitions: list[TierChange] = []
        self.writes = 0
        self.conflicts = conflicts  # the next N writes lose a race
        self.watermark: str | None = None

    def get_pair(self, shop_id, user_id):
        return self.pairs.get((shop_id, user_id))

    def put_pair(self, pair, changes, now, rank=None):
        key = (pair.shop_id, pair.user_id)
        current = self.pairs.get(key)
        if self.conflicts:
            self.conflicts -= 1
            # Someone else wrote first: the version moved on (same content).
            if current is not None:
                self.pairs[key] = replace(current, version=(current.version or 0) + 1)
            raise StaleWrite
        if (current.version if current else None) != pair.version:
            raise StaleWrite
        self.pairs[key] = replace(pair, version=(pair.version or 0) + 1)
        self.transitions.extend(changes)
        self.writes += 1

    def shop_info(self, shop_id):
        return SHOP if shop_id == SHOP.shop_id else None

    def user_name(self, user_id):
        return None if user_id == "GHOST" else f"name-{user_id}"

    def due_lapses(self, day, until):
        for pair in list(self.pairs.values()):
            if pair.lapse_at is not None and rel.day_of(pair.lapse_at) == day and pair.lapse_at <= until:
                yield pair.shop_id, pair.user_id

    def sweep_watermark(self):
        return self.watermark

    def set_sweep_watermark(self, day, now):
        self.watermark = day


TOFU = OrderLine("P-TOFU", "손두부", 4500, 2, "essential", 7)
KIMCHI = OrderLine("P-KIMCHI", "묵은지", 9000, 1, "treat", None)


if TYPE_CHECKING:  # `make typecheck`: each fake keeps the contract of what it stands for
    _store: rel.LapseStore = MemoryStore()


def order(n: int, at: float, amount: int = 12000, lines=(TOFU, KIMCHI), user: str = "U1") -> SignalEvent:
    return SignalEvent(shop_id="S1", user_id=user, signal=Signal.ORDER, at=at, amount=amount, lines=tuple(lines),
                       event_id=event_id(Signal.ORDER, f"O{n}"))


def cancel(n: int, order_at: float, at: float, amount: int = 12000, lines=(TOFU, KIMCHI),
           user: str = "U1") -> SignalEvent:
    return SignalEvent(shop_id="S1", user_id=user, signal=Signal.ORDER_CANCELLED, at=at, amount=amount,
                       reverses_at=order_at, lines=tuple(lines), event_id=event_id(Signal.ORDER_CANCELLED, f"O{n}"))


def simple(signal: Signal, at: float, source: str, user: str = "U1", **kw) -> SignalEvent:
    return SignalEvent(shop_id="S1", user_id=user, signal=signal, at=at, event_id=event_id(signal, source), **kw)


# --- record: skip, replay, race -------------------------------------------------------------


def test_a_first_signal_creates_the_pair_with_names():
    store = MemoryStore()
    assert rel.record(store, simple(Signal.FOLLOW, T0, "f1"), T0) == rel.APPLIED
    pair = store.pairs[("S1", "U1")]
    assert (pair.customer_name, pair.shop_name, pair.shop_handle) == ("name-U1", SHOP.name, SHOP.handle)
    assert pair.tier is Tier.POTENTIAL and pair.state.following and pair.since == T0


@pytest.mark.parametrize("event", [
    simple(Signal.LIKE, T0, "owner-like", user="OWNER"),  # the shop's owner
    SignalEvent(shop_id="NOSHOP", user_id="U1", signal=Signal.LIKE, at=T0, event_id="like#x"),  # unknown shop
    simple(Signal.LIKE, T0, "ghost-like", user="GHOST"),  # unknown customer
    simple(Signal.UNFOLLOW, T0, "f1"),  # a reversal with nothing to reverse
    cancel(1, T0, T0 + DAY),
])
def test_events_that_make_no_relationship_are_skipped(event):
    store = MemoryStore()
    assert rel.record(store, event, T0) == rel.SKIPPED
    assert store.pairs == {}


def test_a_replay_is_recognised_and_writes_nothing():
    store = MemoryStore()
    event = order(1, T0)
    assert rel.record(store, event, T0) == rel.APPLIED
    before = store.pairs[("S1", "U1")]
    assert rel.record(store, event, T0 + DAY) == rel.REPLAYED
    assert store.pairs[("S1", "U1")] is before and store.writes == 1


def test_a_lost_race_is_retried_and_applied_once():
    store = MemoryStore()
    rel.record(store, simple(Signal.FOLLOW, T0, "f1"), T0)
    store.conflicts = 3
    assert rel.record(store, order(1, T0 + DAY), T0 + DAY) == rel.APPLIED
    pair = store.pairs[("S1", "U1")]
    assert pair.state.order_count == 1 and store.writes == 2


def test_endless_races_give_up_with_unavailable_so_the_batch_is_retried():
    store = MemoryStore()
    rel.record(store, simple(Signal.FOLLOW, T0, "f1"), T0)
    store.conflicts = rel.MAX_ATTEMPTS
    with pytest.raises(Unavailable):
        rel.record(store, order(1, T0 + DAY), T0 + DAY)
    assert store.pairs[("S1", "U1")].state.order_count == 0


def test_seen_ids_are_bounded():
    store = MemoryStore()
    for n in range(rel.SEEN_MAX + 20):
        rel.record(store, simple(Signal.LIKE, T0 + n, f"p{n}"), T0 + n)
    pair = store.pairs[("S1", "U1")]
    assert len(pair.seen) == rel.SEEN_MAX
    assert pair.seen[-1] == rel.digest(event_id(Signal.LIKE, f"p{rel.SEEN_MAX + 19}"))


# --- replays are no-ops (property) -------------------------------------------------------------

KINDS = [Signal.FOLLOW, Signal.LIKE, Signal.COMMENT, Signal.SHARE, Signal.ORDER, Signal.REVIEW,
         Signal.REFERRAL]


@st.composite
def journeys(draw):
    """A customer's events with reversals (each after its original, as the stream delivers the
    records of one item in order), in delivery order."""
    base = draw(st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, 200 * 24), st.integers(0, 300_000),
                                   st.integers(1, 5), st.sampled_from([(TOFU,), (KIMCHI,), (TOFU, KIMCHI)])),
                         max_size=14))
    events = []
    for n, (kind, hours, amount, rating, lines) in enumerate(base):
        at = T0 + hours * 3600.0
        if kind is Signal.ORDER:
            events.append(order(n, at, amount, lines))
            if draw(st.booleans()):
                events.append(cancel(n, at, at + draw(st.integers(0, 30)) * DAY, amount, lines))
        elif kind is Signal.LIKE:
            events.append(simple(kind, at, f"like{n}"))
            if draw(st.booleans()):
                events.append(simple(Signal.UNLIKE, at + 3600, f"like{n}", reverses_at=at))
        elif kind is Signal.FOLLOW:
            # One follow edge per (shop, customer): its INSERT and, maybe, its REMOVE.
            events.append(simple(kind, at, f"follow{n}"))
            if draw(st.booleans()):
                events.append(simple(Signal.UNFOLLOW, at + draw(st.integers(0, 30)) * DAY, f"follow{n}"))
        elif kind is Signal.REVIEW:
            events.append(simple(kind, at, f"review{n}", rating=rating))
        elif kind is Signal.REFERRAL:
            events.append(referral("S1", "U1", f"FRIEND{n}", at))
            if draw(st.booleans()):
                events.append(referral_cancelled("S1", "U1", f"FRIEND{n}", at, at + DAY))
        else:
            events.append(simple(kind, at, f"{kind}{n}"))
    return events


@settings(max_examples=80, deadline=None)
@given(journeys(), st.data())
def test_replays_are_no_ops(events, data):
    """Delivering any record again, any number of times, later in the stream changes nothing."""
    once, replayed = MemoryStore(), MemoryStore()
    now = T0 + 400 * DAY
    for event in events:
        rel.record(once, event, now)
    delivered = []
    for i, event in enumerate(events):
        delivered.append(event)
        # Lambda retries a batch: some of the records delivered so far come again.
        delivered += data.draw(st.lists(st.sampled_from(events[: i + 1]), max_size=3))
    for event in delivered:
        rel.record(replayed, event, now)
    assert replayed.pairs.keys() == once.pairs.keys()
    for key, pair in once.pairs.items():
        other = replayed.pairs[key]
        assert replace(other, version=None) == replace(pair, version=None)
    assert replayed.transitions == once.transitions


@settings(max_examples=60, deadline=None)
@given(journeys())
def test_the_stored_state_is_the_pure_scoring_of_the_same_events(events):
    """Whatever went through the store, its state is what scoring.apply gives for the same events."""
    store = MemoryStore()
    now = T0 + 400 * DAY
    for event in events:
        rel.record(store, event, now)
    state, exists = RelationshipState(), False
    for event in events:
        if event.is_reversal and not exists:
            continue  # nothing to undo yet: the store skips it too
        exists = True
        state, _ = apply(state, event.signal, event.at, amount=event.amount, rating=event.rating,
                         reverses_at=event.reverses_at)
    pair = store.pairs.get(("S1", "U1"))
    assert (pair is not None) == exists
    if pair is not None:
        assert math.isclose(strength_at(pair.state, now), strength_at(state, now), rel_tol=1e-9, abs_tol=1e-9)
        assert pair.state.order_count == state.order_count and pair.state.total_spent == state.total_spent


# --- product memory ----------------------------------------------------------------------------


def test_favourites_count_orders_and_cancellation_takes_them_back():
    store = MemoryStore()
    rel.record(store, order(1, T0, lines=(TOFU, KIMCHI)), T0)
    rel.record(store, order(2, T0 + 7 * DAY, lines=(TOFU, replace(TOFU, quantity=1))), T0 + 7 * DAY)
    pair = store.pairs[("S1", "U1")]
    assert [(f.product_id, f.orders, f.quantity) for f in pair.favourites] == [("P-TOFU", 2, 5), ("P-KIMCHI", 1, 1)]
    tofu = pair.essentials[0]
    assert tofu.times == (T0, T0 + 7 * DAY) and tofu.reorder_days == 7
    rel.record(store, cancel(2, T0 + 7 * DAY, T0 + 8 * DAY, lines=(TOFU, replace(TOFU, quantity=1))), T0 + 8 * DAY)
    pair = store.pairs[("S1", "U1")]
    assert [(f.product_id, f.orders, f.quantity) for f in pair.favourites] == [("P-TOFU", 1, 2), ("P-KIMCHI", 1, 1)]
    assert pair.essentials[0].times == (T0,)
    rel.record(store, cancel(1, T0, T0 + 9 * DAY), T0 + 9 * DAY)
    pair = store.pairs[("S1", "U1")]
    assert pair.favourites == () and pair.essentials == () and pair.state.order_count == 0
    assert pair.tier is Tier.POTENTIAL


def test_product_memory_is_bounded():
    lines = [OrderLine(f"P{n:03d}", f"상품{n}", 1000, 1, "essential", 7) for n in range(60)]
    favourites = rel.add_favourites((), lines, T0)
    essentials = rel.add_essentials((), lines, T0)
    assert len(favourites) == rel.FAVOURITES_MAX and len(essentials) == rel.ESSENTIALS_MAX
    many = rel.add_essentials((), [lines[0]], T0)
    for n in range(1, 12):
        many = rel.add_essentials(many, [lines[0]], T0 + n * DAY)
    assert len(many[0].times) == rel.ESSENTIAL_TIMES and many[0].last_bought_at == T0 + 11 * DAY


def test_treats_are_never_essentials():
    assert rel.add_essentials((), [KIMCHI, replace(TOFU, reorder_days=0), replace(TOFU, kind="treat")], T0) == ()


# --- tiers, transitions and the sweep ----------------------------------------------------------


def test_transitions_are_recorded_once_each():
    store = MemoryStore()
    rel.record(store, simple(Signal.FOLLOW, T0, "f1"), T0)
    rel.record(store, order(1, T0 + DAY), T0 + DAY)
    rel.record(store, order(2, T0 + 8 * DAY), T0 + 8 * DAY)
    assert [(c.from_tier, c.to_tier, c.milestone) for c in store.transitions] == [
        (Tier.POTENTIAL, Tier.FIRST_TIME, "first_order"), (Tier.FIRST_TIME, Tier.REGULAR, "became_regular")]
    pair = store.pairs[("S1", "U1")]
    assert pair.lapse_at == T0 + 8 * DAY + DEFAULT_CONFIG.lapsed_after_seconds
    assert pair.history == tuple(store.transitions)


def test_the_sweep_lapses_exactly_the_due_pairs_and_is_idempotent():
    store = MemoryStore()
    for n, user in enumerate(["A", "B", "C"]):
        rel.record(store, order(10 * n, T0 + n * DAY, user=user), T0 + n * DAY)
        rel.record(store, order(10 * n + 1, T0 + (n + 7) * DAY, user=user), T0 + (n + 7) * DAY)
    rel.record(store, order(99, T0, user="D"), T0)  # one order: first_time forever, never lapses
    assert store.pairs[("S1", "D")].lapse_at is None
    lapse_b = store.pairs[("S1", "B")].lapse_at
    report = rel.sweep_lapses(store, lapse_b + 1)
    assert report.lapsed == 2  # A and B; C's moment is a day later
    tiers = {user: store.pairs[("S1", user)].tier for user in "ABCD"}
    assert tiers == {"A": Tier.LAPSED, "B": Tier.LAPSED, "C": Tier.REGULAR, "D": Tier.FIRST_TIME}
    assert store.pairs[("S1", "A")].lapse_at is None
    assert rel.sweep_lapses(store, lapse_b + 2).lapsed == 0
    assert store.transitions[-1].at == lapse_b and store.transitions[-1].milestone is None
    assert rel.sweep_lapses(store, lapse_b + 2 * DAY).lapsed == 1  # C


def test_the_sweep_leaves_a_pair_an_order_has_kept_regular():
    store = MemoryStore()
    rel.record(store, order(1, T0), T0)
    rel.record(store, order(2, T0 + 7 * DAY), T0 + 7 * DAY)
    due = store.pairs[("S1", "U1")].lapse_at
    # The bucket still names the pair (a stale index read), but a new order moved the moment.
    stale = store.pairs[("S1", "U1")]
    rel.record(store, order(3, due - DAY), due - DAY)
    store.due_lapses = lambda day, until: iter([("S1", "U1")])
    assert rel.sweep_lapses(store, due + 1).lapsed == 0
    assert store.pairs[("S1", "U1")].tier is Tier.REGULAR and stale.lapse_at < store.pairs[("S1", "U1")].lapse_at


def test_sweep_reads_each_day_since_its_last_run():
    store = MemoryStore()
    now = T0 + 10 * DAY
    first = rel.sweep_lapses(store, now)
    assert first.days == rel.SWEEP_FIRST_LOOKBACK_DAYS + 1
    assert rel.sweep_lapses(store, now + 3 * DAY).days == 4  # the last day again, and three new ones


# --- reading -------------------------------------------------------------------------------------


def test_displayed_parts_add_up_to_the_displayed_strength():
    store = MemoryStore()
    for n in range(7):
        rel.record(store, simple(Signal.LIKE, T0 + n * 3 * 3600, f"p{n}"), T0)
    rel.record(store, order(1, T0 + 11111, amount=33333), T0)
    state = store.pairs[("S1", "U1")].state
    for later in (0, 1.234, 17.5, 99):
        shown = reads.strength_now(state, T0 + later * DAY)
        assert math.isclose(sum(shown.parts.values()), shown.total, abs_tol=1e-9)
        assert abs(shown.total - strength_at(state, T0 + later * DAY)) <= 0.035


def test_tier_reasons_read_like_an_owner_would_say_them():
    state = RelationshipState(following=True)
    assert reads.tier_reason(state, Tier.POTENTIAL, T0).startswith("Follows the shop")
    one, _ = apply(RelationshipState(), Signal.ORDER, T0, amount=1000)
    assert reads.tier_reason(one, Tier.FIRST_TIME, T0 + 3 * DAY) == "One order so far, 3 days ago."
