"""Orders: place (idempotent), read, list, move through the lifecycle, reorder, review."""

from __future__ import annotations

import re

from chalice import Blueprint, Response

from chalicelib.api.auth import bearer
from chalicelib.api.edge import JSON, Ctx, Router
from chalicelib.api.paging import page_out, start_key
from chalicelib.api.spec import Header
from chalicelib.errors import (AccountClosed, AlreadyReviewed, Forbidden, IdempotencyKeyInvalid, IdempotencyKeyMissing,
                               IdempotencyKeyReused, IllegalTransition, Invalid, OrderChanged, OrderNotDelivered,
                               OutOfStock, OwnShopOrder, StaleCatalog)
from chalicelib.schemas.common import ListQuery, Page
from chalicelib.schemas.orders import (OrderCreate, OrderListQuery, OrderPublic, OrderStatusIn, ReviewCreate,
                                       ReviewPublic)
from chalicelib.services import orders, reviews

orders_blueprint = Blueprint(__name__)
route = Router(orders_blueprint, "orders", bearer)

IDEMPOTENCY_HEADER = Header(
    "Idempotency-Key", True,
    "A key you choose per purchase (a UUID is ideal; 1-255 visible ASCII characters). Retrying with the same "
    "key and body returns the first order (with `Idempotent-Replayed: true`); another body → 409 "
    "`idempotency_key_reused`. Missing → 400 `idempotency_key_missing`; malformed → 400 `idempotency_key_invalid`.",
    {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]+$"})
CREATED_HEADERS = (
    Header("Location", True, "The new order's path, `/orders/{order_id}`."),
    Header("Idempotent-Replayed", False, "`true` when this is the first answer to the same key, replayed.",
           {"type": "string", "enum": ["true"]}),
)
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
# What placing an order (or a reorder) can refuse beyond its input.
_PLACING = (OwnShopOrder, IdempotencyKeyMissing, IdempotencyKeyInvalid, IdempotencyKeyReused,
            OutOfStock, StaleCatalog)


def idempotency_key(ctx: Ctx) -> str:
    key = (ctx.header("Idempotency-Key") or "").strip()
    if not key:
        raise IdempotencyKeyMissing("This request needs an Idempotency-Key header (e.g. a UUID), so a retry "
                                    "cannot buy twice.")
    if not _KEY.match(key):
        raise IdempotencyKeyInvalid("The Idempotency-Key must be 1-255 visible ASCII characters.")
    return key


def _created(order, replayed: bool) -> Response:
    """201 with the order; a replayed answer says so (the body is the first answer's)."""
    headers = {"Content-Type": JSON, "Location": f"/orders/{order.order_id}"}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(body=OrderPublic.model_validate(order).model_dump_json(), status_code=201, headers=headers)


def _order(order) -> dict:
    return OrderPublic.model_validate(order).model_dump()


@route.route("POST", "/orders", status=201, body=OrderCreate, response=OrderPublic, errors=_PLACING,
             headers=(IDEMPOTENCY_HEADER,), response_headers=CREATED_HEADERS, limit="order",
             summary="Buy products of one shop (stock-checked, idempotent); 409 names what ran out",
             description="Prices are read on the server; a price sent with an item is ignored. Through a "
                         "store link (`via_store_link`, or the link the buyer last visited signed in, for 14 days) "
                         "the link's owner earns the shop's reward, or the buyer gets it as `discount` when the "
                         "owner gives it away; an unknown code or another shop's link is a 422.")
def place_order(ctx: Ctx, body: OrderCreate) -> Response:
    key = idempotency_key(ctx)
    order, replayed = orders.place_order(ctx.deps.orders, ctx.user, shop_id=body.shop_id,
                                         lines=[(line.product_id, line.quantity) for line in body.items],
                                         via_post_id=body.via_post_id, key=key, now=ctx.now,
                                         via_store_link=body.via_store_link, quota=ctx.quota)
    return _created(order, replayed)


@route.route("GET", "/orders/{order_id}", response=OrderPublic, etag=True,
             summary="An order (its buyer and its shop's owner only; anyone else gets 404)")
def get_order(ctx: Ctx, order_id: str) -> OrderPublic:
    return OrderPublic.model_validate(orders.get_order(ctx.deps.orders, ctx.user, order_id))


@route.route("GET", "/me/orders", query=ListQuery, response=Page[OrderPublic], summary="My orders, newest first")
def list_my_orders(ctx: Ctx, query: ListQuery) -> dict:
    scope = f"my-orders:{ctx.user}"
    page = orders.list_my_orders(ctx.deps.orders, ctx.user, start_key(ctx, query.cursor, scope), query.limit)
    return page_out(ctx, page, scope, _order)


@route.route("GET", "/shops/{shop_id}/orders", query=OrderListQuery, response=Page[OrderPublic], errors=(Forbidden,),
             summary="The shop's orders, newest first, optionally in one status (owner only)")
def list_shop_orders(ctx: Ctx, shop_id: str, query: OrderListQuery) -> dict:
    scope = f"shop-orders:{shop_id}:{query.status or '*'}"
    page = orders.list_shop_orders(ctx.deps.shops, ctx.deps.orders, ctx.user, shop_id, query.status,
                                   start_key(ctx, query.cursor, scope), query.limit)
    return page_out(ctx, page, scope, _order)


@route.route("POST", "/orders/{order_id}/status", body=OrderStatusIn, response=OrderPublic,
             errors=(Forbidden, IllegalTransition, OrderChanged),
             summary="Move an order: paid → shipped → delivered (owner), or cancel it (stock returns)",
             description="The buyer may cancel before payment, the owner before shipping. An illegal move, "
                         "or one that lost a race with another move, is a 409.")
def change_order_status(ctx: Ctx, order_id: str, body: OrderStatusIn) -> OrderPublic:
    order = orders.change_status(ctx.deps.orders, ctx.user, order_id, body.status, ctx.now)
    return OrderPublic.model_validate(order)


@route.route("POST", "/orders/{order_id}/reorder", status=201, response=OrderPublic, errors=(*_PLACING, Forbidden, Invalid),
             headers=(IDEMPOTENCY_HEADER,), response_headers=CREATED_HEADERS, limit="order",
             summary="Order the same items again at today's prices (buyer only; stock-checked, idempotent)")
def reorder(ctx: Ctx, order_id: str) -> Response:
    order, replayed = orders.reorder(ctx.deps.orders, ctx.user, order_id, key=idempotency_key(ctx), now=ctx.now,
                                     quota=ctx.quota)
    return _created(order, replayed)


@route.route("POST", "/orders/{order_id}/review", status=201, body=ReviewCreate, response=ReviewPublic,
             errors=(Forbidden, OrderNotDelivered, AlreadyReviewed, AccountClosed), summary="Review a delivered order (its buyer, once)")
def review_order(ctx: Ctx, order_id: str, body: ReviewCreate) -> ReviewPublic:
    review = reviews.review_order(ctx.deps.orders, ctx.deps.reviews, ctx.deps.accounts, ctx.user, order_id,
                                  rating=body.rating, text=body.text, now=ctx.now)
    return ReviewPublic.model_validate(review)
