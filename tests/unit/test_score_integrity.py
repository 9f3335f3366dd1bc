"""A score that repetition cannot buy (ENGINEERING.md §5), as properties of ``scoring.apply``.

GIVEN any history of social acts by one customer — follows and unfollows, likes, comments,
shares and their undos, as many as they like, at any times, delivered in any order — THEN:

* they never outrank a customer whose one order (any amount, nothing else) is at most
  ``FRESH_ORDER_DAYS`` old, under the default settings;
* an act followed by its undo leaves the score where it was (decayed to the undo's time);
* after undoing any subset of their acts, their score is exactly what the remaining acts
  alone are worth (per-period capped engagement, decayed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.services.scoring import (
    DAY_SECONDS,
    DEFAULT_CONFIG,
    FRESH_ORDER_DAYS,
    RelationshipState,
    ScoringConfig,
    Signal,
    apply,
    period_of,
    strength_at,
)

CFG = DEFAULT_CONFIG
H = CFG.half_life_seconds
DAY = DAY_SECONDS
T0 = 1_800_000_000.0
PROPERTY = settings(max_examples=150, deadline=None)

UNDO = {Signal.LIKE: Signal.UNLIKE, Signal.COMMENT: Signal.COMMENT_DELETED, Signal.SHARE: Signal.SHARE_REMOVED,
        Signal.FOLLOW: Signal.UNFOLLOW}
WEIGHT = {Signal.LIKE: CFG.w_like, Signal.COMMENT: CFG.w_comment, Signal.SHARE: CFG.w_share}


@dataclass(frozen=True)
class Act:
    signal: Signal
    at: float
    reverses_at: float | None = None
    ref: int = 0  # which generated act this is (an undo carries its act's ref)


def run(acts, state: RelationshipState | None = None, config: ScoringConfig = CFG) -> RelationshipState:
    state = state or RelationshipState()
    for act in acts:
        state, _ = apply(state, act.signal, act.at, reverses_at=act.reverses_at, config=config)
    return state


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


# Three years of activity reach the steady state of the cap; exact undo is promised within the
# engagement memory (two years), so those properties draw from 18 months plus the undo delay.
LONG = 3 * 365 * DAY
WITHIN_MEMORY = 18 * 30 * DAY


@st.composite
def social_histories(draw, max_acts: int = 60, span: float = LONG):
    """Acts with some of them undone later; in an order where every undo follows its act."""
    kinds = st.sampled_from([Signal.LIKE, Signal.COMMENT, Signal.SHARE, Signal.FOLLOW, Signal.UNFOLLOW])
    offsets = st.floats(0, span, allow_nan=False)
    drawn = draw(st.lists(st.tuples(kinds, offsets), max_size=max_acts))
    acts = [Act(kind, T0 + offset, ref=n) for n, (kind, offset) in enumerate(drawn)]
    events, kept = [], []
    for act in acts:
        events.append(act)
        if act.signal in (Signal.LIKE, Signal.COMMENT, Signal.SHARE) and draw(st.booleans()):
            later = act.at + draw(st.floats(0, 120 * DAY))
            events.append(Act(UNDO[act.signal], later, reverses_at=act.at, ref=act.ref))
        else:
            kept.append(act)
    order = draw(st.permutations(events))
    # An undo never arrives before its own act (one item, one stream shard); anything else may.
    arrived: set[int] = set()
    causal, waiting = [], []
    for event in order:
        if event.reverses_at is not None and event.ref not in arrived:
            waiting.append(event)
            continue
        causal.append(event)
        arrived.add(event.ref)
        causal += [w for w in waiting if w.ref == event.ref]
        waiting = [w for w in waiting if w.ref != event.ref]
    return causal, kept


def engagement_of(acts: list[Act], now: float, config: ScoringConfig = CFG) -> float:
    """What the standing engagement acts are worth at ``now``: per period, capped."""
    periods: dict[float, list[float]] = {}
    for act in acts:
        if act.signal in WEIGHT:
            start = period_of(act.at, config) * config.engagement_period_seconds
            periods.setdefault(start, []).append(WEIGHT[act.signal] * 2 ** ((act.at - start) / config.half_life_seconds))
    return math.fsum(min(math.fsum(g), config.engagement_cap) * 2 ** (-(now - s) / config.half_life_seconds)
                     for s, g in periods.items())


def test_the_defaults_keep_a_fresh_order_above_the_social_ceiling():
    assert CFG.social_ceiling < CFG.w_order * 2 ** (-FRESH_ORDER_DAYS * DAY / H)
    assert CFG.social_ceiling == CFG.w_follow + 2 * CFG.engagement_cap  # periods one half-life long


@PROPERTY
@given(social_histories(), st.floats(0, FRESH_ORDER_DAYS * DAY), st.floats(0, FRESH_ORDER_DAYS * DAY),
       st.integers(0, 3_000_000))
def test_no_social_history_outranks_a_customer_with_a_fresh_order(history, order_age, extra, amount):
    events, _ = history
    last = max((e.at for e in events), default=T0)
    now = last + extra  # read any time after the spammer's last act ...
    order_at = now - order_age  # ... against an order placed within the last two weeks
    spammer = run(events)
    buyer, _ = apply(RelationshipState(), Signal.ORDER, order_at, amount=amount)
    assert strength_at(spammer, now) <= CFG.social_ceiling
    assert strength_at(spammer, now) < strength_at(buyer, now)


@PROPERTY
@given(social_histories(max_acts=20, span=WITHIN_MEMORY), st.sampled_from([Signal.LIKE, Signal.COMMENT, Signal.SHARE, Signal.FOLLOW]),
       st.floats(0, 60 * DAY), st.floats(0, 120 * DAY), st.floats(-120 * DAY, 60 * DAY))
def test_an_act_followed_by_its_undo_leaves_the_score_where_it_was(history, signal, gap, hold, shift):
    events, _ = history
    before = run(events)
    if signal is Signal.FOLLOW and before.following:
        return  # following twice is refused by storage: there is no second follow to undo
    at = before.updated_at + gap + shift if events else T0 + gap
    undo = Act(UNDO[signal], at + hold, reverses_at=None if signal is Signal.FOLLOW else at)
    after = run([Act(signal, at), undo], before)
    now = max(after.updated_at, before.updated_at)
    assert close(strength_at(after, now), strength_at(before, now))
    assert close(after.parts["engagement"] * 2 ** (-(now - after.updated_at) / H),
                 before.parts["engagement"] * 2 ** (-(now - before.updated_at) / H))


@PROPERTY
@given(social_histories(span=WITHIN_MEMORY), st.floats(0, 60 * DAY))
def test_after_undoing_acts_the_score_is_what_the_remaining_acts_are_worth(history, extra):
    events, kept = history
    state = run(events)
    now = state.updated_at + extra
    remaining = run(sorted(kept, key=lambda a: (a.at, a.signal is Signal.UNFOLLOW)))
    assert close(strength_at(state, now), strength_at(remaining, now))
    assert close(state.parts["engagement"] * 2 ** (-(now - state.updated_at) / H), engagement_of(kept, now))


def test_twenty_comment_then_delete_cycles_leave_nothing():
    state = RelationshipState()
    for n in range(20):
        at = T0 + n * 60
        state = run([Act(Signal.COMMENT, at), Act(Signal.COMMENT_DELETED, at + 30, reverses_at=at)], state)
    assert state.score == 0.0 and state.engagement_periods == ()


def test_a_capped_period_is_worth_the_cap_and_an_undo_lets_a_remaining_act_count():
    start = period_of(T0) * CFG.engagement_period_seconds
    state = run([Act(Signal.SHARE, start), Act(Signal.LIKE, start + 1)])  # 3 + 1 points, capped at 2
    assert close(state.score, CFG.engagement_cap * 2 ** (-1 / H))  # the cap is measured at the start
    state = run([Act(Signal.SHARE_REMOVED, start + 10 * DAY, reverses_at=start)], state)
    expected = CFG.w_like * 2 ** (-(10 * DAY - 1) / H)  # the like alone, now under the cap
    assert close(state.score, expected)


def test_a_tireless_spammer_stays_below_the_ceiling_and_below_a_two_week_old_order():
    """Three years of shares, comments and likes every six hours, a re-follow every day."""
    state, peak = RelationshipState(), 0.0
    end = T0 + 3 * 365 * DAY
    at = T0
    while at < end:
        for signal in (Signal.SHARE, Signal.COMMENT, Signal.LIKE):
            state, _ = apply(state, signal, at)
        if (at - T0) % DAY == 0:
            state, _ = apply(state, Signal.UNFOLLOW, at)
            state, _ = apply(state, Signal.FOLLOW, at)
        peak = max(peak, state.score)
        at += DAY / 4
    assert peak <= CFG.social_ceiling
    buyer, _ = apply(RelationshipState(), Signal.ORDER, state.updated_at - FRESH_ORDER_DAYS * DAY, amount=1)
    assert strength_at(state, state.updated_at) < strength_at(buyer, state.updated_at)
    assert len(state.engagement_periods) <= CFG.engagement_memory_periods
