"""Orders: place (idempotent), read, list, move through the lifecycle, reorder, review."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from chalice import Blueprint, Response

from chalicelib.api.edge import JSON, Ctx, Router, take_quota
from chalicelib.api.paging import page_out, start_key
from chalicelib.api.spec import Header, lazy_models
from chalicelib.errors import (AccountClosed, AlreadyReviewed, Blocked, CouponExhausted, CouponNotApplicable, Forbidden,
                               IdempotencyKeyInvalid, IdempotencyKeyMissing, IdempotencyKeyReused, IllegalTransition,
                               Invalid, OrderChanged, OrderNotDelivered, OutOfStock, OwnShopOrder, PaymentExpired,
                               PaymentIncomplete, PaymentMismatch, PriceChanged, ShopClosed, StaleCatalog, Unavailable, FulfilmentUnavailable, AddressRequired)

if TYPE_CHECKING:
    from chalicelib.schemas.common import ListQuery, Page
    from chalicelib.schemas.orders import (
        OrderCreate, OrderListQuery, OrderPublic, OrderStatusIn, PaymentIn, ReviewCreate, ReviewPublic,
    )
else:  # pydantic models, imported on the first request that needs them
    ListQuery, Page = lazy_models("chalicelib.schemas.common", "ListQuery", "Page")
    (OrderCreate, OrderListQuery, OrderPublic, OrderStatusIn, PaymentIn, ReviewCreate, ReviewPublic) = lazy_models(
        "chalicelib.schemas.orders", "OrderCreate", "OrderListQuery", "OrderPublic", "OrderStatusIn", "PaymentIn",
        "ReviewCreate", "ReviewPublic")

orders_blueprint = Blueprint(__name__)
route = Router(orders_blueprint, "orders")

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
_PLACING = (OwnShopOrder, ShopClosed, Blocked, IdempotencyKeyMissing, IdempotencyKeyInvalid, IdempotencyKeyReused,
            OutOfStock, StaleCatalog, PriceChanged, FulfilmentUnavailable, AddressRequired)
_COUPONS = (CouponNotApplicable, CouponExhausted)


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


@route.route("POST", "/orders", status=201, body=OrderCreate, response=OrderPublic, errors=(*_PLACING, *_COUPONS),
             headers=(IDEMPOTENCY_HEADER,), response_headers=CREATED_HEADERS, limit="order",
             summary="Buy products of one shop (stock-checked, idempotent); 409 names what ran out",
             description="Prices are read on the server; a price sent with an item is ignored. Through a "
                         "store link (`via_store_link`, or the link the buyer last visited signed in, for 14 days) "
                         "the link's owner earns the shop's reward, or the buyer gets it as `discount` when the "
                         "owner gives it away; an unknown code or another shop's link is a 422. A regular (단골) "
                         "gets the shop's perk by itself, and `coupon_id` uses one of the buyer's coupons: each is "
                         "a line of `discounts`.")
def place_order(ctx: Ctx, body: OrderCreate) -> Response:
    from chalicelib.services import orders

    key = idempotency_key(ctx)
    sent = body.model_dump(include={"payment_method", "fulfilment", "expected_total"}, exclude_none=True,
                           mode="json")  # (coupon_id is part of the request's fingerprint too, when sent)
    checkout = orders.Checkout(payment_method=body.payment_method.value, fulfil=_fulfil(ctx, body),
                               expected_total=body.expected_total, buyer_name=_name(ctx))
    order, replayed = orders.place_order(ctx.deps.orders, ctx.user, shop_id=body.shop_id,
                                         lines=[(line.product_id, line.quantity) for line in body.items],
                                         via_post_id=body.via_post_id, key=key, now=ctx.now,
                                         via_store_link=body.via_store_link, quota=ctx.quota,
                                         checkout=checkout, fingerprint=sent, coupon_id=body.coupon_id)
    _register_payment(ctx, order, replayed)
    return _created(order, replayed)


def _name(ctx: Ctx) -> str:
    return getattr(ctx.account, "name", "") or ""


def _fulfil(ctx: Ctx, body: OrderCreate):
    """The order's fulfilment as the body names it, checked against the shop (422s)."""
    if body.fulfilment is None:
        return None
    from chalicelib.services import fulfilment

    choice = body.fulfilment.model_dump(exclude_none=True, mode="json")

    def fulfil(shop, subtotal: int):
        resolved = fulfilment.resolve_fulfilment(shop, choice, ctx.user, ctx.deps.addresses)
        return resolved, fulfilment.shipping_fee(shop, resolved.method, subtotal)

    return fulfil


def _register_payment(ctx: Ctx, order, replayed: bool) -> None:
    """A card order's amount is told to PortOne before the app opens the payment window, so the
    provider refuses another amount (best effort: the server checks the amount again anyway)."""
    if replayed or order.payment is None or order.payment.method != "card":
        return
    from chalicelib.payments import PaymentError

    try:
        ctx.deps.payments.pre_register(order.payment.payment_id, amount=order.total)
    except PaymentError as error:
        import logging

        logging.getLogger("dongne.checkout").warning("pre-registering payment %s failed: %s",
                                                     order.payment.payment_id, type(error).__name__)


@route.route("GET", "/orders/{order_id}", response=OrderPublic, etag=True,
             summary="An order (its buyer and its shop's owner only; anyone else gets 404)")
def get_order(ctx: Ctx, order_id: str) -> OrderPublic:
    from chalicelib.services import orders

    return OrderPublic.model_validate(orders.get_order(ctx.deps.orders, ctx.user, order_id))


@route.route("GET", "/me/orders", query=ListQuery, response=Page[OrderPublic], summary="My orders, newest first")
def list_my_orders(ctx: Ctx, query: ListQuery) -> dict:
    from chalicelib.services import orders

    scope = f"my-orders:{ctx.user}"
    page = orders.list_my_orders(ctx.deps.orders, ctx.user, start_key(ctx, query.cursor, scope), query.limit)
    return page_out(ctx, page, scope, _order)


@route.route("GET", "/shops/{shop_id}/orders", query=OrderListQuery, response=Page[OrderPublic], errors=(Forbidden,),
             summary="The shop's orders, newest first, optionally in one status (owner only)")
def list_shop_orders(ctx: Ctx, shop_id: str, query: OrderListQuery) -> dict:
    from chalicelib.services import orders

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
    from chalicelib.services import orders

    from chalicelib.records.commerce import Shipment

    shipment = (Shipment(carrier=body.carrier or "", tracking_number=body.tracking_number)
                if body.tracking_number else None)
    order = orders.change_status(ctx.deps.orders, ctx.user, order_id, body.status.value, ctx.now, shipment=shipment)
    if order.refund is not None and order.refund.status == "pending" and order.payment is not None \
            and order.payment.method == "card":
        from chalicelib.services import checkout

        # The money goes back now; if the provider fails, the order shows it and the job retries.
        checkout.process_refund(ctx.deps.checkout, ctx.deps.payments, order_id, ctx.now)
        order = orders.get_order(ctx.deps.orders, ctx.user, order_id)
    return OrderPublic.model_validate(order)


@route.route("POST", "/orders/{order_id}/payment", body=PaymentIn, response=OrderPublic, limit="payment",
             errors=(IllegalTransition, PaymentIncomplete, PaymentMismatch, PaymentExpired, Unavailable),
             summary="Confirm a card payment: the server asks PortOne and accepts only the exact total in KRW",
             description="Call after PortOne's payment window closes, with the order's `payment.payment_id`. "
                         "Not paid yet → 409 `payment_incomplete`; another amount → 409 `payment_mismatch` (that "
                         "payment is cancelled); the order expired or was cancelled → 409 `payment_expired` (the "
                         "payment is refunded). Confirming twice, or after the webhook did, answers the paid order.")
def confirm_order_payment(ctx: Ctx, order_id: str, body: PaymentIn) -> OrderPublic:
    from chalicelib.services import checkout

    if ctx.quota is not None:  # each confirmation asks the provider: counted before it is asked
        ctx.deps.rates.take(ctx.quota, ctx.now)
    order = checkout.confirm_payment(ctx.deps.checkout, _gateway(ctx), order_id, body.payment_id, ctx.now,
                                     buyer_id=ctx.user)
    return OrderPublic.model_validate(order)


def _gateway(ctx: Ctx):
    return ctx.deps.payments


@route.route("POST", "/orders/{order_id}/confirm", response=OrderPublic, errors=(Forbidden, IllegalTransition,
                                                                              OrderChanged),
             summary="Confirm receipt (구매확정): the buyer says a shipped or ready order arrived",
             description="Moves the order to `delivered` (reviews and store-link rewards follow). Without it, an "
                         "order is delivered automatically 7 days after it was shipped or made ready for pickup.")
def confirm_order_receipt(ctx: Ctx, order_id: str) -> OrderPublic:
    from chalicelib.services import checkout

    return OrderPublic.model_validate(checkout.confirm_receipt(ctx.deps.checkout, ctx.user, order_id, ctx.now))


@route.route("POST", "/orders/{order_id}/refund", response=OrderPublic, errors=(Forbidden, OrderChanged),
             summary="Mark a bank-transfer refund sent (the shop's owner)",
             description="A cancelled bank-transfer order owes its money back until its owner sends it and says so "
                         "here; a card refund goes back through PortOne by itself.")
def mark_order_refunded(ctx: Ctx, order_id: str) -> OrderPublic:
    from chalicelib.services import orders

    order = orders.get_order(ctx.deps.orders, ctx.user, order_id)
    if ctx.user != order.owner_id:
        raise Forbidden("Only the shop's owner marks a refund sent.")
    if order.refund is None or (order.payment is not None and order.payment.method == "card"):
        raise OrderChanged("This order owes no refund the owner sends.",
                           extra={"order_status": order.status, "requested_status": "refunded"})
    return OrderPublic.model_validate(ctx.deps.checkout.mark_refunded_by_owner(order, ctx.now))


@route.route("POST", "/orders/{order_id}/reorder", status=201, response=OrderPublic, errors=(*_PLACING, Forbidden, Invalid),
             headers=(IDEMPOTENCY_HEADER,), response_headers=CREATED_HEADERS, limit="order",
             summary="Order the same items again at today's prices (buyer only; stock-checked, idempotent)")
def place_reorder(ctx: Ctx, order_id: str) -> Response:
    from chalicelib.services import orders

    order, replayed = orders.reorder(ctx.deps.orders, ctx.user, order_id, key=idempotency_key(ctx), now=ctx.now,
                                     quota=ctx.quota, buyer_name=_name(ctx))
    _register_payment(ctx, order, replayed)
    return _created(order, replayed)


@route.route("POST", "/orders/{order_id}/review", status=201, body=ReviewCreate, response=ReviewPublic, limit="review",
             errors=(Forbidden, OrderNotDelivered, AlreadyReviewed, AccountClosed), summary="Review a delivered order (its buyer, once)")
def review_order(ctx: Ctx, order_id: str, body: ReviewCreate) -> ReviewPublic:
    from chalicelib.services import reviews

    take_quota(ctx)
    review = reviews.review_order(ctx.deps.orders, ctx.deps.reviews, ctx.deps.accounts, ctx.user, order_id,
                                  rating=body.rating, text=body.text, now=ctx.now)
    return ReviewPublic.model_validate(review)
