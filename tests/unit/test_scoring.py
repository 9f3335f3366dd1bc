"""Relationship strength: properties of the decay model, forward-decay ranking and tiers."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.storage.rank_keys import RANK_KEY_WIDTH, decode_rank_key, encode_rank_key
from chalicelib.services.scoring import (
    DAY_SECONDS,
    DEFAULT_CONFIG,
    PARTS,
    RANK_KEY_FLOOR,
    RelationshipState,
    ScoringConfig,
    Signal,
    Tier,
    apply,
    breakdown_at,
    decay,
    event_id,
    lapses_at,
    money_weight,
    period_of,
    rank_key,
    reorder_due,
    reorder_due_at,
    strength_at,
    tier_at,
    usual_interval_days,
)

CFG = DEFAULT_CONFIG
H = CFG.half_life_seconds
DAY = DAY_SECONDS
T0 = 1_700_000_000.0
FAST = settings(max_examples=60, deadline=None)

REVERSAL_OF = {Signal.LIKE: Signal.UNLIKE, Signal.ORDER: Signal.ORDER_CANCELLED,
               Signal.REFERRAL: Signal.REFERRAL_CANCELLED}
ADDITIVE = [Signal.LIKE, Signal.COMMENT, Signal.SHARE, Signal.ORDER, Signal.REVIEW, Signal.REFERRAL]
ALL_FORWARD = [Signal.FOLLOW, Signal.UNFOLLOW, *ADDITIVE]


@dataclass(frozen=True)
class Ev:
    """One event of a generated history; ``origin`` is the id of the event a reversal undoes."""

    id: int
    signal: Signal
    at: float
    amount: int | None = None
    rating: int | None = None
    reverses_at: float | None = None
    origin: int | None = None


def run(events, config: ScoringConfig = CFG, state: RelationshipState | None = None) -> RelationshipState:
    state = state or RelationshipState()
    for e in events:
        state, _ = apply(state, e.signal, e.at, amount=e.amount, rating=e.rating,
                         reverses_at=e.reverses_at, config=config)
    return state


times = st.integers(int(T0), int(T0 + 400 * DAY)).map(float)
amounts = st.integers(0, 2_000_000)


@st.composite
def histories(draw, kinds=ALL_FORWARD, max_size: int = 12, reversals: bool = True) -> list[Ev]:
    """Forward events at random times, and reversals of some of them, each after its original."""
    base = draw(st.lists(st.tuples(st.sampled_from(kinds), times, amounts, st.integers(1, 5)),
                         max_size=max_size))
    events = [Ev(i, kind, at, amount if kind is Signal.ORDER else None,
                 rating if kind is Signal.REVIEW else None)
              for i, (kind, at, amount, rating) in enumerate(base)]
    if reversals:
        for e in list(events):
            if e.signal in REVERSAL_OF and draw(st.booleans()):
                delay = draw(st.integers(0, int(90 * DAY)))
                events.append(Ev(len(events), REVERSAL_OF[e.signal], e.at + delay, e.amount,
                                 reverses_at=e.at, origin=e.id))
    return events


def chronological(events: list[Ev]) -> list[Ev]:
    return sorted(events, key=lambda e: (e.at, e.origin is not None))


def causal(order: list[Ev]) -> list[Ev]:
    """``order`` with each reversal moved after its original (a cancel never precedes its order)."""
    out: list[Ev] = []
    seen: set[int] = set()
    waiting: dict[int, list[Ev]] = {}
    for e in order:
        if e.origin is not None and e.origin not in seen:
            waiting.setdefault(e.origin, []).append(e)
            continue
        for x in (e, *waiting.pop(e.id, [])):
            out.append(x)
            seen.add(x.id)
    return out


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


# --- decay --------------------------------------------------------------------------------


def test_decay_halves_per_half_life_and_never_grows():
    assert decay(8.0, H, H) == 4.0
    assert decay(8.0, 3 * H, H) == 1.0
    assert decay(8.0, 0.0, H) == 8.0
    assert decay(8.0, -H, H) == 8.0  # a read "before" updated_at never grows the value
    with pytest.raises(ValueError):
        decay(1.0, 1.0, 0.0)


@FAST
@given(histories(), st.floats(-10 * DAY, 50 * H), st.floats(0, 50 * H))
def test_strength_never_goes_up_without_an_event(events, d1, d2):
    state = run(chronological(events))
    now1 = state.updated_at + d1
    assert strength_at(state, now1 + d2) <= strength_at(state, now1)
    assert strength_at(state, state.updated_at + d1) <= state.score


@FAST
@given(histories(), st.integers(1, 20), st.floats(0, 20 * H))
def test_strength_halves_every_half_life(events, k, offset):
    state = run(chronological(events))
    # From updated_at exactly (integer seconds, so dt is exact) the halving is exact.
    assert strength_at(state, state.updated_at + k * H) == state.score / 2**k
    now = state.updated_at + offset
    assert math.isclose(strength_at(state, now + H), strength_at(state, now) / 2, rel_tol=1e-9)


UNCAPPED = ScoringConfig(engagement_cap=None)


def oracle(events: list[Ev], now: float, config: ScoringConfig) -> float:
    """S(T) computed directly from a history with no reversals: Σ w_i · 2^(−(T − t_i)/H) for
    orders, reviews and referrals; engagement per period, capped (see scoring's notes)."""
    h = config.half_life_seconds
    weights = {Signal.LIKE: config.w_like, Signal.COMMENT: config.w_comment, Signal.SHARE: config.w_share}
    terms, periods = [], {}
    for e in events:
        if e.signal is Signal.ORDER:
            terms.append((config.w_order + money_weight(e.amount, config)) * 2 ** (-(now - e.at) / h))
        elif e.signal is Signal.REVIEW:
            terms.append(config.review_weights[e.rating - 1] * 2 ** (-(now - e.at) / h))
        elif e.signal is Signal.REFERRAL:
            terms.append(config.w_referral * 2 ** (-(now - e.at) / h))
        else:
            start = period_of(e.at, config) * config.engagement_period_seconds
            periods.setdefault(start, []).append(weights[e.signal] * 2 ** ((e.at - start) / h))
    cap = math.inf if config.engagement_cap is None else config.engagement_cap
    terms += [min(math.fsum(grown), cap) * 2 ** (-(now - start) / h) for start, grown in periods.items()]
    return math.fsum(terms)


@FAST
@given(histories(kinds=ADDITIVE, reversals=False), st.floats(0, 20 * H), st.sampled_from([CFG, UNCAPPED]))
def test_score_is_the_sum_of_decayed_weights(events, offset, config):
    """Oracle: S(T) = Σ w_i · 2^(−(T − t_i)/H), engagement capped per period (uncapped: plain)."""
    state = run(events, config)  # arrival order as generated, i.e. random
    now = max([e.at for e in events], default=0.0) + offset
    assert close(strength_at(state, now, config), oracle(events, now, config))


# --- breakdown, clamps, order independence -------------------------------------------------


@FAST
@given(histories(), st.floats(0, 20 * H))
def test_breakdown_sums_to_strength(events, offset):
    state = run(chronological(events))
    assert state.score == math.fsum(state.parts.values())
    now = state.updated_at + offset
    parts = breakdown_at(state, now)
    assert list(parts) == list(PARTS)
    assert math.fsum(parts.values()) == strength_at(state, now)


negative_reviews = ScoringConfig(review_weights=(-6.0, -2.0, 0.0, 3.0, 6.0))


@FAST
@given(st.data(), st.sampled_from([CFG, negative_reviews]))
def test_clamps_keep_every_part_and_the_score_non_negative(data, config):
    """Any order at all, with orphan reversals and unlikes of unknown likes."""
    events = data.draw(histories())
    orphans = data.draw(st.lists(st.builds(
        lambda s, at, back, amount: Ev(-1, s, at, amount if s is Signal.ORDER_CANCELLED else None,
                                       reverses_at=None if s is Signal.UNLIKE else at - back),
        st.sampled_from([Signal.UNLIKE, Signal.ORDER_CANCELLED, Signal.REFERRAL_CANCELLED]),
        times, st.integers(0, int(30 * DAY)), amounts), max_size=4))
    order = data.draw(st.permutations(events + orphans))
    state = RelationshipState()
    for e in order:
        state = run([e], config, state)
        assert all(v >= 0 for v in state.parts.values())
        assert state.score >= 0
        assert state.order_count >= 0 and state.total_spent >= 0
        assert math.fsum(breakdown_at(state, state.updated_at + H, config).values()) >= 0


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_arrival_order_does_not_change_the_result(data):
    events = data.draw(histories())
    shuffled = causal(data.draw(st.permutations(events)))
    a, b = run(chronological(events)), run(shuffled)
    assert a.updated_at == b.updated_at
    now = a.updated_at + data.draw(st.floats(0, 10 * H))
    assert close(strength_at(a, now), strength_at(b, now))
    pa, pb = breakdown_at(a, now), breakdown_at(b, now)
    assert all(close(pa[name], pb[name]) for name in PARTS)
    facts = ("following", "follow_changed_at", "order_count", "total_spent", "first_order_at",
             "order_times", "became_regular_at")
    assert [getattr(a, f) for f in facts] == [getattr(b, f) for f in facts]
    assert tier_at(a, now) == tier_at(b, now)


def test_an_out_of_order_event_adds_its_decayed_weight_and_keeps_updated_at():
    state, _ = apply(RelationshipState(), Signal.LIKE, T0 + H, config=UNCAPPED)
    late, _ = apply(state, Signal.COMMENT, T0, config=UNCAPPED)
    assert late.updated_at == T0 + H
    assert late.parts["engagement"] == CFG.w_like + CFG.w_comment / 2


def test_apply_is_pure():
    state, _ = apply(RelationshipState(), Signal.LIKE, T0)
    before = state.to_dict()
    apply(state, Signal.ORDER, T0 + DAY, amount=10_000)
    assert state.to_dict() == before


# --- reversals and follows ----------------------------------------------------------------


def test_unfollow_resets_the_follow_part_and_refollow_starts_afresh():
    s, _ = apply(RelationshipState(), Signal.FOLLOW, T0)
    s, _ = apply(s, Signal.LIKE, T0)
    s, _ = apply(s, Signal.UNFOLLOW, T0 + H)
    assert s.parts["follow"] == 0.0 and not s.following
    assert close(s.score, CFG.w_like / 2)
    s, _ = apply(s, Signal.FOLLOW, T0 + 2 * H)
    assert s.parts["follow"] == CFG.w_follow and s.following


def test_follow_state_is_last_writer_wins_by_event_time():
    s, _ = apply(RelationshipState(), Signal.FOLLOW, T0 + 10)
    stale, _ = apply(s, Signal.UNFOLLOW, T0)  # an older unfollow delivered late changes nothing
    assert stale.following and stale.parts == s.parts
    tie, _ = apply(s, Signal.UNFOLLOW, T0 + 10)  # at equal times unfollow wins ...
    again, _ = apply(tie, Signal.FOLLOW, T0 + 10)  # ... whichever arrives first
    assert not tie.following and not again.following


def test_unlike_removes_exactly_what_the_like_added():
    start = period_of(T0) * CFG.engagement_period_seconds  # the comment alone is at the cap here
    for config in (CFG, UNCAPPED):
        s, _ = apply(RelationshipState(), Signal.COMMENT, start, config=config)
        s, _ = apply(s, Signal.LIKE, start + DAY, config=config)
        s, _ = apply(s, Signal.UNLIKE, start + 40 * DAY, reverses_at=start + DAY, config=config)
        assert close(s.parts["engagement"], decay(CFG.w_comment, 40 * DAY, H))


def test_unlike_without_its_like_time_cannot_go_negative():
    s, _ = apply(RelationshipState(), Signal.LIKE, T0, config=UNCAPPED)
    s, _ = apply(s, Signal.UNLIKE, T0 + H, config=UNCAPPED)
    assert s.parts["engagement"] == 0.0 and s.score == 0.0
    assert rank_key(s) == RANK_KEY_FLOOR
    # Capped, an unlike is counted in the period of its like: without that time, in its own
    # (empty) period, which it cannot take below zero.
    s, _ = apply(RelationshipState(), Signal.LIKE, T0)
    s, _ = apply(s, Signal.UNLIKE, T0 + H)
    assert close(s.parts["engagement"], CFG.w_like / 2) and len(s.engagement_periods) == 1


def test_order_cancelled_returns_the_pair_to_where_it_would_have_been():
    s, _ = apply(RelationshipState(), Signal.FOLLOW, T0)
    without = s
    s, _ = apply(s, Signal.ORDER, T0 + DAY, amount=45_000)
    s, _ = apply(s, Signal.ORDER_CANCELLED, T0 + 3 * DAY, amount=45_000, reverses_at=T0 + DAY)
    later = T0 + 10 * DAY
    assert close(strength_at(s, later), strength_at(without, later))
    assert (s.order_count, s.total_spent, s.order_times, s.first_order_at) == (0, 0, (), None)
    assert s.parts["orders"] == 0.0 and s.parts["money"] == 0.0
    assert tier_at(s, later) is Tier.POTENTIAL


def test_referral_and_reviews_are_scored():
    s, _ = apply(RelationshipState(), Signal.REFERRAL, T0)
    assert s.parts["referrals"] == CFG.w_referral
    s, _ = apply(s, Signal.REFERRAL_CANCELLED, T0 + H, reverses_at=T0)
    assert s.parts["referrals"] == 0.0
    five, _ = apply(RelationshipState(), Signal.REVIEW, T0, rating=5)
    three, _ = apply(RelationshipState(), Signal.REVIEW, T0, rating=3)
    one, _ = apply(RelationshipState(), Signal.REVIEW, T0, rating=1)
    assert five.score > three.score > one.score == 0.0


# --- money --------------------------------------------------------------------------------


def test_money_has_diminishing_returns():
    big, _ = apply(RelationshipState(), Signal.ORDER, T0, amount=1_000_000)
    loyal = run([Ev(i, Signal.ORDER, T0, 100_000) for i in range(10)])
    assert big.parts["money"] < loyal.parts["money"]
    assert big.parts["orders"] + big.parts["money"] < loyal.parts["orders"] + loyal.parts["money"]
    assert money_weight(0) == 0.0
    assert money_weight(10_000) == CFG.w_money  # one money unit is worth w_money


@FAST
@given(st.integers(1, 10_000_000), st.integers(1, 10_000_000))
def test_money_weight_is_subadditive(a, b):
    assert money_weight(a + b) < money_weight(a) + money_weight(b)
    assert money_weight(a) < money_weight(a + b)


# --- forward-decay ranking ------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(st.lists(histories(max_size=8), min_size=2, max_size=6), st.floats(0, 40 * H))
def test_rank_key_orders_pairs_as_their_strength_at_any_later_time(pair_histories, offset):
    states = [run(chronological(h)) for h in pair_histories]
    now = max(s.updated_at for s in states) + offset
    for a in states:
        for b in states:
            ka, kb = rank_key(a), rank_key(b)
            sa, sb = strength_at(a, now), strength_at(b, now)
            if ka > kb + 1e-9:
                assert sa > sb
            if sa > sb * (1 + 1e-9):
                assert ka > kb
                assert encode_rank_key(ka) >= encode_rank_key(kb)


def test_rank_key_examples():
    assert rank_key(RelationshipState()) == RANK_KEY_FLOOR
    old, _ = apply(RelationshipState(), Signal.ORDER, T0, amount=10_000)  # 12 points
    new, _ = apply(RelationshipState(), Signal.LIKE, T0 + 3 * H)  # 1 point, three half-lives later
    assert rank_key(old) > rank_key(new)  # 12 / 8 = 1.5 > 1 at T0 + 3H, and forever after
    assert math.isclose(rank_key(old), math.log2(12) + T0 / H)


keys = st.one_of(st.floats(-2e9, 2e6, allow_nan=False),
                 st.floats(-50, 5_000, allow_nan=False), st.sampled_from([RANK_KEY_FLOOR, 0.0, -0.0]))


@settings(max_examples=200, deadline=None)
@given(keys, keys)
def test_encoded_rank_keys_sort_like_the_numbers(a, b):
    ea, eb = encode_rank_key(a), encode_rank_key(b)
    assert len(ea) == len(eb) == RANK_KEY_WIDTH
    if a <= b:
        assert ea <= eb
    if b - a >= 2e-12 and b > RANK_KEY_FLOOR:
        assert ea < eb
    if a >= RANK_KEY_FLOOR:
        assert abs(decode_rank_key(ea) - a) <= 1e-12 + 1e-15 * abs(a)


def test_rank_key_encoding_examples():
    assert encode_rank_key(RANK_KEY_FLOOR) == "0000000000.000000000000"
    assert encode_rank_key(-3e9) == encode_rank_key(RANK_KEY_FLOOR)  # below the floor sorts last
    assert encode_rank_key(0.0) == encode_rank_key(-0.0) == "1000000000.000000000000"
    assert encode_rank_key(-2.0) < encode_rank_key(-1.5) < encode_rank_key(0.0) < encode_rank_key(0.25)
    assert decode_rank_key(encode_rank_key(656.5)) == 656.5
    for bad in (math.nan, math.inf, 9e9):
        with pytest.raises(ValueError):
            encode_rank_key(bad)
    for bad in ("", "1000000000.5", "-000000000.000000000000", "10000000000000000000000"):
        with pytest.raises(ValueError):
            decode_rank_key(bad)


# --- tiers ---------------------------------------------------------------------------------


def test_tier_journey_potential_first_time_regular_lapsed_and_back():
    s, tr = apply(RelationshipState(), Signal.FOLLOW, T0)
    s, _ = apply(s, Signal.LIKE, T0 + DAY)
    assert tr is None and s.tier is Tier.POTENTIAL and tier_at(s, T0 + 400 * DAY) is Tier.POTENTIAL

    s, tr = apply(s, Signal.ORDER, T0 + 2 * DAY, amount=12_000)
    assert (tr.from_tier, tr.to_tier, tr.at, tr.milestone) == (
        Tier.POTENTIAL, Tier.FIRST_TIME, T0 + 2 * DAY, "first_order")
    assert lapses_at(s) is None  # a one-time buyer does not lapse; they never were a regular

    s, tr = apply(s, Signal.ORDER, T0 + 30 * DAY, amount=12_000)
    assert (tr.to_tier, tr.milestone) == (Tier.REGULAR, "became_regular")
    assert s.became_regular_at == T0 + 30 * DAY
    assert lapses_at(s) == T0 + 90 * DAY
    assert tier_at(s, T0 + 90 * DAY) is Tier.REGULAR
    assert tier_at(s, T0 + 90 * DAY + 1) is Tier.LAPSED

    s, tr = apply(s, Signal.ORDER, T0 + 200 * DAY, amount=12_000)  # back after a long gap
    assert (tr.from_tier, tr.to_tier, tr.milestone) == (Tier.LAPSED, Tier.REGULAR, "came_back")


def test_orders_too_far_apart_do_not_make_a_regular():
    s = run([Ev(0, Signal.ORDER, T0, 10_000), Ev(1, Signal.ORDER, T0 + 90 * DAY, 10_000)])
    assert tier_at(s, T0 + 91 * DAY) is Tier.FIRST_TIME
    assert tier_at(s, T0 + 151 * DAY) is Tier.LAPSED  # but two orders and gone: lapsed
    one = run([Ev(0, Signal.ORDER, T0, 10_000)])
    assert tier_at(one, T0 + 1_000 * DAY) is Tier.FIRST_TIME


def test_window_is_between_orders_not_back_from_now():
    every_50_days = run([Ev(i, Signal.ORDER, T0 + i * 50 * DAY, 8_000) for i in range(4)])
    assert tier_at(every_50_days, T0 + 195 * DAY) is Tier.REGULAR


def test_cancelling_the_repeat_order_undoes_regular():
    s = run([Ev(0, Signal.ORDER, T0, 10_000), Ev(1, Signal.ORDER, T0 + 5 * DAY, 10_000)])
    assert s.tier is Tier.REGULAR
    s, tr = apply(s, Signal.ORDER_CANCELLED, T0 + 6 * DAY, amount=10_000, reverses_at=T0 + 5 * DAY)
    assert (tr.from_tier, tr.to_tier, tr.milestone) == (Tier.REGULAR, Tier.FIRST_TIME, None)
    assert s.became_regular_at is None and s.last_order_at == T0


def test_cancelling_the_order_that_earned_regular_is_rechecked_against_the_rest():
    s = run([Ev(i, Signal.ORDER, T0 + d * DAY, 10_000) for i, d in enumerate((0, 10, 55))])
    assert s.became_regular_at == T0 + 10 * DAY
    s, tr = apply(s, Signal.ORDER_CANCELLED, T0 + 56 * DAY, amount=10_000, reverses_at=T0 + 10 * DAY)
    assert s.became_regular_at == T0 + 55 * DAY and tr is None  # 0 and 55 are still within 60 days
    s, _ = apply(s, Signal.ORDER, T0 + 200 * DAY, amount=10_000)
    s, tr = apply(s, Signal.ORDER_CANCELLED, T0 + 201 * DAY, amount=10_000, reverses_at=T0 + 55 * DAY)
    assert s.became_regular_at is None  # 0 and 200 are too far apart
    assert (tr.from_tier, tr.to_tier) == (Tier.REGULAR, Tier.FIRST_TIME)


def test_order_memory_is_bounded_but_counts_stay_exact():
    weekly = run([Ev(i, Signal.ORDER, T0 + i * 7 * DAY, 5_000) for i in range(20)])
    assert len(weekly.order_times) == CFG.order_memory
    assert (weekly.order_count, weekly.total_spent, weekly.first_order_at) == (20, 100_000, T0)
    assert weekly.last_order_at == T0 + 19 * 7 * DAY
    assert weekly.previous_order_at == T0 + 18 * 7 * DAY
    assert weekly.tier is Tier.REGULAR
    assert usual_interval_days(weekly.order_times) == 7.0


def test_regular_min_orders_is_a_setting():
    three = ScoringConfig(regular_min_orders=3)
    s = run([Ev(i, Signal.ORDER, T0 + i * DAY, 10_000) for i in range(2)], three)
    assert s.tier is Tier.FIRST_TIME
    s = run([Ev(2, Signal.ORDER, T0 + 2 * DAY, 10_000)], three, s)
    assert s.tier is Tier.REGULAR


@FAST
@given(histories(), st.floats(0, 20 * H))
def test_potential_means_no_order(events, offset):
    state = run(chronological(events))
    tier = tier_at(state, state.updated_at + offset)
    assert (tier is Tier.POTENTIAL) == (state.order_count == 0)
    assert state.tier is tier_at(state, state.updated_at)


# --- helpers, validation, storage round trip ------------------------------------------------


def test_reorder_helpers():
    bought = T0
    assert reorder_due_at(bought, 7) == T0 + 7 * DAY
    assert not reorder_due(bought, 7, T0 + 6 * DAY)
    assert reorder_due(bought, 7, T0 + 7 * DAY)
    assert reorder_due(bought, 7, T0 + 6 * DAY, lead_days=1)
    assert not reorder_due(None, 7, T0 + 99 * DAY)
    assert not reorder_due(bought, None, T0 + 99 * DAY)  # treats are never "due"
    assert not reorder_due(bought, 0, T0 + 99 * DAY)
    assert usual_interval_days([T0 + 14 * DAY, T0, T0 + 7 * DAY, T0 + 50 * DAY]) == 7.0
    assert usual_interval_days([T0]) is None


def test_event_id():
    assert event_id(Signal.ORDER, "01HXYZ") == "order#01HXYZ"
    assert event_id("order_cancelled", "01HXYZ") == "order_cancelled#01HXYZ"
    with pytest.raises(ValueError):
        event_id(Signal.LIKE, "")


@pytest.mark.parametrize("signal, kwargs", [
    (Signal.ORDER, {}),
    (Signal.ORDER, {"amount": -1}),
    (Signal.ORDER, {"amount": True}),
    (Signal.ORDER, {"amount": 1.5}),
    (Signal.LIKE, {"amount": 100}),
    (Signal.REVIEW, {}),
    (Signal.REVIEW, {"rating": 6}),
    (Signal.COMMENT, {"rating": 5}),
    (Signal.LIKE, {"reverses_at": T0}),
    (Signal.ORDER_CANCELLED, {"amount": 100}),
    (Signal.ORDER_CANCELLED, {"amount": 100, "reverses_at": T0 + 1}),
    (Signal.REFERRAL_CANCELLED, {}),
    ("poke", {}),
])
def test_bad_arguments_are_rejected(signal, kwargs):
    with pytest.raises(ValueError):
        apply(RelationshipState(), signal, T0, **kwargs)


@pytest.mark.parametrize("kwargs", [
    {"half_life_days": 0}, {"money_unit_won": 0}, {"w_like": -1.0}, {"w_order": math.nan},
    {"review_weights": (1.0, 2.0)}, {"regular_min_orders": 1},
    {"order_memory": 1}, {"lapsed_after_days": -5},
])
def test_bad_config_is_rejected(kwargs):
    with pytest.raises(ValueError):
        ScoringConfig(**kwargs)


def test_state_rejects_unknown_parts():
    with pytest.raises(ValueError):
        RelationshipState(parts={"vibes": 1.0})


@FAST
@given(histories())
def test_state_round_trips_through_plain_data(events):
    state = run(chronological(events))
    assert RelationshipState.from_dict(state.to_dict()) == state


def test_from_dict_accepts_dynamodb_decimals():
    state = run([Ev(0, Signal.FOLLOW, T0), Ev(1, Signal.ORDER, T0 + DAY, 30_000)])

    def to_decimal(value):
        if isinstance(value, float):
            return Decimal(repr(value))
        if isinstance(value, dict):
            return {k: to_decimal(v) for k, v in value.items()}
        if isinstance(value, list):
            return [to_decimal(v) for v in value]
        return value

    assert RelationshipState.from_dict(to_decimal(state.to_dict())) == state
