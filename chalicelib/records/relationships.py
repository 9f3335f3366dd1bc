"""Plain records of relationship strength, passed between storage and services.

A ``Pair`` is everything Dongne remembers about one (customer, shop) pair: the scoring state
(``RelationshipState``, below), the tier the indexes currently list it
under, the corner-store memory of products (favourites, essentials and when they were last
bought), the ids of recently applied events (replays are no-ops) and the tier changes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from chalicelib.records.commerce import OrderLine


# Forward-decay key of a pair with zero strength: log2(0) is −inf, which neither DynamoDB nor
# JSON can hold. −1e9 is far below any real key (log2 of the smallest positive float is −1074)
# and is also the lowest value storage's rank-key encoding can represent, so such pairs sort last.
RANK_KEY_FLOOR = -1e9


class Signal(StrEnum):
    """What a customer did that tells us about the relationship with one shop."""

    FOLLOW = "follow"
    UNFOLLOW = "unfollow"
    LIKE = "like"
    UNLIKE = "unlike"
    COMMENT = "comment"
    COMMENT_DELETED = "comment_deleted"  # the comment was deleted (by its author or the shop)
    SHARE = "share"
    SHARE_REMOVED = "share_removed"  # the share record was removed
    ORDER = "order"  # placed (or paid: send exactly one of the two per order)
    ORDER_CANCELLED = "order_cancelled"
    REVIEW = "review"
    REFERRAL = "referral"  # a friend ordered through this customer's store link
    REFERRAL_CANCELLED = "referral_cancelled"  # that friend's order was cancelled


class Tier(StrEnum):
    POTENTIAL = "potential"
    FIRST_TIME = "first_time"
    REGULAR = "regular"
    LAPSED = "lapsed"


# The parts of the score, in display order. Likes, comments and shares share one
# "engagement" part: the customer card shows how the customer relates to the shop, and
# three tiny engagement numbers would say less than one.
PARTS: tuple[str, ...] = ("follow", "engagement", "orders", "money", "reviews", "referrals")

@dataclass(frozen=True, slots=True, kw_only=True)
class RelationshipState:
    """Everything scoring knows about one (customer, shop) pair, as of ``updated_at``.

    ``parts`` holds each part's decayed value at ``updated_at`` (every name in ``PARTS`` is
    present); ``score`` is computed as their exact sum (``math.fsum``) and is not passed in.
    Treat ``parts`` as read-only. ``tier`` is the tier at ``updated_at``: tiers also change with
    time alone (a regular lapses), so read paths call ``tier_at(state, now)``.

    Which events were already applied is not stored here: storage makes each event write
    conditional on an event marker (see ``event_id``), so a replay never reaches ``apply``.
    """

    parts: Mapping[str, float] = field(default_factory=dict)
    updated_at: float = 0.0
    following: bool = False
    follow_changed_at: float | None = None  # time of the latest follow/unfollow applied
    order_count: int = 0  # orders not cancelled
    total_spent: int = 0  # won, orders not cancelled
    first_order_at: float | None = None
    order_times: tuple[float, ...] = ()  # the latest `order_memory` order times, ascending
    became_regular_at: float | None = None  # first time the "regular" pattern was met
    # Engagement per period, for the per-period cap: (period index, sum of the period's open acts'
    # weights grown to the period's start, w·2^((t − start)/H)). Recent periods only; see scoring.
    engagement_periods: tuple[tuple[int, float], ...] = ()
    tier: Tier = Tier.POTENTIAL
    score: float = field(init=False)

    def __post_init__(self) -> None:
        unknown = set(self.parts) - set(PARTS)
        if unknown:
            raise ValueError(f"unknown score parts: {sorted(unknown)}")
        parts = {name: float(self.parts.get(name, 0.0)) for name in PARTS}
        object.__setattr__(self, "parts", parts)
        object.__setattr__(self, "order_times", tuple(sorted(self.order_times)))
        object.__setattr__(self, "engagement_periods",
                           tuple(sorted((int(p), float(f)) for p, f in self.engagement_periods)))
        object.__setattr__(self, "tier", Tier(self.tier))
        object.__setattr__(self, "score", math.fsum(parts.values()))

    @property
    def last_order_at(self) -> float | None:
        return self.order_times[-1] if self.order_times else self.first_order_at

    @property
    def previous_order_at(self) -> float | None:
        return self.order_times[-2] if len(self.order_times) >= 2 else None

    def to_dict(self) -> dict[str, Any]:
        """Plain data for storage. ``score``, ``last_order_at`` and ``previous_order_at`` are
        included for readers (and for a numeric attribute to index) but ignored by ``from_dict``."""
        return {"score": self.score, "updated_at": self.updated_at, "parts": dict(self.parts),
                "following": self.following, "follow_changed_at": self.follow_changed_at,
                "order_count": self.order_count, "total_spent": self.total_spent,
                "first_order_at": self.first_order_at, "last_order_at": self.last_order_at,
                "previous_order_at": self.previous_order_at, "order_times": list(self.order_times),
                "became_regular_at": self.became_regular_at,
                "engagement_periods": [[p, f] for p, f in self.engagement_periods], "tier": self.tier.value}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RelationshipState:
        """Inverse of ``to_dict``; accepts DynamoDB's Decimal numbers and missing keys."""

        def opt(name: str) -> float | None:
            value = data.get(name)
            return None if value is None else float(value)

        return cls(parts={k: float(v) for k, v in (data.get("parts") or {}).items()},
                   updated_at=float(data.get("updated_at", 0.0)),
                   following=bool(data.get("following", False)),
                   follow_changed_at=opt("follow_changed_at"),
                   order_count=int(data.get("order_count", 0)),
                   total_spent=int(data.get("total_spent", 0)),
                   first_order_at=opt("first_order_at"),
                   order_times=tuple(float(t) for t in data.get("order_times") or ()),
                   became_regular_at=opt("became_regular_at"),
                   engagement_periods=tuple((int(p), float(f)) for p, f in data.get("engagement_periods") or ()),
                   tier=Tier(data.get("tier", Tier.POTENTIAL)))



@dataclass(frozen=True, slots=True, kw_only=True)
class SignalEvent:
    """One scoring event for one pair, derived from a stream record (or a service call).

    ``event_id`` names the occurrence (``scoring.event_id``), derived from the source item,
    not from the stream record, so an equivalent record delivered again is still recognised.
    """

    shop_id: str
    user_id: str
    signal: Signal
    at: float
    event_id: str
    amount: int | None = None
    rating: int | None = None
    reverses_at: float | None = None
    lines: tuple[OrderLine, ...] = ()

    @property
    def is_reversal(self) -> bool:
        """Unfollow, unlike and cancellations undo something; they never start a relationship."""
        return self.signal in (Signal.UNFOLLOW, Signal.UNLIKE, Signal.COMMENT_DELETED, Signal.SHARE_REMOVED,
                               Signal.ORDER_CANCELLED, Signal.REFERRAL_CANCELLED)


@dataclass(frozen=True, slots=True)
class Favourite:
    product_id: str
    name: str
    orders: int  # orders (not cancelled) that contained it
    quantity: int
    last_at: float


@dataclass(frozen=True, slots=True)
class Essential:
    """An everyday product the customer buys again and again, and when they bought it."""

    product_id: str
    name: str
    reorder_days: int
    times: tuple[float, ...]  # recent purchase times, ascending

    @property
    def last_bought_at(self) -> float:
        return self.times[-1]


@dataclass(frozen=True, slots=True)
class TierChange:
    from_tier: Tier
    to_tier: Tier
    at: float
    milestone: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Pair:
    shop_id: str
    user_id: str
    customer_name: str
    shop_name: str
    shop_handle: str
    state: RelationshipState = field(default_factory=RelationshipState)
    tier: Tier = Tier.POTENTIAL  # the tier the lists index it under (as of the last write)
    favourites: tuple[Favourite, ...] = ()
    essentials: tuple[Essential, ...] = ()
    seen: tuple[str, ...] = ()  # digests of recently applied event ids, oldest first
    history: tuple[TierChange, ...] = ()  # recent tier changes, oldest first
    lapse_at: float | None = None  # a pending lapse the sweep must act on, if any
    since: float | None = None  # the earliest signal seen: "customer since"
    created_at: float = 0.0  # when the pair was first written
    version: int | None = None  # optimistic concurrency: None until stored


@dataclass(frozen=True, slots=True)
class Note:
    text: str
    updated_at: float


@dataclass(frozen=True, slots=True)
class ShopInfo:
    """What a new pair needs to know about its shop."""

    shop_id: str
    owner_id: str
    name: str
    handle: str


class StaleWrite(Exception):
    """The pair changed since it was read (its version moved on): read it again and retry."""
