"""The one-person store: my store links, a link's public landing and visits, my rewards, and a
shop's referrals.

The service is imported inside the views (cold start: see ``chalicelib.api.follows``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint, Response

from chalicelib.api.edge import Ctx, Router
from chalicelib.api.spec import lazy_models
from chalicelib.api.paging import page_out, start_key
from chalicelib.errors import AccountClosed, Forbidden, Unauthorized

if TYPE_CHECKING:
    from chalicelib.schemas.common import ListQuery, Page
    from chalicelib.schemas.store_links import (
        ReferralOut, RewardsPage, StoreLinkLanding, StoreLinkPublic, StoreLinkUpdate, VisitIn, VisitOut,
    )
else:  # pydantic models, imported on the first request that needs them
    ListQuery, Page = lazy_models("chalicelib.schemas.common", "ListQuery", "Page")
    (ReferralOut, RewardsPage, StoreLinkLanding, StoreLinkPublic, StoreLinkUpdate, VisitIn, VisitOut) = lazy_models(
        "chalicelib.schemas.store_links", "ReferralOut", "RewardsPage", "StoreLinkLanding", "StoreLinkPublic",
        "StoreLinkUpdate", "VisitIn", "VisitOut")

if TYPE_CHECKING:
    from chalicelib.records.store_links import Landing, StoreLink

store_links_blueprint = Blueprint(__name__)
route = Router(store_links_blueprint, "store links")


def link_url(ctx: Ctx, code: str) -> str:
    from chalicelib.services.store_links import link_url as url

    return url(ctx.deps.settings.public_base_url, code)


def link_out(ctx: Ctx, link: StoreLink) -> StoreLinkPublic:
    url = link_url(ctx, link.code)
    return StoreLinkPublic.model_validate({**link.__dict__, "url": url})


def landing_out(ctx: Ctx, page: Landing) -> StoreLinkLanding:
    media = ctx.deps.media
    return StoreLinkLanding.model_validate({
        **page.__dict__, "url": link_url(ctx, page.code),
        "shop": {"shop_id": page.shop_id, "name": page.shop_name, "handle": page.shop_handle,
                 "region": page.shop_region},
        "products": [{**p.__dict__, "photo_url": media.url(p.photo) if p.photo else None} for p in page.products],
    })


def optional_user(ctx: Ctx) -> str | None:
    """The signed-in user on a route that also serves anonymous callers. A token that is sent
    must be valid and alive (401 otherwise, as on the signed-in routes: logged out, ended by a
    password change, or its account closed): the caller believes they are signed in."""
    from chalicelib.services.accounts import check_token

    header = (ctx.header("Authorization") or "").strip()
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Use 'Authorization: Bearer <token>', or send no Authorization header.")
    return check_token(ctx.deps.accounts, ctx.deps.tokens.verify(token.strip(), ctx.now)).user_id


@route.route("GET", "/me/store-links", query=ListQuery, response=Page[StoreLinkPublic],
             summary="My store links, one per shop I bought from, with visits, orders and rewards",
             description="A link is issued by my first order from a shop (a moment after it is placed).")
def list_my_store_links(ctx: Ctx, query: ListQuery) -> dict:
    from chalicelib.services import store_links

    scope = f"my-store-links:{ctx.user}"
    page = store_links.my_links(ctx.deps.store_links, ctx.user, start_key(ctx, query.cursor, scope), query.limit)
    return page_out(ctx, page, scope, lambda link: link_out(ctx, link))


@route.route("PATCH", "/me/store-links/{code}", body=StoreLinkUpdate, response=StoreLinkPublic, errors=(Forbidden,),
             summary="Give my reward to the friend as a discount, or keep it (the link's owner)")
def update_my_store_link(ctx: Ctx, code: str, body: StoreLinkUpdate) -> StoreLinkPublic:
    from chalicelib.services import store_links

    link = store_links.set_give_reward(ctx.deps.store_links, ctx.user, code, body.give_reward_to_friend)
    return link_out(ctx, link)


@route.route("GET", "/store-links/{code}", auth=False, response=StoreLinkLanding,
             summary="A store link's public page: whose store, which shop, what they bought and recommend")
def get_store_link_landing(ctx: Ctx, code: str) -> StoreLinkLanding:
    from chalicelib.services import store_links

    return landing_out(ctx, store_links.landing(ctx.deps.store_links, code))


@route.route("POST", "/store-links/{code}/visits", body=VisitIn, response=VisitOut, auth=False, limit="visit",
             errors=(Unauthorized, AccountClosed),
             summary="Count a visit of a link; signed in, remember it for my next order from the shop; "
                     "anonymous, keep it for my visitor id",
             description="Visits are counted once per visitor, link and UTC day (signed in: the account; "
                         "otherwise the client's network address, whatever its User-Agent). With a bearer token the link is "
                         "remembered for 14 days, so my next order from that shop is credited to it without "
                         "`via_store_link` (the first link wins). Without one the answer carries a "
                         "`visitor_id` (also set as the `dongne_visitor` cookie): signing up or logging in "
                         "with it within 14 days binds the visit to that account, with the same effect. A "
                         "token that is sent must be valid.")
def add_store_link_visit(ctx: Ctx, code: str, body: VisitIn) -> Response:
    from chalicelib.api.pages import anonymous_key, visitor_cookie, visitor_from_cookie
    from chalicelib.services import store_links

    user_id = optional_user(ctx)
    if user_id is not None:
        visitor = store_links.visitor_key(user_id, "", ctx.deps.settings.secret_key)
        store_links.visit(ctx.deps.store_links, code, user_id, visitor, ctx.now)
        return _json(VisitOut(visitor_id=None))
    secret = ctx.deps.visitor_secret
    visitor_id = (store_links.valid_visitor_id(body.visitor_id, secret) or visitor_from_cookie(ctx)
                  or store_links.new_visitor_id(secret))
    store_links.visit(ctx.deps.store_links, code, None, anonymous_key(ctx), ctx.now, visitor_id)
    response = _json(VisitOut(visitor_id=visitor_id))
    response.headers["Set-Cookie"] = visitor_cookie(ctx, visitor_id)
    return response


def _json(out: VisitOut) -> Response:
    return Response(body=out.model_dump_json(), status_code=200, headers={"Content-Type": "application/json"})


@route.route("GET", "/me/rewards", query=ListQuery, response=RewardsPage,
             summary="My reward ledger: confirmed balance, pending apart, entries newest first")
def list_my_rewards(ctx: Ctx, query: ListQuery) -> dict:
    from chalicelib.services import store_links

    scope = f"my-rewards:{ctx.user}"
    summary, page = store_links.my_rewards(ctx.deps.store_links, ctx.user, start_key(ctx, query.cursor, scope),
                                           query.limit)
    return {**page_out(ctx, page, scope), "balance": summary.balance, "pending": summary.pending}


@route.route("GET", "/shops/{shop_id}/referrals", query=ListQuery, response=Page[ReferralOut], errors=(Forbidden,),
             summary="Which store links brought which orders, with reward and status (owner only)")
def list_shop_referrals(ctx: Ctx, shop_id: str, query: ListQuery) -> dict:
    from chalicelib.services import store_links

    scope = f"referrals:{shop_id}"
    page = store_links.shop_referrals(ctx.deps.shops, ctx.deps.store_links, ctx.user, shop_id,
                                      start_key(ctx, query.cursor, scope), query.limit)
    return page_out(ctx, page, scope, lambda row: ReferralOut.model_validate(row))
