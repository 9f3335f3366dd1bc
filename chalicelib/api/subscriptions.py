"""Essentials: subscriptions (정기배송) and my reorders.

The services are imported inside the views: their records and rules are not for the API's
cold start (every other route) to pay.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint, Response

from chalicelib.api.edge import JSON, Ctx, Router, take_quota
from chalicelib.api.orders import idempotency_key
from chalicelib.api.paging import page_out, start_key
from chalicelib.api.spec import Header, lazy_models
from chalicelib.errors import (FieldProblem, Forbidden, IdempotencyKeyInvalid, IdempotencyKeyMissing,
                               IdempotencyKeyReused, Invalid, OwnShopSubscription, ShopClosed, SubscriptionCancelled,
                               SubscriptionNotActive, SubscriptionPeriodPassed)

if TYPE_CHECKING:
    from chalicelib.schemas.common import ListQuery, Page
    from chalicelib.schemas.subscriptions import (
        ReorderPublic, SubscriptionCreate, SubscriptionListQuery, SubscriptionPublic, SubscriptionUpdate,
    )
else:  # pydantic models, imported on the first request that needs them
    ListQuery, Page = lazy_models("chalicelib.schemas.common", "ListQuery", "Page")
    (ReorderPublic, SubscriptionCreate, SubscriptionListQuery, SubscriptionPublic, SubscriptionUpdate) = lazy_models(
        "chalicelib.schemas.subscriptions", "ReorderPublic", "SubscriptionCreate", "SubscriptionListQuery",
        "SubscriptionPublic", "SubscriptionUpdate")

subscriptions_blueprint = Blueprint(__name__)
route = Router(subscriptions_blueprint, "subscriptions")
essentials = Router(subscriptions_blueprint, "essentials")

IDEMPOTENCY_HEADER = Header(
    "Idempotency-Key", True,
    "A key you choose per subscription (a UUID is ideal; 1-255 visible ASCII characters). Retrying with the same "
    "key and body returns the first subscription (with `Idempotent-Replayed: true`); another body → 409 "
    "`idempotency_key_reused`. Missing → 400 `idempotency_key_missing`; malformed → 400 `idempotency_key_invalid`.",
    {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]+$"})
CREATED_HEADERS = (
    Header("Location", True, "The new subscription's path, `/subscriptions/{subscription_id}`."),
    Header("Idempotent-Replayed", False, "`true` when this is the first answer to the same key, replayed.",
           {"type": "string", "enum": ["true"]}),
)


def _public(sub) -> dict:
    return SubscriptionPublic.model_validate(sub).model_dump()


@route.route("POST", "/subscriptions", status=201, body=SubscriptionCreate, response=SubscriptionPublic, limit="subscription",
             errors=(OwnShopSubscription, ShopClosed, IdempotencyKeyMissing, IdempotencyKeyInvalid,
                     IdempotencyKeyReused),
             headers=(IDEMPOTENCY_HEADER,), response_headers=CREATED_HEADERS,
             summary="Subscribe to essentials of one shop every 7-90 days (idempotent); a treat → 422",
             description="The first order is placed at first_order_at (default: now) by the subscription job, "
                         "then one order per period at the day's prices (never above the prices the subscriber "
                         "was last told, a day before), with the shop's subscription discount.")
def create_subscription(ctx: Ctx, body: SubscriptionCreate) -> Response:
    from chalicelib.services import subscriptions

    key = idempotency_key(ctx)
    take_quota(ctx)  # before the catalog read; a replay with the same key counts too
    sub, replayed = subscriptions.subscribe(
        ctx.deps.subscriptions, ctx.user, shop_id=body.shop_id,
        lines=[(line.product_id, line.quantity) for line in body.items], every_days=body.every_days,
        first_order_at=body.first_order_at.timestamp() if body.first_order_at else None, key=key, now=ctx.now)
    headers = {"Content-Type": JSON, "Location": f"/subscriptions/{sub.subscription_id}"}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(body=SubscriptionPublic.model_validate(sub).model_dump_json(), status_code=201, headers=headers)


@route.route("GET", "/me/subscriptions", query=ListQuery, response=Page[SubscriptionPublic],
             summary="My subscriptions, newest first")
def list_my_subscriptions(ctx: Ctx, query: ListQuery) -> dict:
    from chalicelib.services import subscriptions

    scope = f"my-subscriptions:{ctx.user}"
    page = subscriptions.list_mine(ctx.deps.subscriptions, ctx.user, start_key(ctx, query.cursor, scope), query.limit)
    return page_out(ctx, page, scope, _public)


@route.route("GET", "/subscriptions/{subscription_id}", response=SubscriptionPublic,
             summary="A subscription (its subscriber and its shop's owner only; anyone else gets 404)")
def get_subscription(ctx: Ctx, subscription_id: str) -> SubscriptionPublic:
    from chalicelib.services import subscriptions

    return SubscriptionPublic.model_validate(
        subscriptions.get_subscription(ctx.deps.subscriptions, ctx.user, subscription_id))


@route.route("PATCH", "/subscriptions/{subscription_id}", body=SubscriptionUpdate, response=SubscriptionPublic,
             errors=(Forbidden, SubscriptionCancelled, SubscriptionNotActive, SubscriptionPeriodPassed),
             summary="Pause, resume, cancel, change the interval or skip the next order "
                                        "(the subscriber only)",
             description="Every change is idempotent: the same change sent again (a double tap, a retry) "
                         "answers 200 with the subscription and changes nothing. A skip is for one period, "
                         "`skip_period` (the `period` the app showed; default: the period ahead when the request "
                         "is read); taps racing each other skip it once, and a period the job ordered first is "
                         "not skipped afterwards (409 `subscription_period_passed`, with `next_period`). A "
                         "cancelled subscription cannot change (409 `subscription_cancelled`); only an active "
                         "one can skip its next order (409 `subscription_not_active`).")
def update_subscription(ctx: Ctx, subscription_id: str, body: SubscriptionUpdate) -> SubscriptionPublic:
    from chalicelib.services import subscriptions

    if body.skip_period is not None and body.skip_next is False:
        raise Invalid("skip_period asks for a skip; leave out skip_next or send true.",
                      errors=[FieldProblem("body.skip_next", "false with skip_period", code="skip_next_false")])
    skip = bool(body.skip_next) or body.skip_period is not None
    sub = subscriptions.change(ctx.deps.subscriptions, ctx.user, subscription_id, status=body.status,
                               every_days=body.every_days, skip_next=skip, skip_period=body.skip_period, now=ctx.now)
    return SubscriptionPublic.model_validate(sub)


@route.route("GET", "/shops/{shop_id}/subscriptions", query=SubscriptionListQuery, response=Page[SubscriptionPublic],
             errors=(Forbidden,), summary="The shop's subscriptions, optionally in one status (owner only)",
             description="Without ?status= grouped by customer; with it, newest first.")
def list_shop_subscriptions(ctx: Ctx, shop_id: str, query: SubscriptionListQuery) -> dict:
    from chalicelib.services import subscriptions

    scope = f"shop-subscriptions:{shop_id}:{query.status or '*'}"
    page = subscriptions.list_shop(ctx.deps.shops, ctx.deps.subscriptions, ctx.user, shop_id, query.status,
                                   start_key(ctx, query.cursor, scope), query.limit)
    return page_out(ctx, page, scope, _public)


@essentials.route("GET", "/me/reorders", query=ListQuery, response=Page[ReorderPublic],
                  summary="My essentials due or overdue across shops, soonest due first",
                  description="Each item is reordered with one tap: POST /orders/{last_order_id}/reorder.")
def list_my_reorders(ctx: Ctx, query: ListQuery) -> dict:
    from chalicelib.services import reorders

    scope = f"my-reorders:{ctx.user}"
    page = reorders.my_reorders(ctx.deps.reorders, ctx.user, ctx.now, start_key(ctx, query.cursor, scope),
                                query.limit)
    return page_out(ctx, page, scope, lambda line: ReorderPublic.model_validate(line).model_dump())
