"""Following shops: the edge and both counters change together; lists are paged."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from chalicelib.errors import AccountClosed, NotFound, OwnShopFollow, ShopClosed
from chalicelib.records.common import Page
from chalicelib.services.shops import ShopsStore, owned_shop
from chalicelib.records.social import Follow

if TYPE_CHECKING:
    from chalicelib.records.rates import Ticket


class FollowsStore(Protocol):
    def follow(self, edge: Follow, quota: Ticket | None = None) -> str: ...
    def unfollow(self, shop_id: str, user_id: str, quota: Ticket | None = None, now: float = 0.0) -> bool: ...
    def followers(self, shop_id: str, limit: int, start_key: dict | None) -> Page: ...
    def following(self, user_id: str, limit: int, start_key: dict | None) -> Page: ...


def follow(store: FollowsStore, shops: ShopsStore, user_id: str, shop_id: str, now: float,
           quota: Ticket | None = None) -> bool:
    """Follow a shop; following twice changes nothing. ``True`` if this call added the edge.

    The happy path is one transaction (``quota``, the user's rate limit, counted inside it);
    only a refusal reads the shop to say why.
    """
    outcome = store.follow(Follow(shop_id=shop_id, user_id=user_id, created_at=now), quota)
    if outcome == "refused":
        shop = shops.get_shop(shop_id)
        if shop is None:
            raise NotFound("No such shop.")
        if shop.owner_id == user_id:
            raise OwnShopFollow("You cannot follow your own shop.")
        if shop.closed_at is not None:
            raise ShopClosed("This shop has closed; it takes no new orders or followers.")
        raise AccountClosed("Your account no longer exists.")
    return outcome == "followed"


def unfollow(store: FollowsStore, shops: ShopsStore, user_id: str, shop_id: str, quota: Ticket | None = None,
             now: float = 0.0) -> bool:
    """Unfollow; unfollowing a shop you do not follow changes nothing (but an unknown shop is 404)."""
    if store.unfollow(shop_id, user_id, quota, now):
        return True
    if shops.get_shop(shop_id) is None:
        raise NotFound("No such shop.")
    return False


def followers(store: FollowsStore, shops: ShopsStore, user_id: str, shop_id: str, limit: int,
              start_key: dict | None) -> Page:
    """The shop's followers, newest first: the owner's list only."""
    owned_shop(shops, user_id, shop_id)
    return store.followers(shop_id, limit, start_key)


def following(store: FollowsStore, user_id: str, limit: int, start_key: dict | None) -> Page:
    return store.following(user_id, limit, start_key)
