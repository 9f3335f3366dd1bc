"""Coupon requests and responses, and the shop's regular perk (단골 우대)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StrictBool, model_validator
from pydantic_core import PydanticCustomError

from chalicelib.schemas.common import (NOT_BLANK, AmountKind, DateTimeIn, Id, Out, Schema, Timestamp, Trimmed,
                                       WholeNumber, unique)
from chalicelib.schemas.relationships import TierName

CouponName = Annotated[str, Field(min_length=1, max_length=60, pattern=NOT_BLANK, examples=["단골 감사 10% 쿠폰"]),
                       Trimmed]
CouponValue = Annotated[int, Field(strict=True, ge=1, le=1_000_000, examples=[10],
                                   description="percent: 1-100 (of the goods, rounded down); fixed: won off "
                                               "(never more than the goods cost)."), WholeNumber]
MinSubtotal = Annotated[int, Field(strict=True, ge=0, le=100_000_000, examples=[20000],
                                   description="The order's subtotal (before any discount) must reach this (won)."),
                        WholeNumber]
MaxRedemptions = Annotated[int, Field(strict=True, ge=1, le=1_000_000, examples=[100],
                                      description="How many orders in all may use the coupon (a cap that holds "
                                                  "under racing orders)."), WholeNumber]

type RegularPerkKind = Annotated[Literal["percent", "free_shipping"], Field(
    description="`percent`: percent off the goods; `free_shipping`: the delivery fee is waived.")]


class CouponCreate(Schema):
    name: CouponName
    kind: AmountKind
    value: CouponValue
    min_subtotal: MinSubtotal = 0
    starts_at: DateTimeIn | None = Field(None, description="Usable from (ISO 8601 with a time zone; default now; "
                                                              "at most 366 days ahead).")
    ends_at: DateTimeIn = Field(description="Usable until (after `starts_at`, in the future, at most 366 days "
                                                "after the start).")
    max_redemptions: MaxRedemptions


class CouponPublic(Out):
    coupon_id: Id
    shop_id: str
    name: str
    kind: AmountKind
    value: int
    min_subtotal: int
    starts_at: Timestamp
    ends_at: Timestamp
    max_redemptions: int
    redeemed: int = Field(description="Orders that use it now (exact; a cancelled or expired order gives its "
                                      "redemption back).")
    created_at: Timestamp


class HeldCouponPublic(Out):
    """A coupon I hold and can use now."""

    coupon_id: Id
    shop_id: str
    shop_name: str
    name: str
    kind: AmountKind
    value: int
    min_subtotal: int
    starts_at: Timestamp
    ends_at: Timestamp
    granted_at: Timestamp


def _ids(values: list[str] | None) -> list[str] | None:
    return unique(values)


class AudienceIn(Schema):
    """Exactly one of: `user_ids` (the shop's customers among them get it), `tier`, `essential_due`."""

    user_ids: Annotated[list[Id], Field(min_length=1, max_length=100), AfterValidator(_ids)] | None = Field(
        None, description="1-100 user ids, each once; people who are not the shop's customers are counted in "
                          "`not_customers` and get nothing.")
    tier: TierName | None = Field(None, description="422 `audience_not_supported`: a coupon for a segment goes "
                                                    "with a broadcast (`coupon_id`).")
    essential_due: StrictBool | None = Field(None, description="422 `audience_not_supported`: a coupon for a segment "
                                                               "goes with a broadcast (`coupon_id`).")

    @model_validator(mode="after")
    def _exactly_one(self) -> "AudienceIn":
        if sum(value is not None for value in (self.user_ids, self.tier, self.essential_due)) != 1:
            raise PydanticCustomError("one_audience", "give exactly one of user_ids, tier, essential_due")
        return self


class GrantIn(Schema):
    audience: AudienceIn


class GrantOut(Out):
    coupon_id: str
    granted: int = Field(description="Customers who got it now (each is told with a `coupon` notification).")
    already_held: int = Field(description="Customers who held it already (each holds a coupon at most once).")
    not_customers: int = Field(description="Ids of people with no relationship with the shop: given nothing.")


class RegularPerkIn(Schema):
    """단골 우대: for customers whose tier is `regular` when they order."""

    kind: RegularPerkKind
    value: Annotated[int, Field(strict=True, ge=0, le=50, examples=[5]), WholeNumber] = Field(
        0, description="percent: 1-50 off the goods; free_shipping: 0 (or left out), the delivery fee is waived.")


class RegularPerkOut(Out):
    kind: RegularPerkKind
    value: int
