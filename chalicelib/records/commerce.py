"""Plain records of commerce: products, orders, reviews (no framework types)."""

from __future__ import annotations

from dataclasses import dataclass, field

CURRENCY = "KRW"


@dataclass(frozen=True)
class Product:
    product_id: str
    shop_id: str
    owner_id: str
    name: str
    description: str
    price: int  # won
    stock: int
    kind: str  # essential | treat
    reorder_days: int | None
    photos: tuple[str, ...]
    created_at: float
    updated_at: float
    rating_sum: int = 0
    rating_count: int = 0
    currency: str = CURRENCY

    @property
    def rating_average(self) -> float | None:
        """Exact sum / count, rounded for display only (two decimals); None before any review."""
        if self.rating_count <= 0:
            return None
        return round(self.rating_sum / self.rating_count, 2)


@dataclass(frozen=True)
class ProductSummary:
    """What a post or a feed entry shows of a tagged product."""

    product_id: str
    name: str
    price: int
    currency: str
    kind: str
    photo: str | None


@dataclass(frozen=True)
class OrderLine:
    """One product of an order, with the name and price it had when the order was placed."""

    product_id: str
    name: str
    price: int
    quantity: int
    kind: str
    reorder_days: int | None

    @property
    def line_total(self) -> int:
        return self.price * self.quantity


@dataclass(frozen=True)
class DiscountLine:
    """One reason an order costs less, in the order they were applied (each on what the goods
    still cost after the ones before): ``subscription``, ``store_link`` (the friend's reward),
    ``regular_perk`` (단골 우대: percent off, or the delivery fee waived) and ``coupon``."""

    kind: str
    amount: int  # won, never more than what was left to take off
    coupon_id: str | None = None
    name: str = ""  # the coupon's name, or what the perk was ("5%", "free_shipping")


@dataclass(frozen=True)
class StatusChange:
    status: str
    at: float
    by: str


@dataclass(frozen=True)
class Address:
    """Where a delivery goes: an address-book entry's fields, copied onto the order."""

    recipient: str
    phone: str  # E.164, normalised like an account's
    postal_code: str  # 5 digits (도로명주소 우편번호)
    address1: str
    address2: str = ""


@dataclass(frozen=True)
class Fulfilment:
    """How the order reaches the buyer: ``delivery`` to ``address``, or ``pickup`` at the shop's
    ``pickup_address`` in its ``pickup_hours`` (copied from the shop when the order is placed)."""

    method: str  # delivery | pickup
    address: Address | None = None
    pickup_address: str | None = None
    pickup_hours: str | None = None


@dataclass(frozen=True)
class BankAccount:
    bank: str
    number: str
    holder: str


@dataclass(frozen=True)
class Payment:
    """How the order is paid. ``payment_id`` is the provider's payment id the app pays under
    (the order's own, so a payment cannot be moved to another order); unpaid after ``deadline_at``
    the order expires."""

    method: str  # card | bank_transfer
    payment_id: str
    amount: int
    deadline_at: float
    bank_account: BankAccount | None = None  # bank_transfer: where to send the money
    billing_key_used: bool = False  # a subscription's period charged with the saved card


@dataclass(frozen=True)
class Refund:
    """Money owed back on a paid order that was cancelled, or a payment that came too late."""

    status: str  # pending | done | failed (failed is retried; see docs/checkout.md)
    amount: int
    requested_at: float
    refunded_at: float | None = None
    attempts: int = 0
    last_error: str | None = None
    payment_id: str | None = None  # the payment refunded (a late payment's own id)


@dataclass(frozen=True)
class Shipment:
    carrier: str
    tracking_number: str


@dataclass(frozen=True)
class Order:
    order_id: str
    shop_id: str
    shop_name: str
    owner_id: str  # the shop's owner when the order was placed (shops do not change hands)
    buyer_id: str
    items: tuple[OrderLine, ...]
    subtotal: int
    discount: int
    total: int
    status: str
    history: tuple[StatusChange, ...]
    created_at: float
    updated_at: float
    via_post_id: str | None = None
    via_store_link: str | None = None
    reorder_of: str | None = None
    review_id: str | None = None
    currency: str = CURRENCY
    subscription_id: str | None = None  # the subscription whose period this order is
    # Set when the order is credited to a store link (``via_store_link``): the link's owner, their
    # reward as computed at placement (None when the shop sets none; 0 when given to the friend)
    # and whether it became this order's ``discount``.
    referrer_id: str | None = None
    referrer_name: str | None = None
    referral_reward: int | None = None
    reward_given: bool = False
    buyer_closed: bool = False  # the buyer has closed their account (the order stays in the books)
    # Checkout. ``paid_at`` is set once, when the money is confirmed, and never removed: from that
    # record on the order counts (score, tiers, milestones, store links, rewards).
    buyer_name: str = ""
    shipping_fee: int = 0
    fulfilment: Fulfilment | None = None
    payment: Payment | None = None
    paid_at: float | None = None
    refund: Refund | None = None
    shipment: Shipment | None = None
    deliver_by: float | None = None  # shipped or ready for pickup: delivered automatically at this time
    # Why the order costs less (``discount`` is their sum) and the buyer's coupon it used, if any
    # (given back, in the same transaction, when the order is cancelled or expires).
    discounts: tuple[DiscountLine, ...] = ()
    coupon_id: str | None = None


@dataclass(frozen=True)
class IdempotencyRecord:
    """A client's ``Idempotency-Key`` for one money-moving request, stored with its first answer."""

    user_id: str
    key: str
    request_hash: str
    order: Order | None = field(default=None)


@dataclass(frozen=True)
class Review:
    review_id: str
    order_id: str
    shop_id: str
    user_id: str
    author_name: str
    product_ids: tuple[str, ...]
    rating: int
    text: str
    created_at: float
