"""Shop requests and responses."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from chalicelib.schemas.common import Id, Out, Schema, Timestamp

ShopName = Annotated[str, Field(min_length=1, max_length=60, examples=["망원동 두부가게"])]
Handle = Annotated[
    str,
    AfterValidator(str.lower),
    Field(min_length=3, max_length=30, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.]*[A-Za-z0-9]$",
          description="Unique public handle: letters, digits, '_' and '.'.", examples=["mangwon_tofu"]),
]
Bio = Annotated[str, Field(max_length=500)]
Region = Annotated[str, Field(max_length=60, examples=["서울 마포구 망원동"])]
SubscriptionDiscount = Annotated[int, Field(strict=True, ge=0, le=20, examples=[10],
                                            description="Percent off every subscription (정기배송) order, 0-20.")]


class ShopCreate(Schema):
    name: ShopName
    handle: Handle
    bio: Bio = ""
    region: Region = ""


class ShopUpdate(Schema):
    name: ShopName | None = None
    handle: Handle | None = None
    bio: Bio | None = None
    region: Region | None = None
    subscription_discount_percent: SubscriptionDiscount | None = None


class ShopPublic(Out):
    shop_id: Id
    owner_id: str
    name: str
    handle: str
    bio: str
    region: str
    follower_count: int
    post_count: int
    created_at: Timestamp
    subscription_discount_percent: int = Field(0, description="Percent off every subscription order.")
