"""My consent to a shop's advertising messages (광고성 정보 수신 동의), per shop.

Every route works on the caller's own settings with the shop (``USER#<user_id>`` /
``SHOPPREF#<shop_id>``); an unknown shop is 404.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint

from chalicelib.api.edge import Ctx, Router
from chalicelib.api.spec import lazy_models
from chalicelib.errors import AccountClosed, OwnShopConsent, Unavailable

if TYPE_CHECKING:
    from chalicelib.records.consents import ShopPreference
    from chalicelib.schemas.consents import ShopPreferenceIn, ShopPreferenceOut
else:  # pydantic models, imported on the first request that needs them
    (ShopPreferenceIn, ShopPreferenceOut) = lazy_models(
        "chalicelib.schemas.consents", "ShopPreferenceIn", "ShopPreferenceOut")

consents_blueprint = Blueprint(__name__)
route = Router(consents_blueprint, "shop preferences")


def view(pref: ShopPreference) -> dict:
    return {"shop_id": pref.shop_id, "marketing": pref.marketing, "marketing_at_night": pref.marketing_at_night,
            "consented_at": pref.consented_at, "marketing_at_night_consented_at": pref.night_consented_at}


@route.route("GET", "/me/shop-preferences/{shop_id}", response=ShopPreferenceOut,
             summary="My consent to this shop's advertising messages (off until I turn it on)")
def get_my_shop_preference(ctx: Ctx, shop_id: str) -> dict:
    from chalicelib.services import consents

    return view(consents.preference(ctx.deps.shops, ctx.deps.consents, ctx.user, shop_id))


@route.route("PUT", "/me/shop-preferences/{shop_id}", body=ShopPreferenceIn, response=ShopPreferenceOut,
             errors=(OwnShopConsent, AccountClosed, Unavailable),
             summary="Consent to (or withdraw from) this shop's advertising messages",
             description="`marketing_at_night` (21:00–08:00 KST) is a separate consent and needs `marketing: true` "
                         "(422 `night_needs_marketing`). Every change is kept with its time; sending the same "
                         "settings again changes nothing.")
def set_my_shop_preference(ctx: Ctx, shop_id: str, body: ShopPreferenceIn) -> dict:
    from chalicelib.services import consents

    pref = consents.set_preference(ctx.deps.shops, ctx.deps.consents, ctx.user, shop_id, marketing=body.marketing,
                                   marketing_at_night=body.marketing_at_night, now=ctx.now)
    return view(pref)
