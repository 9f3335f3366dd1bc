"""Plain records of the one-person store: links, referral rewards and the reward ledger."""

from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib.records.accounts import RewardSetting

__all__ = ["RewardSetting"]  # (a shop's setting, kept with the Shop record)

PERCENT, FIXED = "percent", "fixed"

# Ledger entry statuses and reasons. An entry is never rewritten: a state change is a new entry.
PENDING, CONFIRMED, CANCELLED = "pending", "confirmed", "cancelled"
REASON_REFERRAL = "referral"  # a friend ordered through the link (pending)
REASON_DELIVERED = "delivered"  # that order was delivered (confirmed)
REASON_CANCELLED = "order_cancelled"  # that order was cancelled (cancelled)
REASON_GIVEN = "given_to_friend"  # the reward became the friend's discount: a zero entry


@dataclass(frozen=True)
class StoreLink:
    """A buyer's own link for one shop. ``code`` is its public name; the owner and the shop
    never change; counters change only in the transactions that cause them."""

    code: str
    owner_id: str
    owner_name: str  # the owner's display name when the link was issued (the landing reads it live)
    shop_id: str
    shop_name: str
    give_reward_to_friend: bool
    created_at: float
    visits: int = 0  # distinct visitors per UTC day, summed over days
    orders: int = 0  # orders credited to the link and not cancelled
    rewards: int = 0  # won confirmed (the friends' orders were delivered)
    pending_rewards: int = 0  # won waiting for delivery
    products: tuple[str, ...] = ()  # products the owner bought from the shop
    recommended: tuple[str, ...] = ()  # products the owner reviewed with 4 or 5 stars
    notes: dict[str, str] = field(default_factory=dict)  # product id -> the owner's review, abridged
    # When the link was retired (its owner closed their account): no visit or order counts any more.
    retired_at: float | None = None


@dataclass(frozen=True)
class Remembered:
    """A signed-in visitor's first link for a shop, remembered until ``until`` (epoch seconds)."""

    user_id: str
    shop_id: str
    code: str
    until: float


@dataclass(frozen=True)
class VisitorVia:
    """An anonymous visitor's first link for a shop (``visitor_id`` from the page's cookie or the
    app), until ``until``; signing up or logging in with the visitor id makes it ``Remembered``."""

    visitor_id: str
    shop_id: str
    code: str
    owner_id: str
    until: float


@dataclass(frozen=True)
class LedgerEntry:
    entry_id: str
    user_id: str  # whose ledger (the link's owner)
    code: str
    order_id: str
    shop_id: str
    amount: int  # won; 0 when given to the friend
    status: str  # pending | confirmed | cancelled
    reason: str
    created_at: float


@dataclass(frozen=True)
class Referral:
    """What placing an order through a link writes besides the order (same transaction).

    ``setting`` is the shop's reward setting the amount was computed from (the transaction
    checks the shop still has it); ``entry`` is None when the shop sets no reward.
    ``consume`` names the remembered visit this order uses up (None for an explicit code).
    """

    code: str
    owner_id: str
    owner_name: str
    shop_id: str
    give_reward_to_friend: bool  # as read: the transaction checks the link still says so
    setting: RewardSetting | None
    reward: int | None  # what the owner earns (0 when given), None without a setting
    discount: int  # what the friend saves
    entry: LedgerEntry | None


@dataclass(frozen=True)
class Settlement:
    """What a status change of a referred order writes besides the order (same transaction)."""

    code: str
    owner_id: str
    orders: int  # change of the link's order count
    pending: int  # change of pending won (link and owner's summary)
    confirmed: int  # change of confirmed won (link and owner's summary)
    entry: LedgerEntry | None


@dataclass(frozen=True)
class RewardsSummary:
    balance: int = 0  # confirmed won
    pending: int = 0


@dataclass(frozen=True)
class LandingProduct:
    product_id: str
    name: str
    price: int
    currency: str
    kind: str
    photo: str | None
    in_stock: bool
    bought: bool
    recommended: bool
    note: str | None


@dataclass(frozen=True)
class Landing:
    """What anyone may see of a link: no e-mail, phone or user id."""

    code: str
    owner_name: str
    shop_id: str
    shop_name: str
    shop_handle: str
    shop_region: str
    products: tuple[LandingProduct, ...]
    friend_discount: RewardSetting | None  # what a friend saves, when the owner gives the reward


@dataclass(frozen=True)
class ShopReferral:
    """One order a link brought to a shop, as the shop's owner sees it."""

    order_id: str
    code: str
    referrer_id: str
    referrer_name: str
    buyer_id: str
    subtotal: int
    discount: int
    total: int
    reward: int | None
    given_to_friend: bool
    order_status: str
    created_at: float

    @property
    def reward_status(self) -> str:
        """``none`` without a reward setting; else the ledger's state for this order."""
        if self.reward is None:
            return "none"
        return {"delivered": CONFIRMED, "cancelled": CANCELLED}.get(self.order_status, PENDING)


@dataclass(frozen=True)
class BuyerAtShop:
    """What placing an order reads of its buyer at the shop, in the catalogue's BatchGetItem: the
    live remembered link (None without one) and whether their first-purchase slot is free (no
    order of theirs paid at the shop, none credited and unpaid holding it). A hint, not a
    decision: the placing transaction's conditions decide, and a stale read is retried."""

    remembered: Remembered | None = None
    first_buy_free: bool = True


class FirstBuyTaken(Exception):
    """An order through a store link found the buyer's first purchase at the shop made, or held
    by another unpaid credited order: it is placed without the link's credit."""


class ReferrerClosed(FirstBuyTaken):
    """An order through a store link found the link's owner closed (the placing transaction
    checks the owner's profile): as for a taken first purchase, it is placed without credit."""


class LinkRemembered(Exception):
    """Storage found, at commit, a remembered link the order was placed without (retry with it),
    or the one it was placed with gone meanwhile (``None``: retry without it)."""

    def __init__(self, remembered: Remembered | None) -> None:
        super().__init__(f"remembered link {remembered.code if remembered else 'gone'}")
        self.remembered = remembered
