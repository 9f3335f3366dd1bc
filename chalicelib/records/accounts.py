"""Accounts and shops, as services and storage pass them (no framework types)."""

from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib.records.commerce import BankAccount


@dataclass(frozen=True)
class User:
    user_id: str
    name: str
    email: str | None
    phone: str | None
    shop_id: str | None
    created_at: float
    password_hash: str = field(default="", repr=False)
    following_count: int = 0
    # Tokens issued with an older version are dead (a password change moves it on).
    token_version: int = 0
    # Tokens logged out one by one, as "<expires_at>:<token id>", until they expire anyway.
    revoked_tokens: tuple[str, ...] = field(default=(), repr=False)
    # Proven by a code sent there (services.recovery); a changed address starts unverified.
    email_verified: bool = False
    phone_verified: bool = False

    def revoked(self, token_id: str) -> bool:
        return any(entry.partition(":")[2] == token_id for entry in self.revoked_tokens)


@dataclass(frozen=True)
class Shop:
    shop_id: str
    owner_id: str
    name: str
    handle: str
    bio: str
    region: str
    follower_count: int
    post_count: int
    created_at: float
    subscription_discount_percent: int = 0  # off every subscription order (0-20)
    # What the shop pays the owner of a store link for a friend's order (None: no reward).
    referral_reward: RewardSetting | None = None
    # Checkout (services.fulfilment). ``fulfilment`` None: never set, so the shop offers pickup
    # at the shop only (services.fulfilment.settings_of says where); ``bank_account`` None: no
    # bank transfer (무통장입금); an unpaid bank-transfer order waits ``bank_transfer_hours``.
    fulfilment: FulfilmentSettings | None = None
    bank_account: BankAccount | None = None
    bank_transfer_hours: int = 24
    # 단골 우대: what a customer whose tier is ``regular`` gets off every order (None: nothing).
    regular_perk: RegularPerk | None = None
    # Days without a post after which the owner gets a ``posting_nudge`` (0: never).
    posting_nudge_days: int = 7
    # The owner's last change of the shop (None: not read from storage). An order checks it at
    # commit, so a fee, account or reward read from a container's cache can never be stale.
    updated_at: float | None = None
    # When the owner closed their account (None: open). A closed shop stays readable and takes
    # no new orders, subscriptions or follows (``services.closing``).
    closed_at: float | None = None


@dataclass(frozen=True)
class RewardSetting:
    """A shop's store-link reward: ``percent`` of the subtotal or a ``fixed`` sum (won)."""

    kind: str  # percent | fixed
    value: int


@dataclass(frozen=True)
class RegularPerk:
    """A shop's standing perk for its regulars: ``percent`` off the goods (``value`` 1-50), or
    ``free_shipping`` (``value`` 0): the delivery fee waived."""

    kind: str  # percent | free_shipping
    value: int = 0


@dataclass(frozen=True)
class DeliveryOption:
    """Delivery (택배/배달): ``fee`` won per order, nothing when the subtotal reaches ``free_over``."""

    fee: int
    free_over: int | None = None


@dataclass(frozen=True)
class PickupOption:
    """Pickup (방문 수령) at ``address`` in ``hours`` (free text, "" when the shop says nothing)."""

    address: str
    hours: str = ""


@dataclass(frozen=True)
class FulfilmentSettings:
    """How a shop hands its orders over: at least one of the two is offered."""

    delivery: DeliveryOption | None = None
    pickup: PickupOption | None = None
