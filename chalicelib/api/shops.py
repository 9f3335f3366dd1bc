"""Shops: open, read, edit; the owner's checkout settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint

from chalicelib.api.edge import Ctx, Router
from chalicelib.api.spec import lazy_models
from chalicelib.errors import AccountClosed, Forbidden, HandleTaken, ShopAlreadyOpen, Unauthorized, UnknownRegion

if TYPE_CHECKING:
    from chalicelib.records.accounts import Shop
    from chalicelib.schemas.shops import ShopCheckoutSettings, ShopCreate, ShopPublic, ShopUpdate, ShopView
else:  # pydantic models, imported on the first request that needs them
    (ShopCheckoutSettings, ShopCreate, ShopPublic, ShopUpdate, ShopView) = lazy_models(
        "chalicelib.schemas.shops", "ShopCheckoutSettings", "ShopCreate", "ShopPublic", "ShopUpdate", "ShopView")

shops_blueprint = Blueprint(__name__)
route = Router(shops_blueprint, "shops")


def shop_fields(shop: Shop) -> dict:
    """The public shop's fields: how it hands orders over (its default when never set) and how
    it can be paid, never its bank account (a buyer paying by transfer sees it on their order)."""
    from chalicelib.services import fulfilment

    return {**vars(shop), "fulfilment": fulfilment.settings_of(shop), "payment_methods": fulfilment.payment_methods(shop)}


def shop_out(shop: Shop) -> ShopPublic:
    return ShopPublic.model_validate(shop_fields(shop))


def shop_view(shop: Shop, following: bool) -> ShopView:
    return ShopView.model_validate({**shop_fields(shop), "following": following})


def viewer(ctx: Ctx) -> str | None:
    """Who is asking on a route anyone may call: the signed-in user, or None (no token)."""
    from chalicelib.api.store_links import optional_user

    return ctx.user_id if ctx.user_id is not None else optional_user(ctx)


@route.route("POST", "/shops", status=201, body=ShopCreate, response=ShopView,
             errors=(HandleTaken, ShopAlreadyOpen, UnknownRegion),
             summary="Open the user's shop (one per account; the handle must be free)")
def open_shop(ctx: Ctx, body: ShopCreate) -> ShopView:
    from chalicelib.services import shops

    shop = shops.open_shop(ctx.deps.shops, ctx.user, name=body.name, handle=body.handle, bio=body.bio,
                           region=body.region, now=ctx.now)
    return shop_view(shop, False)  # as the owner's GET shows it: nobody follows their own shop


@route.route("GET", "/shops/{shop_id}", auth=False, response=ShopView, etag=True, errors=(Unauthorized, AccountClosed),
             summary="A shop's public profile; with a bearer token also whether I follow it",
             description="With a bearer token, `following` says whether the caller follows the shop (the shop "
                         "and the follow are one read); without one it is false. A token that is sent must be "
                         "valid (401 otherwise).")
def get_shop(ctx: Ctx, shop_id: str) -> ShopView:
    from chalicelib.services import discovery

    shop, following = discovery.shop_for(ctx.deps.discovery, shop_id, viewer(ctx), ctx.deps.shops.get_shop)
    return shop_view(shop, following)


@route.route("PATCH", "/shops/{shop_id}", body=ShopUpdate, response=ShopView,
             errors=(Forbidden, HandleTaken, UnknownRegion),
             etag=True, current=get_shop,
             summary="Edit the shop (owner only); also sets the store-link reward (null: none), delivery and pickup, "
                     "the bank account for transfers (null: none) and the regulars' perk (null: none)")
def update_shop(ctx: Ctx, shop_id: str, body: ShopUpdate) -> ShopView:
    from chalicelib.services import shops

    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    for nullable in ("referral_reward", "bank_account", "regular_perk"):  # null is a value here: none
        if nullable in body.model_fields_set:
            changes[nullable] = changes.get(nullable)
    # The owner cannot follow their own shop: ``following`` is false, as their GET says.
    return shop_view(shops.edit_shop(ctx.deps.shops, ctx.user, shop_id, changes, ctx.now), False)


@route.route("GET", "/shops/{shop_id}/checkout-settings", response=ShopCheckoutSettings, errors=(Forbidden,),
             summary="How the shop hands orders over and is paid, bank account included (owner only)")
def get_shop_checkout_settings(ctx: Ctx, shop_id: str) -> ShopCheckoutSettings:
    from chalicelib.services import fulfilment, shops

    shop = shops.owned_shop(ctx.deps.shops, ctx.user, shop_id)
    return ShopCheckoutSettings.model_validate({
        "fulfilment": fulfilment.settings_of(shop), "fulfilment_set": shop.fulfilment is not None,
        "bank_account": shop.bank_account, "bank_transfer_hours": shop.bank_transfer_hours,
        "payment_methods": fulfilment.payment_methods(shop)})
