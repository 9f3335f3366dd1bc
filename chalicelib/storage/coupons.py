"""Coupons (``storage/models/coupons.py``): create, list, give to a customer, the customer's
list, and the items an order's transactions carry (use a holding, give it back)."""

from __future__ import annotations

from collections.abc import Iterable

from pynamodb.attributes import MapAttribute
from pynamodb.exceptions import PutError

from chalicelib.ids import iso
from chalicelib.records.common import Page
from chalicelib.records.commerce import Order
from chalicelib.records.coupons import Coupon, CouponUsedUp, Entitlements, Holding, HoldingUnusable
from chalicelib.records.relationships import RelationshipState
from chalicelib.storage.models.accounts import user_pk
from chalicelib.storage.models.coupons import (COUPON, HOLDING_PREFIX, CouponItem, HoldingItem, coupon_pk,
                                               holding_sk, my_coupons_pk, shop_coupons_pk)
from chalicelib.storage.models.relationships import RelationshipItem, rel_pk, rel_sk
from chalicelib.storage.paging import page_of
from chalicelib.storage.retry import with_retries
from chalicelib.storage.transactions import Cancelled, Transaction

CONDITION_FAILED = "ConditionalCheckFailedException"
# Labels of the items coupons add to an order's transactions.
HOLDING_USE, COUPON_REDEEM = "coupon-holding", "coupon-redeem"
HOLDING_BACK, COUPON_BACK = "coupon-holding-back", "coupon-back"


# --- conversions ------------------------------------------------------------------------------


def to_coupon(item: CouponItem) -> Coupon:
    return Coupon(coupon_id=item.coupon_id, shop_id=item.shop_id, shop_name=item.shop_name or "", name=item.name,
                  kind=item.kind, value=int(item.value), min_subtotal=int(item.min_subtotal or 0),
                  starts_at=float(item.starts_at), ends_at=float(item.ends_at),
                  max_redemptions=int(item.max_redemptions), redeemed=int(item.redeemed or 0),
                  created_at=float(item.created_at))


def to_holding(item: HoldingItem) -> Holding:
    coupon = Coupon(coupon_id=item.coupon_id, shop_id=item.shop_id, shop_name=item.shop_name or "", name=item.name,
                    kind=item.kind, value=int(item.value), min_subtotal=int(item.min_subtotal or 0),
                    starts_at=float(item.starts_at), ends_at=float(item.ends_at),
                    max_redemptions=int(item.max_redemptions), redeemed=0,
                    created_at=float(item.coupon_created_at))
    return Holding(user_id=item.user_id, coupon=coupon, granted_at=float(item.granted_at),
                   used_order_id=item.used_order_id,
                   used_at=None if item.used_at is None else float(item.used_at))


def _list_sk(coupon: Coupon) -> str:
    return f"{iso(coupon.ends_at)}#{coupon.coupon_id}"


def holding_item(coupon: Coupon, user_id: str, now: float) -> HoldingItem:
    return HoldingItem(user_pk(user_id), holding_sk(coupon.coupon_id), user_id=user_id,
                       coupon_id=coupon.coupon_id, shop_id=coupon.shop_id, shop_name=coupon.shop_name,
                       name=coupon.name, kind=coupon.kind, value=coupon.value, min_subtotal=coupon.min_subtotal,
                       starts_at=coupon.starts_at, ends_at=coupon.ends_at, max_redemptions=coupon.max_redemptions,
                       coupon_created_at=coupon.created_at, granted_at=now,
                       gsi1pk=my_coupons_pk(user_id), gsi1sk=_list_sk(coupon))


# --- what an order reads (keys of the catalogue's BatchGetItem) --------------------------------


def order_keys(shop_id: str, buyer_id: str, coupon_id: str | None, with_pair: bool) -> list[tuple[str, str]]:
    """The buyer's relationship pair with the shop (the regular perk; only ``with_pair``), and the
    holding and coupon the order names."""
    keys = [(rel_pk(shop_id), rel_sk(buyer_id))] if with_pair else []
    if coupon_id is not None:
        keys += [(user_pk(buyer_id), holding_sk(coupon_id)), (coupon_pk(coupon_id), COUPON)]
    return keys


def entitlements(items: Iterable, shop_id: str, buyer_id: str, coupon_id: str | None,
                 pair_read: bool) -> Entitlements:
    state, holding, coupon = None, None, None
    for item in items:
        if isinstance(item, RelationshipItem) and item.shop_id == shop_id and item.user_id == buyer_id:
            raw = item.state
            state = RelationshipState.from_dict(raw.as_dict() if isinstance(raw, MapAttribute) else raw)
        elif isinstance(item, HoldingItem) and item.user_id == buyer_id and item.coupon_id == coupon_id:
            holding = to_holding(item)
        elif isinstance(item, CouponItem) and item.coupon_id == coupon_id:
            coupon = to_coupon(item)
    return Entitlements(pair_state=state, holding=holding, coupon=coupon, pair_read=pair_read)


# --- an order's transactions ------------------------------------------------------------------


def add_use(tx: Transaction, order: Order) -> None:
    """Placing ``order`` uses its buyer's holding (condition: held and unused; it leaves the
    buyer's list) and takes one of the coupon's redemptions (condition: one is left)."""
    assert order.coupon_id is not None
    tx.update(HoldingItem(user_pk(order.buyer_id), holding_sk(order.coupon_id)),
              [HoldingItem.used_order_id.set(order.order_id), HoldingItem.used_at.set(order.created_at),
               HoldingItem.gsi1pk.remove()],
              condition=HoldingItem.pk.exists() & HoldingItem.used_order_id.does_not_exist(),
              label=HOLDING_USE, return_old=True)
    tx.update(CouponItem(coupon_pk(order.coupon_id), COUPON), [CouponItem.redeemed.add(1)],
              condition=CouponItem.pk.exists() & (CouponItem.redeemed < CouponItem.max_redemptions),
              label=COUPON_REDEEM)


def explain_use(cancelled: Cancelled) -> None:
    """Raise for the coupon items that cancelled a placing transaction, if any."""
    if HOLDING_USE in cancelled:
        raise HoldingUnusable(held=bool(cancelled.old_items.get(HOLDING_USE)))
    if COUPON_REDEEM in cancelled:
        raise CouponUsedUp()


def add_return(tx: Transaction, order: Order, *, holding: bool = True, coupon: bool = True) -> None:
    """Cancelling or expiring ``order`` gives its coupon back, in the transaction that moves its
    status (so exactly once): the holding unused again and back on the buyer's list (condition:
    used by this order), one redemption back on the coupon. ``holding`` / ``coupon`` False leave
    an item out (the holding went with a closed account)."""
    if order.coupon_id is None:
        return
    if holding:
        tx.update(HoldingItem(user_pk(order.buyer_id), holding_sk(order.coupon_id)),
                  [HoldingItem.used_order_id.remove(), HoldingItem.used_at.remove(),
                   HoldingItem.gsi1pk.set(my_coupons_pk(order.buyer_id))],
                  condition=HoldingItem.used_order_id == order.order_id, label=HOLDING_BACK)
    if coupon:
        tx.update(CouponItem(coupon_pk(order.coupon_id), COUPON), [CouponItem.redeemed.add(-1)],
                  condition=CouponItem.pk.exists() & (CouponItem.redeemed >= 1), label=COUPON_BACK)


def commit_with_return(build, order: Order) -> None:
    """Commit the transaction ``build()`` makes with ``order``'s coupon given back
    (``add_return``), leaving out a return item whose condition cannot hold (the holding was
    deleted with a closed account): the status still moves. Other cancellations are raised."""
    holding = coupon = True
    while True:
        tx: Transaction = build()
        add_return(tx, order, holding=holding, coupon=coupon)
        try:
            tx.commit()
            return
        except Cancelled as cancelled:
            retry = False
            if HOLDING_BACK in cancelled and holding:
                holding, retry = False, True
            if COUPON_BACK in cancelled and coupon:
                coupon, retry = False, True
            others = [label for label in cancelled.failed if label not in (HOLDING_BACK, COUPON_BACK)]
            if others or not retry:
                raise


# --- the repository ---------------------------------------------------------------------------


class CouponsRepository:
    def create(self, coupon: Coupon) -> None:
        item = CouponItem(coupon_pk(coupon.coupon_id), COUPON, coupon_id=coupon.coupon_id, shop_id=coupon.shop_id,
                          shop_name=coupon.shop_name, name=coupon.name, kind=coupon.kind, value=coupon.value,
                          min_subtotal=coupon.min_subtotal, starts_at=coupon.starts_at, ends_at=coupon.ends_at,
                          max_redemptions=coupon.max_redemptions, redeemed=0, created_at=coupon.created_at,
                          gsi1pk=shop_coupons_pk(coupon.shop_id), gsi1sk=coupon.coupon_id)
        with_retries(lambda: item.save(condition=CouponItem.pk.does_not_exist()))

    def get_coupon(self, coupon_id: str) -> Coupon | None:
        """One strongly consistent GetItem (``redeemed`` as it is now)."""
        try:
            return to_coupon(with_retries(lambda: CouponItem.get(coupon_pk(coupon_id), COUPON,
                                                                 consistent_read=True)))
        except CouponItem.DoesNotExist:
            return None

    def shop_coupons(self, shop_id: str, start_key: dict | None, limit: int) -> Page:
        """The shop's coupons, newest first: one Query on gsi1."""
        def read() -> Page:
            results = CouponItem.gsi1.query(shop_coupons_pk(shop_id), scan_index_forward=False, limit=limit,
                                            last_evaluated_key=start_key)
            return page_of(results, limit, to_coupon)

        return with_retries(read)

    def grant(self, coupon: Coupon, user_id: str, now: float) -> bool:
        """Give ``coupon`` to ``user_id``: one conditional PutItem; False when they hold it
        already (given before, by this call or a racing one), so giving is idempotent."""
        item = holding_item(coupon, user_id, now)
        try:
            with_retries(lambda: item.save(condition=HoldingItem.pk.does_not_exist()))
        except PutError as error:
            if error.cause_response_code == CONDITION_FAILED:
                return False
            raise
        return True

    def my_coupons(self, user_id: str, now: float, start_key: dict | None, limit: int) -> Page:
        """The coupons ``user_id`` holds and can use now, soonest ending first: one Query on
        gsi1 for the unused ones not ended (the key), those not started yet filtered out."""
        def read() -> Page:
            results = HoldingItem.gsi1.query(my_coupons_pk(user_id), HoldingItem.gsi1sk > f"{iso(now)}#~",
                                             filter_condition=HoldingItem.starts_at <= now, limit=limit,
                                             last_evaluated_key=start_key)
            return page_of(results, limit, to_holding)

        return with_retries(read)

    def holding(self, user_id: str, coupon_id: str) -> Holding | None:
        try:
            return to_holding(with_retries(lambda: HoldingItem.get(user_pk(user_id), holding_sk(coupon_id),
                                                                   consistent_read=True)))
        except HoldingItem.DoesNotExist:
            return None

    def forget(self, user_id: str) -> int:
        """A closed account's holdings go (used or not); idempotent. A later cancel of an order
        that used one still gives its redemption back to the coupon."""
        gone = 0
        items = with_retries(lambda: list(HoldingItem.query(user_pk(user_id),
                                                            HoldingItem.sk.startswith(HOLDING_PREFIX))))
        for item in items:
            with_retries(item.delete)
            gone += 1
        return gone
