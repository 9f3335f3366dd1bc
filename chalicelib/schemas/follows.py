"""Follow requests and responses."""

from __future__ import annotations

from chalicelib.schemas.common import Id, Out, Timestamp
from chalicelib.schemas.shops import ShopPublic


class FollowOut(Out):
    shop_id: Id
    following: bool


class FollowerPublic(Out):
    """A follower as the shop's owner sees them: no e-mail or phone."""

    user_id: Id
    name: str
    followed_at: Timestamp


class FollowedShop(ShopPublic):
    followed_at: Timestamp
