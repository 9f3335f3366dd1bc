"""Plain records of relationship strength, passed between storage and services.

A ``Pair`` is everything Dongne remembers about one (customer, shop) pair: the scoring state
(``chalicelib.services.scoring.RelationshipState``), the tier the indexes currently list it
under, the corner-store memory of products (favourites, essentials and when they were last
bought), the ids of recently applied events (replays are no-ops) and the tier changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib.services.scoring import RelationshipState, Signal, Tier


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One line of an order, as the order's stream image carries it."""

    product_id: str
    name: str
    quantity: int
    kind: str = "treat"  # essential | treat
    reorder_days: int | None = None


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
        return self.signal in (Signal.UNFOLLOW, Signal.UNLIKE, Signal.ORDER_CANCELLED,
                               Signal.REFERRAL_CANCELLED)


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
