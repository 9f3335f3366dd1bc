"""Shops and their unique handles."""

from __future__ import annotations

from dataclasses import replace

from chalicelib.errors import HandleTaken, NotFound, ShopAlreadyOpen
from chalicelib.records.accounts import (DeliveryOption, FulfilmentSettings, PickupOption, RegularPerk, RewardSetting,
                                         Shop)
from chalicelib.records.commerce import BankAccount
from chalicelib.services.limits import DEFAULT_BANK_TRANSFER_HOURS, DEFAULT_POSTING_NUDGE_DAYS
from chalicelib.storage.accounts import PROFILE, _connection, guard
from chalicelib.storage.models.accounts import (BankAccountMap, DeliveryMap, FulfilmentMap, PickupMap, ShopItem,
                                                UniqueItem, UserItem, shop_pk, user_pk)
from chalicelib.services.insights import NUDGE, nudge_at
from chalicelib.storage.models.due import DueItem, due_item
from chalicelib.storage.transactions import Cancelled, Transaction

HANDLE = "handle"
EDITABLE = ("name", "bio", "region", "handle", "referral_reward", "subscription_discount_percent", "fulfilment",
            "bank_account", "bank_transfer_hours", "regular_perk", "posting_nudge_days")


def _fulfilment(stored: FulfilmentMap | None) -> FulfilmentSettings | None:
    if stored is None:
        return None
    delivery, pickup = stored.delivery, stored.pickup
    return FulfilmentSettings(
        delivery=DeliveryOption(fee=int(delivery.fee),
                                free_over=None if delivery.free_over is None else int(delivery.free_over))
        if delivery is not None else None,
        pickup=PickupOption(address=pickup.address, hours=pickup.hours or "") if pickup is not None else None)


def _fulfilment_map(settings: FulfilmentSettings) -> FulfilmentMap:
    delivery, pickup = settings.delivery, settings.pickup
    return FulfilmentMap(
        delivery=DeliveryMap(fee=delivery.fee, free_over=delivery.free_over) if delivery is not None else None,
        pickup=PickupMap(address=pickup.address, hours=pickup.hours) if pickup is not None else None)


def to_shop(item: ShopItem) -> Shop:
    reward = None
    if item.referral_kind is not None and item.referral_value is not None:
        reward = RewardSetting(kind=item.referral_kind, value=int(item.referral_value))
    return Shop(
        shop_id=item.shop_id, owner_id=item.owner_id, name=item.name, handle=item.handle,
        bio=item.bio, region=item.region, follower_count=int(item.follower_count),
        post_count=int(item.post_count), created_at=item.created_at, referral_reward=reward,
        subscription_discount_percent=int(item.subscription_discount_percent or 0),
        fulfilment=_fulfilment(item.fulfilment),
        bank_account=BankAccount(bank=item.bank_account.bank, number=item.bank_account.number,
                                 holder=item.bank_account.holder) if item.bank_account is not None else None,
        bank_transfer_hours=int(item.bank_transfer_hours or DEFAULT_BANK_TRANSFER_HOURS),
        regular_perk=RegularPerk(kind=item.perk_kind, value=int(item.perk_value or 0)) if item.perk_kind else None,
        posting_nudge_days=DEFAULT_POSTING_NUDGE_DAYS if item.posting_nudge_days is None
        else int(item.posting_nudge_days),
        updated_at=item.updated_at, closed_at=item.closed_at,
    )


def _set(name: str, value):
    """The update action for one allow-listed change (a reward setting is two attributes)."""
    if name == "fulfilment":
        return [ShopItem.fulfilment.set(_fulfilment_map(value))]
    if name == "bank_account":
        if value is None:
            return [ShopItem.bank_account.remove()]
        return [ShopItem.bank_account.set(BankAccountMap(bank=value.bank, number=value.number, holder=value.holder))]
    if name == "regular_perk":
        if value is None:
            return [ShopItem.perk_kind.remove(), ShopItem.perk_value.remove()]
        return [ShopItem.perk_kind.set(value.kind), ShopItem.perk_value.set(value.value)]
    if name != "referral_reward":
        return [getattr(ShopItem, name).set(value)]
    if value is None:
        return [ShopItem.referral_kind.remove(), ShopItem.referral_value.remove()]
    return [ShopItem.referral_kind.set(value.kind), ShopItem.referral_value.set(value.value)]


def _nudge_check(shop_id: str, at: float) -> DueItem:
    """When the posting nudge looks at the shop's quiet spell (``services.insights.check_nudge``):
    written with the shop (a shop that never posts is nudged too) and with a change of its
    ``posting_nudge_days``, in the same transaction; posts schedule theirs from the stream."""
    return due_item(NUDGE, at, shop_id)


class ShopsRepository:
    def create_shop(self, shop: Shop) -> None:
        """Shop, handle guard and the owner's ``shop_id`` in one conditional transaction.

        Two requests racing for one handle, or one user opening two shops at once: exactly
        one transaction commits; the other is cancelled and answered 409.
        """
        item = ShopItem(
            shop_pk(shop.shop_id), PROFILE,
            shop_id=shop.shop_id, owner_id=shop.owner_id, name=shop.name, handle=shop.handle,
            bio=shop.bio, region=shop.region, follower_count=0, post_count=0,
            created_at=shop.created_at, updated_at=shop.created_at,
        )
        tx = (Transaction(_connection())
              .put(item, condition=ShopItem.pk.does_not_exist(), label="shop")
              .put(_nudge_check(shop.shop_id, nudge_at(shop.created_at, DEFAULT_POSTING_NUDGE_DAYS)), label="nudge")
              .put(guard(HANDLE, shop.handle, shop.shop_id), condition=UniqueItem.pk.does_not_exist(), label=HANDLE)
              .update(UserItem(user_pk(shop.owner_id), PROFILE), [UserItem.shop_id.set(shop.shop_id)],
                      condition=UserItem.pk.exists() & UserItem.shop_id.does_not_exist(), label="owner"))
        try:
            tx.commit()
        except Cancelled as cancelled:
            if "owner" in cancelled:
                raise ShopAlreadyOpen("You already have a shop; one account opens one shop.") from None
            raise HandleTaken(f"The handle '{shop.handle}' is taken.", params={"handle": shop.handle}) from None

    def shop_id_for_handle(self, handle: str) -> str | None:
        """The shop holding ``handle`` (lower case): one GetItem of its uniqueness guard."""
        from chalicelib.storage.accounts import UNIQUE
        from chalicelib.storage.models.accounts import unique_pk
        from chalicelib.storage.retry import with_retries

        try:
            return with_retries(lambda: UniqueItem.get(unique_pk(HANDLE, handle), UNIQUE)).owner_id
        except UniqueItem.DoesNotExist:
            return None

    def get_shop(self, shop_id: str) -> Shop | None:
        try:
            return to_shop(ShopItem.get(shop_pk(shop_id), PROFILE))
        except ShopItem.DoesNotExist:
            return None

    def update_shop(self, current: Shop, changes: dict, now: float) -> Shop:
        """Apply allow-listed ``changes``; a new handle swaps its guard atomically."""
        changes = {k: v for k, v in changes.items() if k in EDITABLE}
        actions = [ShopItem.updated_at.set(now), *(a for k, v in changes.items() for a in _set(k, v))]
        tx = Transaction(_connection()).update(ShopItem(shop_pk(current.shop_id), PROFILE), actions,
                                               condition=ShopItem.pk.exists(), label="shop")
        if "posting_nudge_days" in changes:  # the quiet spell is checked again at the next run
            tx.put(_nudge_check(current.shop_id, now), label="nudge")
        new_handle = changes.get("handle")
        if new_handle is not None and new_handle != current.handle:
            tx.put(guard(HANDLE, new_handle, current.shop_id), condition=UniqueItem.pk.does_not_exist(), label=HANDLE)
            tx.delete(guard(HANDLE, current.handle, current.shop_id),
                      condition=UniqueItem.owner_id == current.shop_id, label="old-handle")
        try:
            tx.commit()
        except Cancelled as cancelled:
            if "shop" in cancelled:
                raise NotFound("The shop no longer exists.") from None
            raise HandleTaken(f"The handle '{new_handle}' is taken.", params={"handle": new_handle}) from None
        return replace(current, **changes)
