"""Shops: open, read, edit."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.auth import bearer
from chalicelib.api.edge import Ctx, Router
from chalicelib.errors import Forbidden, HandleTaken, ShopAlreadyOpen
from chalicelib.schemas.shops import ShopCreate, ShopPublic, ShopUpdate
from chalicelib.services import shops

shops_blueprint = Blueprint(__name__)
route = Router(shops_blueprint, "shops", bearer)


@route.route("POST", "/shops", status=201, body=ShopCreate, response=ShopPublic, errors=(HandleTaken, ShopAlreadyOpen),
             summary="Open the user's shop (one per account; the handle must be free)")
def open_shop(ctx: Ctx, body: ShopCreate) -> ShopPublic:
    shop = shops.open_shop(ctx.deps.shops, ctx.user, name=body.name, handle=body.handle, bio=body.bio,
                           region=body.region, now=ctx.now)
    return ShopPublic.model_validate(shop)


@route.route("GET", "/shops/{shop_id}", auth=False, response=ShopPublic, etag=True, summary="A shop's public profile")
def get_shop(ctx: Ctx, shop_id: str) -> ShopPublic:
    return ShopPublic.model_validate(shops.get_shop(ctx.deps.shops, shop_id))


@route.route("PATCH", "/shops/{shop_id}", body=ShopUpdate, response=ShopPublic, errors=(Forbidden, HandleTaken),
             etag=True, current=get_shop,
             summary="Edit the shop (owner only); also sets the store-link reward (null: none)")
def update_shop(ctx: Ctx, shop_id: str, body: ShopUpdate) -> ShopPublic:
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    if "referral_reward" in body.model_fields_set:  # null is a value here: no reward
        changes["referral_reward"] = changes.get("referral_reward")
    return ShopPublic.model_validate(shops.edit_shop(ctx.deps.shops, ctx.user, shop_id, changes, ctx.now))
