"""Shop requests and responses."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from chalicelib.messages import describe_pattern
from chalicelib.schemas.common import NOT_BLANK, Id, Out, Schema, Timestamp, Trimmed, WholeNumber
from chalicelib.schemas.store_links import RewardSettingIn, RewardSettingOut

ShopName = Annotated[str, Field(min_length=1, max_length=60, pattern=NOT_BLANK, examples=["망원동 두부가게"]), Trimmed]
# The constraints come before the lower-casing so that they are what the document declares.
Handle = Annotated[
    str,
    Field(min_length=3, max_length=30,
          pattern=describe_pattern(r"^[A-Za-z0-9][A-Za-z0-9_.]*[A-Za-z0-9]$",
                                   "a handle of letters, digits, '_' and '.', starting and ending with a letter "
                                   "or digit",
                                   "영문자, 숫자, '_', '.'로 된 핸들(처음과 끝은 영문자나 숫자)"),
          description="Unique public handle: letters, digits, '_' and '.'; stored in lower case.",
          examples=["mangwon_tofu"]),
    AfterValidator(str.lower),
]
Bio = Annotated[str, Field(max_length=500), Trimmed]
Region = Annotated[str, Field(max_length=60, examples=["서울 마포구 망원동"]), Trimmed]
SubscriptionDiscount = Annotated[int, Field(strict=True, ge=0, le=20, examples=[10],
                                            description="Percent off every subscription (정기배송) order, 0-20."),
                                 WholeNumber]


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
    referral_reward: RewardSettingIn | None = Field(
        None, description="What an order through a customer's store link earns them; null for none.")


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
    referral_reward: RewardSettingOut | None = Field(None, description="The store-link reward; null for none.")
