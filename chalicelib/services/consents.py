"""Consent to a shop's advertising messages (광고성 정보 수신 동의, 정보통신망법 §50).

Off until the customer turns it on, per shop. Advertising sent between 21:00 and 08:00 KST
needs its own consent (``marketing_at_night``), which only comes with ``marketing``. Every
change is kept as a record with its time, in the same write as the change; setting what is
already set writes nothing. A broadcast reads the consenting customers from the index the
consent keeps (``ConsentsStore.consenting``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

from chalicelib.errors import FieldProblem, Invalid, NotFound, OwnShopConsent, Unavailable
from chalicelib.records.accounts import Shop
from chalicelib.records.consents import ShopPreference

SAVE_ATTEMPTS = 4


class ConsentsStore(Protocol):
    def get(self, user_id: str, shop_id: str) -> ShopPreference | None: ...
    def save(self, current: ShopPreference | None, updated: ShopPreference) -> None: ...


class Shops(Protocol):
    def get_shop(self, shop_id: str) -> Shop | None: ...


def _shop(shops: Shops, shop_id: str) -> Shop:
    shop = shops.get_shop(shop_id)
    if shop is None:
        raise NotFound("No such shop.")
    return shop


def preference(shops: Shops, store: ConsentsStore, user_id: str, shop_id: str) -> ShopPreference:
    _shop(shops, shop_id)
    return store.get(user_id, shop_id) or ShopPreference(user_id=user_id, shop_id=shop_id)


def apply(current: ShopPreference, marketing: bool, marketing_at_night: bool, now: float) -> ShopPreference:
    """The settings after the change (``current`` itself when nothing changes). A consent keeps
    the time it was given while it stays on; turning it off clears that time."""
    if marketing_at_night and not marketing:
        raise Invalid("Night-time advertising needs consent to advertising first.",
                      errors=[FieldProblem("body.marketing_at_night", "needs marketing: true",
                                           code="night_needs_marketing")])
    if (current.marketing, current.marketing_at_night) == (marketing, marketing_at_night):
        return current
    return replace(current, marketing=marketing, marketing_at_night=marketing_at_night,
                   consented_at=(current.consented_at if current.marketing else now) if marketing else None,
                   night_consented_at=((current.night_consented_at if current.marketing_at_night else now)
                                       if marketing_at_night else None),
                   updated_at=now)


def set_preference(shops: Shops, store: ConsentsStore, user_id: str, shop_id: str, *, marketing: bool,
                   marketing_at_night: bool, now: float) -> ShopPreference:
    from chalicelib.storage.consents import StaleConsent

    shop = _shop(shops, shop_id)
    if shop.owner_id == user_id:
        raise OwnShopConsent("A shop's owner does not consent to their own shop's advertising.")
    for _ in range(SAVE_ATTEMPTS):
        found = store.get(user_id, shop_id)
        current = found or ShopPreference(user_id=user_id, shop_id=shop_id)
        updated = apply(current, marketing, marketing_at_night, now)
        if updated is current:
            return current
        if found is not None and found.updated_at is not None and updated.updated_at is not None \
                and updated.updated_at <= found.updated_at:  # the same instant as the last change
            updated = replace(updated, updated_at=found.updated_at + 0.001)
        try:
            store.save(found, updated)
            return updated
        except StaleConsent:
            continue
    raise Unavailable("The consent is being changed by another request; retry shortly.")
