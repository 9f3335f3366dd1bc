"""What the owner learns: counters per (shop, KST day) and what the stream handler remembers
about each source of them (see ``services.insights``)."""

from __future__ import annotations

from dataclasses import dataclass, field

# The counters of one day, in the order the API and the CSV show them. ``average_order`` is
# derived (revenue / orders) and never stored.
METRICS = ("orders", "revenue", "new_followers", "unfollows", "new_customers", "repeat_customers", "regulars",
           "lapsed", "store_link_orders", "reward_cost", "subscription_orders", "posts")


@dataclass
class OrderMark:
    """One paid order as last counted: when it was paid, whether it counts now, and the
    position of the image that said so (``(len(history), updated_at)``); ``final`` once it
    was cancelled (nothing moves a cancelled order again)."""

    paid_at: float
    counted: bool
    position: tuple[int, float]
    final: bool = False


@dataclass
class FollowMark:
    """The pair's follow state after its latest follow or unfollow: ``position`` orders the
    pair's events (``(created_at of the follow, 0 follow | 1 unfollow)``), ``day`` is the KST day
    of that event and ``start`` whether the customer followed when that day began."""

    position: tuple[float, int]
    following: bool
    day: str
    start: bool


@dataclass
class Ledger:
    """Per (shop, customer): every paid order's mark, the follow state and the tier changes
    already counted. What makes a replayed or late record add nothing."""

    shop_id: str
    user_id: str
    orders: dict[str, OrderMark] = field(default_factory=dict)
    follow: FollowMark | None = None
    tiers: set[str] = field(default_factory=set)
    version: int | None = None  # None: not stored yet


@dataclass(frozen=True)
class Day:
    """One KST day's counters of one shop (missing counters are zero)."""

    day: str
    counts: dict[str, int]


@dataclass(frozen=True)
class PostFigures:
    """What one post brought: orders placed from it (``via_post_id``) that were paid and not
    cancelled, and their revenue; ``live`` until the post is deleted."""

    post_id: str
    orders: int
    revenue: int
    live: bool
    created_at: float | None


@dataclass
class Effect:
    """What applying one record does: the ledger to store and what to add to which counters."""

    ledger: Ledger
    days: dict[str, dict[str, int]] = field(default_factory=dict)
    posts: dict[str, tuple[int, int]] = field(default_factory=dict)  # post_id -> (orders, revenue)

    def empty(self) -> bool:
        return not any(any(v for v in c.values()) for c in self.days.values()) and not any(
            o or r for o, r in self.posts.values())
