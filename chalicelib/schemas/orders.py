"""Order and review requests and responses."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, model_validator

from chalicelib.schemas.addresses import FulfilmentIn, FulfilmentOut
from chalicelib.schemas.common import Id, ListQuery, Out, Page, Schema, Timestamp, WholeNumber
from chalicelib.schemas.products import ProductKind
from chalicelib.schemas.store_links import LinkCode


class OrderStatus(StrEnum):
    """`pending_payment → paid → shipped | ready_for_pickup → delivered`; `cancelled` before shipping;
    `expired` when unpaid past `payment.deadline_at`."""

    pending_payment = "pending_payment"
    paid = "paid"
    shipped = "shipped"
    ready_for_pickup = "ready_for_pickup"
    delivered = "delivered"
    cancelled = "cancelled"
    expired = "expired"


class PaymentMethod(StrEnum):
    """`card` (cards, KakaoPay, NaverPay, TossPay through PortOne) or `bank_transfer` (무통장입금)."""

    card = "card"
    bank_transfer = "bank_transfer"


Won = Annotated[int, Field(strict=True, ge=0, le=100_000_000), WholeNumber]

Quantity = Annotated[int, Field(strict=True, ge=1, le=999, description="1..999 (lines of one product add up)."),
                     WholeNumber]


class OrderLineIn(Schema):
    product_id: Id
    quantity: Quantity
    price: int | float | None = Field(None, description="Ignored: the server's current price applies.")


class OrderCreate(Schema):
    shop_id: Id
    items: list[OrderLineIn] = Field(min_length=1, max_length=100,
                                     description="Lines naming the same product are merged; at most 40 products.")
    via_post_id: Id | None = Field(None, description="The post the order was placed from, if any: a post of the "
                                                  "order's shop (422 otherwise).")
    via_store_link: LinkCode | None = Field(
        None, description="The store link the order comes through, if any: a link of the order's shop (422 "
                          "otherwise). Without one, a link the buyer visited signed in within 14 days is used.")
    payment_method: PaymentMethod = Field(PaymentMethod.bank_transfer, description=(
        "`card`: pay through PortOne within 30 minutes, then `POST /orders/{id}/payment`; `bank_transfer` (the "
        "default): send `total` to the shop's account by `payment.deadline_at`, the owner confirms it."))
    expected_total: Won | None = Field(None, description="The total the app showed; if the order would cost "
                                                          "anything else now → 409 `price_changed`, nothing written.")
    fulfilment: FulfilmentIn | None = Field(None, description=(
        "`{method: delivery, address_id}`, `{method: delivery, address: {...}}` or `{method: pickup}`; required by a "
        "shop that set its fulfilment (a method it does not offer → 422 `fulfilment_unavailable`)."))
    coupon_id: Id | None = Field(None, description=(
        "A coupon of mine (GET /me/coupons) for this shop: used by this order only, given back if it is cancelled or "
        "expires. Not mine, used, not started, ended, below its `min_subtotal` or another shop's → 422 "
        "`coupon_not_applicable` (`reason`); all its redemptions taken → 409 `coupon_exhausted`."))


class OrderStatusIn(Schema):
    status: OrderStatus
    carrier: Annotated[str, Field(min_length=1, max_length=40)] | None = Field(
        None, description="Shipping a delivery: the carrier (e.g. CJ대한통운).")
    tracking_number: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[0-9A-Za-z-]+$")] | None = Field(
        None, description="Shipping a delivery: the tracking number (required with `shipped` for a delivery).")


class PaymentIn(Schema):
    payment_id: Id = Field(description="The payment id the app paid under: the order's `payment.payment_id`.")


class WebhookAnswer(Out):  # PortOne's webhook is answered what the event did to the order
    outcome: str


class OrderListQuery(ListQuery):
    status: OrderStatus | None = Field(None, description="Only orders in this status.")


class OrderLineOut(Out):
    product_id: str
    name: str
    price: int
    quantity: int
    line_total: int
    kind: ProductKind
    reorder_days: int | None


class StatusChangeOut(Out):
    status: OrderStatus
    at: Timestamp
    by: str


class BankAccountOut(Out):
    bank: str
    number: str
    holder: str


class PaymentOut(Out):
    method: PaymentMethod
    status: str = Field("pending", description="`pending`, `paid`, `refunded`, `expired` or `cancelled` (unpaid).")
    payment_id: str = Field(description="Pay with PortOne under this paymentId, for exactly `amount` KRW.")
    amount: int
    deadline_at: Timestamp = Field(description="Unpaid after this, the order expires and its stock returns.")
    bank_account: BankAccountOut | None = Field(description="Bank transfer: the shop's account to send `amount` to.")


class RefundOut(Out):
    status: str = Field(description="`pending`, `in_progress`, `done` or `failed` (retried).")
    amount: int
    requested_at: Timestamp
    refunded_at: Timestamp | None
    attempts: int


class ShipmentOut(Out):
    carrier: str
    tracking_number: str

type DiscountKind = Annotated[Literal["subscription", "store_link", "regular_perk", "coupon"], Field(
    description="Where a discount comes from.")]


class DiscountLineOut(Out):
    kind: DiscountKind = Field(description=(
        "In the order they apply, each on what the goods still cost: a subscription's discount, a store-link reward "
        "given to the friend, the regulars' perk (단골 우대), a coupon."))
    amount: int = Field(description="Won off.")
    coupon_id: str | None = Field(None, description="The coupon (kind `coupon`).")
    name: str = Field("", description="The coupon's name, or the perk (`5%`, `free_shipping`).")


class OrderPublic(Out):
    order_id: Id
    shop_id: str
    shop_name: str
    buyer_id: str
    buyer_closed: bool = Field(False, description="The buyer has closed their account; the order stays in the "
                                                  "shop's books.")
    items: list[OrderLineOut]
    subtotal: int
    discount: int = Field(description="The sum of `discounts`.")
    discounts: list[DiscountLineOut] = Field(default_factory=list, description="Why the order costs less.")
    coupon_id: str | None = Field(None, description="My coupon this order used (given back if it is cancelled or "
                                                    "expires).")
    total: int = Field(description="subtotal − discount + shipping_fee.")
    currency: str
    status: OrderStatus
    via_post_id: str | None
    via_store_link: str | None = Field(description="The store link the order is credited to (null: none).")
    reorder_of: str | None = Field(description="The order this one repeats (POST /orders/{id}/reorder).")
    review_id: str | None
    subscription_id: str | None = Field(None, description="The subscription (정기배송) this order is a period of.")
    buyer_name: str = Field("", description="The buyer's name when the order was placed.")
    shipping_fee: int = 0
    fulfilment: FulfilmentOut | None = Field(None, description="How the order reaches the buyer (null: arranged with "
                                                               "the shop, as orders placed before checkout).")
    payment: PaymentOut | None = None
    paid_at: Timestamp | None = Field(None, description="When the money was confirmed; the order counts from then.")
    refund: RefundOut | None = None
    shipment: ShipmentOut | None = None
    deliver_by: Timestamp | None = Field(None, description="Shipped or ready for pickup: delivered automatically then "
                                                           "unless the buyer confirms (구매확정) or the shop marks it first.")
    history: list[StatusChangeOut]
    created_at: Timestamp
    updated_at: Timestamp

    @model_validator(mode="after")
    def _payment_status(self) -> "OrderPublic":
        if self.payment is not None:
            if self.paid_at is not None:
                self.payment.status = "refunded" if self.refund is not None and self.refund.status == "done" else "paid"
            else:
                self.payment.status = {"expired": "expired", "cancelled": "cancelled"}.get(self.status, "pending")
        return self


class ReviewCreate(Schema):
    rating: Annotated[int, Field(strict=True, ge=1, le=5), WholeNumber]
    text: Annotated[str, Field(max_length=1000)] = ""


class ReviewPublic(Out):
    review_id: Id
    order_id: str
    shop_id: str
    user_id: str
    author_name: str
    product_ids: list[str]
    rating: int
    text: str
    created_at: Timestamp


class ReviewPage(Page[ReviewPublic]):
    product_id: str
    rating_count: int = Field(description="Reviews of this product (exact).")
    rating_average: float | None = Field(description="Average rating (two decimals); null before any review.")
