"""Shops: opening one, reading it, and owner-only edits."""

from __future__ import annotations

from typing import Protocol

from chalicelib.errors import Forbidden, NotFound
from chalicelib.ids import new_id
from chalicelib.records.accounts import (DeliveryOption, FulfilmentSettings, PickupOption, RegularPerk, RewardSetting,
                                         Shop)
from chalicelib.records.commerce import BankAccount


class ShopsStore(Protocol):
    def create_shop(self, shop: Shop) -> None: ...
    def get_shop(self, shop_id: str) -> Shop | None: ...
    def update_shop(self, current: Shop, changes: dict, now: float) -> Shop: ...


def open_shop(store: ShopsStore, owner_id: str, *, name: str, handle: str, bio: str, region: str,
              now: float) -> Shop:
    """One transaction decides: a second shop for the owner or a taken handle is a 409. The
    region must be one of the shipped list (``services.regions``) or empty."""
    from chalicelib.services.regions import canonical

    region = canonical(region)
    shop = Shop(shop_id=new_id(), owner_id=owner_id, name=name, handle=handle, bio=bio, region=region,
                follower_count=0, post_count=0, created_at=now)
    store.create_shop(shop)
    return shop


def get_shop(store: ShopsStore, shop_id: str) -> Shop:
    shop = store.get_shop(shop_id)
    if shop is None:
        raise NotFound("No such shop.")
    return shop


def owned_shop(store: ShopsStore, user_id: str, shop_id: str) -> Shop:
    """The shop, if ``user_id`` owns it: ``NotFound`` when missing, ``Forbidden`` otherwise."""
    shop = get_shop(store, shop_id)
    if shop.owner_id != user_id:
        raise Forbidden("Only the shop's owner can do this.")
    return shop


def edit_shop(store: ShopsStore, user_id: str, shop_id: str, changes: dict, now: float) -> Shop:
    """``changes`` may set ``referral_reward`` to ``{kind, value}`` (validated) or None for none,
    ``fulfilment`` to ``{delivery: {fee, free_over}, pickup: {address, hours}}`` (a method left
    out is not offered; validated: at least one), ``bank_account`` to ``{bank, number, holder}``
    or None for no bank transfer, ``bank_transfer_hours``, and ``regular_perk`` to ``{kind, value}``
    (``services.coupons.check_perk``) or None for none."""
    shop = owned_shop(store, user_id, shop_id)
    if changes.get("region") is not None:
        from chalicelib.services.regions import canonical

        changes = {**changes, "region": canonical(changes["region"])}
    if "regular_perk" in changes:
        from chalicelib.services.coupons import check_perk

        wanted = changes["regular_perk"]
        perk = RegularPerk(kind=wanted["kind"], value=wanted.get("value") or 0) if wanted else None
        if perk is not None:
            check_perk(perk)
        changes = {**changes, "regular_perk": perk}
    if "referral_reward" in changes:
        reward = changes["referral_reward"]
        changes = {**changes, "referral_reward": RewardSetting(**reward) if reward else None}
    if "fulfilment" in changes:
        delivery, pickup = changes["fulfilment"].get("delivery"), changes["fulfilment"].get("pickup")
        changes = {**changes, "fulfilment": FulfilmentSettings(
            delivery=DeliveryOption(fee=delivery["fee"], free_over=delivery.get("free_over")) if delivery else None,
            pickup=PickupOption(address=pickup["address"], hours=pickup.get("hours") or "") if pickup else None)}
    if "bank_account" in changes:
        account = changes["bank_account"]
        changes = {**changes, "bank_account": BankAccount(**account) if account else None}
    if not changes:
        return shop
    return store.update_shop(shop, changes, now)
