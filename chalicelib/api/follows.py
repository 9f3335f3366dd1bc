"""Following shops: follow, unfollow, a shop's followers (owner), the shops I follow.

Services are imported inside the views: the Lambda's cold start registers every route,
and only the route being called needs its domain code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint

from chalicelib.api.edge import Ctx, Router
from chalicelib.api.spec import lazy_models
from chalicelib.api.paging import page_out, start_key
from chalicelib.errors import AccountClosed, Forbidden, OwnShopFollow, ShopClosed

if TYPE_CHECKING:
    from chalicelib.schemas.common import ListQuery, Page
    from chalicelib.schemas.follows import FollowedShop, FollowerPublic, FollowOut
else:  # pydantic models, imported on the first request that needs them
    ListQuery, Page = lazy_models("chalicelib.schemas.common", "ListQuery", "Page")
    (FollowedShop, FollowerPublic, FollowOut) = lazy_models(
        "chalicelib.schemas.follows", "FollowedShop", "FollowerPublic", "FollowOut")

follows_blueprint = Blueprint(__name__)
route = Router(follows_blueprint, "follows")


@route.route("PUT", "/shops/{shop_id}/follow", response=FollowOut, errors=(OwnShopFollow, AccountClosed, ShopClosed),
             limit="follow",
             summary="Follow a shop (idempotent: following twice changes nothing)")
def follow_shop(ctx: Ctx, shop_id: str) -> FollowOut:
    from chalicelib.services import follows

    follows.follow(ctx.deps.follows, ctx.deps.shops, ctx.user, shop_id, ctx.now, ctx.quota)
    return FollowOut(shop_id=shop_id, following=True)


@route.route("DELETE", "/shops/{shop_id}/follow", status=204, limit="follow", summary="Unfollow a shop (idempotent)")
def unfollow_shop(ctx: Ctx, shop_id: str) -> None:
    from chalicelib.services import follows

    follows.unfollow(ctx.deps.follows, ctx.deps.shops, ctx.user, shop_id, ctx.quota, ctx.now)


@route.route("GET", "/shops/{shop_id}/followers", query=ListQuery, response=Page[FollowerPublic], errors=(Forbidden,),
             summary="The shop's followers, newest first (owner only)")
def list_shop_followers(ctx: Ctx, shop_id: str, query: ListQuery) -> dict:
    from chalicelib.services import follows

    scope = f"followers:{shop_id}:{ctx.user}"
    page = follows.followers(ctx.deps.follows, ctx.deps.shops, ctx.user, shop_id, query.limit,
                             start_key(ctx, query.cursor, scope))
    return page_out(ctx, page, scope)


@route.route("GET", "/me/following", query=ListQuery, response=Page[FollowedShop],
             summary="The shops I follow, most recently followed first")
def list_my_followed_shops(ctx: Ctx, query: ListQuery) -> dict:
    from chalicelib.services import follows

    scope = f"following:{ctx.user}"
    page = follows.following(ctx.deps.follows, ctx.user, query.limit, start_key(ctx, query.cursor, scope))
    from chalicelib.api.shops import shop_fields

    return page_out(ctx, page, scope, lambda row: {**shop_fields(row[0]), "followed_at": row[1]})
