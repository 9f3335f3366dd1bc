"""My saved card (빌링키): what a subscription's periods are charged to.

Every route works on the caller's own card (``USER#<user_id>`` / ``PAYMENT_METHOD#card``). The
billing key goes in once and never comes back out: the answers describe the card (issuer, last
four digits) as PortOne did when the key was checked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint

from chalicelib.api.edge import Ctx, Router, take_quota
from chalicelib.api.spec import lazy_models
from chalicelib.errors import AccountClosed, BillingKeyInvalid, Unavailable

if TYPE_CHECKING:
    from chalicelib.schemas.payment_methods import CardIn, CardOut
else:  # pydantic models, imported on the first request that needs them
    CardIn, CardOut = lazy_models("chalicelib.schemas.payment_methods", "CardIn", "CardOut")

payment_methods_blueprint = Blueprint(__name__)
route = Router(payment_methods_blueprint, "payment methods")


@route.route("GET", "/me/payment-methods/card", response=CardOut,
             summary="My saved card (issuer and last four digits; never the billing key)")
def get_my_card(ctx: Ctx) -> dict:
    from chalicelib.services import billing

    return billing.card_view(ctx.deps.payment_methods.get_card(ctx.user))


@route.route("PUT", "/me/payment-methods/card", body=CardIn, response=CardOut, limit="payment",
             errors=(BillingKeyInvalid, AccountClosed, Unavailable),
             summary="Save my card for subscriptions: a PortOne billing key, checked with PortOne",
             description="The server asks PortOne for the key: unknown, deleted or another customer's → 422 "
                         "`billing_key_invalid` (nothing saved); PortOne not answering → 503. Replaces the card "
                         "saved before. From then on each subscription period is charged to it by the server.")
def set_my_card(ctx: Ctx, body: CardIn) -> dict:
    from chalicelib.services import billing

    take_quota(ctx)  # each save asks PortOne
    card = billing.save_card(ctx.deps.payment_methods, ctx.deps.payments, ctx.user, body.billing_key, ctx.now)
    return billing.card_view(card)


@route.route("DELETE", "/me/payment-methods/card", status=204,
             summary="Forget my saved card (later subscription periods wait for a bank transfer)")
def delete_my_card(ctx: Ctx) -> None:
    ctx.deps.payment_methods.delete_card(ctx.user)
