"""Relationship strength for a (customer, shop) pair: pure, deterministic domain logic.

The corner-store owner's memory as arithmetic. Nothing here reads a clock, a table or the
environment: every function takes the times it needs (epoch seconds) and returns plain data, so
storage can run it inside one conditional write and tests can run it on plain values.

Model
-----
Each signal ``i`` (a follow, a like, an order ...) at time ``t_i`` carries a weight ``w_i``.
The strength at time ``T`` is

    S(T) = Σ_i w_i · 2^(−(T − t_i) / H)            H = half-life

so with no events it halves every ``H``, and an event at ``t ≥ updated_at`` is the O(1) update

    S' = S · 2^(−Δt / H) + w                        Δt = t − updated_at

The state keeps ``S`` at ``updated_at`` (the latest event time seen) split into *parts* that all
decay at the same rate, so the breakdown sums to the score at every moment (``score`` is defined
as the sum of the parts, so this holds exactly, not just approximately). An event older than
``updated_at`` (delivered out of order) adds ``w · 2^(−(updated_at − t)/H)`` and leaves
``updated_at`` alone; the sum above does not depend on the order of its terms, so neither does
the result.

Reversals (``unlike``, ``comment_deleted``, ``share_removed``, ``order_cancelled``,
``referral_cancelled``) remove the original term:
they subtract ``w`` decayed from the *original* event's time (``reverses_at``), which is exactly
what that event added. Parts never go below zero (clamped part by part), so the total cannot
either and the breakdown still sums to it. ``unfollow`` resets the follow part to zero.

Engagement (likes, comments, shares) is capped per pair and period, so that repetition cannot buy
a relationship. Acts are grouped by the fixed period ``p`` they happened in (``engagement_period_days``
long, aligned to the epoch; ``s_p`` is its start), and the engagement part is

    E(T) = Σ_p min(F_p, cap) · 2^(−(T − s_p)/H)      F_p = Σ_{i in p, still standing} w_i · 2^((t_i − s_p)/H)

``F_p`` is the period's uncapped engagement as of its start, so ``F_p · 2^(−(T − s_p)/H)`` is exactly
the uncapped sum of its decayed weights and a period is worth at most ``cap`` points at any moment.
The state keeps ``F_p`` for recent periods (they do not decay: they are anchored at ``s_p``); an
act or its undo moves one ``F_p`` and the part by the change of that period's capped term. So the
part depends only on the acts still standing, not on their arrival order, and an undone act
takes back exactly what it is worth now — even in a capped period, where a remaining act may
then count in its place. ``E`` decays at the same rate as every other part, so forward-decay
ranking is unchanged.

Ranking uses forward decay (Cormode, Shkapenyuk, Srivastava and Xu, ICDE 2009):

    rank_key = log2(S(u)) + u / H                   for the stored u = updated_at

``log2(S(T)) + T/H`` is the same number for every ``T ≥ updated_at``, so for any later common
time ``T`` two pairs compare by key exactly as they compare by ``S(T)``. A DynamoDB GSI sorted by
``storage.rank_keys.encode_rank_key(rank_key)`` therefore lists "strongest first, right now" with one Query and no
batch recompute; a pair's key changes only when one of its own events is written.

Purchases are scored RFM-style: recency through the decay, frequency through a fixed weight per
order, money through a concave (logarithmic) weight, so ten small loyal orders outweigh one big
one. Tiers (potential, first_time, regular, lapsed) come from order counts and order times; see
``tier_at``.
"""

from __future__ import annotations

import math
from bisect import insort
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from chalicelib.records.relationships import PARTS, RANK_KEY_FLOOR, RelationshipState, Signal, Tier

DAY_SECONDS = 86_400.0


# Reversals remove an earlier event's term; these name the time of that earlier event.
REVERSALS = frozenset({Signal.UNLIKE, Signal.COMMENT_DELETED, Signal.SHARE_REMOVED, Signal.ORDER_CANCELLED,
                       Signal.REFERRAL_CANCELLED})
# Engagement signals (the capped part) and the act each one adds or takes back.
ENGAGEMENT = {Signal.LIKE: Signal.LIKE, Signal.UNLIKE: Signal.LIKE, Signal.COMMENT: Signal.COMMENT,
              Signal.COMMENT_DELETED: Signal.COMMENT, Signal.SHARE: Signal.SHARE, Signal.SHARE_REMOVED: Signal.SHARE}


# After a subtraction, a remainder this small relative to what was subtracted is float noise
# from decaying the same term along two paths; snapping it to zero makes an exactly reversed
# history score exactly 0 (and sort last) instead of 1e-16.
_DUST = 1e-9


@dataclass(frozen=True, slots=True, kw_only=True)
class ScoringConfig:
    """Weights, half-life and tier thresholds. Weights are in "points"; a like is 1 point.

    Every default has its reason next to it. All weights except ``review_weights`` must be
    non-negative: negative effects are expressed as reversals, which keeps the score a sum of
    decayed terms (and so order-independent and rankable by forward decay).
    """

    # Neighbourhood shopping runs on a weekly-to-monthly cadence: a month-old interaction should
    # count half, a season-old one about an eighth, and a year-old one almost nothing.
    half_life_days: float = 30.0

    # Following is a deliberate opt-in to hear from the shop: more than a like, far less than
    # paying. It counts from the latest follow and resets on unfollow.
    w_follow: float = 3.0
    # The cheapest engagement signal; it is the unit of the scale.
    w_like: float = 1.0
    # Words cost more than a tap, and a comment starts the two-way talk of the corner store.
    w_comment: float = 2.0
    # Sharing puts the customer's own name behind the shop ("relationships beget relationships").
    w_share: float = 3.0

    # Engagement is capped per (customer, shop) and period (see the module notes): each period's
    # likes, comments and shares are worth at most ``engagement_cap`` points, measured at the
    # period's start, so never more than that at any later moment either. Undoing an act
    # (unlike, deleted comment, removed share) takes back exactly what it is worth.
    #
    # Why 2 points per 30 days: with periods one half-life long, sustained engagement converges
    # to at most 2 · cap = 4 points (``social_ceiling``: 7 with a follow), while one order is
    # worth at least w_order = 10, still 7.24 two weeks later (``FRESH_ORDER_DAYS``): whoever
    # bought in the last two weeks ranks above anyone who only taps, however much and however
    # long. Purchases and reviews make a regular; engagement tells followers apart. A period as
    # long as the half-life is also the best trade between that ceiling and how much one tap
    # counts (an act late in a period uses up to 2^(P/H) of its weight in cap).
    engagement_period_days: float = 30.0
    engagement_cap: float | None = 2.0  # None: uncapped
    # Periods kept for exact undo: two years (~20 bytes each, only on months with engagement).
    # Older periods stay in the part but are frozen: their value is below cap · 2^−24 ≈ 1e-7
    # points, and an act that old arriving late, or its undo, changes nothing.
    engagement_memory_periods: int = 24

    # Frequency (the F of RFM): every order adds the same weight, whatever its size, so the
    # decayed sum of these is "how often, lately". A purchase is the strongest proof of a
    # relationship: worth ten likes.
    w_order: float = 10.0
    # Money (the M of RFM) with diminishing returns: w_money · log2(1 + amount / money_unit_won).
    # 10,000 won adds 2, 30,000 adds 4, 1,000,000 adds about 13.3 — a big one-off order cannot
    # swamp a habit of small ones (ten 100,000 won orders add about 69 here, plus 100 in w_order).
    w_money: float = 2.0
    # About one small everyday basket (tofu, eggs, a loaf); the scale where the log bends.
    money_unit_won: int = 10_000

    # Weight of a review by its rating, 1★ to 5★. 5★ is a strong public endorsement; 3★ is a
    # mild, engaged customer. 1★ and 2★ add nothing rather than subtract: the score measures
    # closeness, not satisfaction, and an unhappy customer who took the time to say so is one the
    # owner should see and look after (aftercare), not one to bury at the bottom of the list.
    review_weights: tuple[float, float, float, float, float] = (0.0, 0.0, 1.0, 3.0, 6.0)

    # A friend bought through this customer's store link: the customer brought the shop a new
    # customer, nearly an order's worth. Flat, not scaled by the friend's basket: one level of
    # recommendation, not a sales commission (rewards live in the reward ledger).
    w_referral: float = 8.0

    # "Regular" (단골) is earned with regular_min_orders orders inside regular_window_days: two
    # orders within about two months is the shortest pattern that says "came back on purpose"
    # for both weekly essentials and monthly treats.
    regular_min_orders: int = 2
    regular_window_days: float = 60.0
    # A regular with no order for this long has lapsed: two missed monthly cycles. Equal to the
    # window on purpose — the gap that is too long to earn "regular" is also too long to keep it.
    lapsed_after_days: float = 60.0

    # How many recent order times the state remembers (for tiers, cancellations and "you usually
    # buy every N days"). A year of monthly orders; the item stays small.
    order_memory: int = 12

    def __post_init__(self) -> None:
        positive = {"half_life_days": self.half_life_days, "money_unit_won": self.money_unit_won,
                    "engagement_period_days": self.engagement_period_days,
                    "regular_window_days": self.regular_window_days,
                    "lapsed_after_days": self.lapsed_after_days}
        for name, value in positive.items():
            if not value > 0:
                raise ValueError(f"{name} must be positive, got {value!r}")
        weights = {"w_follow": self.w_follow, "w_like": self.w_like, "w_comment": self.w_comment,
                   "w_share": self.w_share, "w_order": self.w_order, "w_money": self.w_money,
                   "w_referral": self.w_referral}
        for name, value in weights.items():
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if len(self.review_weights) != 5 or not all(math.isfinite(w) for w in self.review_weights):
            raise ValueError("review_weights needs five finite weights, for 1 to 5 stars")
        if self.engagement_cap is not None and not (math.isfinite(self.engagement_cap) and self.engagement_cap >= 0):
            raise ValueError(f"engagement_cap must be a finite number >= 0 or None, got {self.engagement_cap!r}")
        if self.engagement_memory_periods < 1:
            raise ValueError("engagement_memory_periods must be at least 1")
        if self.regular_min_orders < 2:
            raise ValueError("regular_min_orders must be at least 2: a regular comes back")
        if self.order_memory < self.regular_min_orders:
            raise ValueError("order_memory must hold at least regular_min_orders order times")

    @property
    def half_life_seconds(self) -> float:
        return self.half_life_days * DAY_SECONDS

    @property
    def engagement_period_seconds(self) -> float:
        return self.engagement_period_days * DAY_SECONDS

    @property
    def social_ceiling(self) -> float:
        """The most a customer with no order, review or referral can ever score: a fresh follow
        plus every period's engagement at its cap (a geometric series). ``inf`` when uncapped."""
        if self.engagement_cap is None:
            return math.inf
        return self.w_follow + self.engagement_cap / (1 - 2.0 ** (-self.engagement_period_days / self.half_life_days))

    @property
    def regular_window_seconds(self) -> float:
        return self.regular_window_days * DAY_SECONDS

    @property
    def lapsed_after_seconds(self) -> float:
        return self.lapsed_after_days * DAY_SECONDS


DEFAULT_CONFIG = ScoringConfig()

# With the defaults, an order this many days old (any amount, nothing else) still outweighs
# ``social_ceiling``: w_order · 2^(−14/30) = 7.24 > 7. The property tests hold the defaults to it.
FRESH_ORDER_DAYS = 14


@dataclass(frozen=True, slots=True)
class Transition:
    """A tier change caused by one event, e.g. first_time → regular."""

    from_tier: Tier
    to_tier: Tier
    at: float

    @property
    def milestone(self) -> str | None:
        """The name of the moment worth a warm message, or None for a quiet change."""
        return _MILESTONES.get((self.from_tier, self.to_tier))


_MILESTONES: dict[tuple[Tier, Tier], str] = {
    (Tier.POTENTIAL, Tier.FIRST_TIME): "first_order",
    (Tier.FIRST_TIME, Tier.REGULAR): "became_regular",
    (Tier.LAPSED, Tier.REGULAR): "came_back",
    (Tier.LAPSED, Tier.FIRST_TIME): "came_back",
}


# --- decay and strength -------------------------------------------------------------------


def decay(value: float, dt_seconds: float, half_life_seconds: float) -> float:
    """``value · 2^(−dt/H)``. A negative ``dt`` is read as 0: decay never increases a value.

    Reading at a time before ``updated_at`` happens with clock skew between writers; the state
    then reads as it was stored rather than growing into the past.
    """
    if not half_life_seconds > 0:
        raise ValueError("half_life_seconds must be positive")
    if dt_seconds <= 0:
        return value
    return value * 2.0 ** (-dt_seconds / half_life_seconds)


def breakdown_at(state: RelationshipState, now: float,
                 config: ScoringConfig = DEFAULT_CONFIG) -> dict[str, float]:
    """Each part decayed to ``now``; the values sum to ``strength_at(state, now)``."""
    dt, half_life = now - state.updated_at, config.half_life_seconds
    return {name: decay(value, dt, half_life) for name, value in state.parts.items()}


def strength_at(state: RelationshipState, now: float, config: ScoringConfig = DEFAULT_CONFIG) -> float:
    """The strength at ``now`` with no further events; non-increasing in ``now``."""
    return math.fsum(breakdown_at(state, now, config).values())


def money_weight(amount_won: int, config: ScoringConfig = DEFAULT_CONFIG) -> float:
    """``w_money · log2(1 + amount / money_unit_won)``: concave, 0 for 0 won."""
    return config.w_money * math.log2(1 + amount_won / config.money_unit_won)


def review_weight(rating: int, config: ScoringConfig = DEFAULT_CONFIG) -> float:
    return config.review_weights[rating - 1]


# --- applying one event -------------------------------------------------------------------


def apply(state: RelationshipState, signal: Signal | str, at: float, *, amount: int | None = None,
          rating: int | None = None, reverses_at: float | None = None,
          config: ScoringConfig = DEFAULT_CONFIG) -> tuple[RelationshipState, Transition | None]:
    """Apply one event at time ``at``; return the new state and the tier change, if any.

    - ``amount`` (integer won) is required for ``order`` and ``order_cancelled``.
    - ``rating`` (1..5) is required for ``review``.
    - ``reverses_at`` is the time of the event a reversal undoes: required for
      ``order_cancelled`` (the order's own time, exactly as passed to its ``order`` event),
      ``referral_cancelled``, ``comment_deleted`` and ``share_removed``; optional for ``unlike`` (without it the like is assumed fresh, which
      over-subtracts at worst, and the clamp keeps the part at or above zero).

    The new state is decayed to ``max(updated_at, at)``. The tier change is judged at that time,
    so a regular who had silently lapsed and orders again reports lapsed → regular.
    """
    signal = Signal(signal)
    _check_arguments(signal, at, amount, rating, reverses_at)
    ref = max(state.updated_at, at)
    parts = breakdown_at(state, ref, config)
    facts: dict[str, Any] = {}
    if signal in (Signal.FOLLOW, Signal.UNFOLLOW):
        facts = _apply_follow(state, parts, signal is Signal.FOLLOW, at, ref, config)
    elif signal in ENGAGEMENT and config.engagement_cap is not None:
        facts = _apply_engagement(state, parts, signal, reverses_at if reverses_at is not None else at, ref, config)
    else:
        event_at = reverses_at if reverses_at is not None else at
        for part, weight in _weights(signal, amount, rating, config):
            _add(parts, part, decay(weight, ref - event_at, config.half_life_seconds))
        if signal is Signal.ORDER:
            facts = _order_placed(state, at, amount or 0, config)
        elif signal is Signal.ORDER_CANCELLED:
            facts = _order_cancelled(state, event_at, amount or 0, config)
    new = replace(state, parts=parts, updated_at=ref, **facts)
    new = replace(new, tier=tier_at(new, ref, config))
    old_tier = tier_at(state, ref, config)
    transition = Transition(old_tier, new.tier, ref) if new.tier is not old_tier else None
    return new, transition


def _check_arguments(signal: Signal, at: float, amount: int | None, rating: int | None,
                     reverses_at: float | None) -> None:
    if not math.isfinite(at):
        raise ValueError("at must be a finite time")
    money_signal = signal in (Signal.ORDER, Signal.ORDER_CANCELLED)
    if money_signal != (amount is not None):
        raise ValueError(f"amount is required for order and order_cancelled only, not {signal}")
    if amount is not None and (isinstance(amount, bool) or not isinstance(amount, int) or amount < 0):
        raise ValueError("amount must be a non-negative integer number of won")
    if (signal is Signal.REVIEW) != (rating is not None):
        raise ValueError(f"rating is required for review only, not {signal}")
    if rating is not None and rating not in (1, 2, 3, 4, 5):
        raise ValueError("rating must be an integer from 1 to 5")
    if reverses_at is not None:
        if signal not in REVERSALS:
            raise ValueError(f"reverses_at is for reversals only, not {signal}")
        if not (math.isfinite(reverses_at) and reverses_at <= at):
            raise ValueError("reverses_at must be a finite time no later than at")
    elif signal in REVERSALS and signal is not Signal.UNLIKE:
        raise ValueError(f"{signal} needs reverses_at, the time of the event it reverses")


def _weights(signal: Signal, amount: int | None, rating: int | None,
             config: ScoringConfig) -> list[tuple[str, float]]:
    """(part, signed weight) pairs a signal adds at its own time."""
    if signal in (Signal.ORDER, Signal.ORDER_CANCELLED):
        sign = 1.0 if signal is Signal.ORDER else -1.0
        return [("orders", sign * config.w_order), ("money", sign * money_weight(amount or 0, config))]
    if signal is Signal.REVIEW:
        return [("reviews", review_weight(rating or 0, config))]
    return [{
        Signal.LIKE: ("engagement", config.w_like),
        Signal.UNLIKE: ("engagement", -config.w_like),
        Signal.COMMENT: ("engagement", config.w_comment),
        Signal.COMMENT_DELETED: ("engagement", -config.w_comment),
        Signal.SHARE: ("engagement", config.w_share),
        Signal.SHARE_REMOVED: ("engagement", -config.w_share),
        Signal.REFERRAL: ("referrals", config.w_referral),
        Signal.REFERRAL_CANCELLED: ("referrals", -config.w_referral),
    }[signal]]


def _add(parts: dict[str, float], part: str, delta: float) -> None:
    """Add ``delta`` to one part, never below zero; noise left by a subtraction becomes 0."""
    value = parts[part] + delta
    if delta < 0 and value <= _DUST * -delta:
        value = 0.0
    parts[part] = value


def period_of(at: float, config: ScoringConfig = DEFAULT_CONFIG) -> int:
    """The engagement period an act at ``at`` belongs to (fixed periods from the epoch)."""
    return math.floor(at / config.engagement_period_seconds)


def _apply_engagement(state: RelationshipState, parts: dict[str, float], signal: Signal, act_at: float,
                      ref: float, config: ScoringConfig) -> dict[str, Any]:
    """Add (or take back) one act in its period and move the part by that period's capped change.

    ``act_at`` is the act's own time (for an undo, the time of the act it undoes). Periods older
    than the memory are dropped from the state; their value stays in the part, frozen.
    """
    cap, half_life = config.engagement_cap, config.half_life_seconds
    assert cap is not None
    periods = dict(state.engagement_periods)
    oldest_kept = period_of(ref, config) - config.engagement_memory_periods + 1
    period = period_of(act_at, config)
    if period >= oldest_kept:
        start = period * config.engagement_period_seconds
        weight = _weights(signal, None, None, config)[0][1]
        grown = weight * 2.0 ** ((act_at - start) / half_life)
        before = periods.get(period, 0.0)
        after = before + grown
        if grown < 0 and after <= _DUST * -grown:
            after = 0.0  # float noise of taking back what was added (or an orphan undo)
        change = (min(after, cap) - min(before, cap)) * 2.0 ** (-(ref - start) / half_life)
        if change:
            _add(parts, "engagement", change)
        if after > 0:
            periods[period] = after
        else:
            periods.pop(period, None)
    kept = tuple((p, f) for p, f in sorted(periods.items()) if p >= oldest_kept)
    return {"engagement_periods": kept}


def _apply_follow(state: RelationshipState, parts: dict[str, float], follow: bool, at: float,
                  ref: float, config: ScoringConfig) -> dict[str, Any]:
    """Follow state is last-writer-wins by event time, so arrival order does not matter.

    The follow part is ``w_follow`` decayed from the latest follow while following, else 0:
    unfollowing resets it (it does not go negative), and a re-follow starts it afresh. An event
    older than the latest follow/unfollow already applied is stale and changes nothing; at equal
    times unfollow wins, so ties resolve the same way in any order.
    """
    changed = state.follow_changed_at
    stale = changed is not None and (at < changed or (at == changed and (follow or not state.following)))
    if stale:
        return {}
    parts["follow"] = decay(config.w_follow, ref - at, config.half_life_seconds) if follow else 0.0
    return {"following": follow, "follow_changed_at": at}


def _order_placed(state: RelationshipState, at: float, amount: int, config: ScoringConfig) -> dict[str, Any]:
    times = list(state.order_times)
    insort(times, at)
    remembered = tuple(times[-config.order_memory:])
    earned = _first_regular_at(remembered, config)
    return {"order_count": state.order_count + 1, "total_spent": state.total_spent + amount,
            "first_order_at": _min_opt(state.first_order_at, at), "order_times": remembered,
            "became_regular_at": _min_opt(state.became_regular_at, earned)}


def _order_cancelled(state: RelationshipState, order_at: float, amount: int,
                     config: ScoringConfig) -> dict[str, Any]:
    """Undo one order's facts. With the whole history remembered this is exact; when older
    orders have been forgotten, ``first_order_at`` and ``became_regular_at`` are kept (the best
    knowledge left) unless too few orders remain to be a regular at all."""
    times = list(state.order_times)
    if order_at in times:
        times.remove(order_at)
    count = max(state.order_count - 1, 0)
    whole_history = count <= len(times)
    first, became = state.first_order_at, state.became_regular_at
    if count == 0:
        first = None
    elif whole_history:
        first = times[0]
    if count < config.regular_min_orders:
        became = None
    elif whole_history:
        became = _first_regular_at(times, config)
    return {"order_count": count, "total_spent": max(state.total_spent - amount, 0),
            "first_order_at": first, "order_times": tuple(times), "became_regular_at": became}


def _first_regular_at(times: Sequence[float], config: ScoringConfig) -> float | None:
    """The earliest order time completing ``regular_min_orders`` orders within the window."""
    k, window = config.regular_min_orders, config.regular_window_seconds
    for i in range(k - 1, len(times)):
        if times[i] - times[i - k + 1] <= window:
            return times[i]
    return None


def _min_opt(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    return a if b is None else min(a, b)


# --- tiers ---------------------------------------------------------------------------------


def tier_at(state: RelationshipState, now: float, config: ScoringConfig = DEFAULT_CONFIG) -> Tier:
    """The customer's tier at ``now`` (for ``now ≥ updated_at``).

    - potential:  no order (that was not cancelled); may follow and engage.
    - regular:    has earned it — at some point placed ``regular_min_orders`` orders within
                  ``regular_window_days`` of each other (the span from the first to the last of
                  them) — and has ordered within the last ``lapsed_after_days``. "Earned" is
                  sticky, so a lapsed regular who comes back is a regular again at once.
    - lapsed:     two or more orders (or an earned regular) but no order for more than
                  ``lapsed_after_days``.
    - first_time: has bought but is not a regular (yet): one order, of any age, or repeat
                  orders spread too far apart to earn "regular" while still active.

    The window is measured between orders, not back from ``now``: a customer who buys every
    50 days is a regular even though at most one order ever falls inside the last 50 days.
    """
    if state.order_count == 0:
        return Tier.POTENTIAL
    last = state.last_order_at
    idle = math.inf if last is None else now - last
    earned = state.became_regular_at is not None and state.order_count >= config.regular_min_orders
    if idle > config.lapsed_after_seconds:
        return Tier.LAPSED if (earned or state.order_count >= 2) else Tier.FIRST_TIME
    return Tier.REGULAR if earned else Tier.FIRST_TIME


def lapses_at(state: RelationshipState, config: ScoringConfig = DEFAULT_CONFIG) -> float | None:
    """When the pair turns lapsed if no order comes (lapsed for any ``now`` after this), or None.

    Time alone never changes a tier otherwise, so this is the only moment storage needs to
    schedule (or index) to keep a stored tier filter honest.
    """
    last = state.last_order_at
    could_lapse = state.order_count >= 2 or state.became_regular_at is not None
    if last is None or state.order_count == 0 or not could_lapse:
        return None
    return last + config.lapsed_after_seconds


# --- ranking -------------------------------------------------------------------------------


def rank_key(state: RelationshipState, config: ScoringConfig = DEFAULT_CONFIG) -> float:
    """Forward-decay key ``log2(S) + updated_at / H``; ``RANK_KEY_FLOOR`` when ``S`` is 0.

    For any ``T`` at or after both pairs' ``updated_at``, ``rank_key(a) > rank_key(b)`` exactly
    when ``strength_at(a, T) > strength_at(b, T)``.
    """
    if state.score <= 0:
        return RANK_KEY_FLOOR
    return max(math.log2(state.score) + state.updated_at / config.half_life_seconds, RANK_KEY_FLOOR)


# --- essentials and idempotency ------------------------------------------------------------


def reorder_due_at(last_bought_at: float, reorder_days: float) -> float:
    """When an essential bought at ``last_bought_at`` is expected to run out."""
    return last_bought_at + reorder_days * DAY_SECONDS


def reorder_due(last_bought_at: float | None, reorder_days: float | None, now: float, *,
                lead_days: float = 0.0) -> bool:
    """Whether to offer the one-tap reorder: "you usually buy tofu every week".

    ``reorder_days`` is the product's cycle (None or ≤ 0 for treats, which are never "due");
    ``lead_days`` offers it that many days before the expected run-out.
    """
    if last_bought_at is None or reorder_days is None or reorder_days <= 0:
        return False
    return now >= reorder_due_at(last_bought_at, reorder_days) - lead_days * DAY_SECONDS


def usual_interval_days(order_times: Sequence[float]) -> float | None:
    """The median gap between consecutive orders, in days (None with fewer than two orders).

    The median, not the mean, so one long holiday does not stretch "you usually buy every ...".
    """
    times = sorted(order_times)
    gaps = sorted(b - a for a, b in zip(times, times[1:]))
    if not gaps:
        return None
    mid = len(gaps) // 2
    median = gaps[mid] if len(gaps) % 2 else (gaps[mid - 1] + gaps[mid]) / 2
    return median / DAY_SECONDS


def event_id(signal: Signal | str, source_id: str) -> str:
    """The idempotency id of the scoring event ``signal`` caused by ``source_id``.

    Storage writes a marker with this id in the same conditional transaction as the new state,
    so a replayed request or stream record applies nothing twice. ``source_id`` must name the
    occurrence (an order id, a like's own id), not just the post it is on: like, unlike and
    like again are three events.
    """
    if not source_id:
        raise ValueError("source_id must not be empty")
    return f"{Signal(signal).value}#{source_id}"


__all__ = [
    "DAY_SECONDS", "DEFAULT_CONFIG", "ENGAGEMENT", "FRESH_ORDER_DAYS", "PARTS", "RANK_KEY_FLOOR", "REVERSALS",
    "RelationshipState", "ScoringConfig", "Signal", "Tier", "Transition", "apply", "breakdown_at",
    "decay", "event_id", "lapses_at", "money_weight", "period_of",
    "rank_key", "reorder_due", "reorder_due_at", "review_weight", "strength_at", "tier_at",
    "usual_interval_days",
]
