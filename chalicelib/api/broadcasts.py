"""Broadcasts: a shop's message to a segment of its customers (owner only).

Accepting one is a 202: the delivery runs from the table's stream in bounded chunks
(``services.broadcasts``); ``GET`` shows its progress. Services are imported inside the views
(cold start: see ``chalicelib.api.follows``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint

from chalicelib.api.edge import Ctx, Router
from chalicelib.api.spec import lazy_models
from chalicelib.errors import CouponEnded, Forbidden

if TYPE_CHECKING:
    from chalicelib.schemas.broadcasts import BroadcastAccepted, BroadcastCreate, BroadcastProgress
else:  # pydantic models, imported on the first request that needs them
    (BroadcastAccepted, BroadcastCreate, BroadcastProgress) = lazy_models(
        "chalicelib.schemas.broadcasts", "BroadcastAccepted", "BroadcastCreate", "BroadcastProgress")

broadcasts_blueprint = Blueprint(__name__)
route = Router(broadcasts_blueprint, "broadcasts")


@route.route("POST", "/shops/{shop_id}/broadcasts", status=202, body=BroadcastCreate, response=BroadcastAccepted,
             errors=(Forbidden, CouponEnded), limit="broadcast",
             summary="Send one message to a segment of the shop's customers, each once, in their conversation",
             description="`audience` is exactly one of `{tier}`, `{essential_due: true}` or `{user_ids}` (else "
                         "422). Each recipient gets it once, as the shop's message in their conversation "
                         "and a `message` notification. `advertising: true` (광고성 정보, 정보통신망법 §50): only "
                         "customers who consented to the shop's advertising get it, it begins with \"(광고)\" and "
                         "the shop's name and ends with how to refuse for free, and between 21:00 and 08:00 KST "
                         "it waits until 08:00 for customers without night-time consent. `coupon_id`: the shop's "
                         "coupon goes with it to each recipient, held at most once; a broadcast with a coupon is "
                         "advertising (an ended coupon → 409 `coupon_ended`). A few a day per owner "
                         "(429 `rate_limited`).")
def create_broadcast(ctx: Ctx, shop_id: str, body: BroadcastCreate) -> dict:
    from chalicelib.services import broadcasts

    a = body.audience
    audience = broadcasts.audience_of(getattr(a, "tier", None), getattr(a, "essential_due", None),
                                      getattr(a, "user_ids", None))
    broadcast = broadcasts.send(ctx.deps.broadcasts, ctx.deps.shops, ctx.user, shop_id, audience=audience,
                                text=body.text, advertising=body.advertising, coupon_id=body.coupon_id,
                                now=ctx.now, quota=ctx.quota, coupons=ctx.deps.coupons)
    return broadcasts.accepted_out(broadcast)


@route.route("GET", "/shops/{shop_id}/broadcasts/{broadcast_id}", response=BroadcastProgress, errors=(Forbidden,),
             summary="A broadcast's progress (owner only): recipients, delivered, skipped without consent, held")
def get_broadcast(ctx: Ctx, shop_id: str, broadcast_id: str) -> dict:
    from chalicelib.services import broadcasts

    progress = broadcasts.progress(ctx.deps.broadcasts, ctx.deps.shops, ctx.user, shop_id, broadcast_id)
    return broadcasts.progress_out(progress)
