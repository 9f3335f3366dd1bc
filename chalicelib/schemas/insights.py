"""Insights (``/shops/{shop_id}/insights``): what posting, regulars, links and subscriptions brought."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from chalicelib.schemas.common import DateIn, Out, Query, Timestamp

MAX_RANGE_DAYS = 366
DEFAULT_RANGE_DAYS = 30

type Granularity = Annotated[Literal["day", "week", "month"], Field(
    description="The length of a period: a KST day, a week (Monday to Sunday) or a calendar month.")]


class InsightsQuery(Query):
    model_config = ConfigDict(extra="ignore", defer_build=True, validate_by_name=True, validate_by_alias=True)

    from_: DateIn | None = Field(None, alias="from", description=(
        "First KST day, `YYYY-MM-DD` (default: 29 days before `to`)."), examples=["2026-11-01"])
    to: DateIn | None = Field(None, description="Last KST day, `YYYY-MM-DD` (default: today in Korea).",
                            examples=["2026-11-30"])
    granularity: Granularity = Field(
        "day", description="`week` periods are named by their Monday, `month` by `YYYY-MM`; the first and last "
                           "periods hold only the range's days.")

    # `to` not before `from` and at most MAX_RANGE_DAYS: checked by the route (422 `range_reversed`,
    # `range_too_long` on `query.to`), which also fills the defaults from the clock.


class PostInsightsQuery(InsightsQuery):
    limit: int = Field(20, ge=1, le=100, description="How many posts (1..100), those that brought the most first.")


class InsightPoint(Out):
    period: str = Field(description="`YYYY-MM-DD` (a day, or a week's Monday), `YYYY-MM` (a month) or `total`.")
    orders: int = Field(description="Paid orders (cancelled and refunded ones taken back), on the day they were paid.")
    revenue: int = Field(description="What those orders paid, in won (after discounts, shipping included).")
    average_order: int = Field(description="revenue / orders, rounded; 0 without orders.")
    new_followers: int = Field(description="Customers following at the day's end who were not at its start "
                                           "(following and unfollowing within a day counts nothing).")
    unfollows: int = Field(description="Customers following at the day's start who were not at its end.")
    new_customers: int = Field(description="Customers whose first paid order at the shop this is.")
    repeat_customers: int = Field(description="Customers who came back (a paid order after their first); each "
                                              "counted once a day, so a week or month adds up its days.")
    regulars: int = Field(description="Customers who became regulars (단골), or regulars again.")
    lapsed: int = Field(description="Regulars who have not been back for too long (tier lapsed).")
    store_link_orders: int = Field(description="Paid orders credited to a customer's store link.")
    reward_cost: int = Field(description="The rewards those orders earn their links' owners, in won.")
    subscription_orders: int = Field(description="Paid orders of subscriptions (정기배송).")
    posts: int = Field(description="Posts published (and not deleted since).")


class InsightsOut(Out):
    model_config = ConfigDict(from_attributes=True, defer_build=True, json_schema_serialization_defaults_required=True,
                              validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)

    shop_id: str
    from_: str = Field(alias="from", description="First KST day of the range.")
    to: str = Field(description="Last KST day of the range.")
    granularity: Granularity
    series: list[InsightPoint] = Field(description="Every period of the range, oldest first, zeros where nothing "
                                                   "happened.")
    totals: InsightPoint = Field(description="The whole range (`period`: `total`).")


class PostInsight(Out):
    post_id: str
    created_at: Timestamp
    text: str = Field(description="The post's first 80 characters.")
    photo_url: str | None = Field(description="The first photo, through the media CDN; null without photos.")
    orders: int = Field(description="Paid orders placed from the post (`via_post_id`), cancellations taken back.")
    revenue: int = Field(description="What those orders paid, in won.")
    likes: int
    comments: int
    shares: int


class PostInsightsOut(Out):
    model_config = ConfigDict(from_attributes=True, defer_build=True, json_schema_serialization_defaults_required=True,
                              validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)

    shop_id: str
    from_: str = Field(alias="from")
    to: str
    posts: list[PostInsight] = Field(description="The range's posts, those that brought the most orders first (then "
                                                 "revenue, then newest).")
