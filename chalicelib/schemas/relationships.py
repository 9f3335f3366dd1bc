"""Relationship requests and responses: ranked lists, the customer card, the owner's note."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from chalicelib.schemas.common import Id, ListQuery, Out, Schema, Timestamp
from chalicelib.schemas.subscriptions import SubscriptionPublic


class Tier(StrEnum):
    """Where a customer stands with a shop, from order count and recency (thresholds in the README)."""

    potential = "potential"
    first_time = "first_time"
    regular = "regular"
    lapsed = "lapsed"


TierName = Tier
Points = Field(description="Relationship strength now, in points (a like is 1 point; it halves every 30 days "
                           "without new signals).", examples=[23.4])


class CustomersQuery(ListQuery):
    tier: TierName | None = Field(None, description="Only customers of this tier.")


class CustomerListItem(Out):
    user_id: Id
    name: str
    strength: float = Points
    tier: TierName
    order_count: int
    last_order_at: Timestamp | None
    following: bool


class MyShop(Out):
    shop_id: Id
    name: str
    handle: str
    strength: float = Points
    tier: TierName


class Breakdown(Out):
    """Each signal's part of the strength now; the parts add up to ``strength``."""

    follow: float
    engagement: float = Field(description="Likes, comments and shares.")
    orders: float = Field(description="Frequency: a fixed weight per order.")
    money: float = Field(description="Money spent, with diminishing returns.")
    reviews: float
    referrals: float = Field(description="Friends who ordered through this customer's store link.")


class FavouriteProduct(Out):
    product_id: str
    name: str
    orders: int = Field(description="Orders that contained it.")
    quantity: int
    last_bought_at: Timestamp


class ReorderDue(Out):
    product_id: str
    name: str
    reorder_days: int = Field(description="The product's usual cycle.")
    last_bought_at: Timestamp
    due_at: Timestamp
    overdue_days: float
    usual_interval_days: float | None = Field(description="This customer's own median gap between purchases of it.")
    times_bought: int = Field(description="Purchases remembered (the latest few).")


class TierChangeOut(Out):
    from_tier: TierName
    to_tier: TierName
    at: Timestamp
    milestone: str | None = Field(examples=["became_regular"])


class CustomerCard(Out):
    user_id: Id
    name: str
    tier: TierName
    tier_reason: str
    strength: float = Points
    breakdown: Breakdown
    following: bool
    order_count: int
    total_spent: int = Field(description="Won, orders not cancelled.")
    first_order_at: Timestamp | None
    last_order_at: Timestamp | None
    usual_interval_days: float | None = Field(description="Median gap between the latest orders.")
    became_regular_at: Timestamp | None
    lapses_at: Timestamp | None = Field(description="When the customer turns lapsed if no order comes.")
    favourite_products: list[FavouriteProduct]
    reorder_due: list[ReorderDue] = Field(description="Essentials whose usual cycle has run out: offer a reorder.")
    tier_history: list[TierChangeOut]
    customer_since: Timestamp
    note: str = Field(description="The owner's private memo.")
    note_updated_at: Timestamp | None
    subscriptions: list[SubscriptionPublic] = Field(default_factory=list,
                                                    description="The customer's subscriptions (정기배송) at the shop.")


class NoteIn(Schema):
    note: str = Field(max_length=1000, description="Private to the shop's owner; empty to clear.",
                      examples=["두부는 부드러운 것만. 화요일 오후에 주로 들름."])


class NoteOut(Out):
    note: str
    updated_at: Timestamp
