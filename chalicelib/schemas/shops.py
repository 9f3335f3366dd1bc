"""Shop requests and responses."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from chalicelib.schemas.common import Id, Out, Schema, Timestamp
from chalicelib.schemas.store_links import RewardSettingIn, RewardSettingOut

ShopName = Annotated[str, Field(min_length=1, max_length=60, examples=["망원동 두부가게"])]
Handle = Annotated[
    str,
    AfterValidator(str.lower),
    Field(min_length=3, max_length=30, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.]*[A-Za-z0-9]$",
          description="Unique public handle: letters, digits, '_' and '.'.", examples=["mangwon_tofu"]),
]
Bio = Annotated[str, Field(max_length=500)]
Region = Annotated[str, Field(max_length=60, examples=["서울 마포구 망원동"])]


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
    referral_reward: RewardSettingOut | None = Field(None, description="The store-link reward; null for none.")
