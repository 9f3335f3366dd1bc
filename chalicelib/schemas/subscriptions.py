"""Essentials requests and responses: subscriptions (정기배송) and my reorders."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, StrictBool, field_validator

from chalicelib.schemas.common import DateTimeIn, Id, ListQuery, Out, Schema, Timestamp, WholeNumber, not_null
from chalicelib.schemas.orders import Quantity


class SubscriptionStatus(StrEnum):
    """`active` places an order every period; `paused` lets periods pass; `cancelled` is final."""

    active = "active"
    paused = "paused"
    cancelled = "cancelled"


class PeriodOutcome(StrEnum):
    """What became of a period: ordered; skipped by the subscriber; skipped because the stock ran out
    or the shop or a product is gone (nothing charged, both sides told); skipped because the saved
    card's charge failed (the order cancelled, nothing charged, both sides told)."""

    ordered = "ordered"
    skipped = "skipped"
    out_of_stock = "out_of_stock"
    unavailable = "unavailable"
    payment_failed = "payment_failed"


EveryDays = Annotated[int, Field(strict=True, ge=7, le=90, description="Days between orders, 7..90.", examples=[14]),
                      WholeNumber]


class SubscriptionLineIn(Schema):
    product_id: Id
    quantity: Quantity


class SubscriptionCreate(Schema):
    shop_id: Id
    items: list[SubscriptionLineIn] = Field(min_length=1, max_length=100,
                                            description="Essentials of the shop only (a treat → 422); lines "
                                                        "naming the same product are merged; at most 40 products.")
    every_days: EveryDays
    first_order_at: DateTimeIn | None = Field(
        None, description="When the first order is placed (ISO 8601 with a time zone; now to 90 days ahead). "
                          "Default: now, placed within minutes by the subscription job.")


class SubscriptionUpdate(Schema):
    """Pause (``paused``), resume (``active``), cancel (``cancelled``, final), change the interval
    (from the order after the next), or skip the next order (``skip_next: true``, best with
    ``skip_period``: the period the app showed). Fields left out keep their value; none may be
    null. Sending the same change again changes nothing."""

    # Optional but not nullable: the None default only means "not sent" (see not_null).
    status: SubscriptionStatus = None  # type: ignore[assignment]
    every_days: EveryDays = None  # type: ignore[assignment]
    skip_next: StrictBool = Field(  # type: ignore[assignment]
        None, description="true: the next order is not placed (the period named by `skip_period`, or else the "
                          "period ahead when the request is read).")
    skip_period: Annotated[int, Field(strict=True, ge=1, le=100_000, examples=[3]), WholeNumber] = Field(
        None, description="The period this skip is for: the subscription's `period` as the app showed it. "
                          "Implies `skip_next: true`. That period is skipped once, however often the tap is "
                          "sent; if it was ordered meanwhile → 409 `subscription_period_passed`, and the period "
                          "after it is never skipped in its place.")  # type: ignore[assignment]

    _not_null = field_validator("status", "every_days", "skip_next", "skip_period", mode="before")(not_null)


class SubscriptionListQuery(ListQuery):
    status: SubscriptionStatus | None = Field(None, description="Only subscriptions in this status.")


class SubscriptionLineOut(Out):
    product_id: str
    name: str
    quantity: int
    price: int = Field(description="The price the subscriber was last told (won); an order is charged this or "
                                   "the day's price, whichever is lower.")
    line_total: int


class PeriodOut(Out):
    period: int
    outcome: PeriodOutcome
    due_at: Timestamp
    at: Timestamp
    order_id: str | None
    detail: str


class SubscriptionPublic(Out):
    subscription_id: Id
    shop_id: str
    shop_name: str
    subscriber_id: str
    subscriber_name: str
    items: list[SubscriptionLineOut]
    every_days: int
    status: SubscriptionStatus
    period: int = Field(description="The number of the next order (1 for the first).")
    next_order_at: Timestamp
    discount_percent: int = Field(description="The shop's subscription discount the next order gets.")
    subtotal: int = Field(description="The next order at the quoted prices (won).")
    discount: int
    total: int
    currency: str
    last_order_id: str | None
    history: list[PeriodOut] = Field(description="The latest periods, oldest first.")
    created_at: Timestamp
    updated_at: Timestamp


class ReorderPublic(Out):
    """An essential due or overdue: ``POST /orders/{last_order_id}/reorder`` buys it again."""

    product_id: str
    shop_id: str
    shop_name: str
    name: str
    reorder_days: int = Field(description="Days one purchase lasts.")
    last_bought_at: Timestamp
    due_at: Timestamp
    overdue_days: float
    last_order_id: str
