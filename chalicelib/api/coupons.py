"""Coupons: a shop's owner creates and lists them and gives them to customers; a customer lists
the coupons they can use now (an order uses one through ``POST /orders`` ``coupon_id``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint

from chalicelib.api.edge import Ctx, Router, take_quota
from chalicelib.api.spec import lazy_models
from chalicelib.api.paging import page_out, start_key
from chalicelib.errors import AudienceNotSupported, CouponEnded, Forbidden

if TYPE_CHECKING:
    from chalicelib.records.coupons import Coupon, Holding
    from chalicelib.schemas.common import ListQuery, Page
    from chalicelib.schemas.coupons import CouponCreate, CouponPublic, GrantIn, GrantOut, HeldCouponPublic
else:  # pydantic models, imported on the first request that needs them
    ListQuery, Page = lazy_models("chalicelib.schemas.common", "ListQuery", "Page")
    (CouponCreate, CouponPublic, GrantIn, GrantOut, HeldCouponPublic) = lazy_models(
        "chalicelib.schemas.coupons", "CouponCreate", "CouponPublic", "GrantIn", "GrantOut", "HeldCouponPublic")

coupons_blueprint = Blueprint(__name__)
route = Router(coupons_blueprint, "coupons")


def coupon_out(coupon: Coupon) -> dict:
    return CouponPublic.model_validate(coupon).model_dump()


def held_out(holding: Holding) -> dict:
    return HeldCouponPublic.model_validate({**vars(holding.coupon), "granted_at": holding.granted_at}).model_dump()


@route.route("POST", "/shops/{shop_id}/coupons", status=201, body=CouponCreate, response=CouponPublic,
             errors=(Forbidden,), limit="coupon", summary="Create a coupon of the shop (owner only)",
             description="`percent` (1-100) or `fixed` (won) off the goods, from `starts_at` (default now) until "
                         "`ends_at`, on orders whose subtotal reaches `min_subtotal`, at most `max_redemptions` "
                         "times in all. Give it to customers with `POST .../grants`.")
def create_coupon(ctx: Ctx, shop_id: str, body: CouponCreate) -> dict:
    from chalicelib.services import coupons

    take_quota(ctx)
    coupon = coupons.create_coupon(
        ctx.deps.shops, ctx.deps.coupons, ctx.user, shop_id, name=body.name, kind=body.kind, value=body.value,
        min_subtotal=body.min_subtotal, starts_at=body.starts_at.timestamp() if body.starts_at else None,
        ends_at=body.ends_at.timestamp(), max_redemptions=body.max_redemptions, now=ctx.now)
    return coupon_out(coupon)


@route.route("GET", "/shops/{shop_id}/coupons", query=ListQuery, response=Page[CouponPublic], errors=(Forbidden,),
             summary="The shop's coupons, newest first, with how many orders use each (owner only)")
def list_shop_coupons(ctx: Ctx, shop_id: str, query: ListQuery) -> dict:
    from chalicelib.services import coupons

    scope = f"shop-coupons:{shop_id}"
    page = coupons.shop_coupons(ctx.deps.shops, ctx.deps.coupons, ctx.user, shop_id,
                                start_key(ctx, query.cursor, scope), query.limit)
    return page_out(ctx, page, scope, coupon_out)


@route.route("POST", "/shops/{shop_id}/coupons/{coupon_id}/grants", status=202, body=GrantIn, response=GrantOut,
             errors=(Forbidden, CouponEnded, AudienceNotSupported), limit="coupon_grant",
             summary="Give the coupon to customers (owner only); each holds it at most once",
             description="`{audience: {user_ids: [...]}}` (1-100 ids): each of them who is the shop's customer gets "
                         "it once, with a `coupon` notification; the others are counted in `not_customers`. "
                         "Audiences by `tier` or `essential_due` → 422 `audience_not_supported`: a coupon for a "
                         "segment goes with the shop's words, `POST /shops/{shop_id}/broadcasts` with `coupon_id` "
                         "(each recipient holds it once; advertising rules apply). An ended "
                         "coupon → 409 `coupon_ended`.")
def grant_coupon(ctx: Ctx, shop_id: str, coupon_id: str, body: GrantIn) -> dict:
    from chalicelib.services import coupons

    if body.audience.user_ids is None:
        raise AudienceNotSupported("A coupon for a segment goes with a message: send a broadcast with coupon_id.")
    take_quota(ctx)
    report = coupons.grant_to_people(ctx.deps.shops, ctx.deps.coupons, ctx.deps.relationships, ctx.user, shop_id,
                                     coupon_id, body.audience.user_ids, ctx.now)
    return {"coupon_id": coupon_id, **vars(report)}


@route.route("GET", "/me/coupons", query=ListQuery, response=Page[HeldCouponPublic],
             summary="The coupons I hold and can use now, soonest ending first",
             description="Not used (a coupon used by an order comes back if that order is cancelled or expires), "
                         "started and not ended. One whose shop-wide redemptions ran out still shows until it ends; "
                         "ordering with it answers 409 `coupon_exhausted`.")
def list_my_coupons(ctx: Ctx, query: ListQuery) -> dict:
    from chalicelib.services import coupons

    scope = f"my-coupons:{ctx.user}"
    page = coupons.my_coupons(ctx.deps.coupons, ctx.user, ctx.now, start_key(ctx, query.cursor, scope), query.limit)
    return page_out(ctx, page, scope, held_out)
