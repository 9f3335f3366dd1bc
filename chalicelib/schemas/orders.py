"""Order and review requests and responses."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field

from chalicelib.schemas.common import Id, ListQuery, Out, Page, Schema, Timestamp, WholeNumber
from chalicelib.schemas.products import ProductKind
from chalicelib.schemas.store_links import LinkCode


class OrderStatus(StrEnum):
    """`pending_payment → paid → shipped → delivered`; `cancelled` before shipping."""

    pending_payment = "pending_payment"
    paid = "paid"
    shipped = "shipped"
    delivered = "delivered"
    cancelled = "cancelled"

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


class OrderStatusIn(Schema):
    status: OrderStatus


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


class OrderPublic(Out):
    order_id: Id
    shop_id: str
    shop_name: str
    buyer_id: str
    buyer_closed: bool = Field(False, description="The buyer has closed their account; the order stays in the "
                                                  "shop's books.")
    items: list[OrderLineOut]
    subtotal: int
    discount: int
    total: int
    currency: str
    status: OrderStatus
    via_post_id: str | None
    via_store_link: str | None = Field(description="The store link the order is credited to (null: none).")
    reorder_of: str | None = Field(description="The order this one repeats (POST /orders/{id}/reorder).")
    review_id: str | None
    subscription_id: str | None = Field(None, description="The subscription (정기배송) this order is a period of.")
    history: list[StatusChangeOut]
    created_at: Timestamp
    updated_at: Timestamp


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
