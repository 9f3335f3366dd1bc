"""A shop's aftercare automations: the owner's own words, sent at the moments they describe.

Owner only (like the shop's other settings): anyone else → 403, an unknown shop → 404.
Services are imported inside the views (cold start: see ``chalicelib.api.follows``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint

from chalicelib.api.edge import Ctx, Router
from chalicelib.api.spec import lazy_models
from chalicelib.errors import Forbidden

if TYPE_CHECKING:
    from chalicelib.records.automations import Automations
    from chalicelib.schemas.automations import AutomationsIn, AutomationsOut
else:  # pydantic models, imported on the first request that needs them
    AutomationsIn, AutomationsOut = lazy_models("chalicelib.schemas.automations", "AutomationsIn", "AutomationsOut")

automations_blueprint = Blueprint(__name__)
route = Router(automations_blueprint, "automations")


def view(automations: Automations) -> dict:
    a = automations
    return {"shop_id": a.shop_id,
            "first_order_thanks": {"enabled": a.first_order_thanks.enabled, "text": a.first_order_thanks.text},
            "review_request": {"enabled": a.review_request.enabled, "text": a.review_request.text,
                               "after_days": a.review_request.after_days},
            "welcome_back": {"enabled": a.welcome_back.enabled, "text": a.welcome_back.text},
            "updated_at": a.updated_at}


@route.route("GET", "/shops/{shop_id}/automations", response=AutomationsOut, errors=(Forbidden,),
             summary="The shop's aftercare automations (owner only): off, with suggested words, until set")
def get_shop_automations(ctx: Ctx, shop_id: str) -> dict:
    from chalicelib.services import automations

    return view(automations.settings(ctx.deps.automations, ctx.deps.shops, ctx.user, shop_id))


@route.route("PUT", "/shops/{shop_id}/automations", body=AutomationsIn, response=AutomationsOut,
             errors=(Forbidden,),
             summary="Switch on and write the shop's aftercare messages (owner only; all three, replaced whole)",
             description="Each is sent as the shop's message in the customer's conversation with the shop, at "
                         "most once per moment: `first_order_thanks` when a customer's first order is paid, "
                         "`review_request` `after_days` (1–30) after an order is delivered, `welcome_back` when "
                         "a lapsed customer's paid order brings them back. Texts are 1–500 characters, not only "
                         "spaces. The words and switches in force when a moment comes are the ones used.")
def set_shop_automations(ctx: Ctx, shop_id: str, body: AutomationsIn) -> dict:
    from chalicelib.records.automations import Automation
    from chalicelib.services import automations

    saved = automations.replace(
        ctx.deps.automations, ctx.deps.shops, ctx.user, shop_id,
        first_order_thanks=Automation(body.first_order_thanks.enabled, body.first_order_thanks.text),
        review_request=Automation(body.review_request.enabled, body.review_request.text,
                                  body.review_request.after_days),
        welcome_back=Automation(body.welcome_back.enabled, body.welcome_back.text), now=ctx.now)
    return view(saved)
