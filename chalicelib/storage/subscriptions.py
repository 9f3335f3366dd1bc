"""Subscriptions: creating one (idempotent), conditional writes, the lists, the due-date index
and the period's order riding in the order path's transaction.

Every access is a GetItem, one Query, or one conditional write:

* create: one TransactWriteItems (the subscription and its Idempotency-Key record);
* read by id: GetItem (strongly consistent); every change: one PutItem conditional on the
  ``revision`` read;
* my subscriptions / a shop's / a shop's in one status / one customer's at a shop: one
  Query on gsi1 / gsi2 / gsi3 / gsi2 with ``begins_with``;
* due: one Query page of each shard of a day bucket on gsi4, in parallel (``storage.buckets``);
* a period's order: the order path's TransactWriteItems with the subscription's next state
  as one more item (``storage.orders.Rider``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import asdict
from datetime import UTC, datetime
from pynamodb.exceptions import PutError

from chalicelib.ids import iso
from chalicelib.records.accounts import Shop
from chalicelib.records.common import Page
from chalicelib.records.commerce import Order, Product
from chalicelib.records.closing import SubscriberClosed
from chalicelib.records.subscriptions import (
    ACTIVE,
    PendingCharge,
    PeriodOutcome,
    StaleSubscription,
    Subscription,
    SubscriptionLine,
    SubscriptionRequest,
)
from chalicelib.storage.accounts import PROFILE, _connection
from chalicelib.storage.base import MainItem
from chalicelib.storage.buckets import read_pages
from chalicelib.storage.models.accounts import ShopItem, UserItem, shop_pk, user_pk
from chalicelib.storage.models.products import ProductItem
from chalicelib.storage.models.relationships import JobStateItem
from chalicelib.storage.models.subscriptions import (
    SUBSCRIPTION,
    SUBSCRIPTION_REQUEST,
    SubscriptionItem,
    SubscriptionRequestItem,
    due_pk,
    due_pks,
    my_subscriptions_pk,
    request_pk,
    shop_status_subscriptions_pk,
    shop_subscriptions_pk,
    subscription_pk,
)
from chalicelib.storage.orders import OrdersRepository, Rider
from chalicelib.storage.paging import page_of
from chalicelib.storage.products import product_key, to_product
from chalicelib.storage.retry import with_retries
from chalicelib.storage.shops import to_shop
from chalicelib.storage.transactions import Cancelled, Transaction

CONDITION_FAILED = "ConditionalCheckFailedException"
# How long a POST /subscriptions Idempotency-Key answers retries (as for orders).
REQUEST_RETENTION_SECONDS = 7 * 24 * 3600
WATERMARK = ("JOB#subscriptions", "STATE")
SUBSCRIPTION_PUT, REQUEST_PUT, PERIOD = "subscription", "subscription-request", "subscription-period"


# --- conversions ------------------------------------------------------------------------------


def to_subscription(item: SubscriptionItem) -> Subscription:
    return Subscription(
        subscription_id=item.subscription_id, subscriber_id=item.subscriber_id,
        subscriber_name=item.subscriber_name, shop_id=item.shop_id, shop_name=item.shop_name,
        owner_id=item.owner_id,
        items=tuple(SubscriptionLine(product_id=line["product_id"], name=line["name"],
                                     quantity=int(line["quantity"]), price=int(line["price"]))
                    for line in item.items or ()),
        every_days=int(item.every_days), status=item.status, period=int(item.period),
        next_order_at=float(item.next_order_at), discount_percent=int(item.discount_percent or 0),
        quoted_at=float(item.quoted_at), announced_period=int(item.announced_period or 0),
        revision=int(item.revision or 0),
        history=tuple(PeriodOutcome(period=int(h["period"]), outcome=h["outcome"], due_at=float(h["due_at"]),
                                    at=float(h["at"]), order_id=h.get("order_id"), detail=h.get("detail") or "")
                      for h in item.history or ()),
        last_order_id=item.last_order_id, currency=item.currency, created_at=float(item.created_at),
        updated_at=float(item.updated_at), charge=_charge(item.charge),
    )


def _charge(value) -> PendingCharge | None:
    if value is None:
        return None
    data = value.as_dict() if hasattr(value, "as_dict") else dict(value)
    return PendingCharge(order_id=data["order_id"], period=int(data["period"]), attempts=int(data["attempts"]),
                         held_until=float(data["held_until"]), next_try_at=float(data["next_try_at"]))


def subscription_item(sub: Subscription) -> SubscriptionItem:
    item = SubscriptionItem(
        subscription_pk(sub.subscription_id), SUBSCRIPTION,
        subscription_id=sub.subscription_id, subscriber_id=sub.subscriber_id, subscriber_name=sub.subscriber_name,
        shop_id=sub.shop_id, shop_name=sub.shop_name, owner_id=sub.owner_id,
        items=[{"product_id": line.product_id, "name": line.name, "quantity": line.quantity, "price": line.price}
               for line in sub.items],
        every_days=sub.every_days, status=sub.status, period=sub.period, next_order_at=sub.next_order_at,
        discount_percent=sub.discount_percent, quoted_at=sub.quoted_at, announced_period=sub.announced_period,
        revision=sub.revision,
        history=[{k: v for k, v in asdict(h).items() if v is not None} for h in sub.history],
        last_order_id=sub.last_order_id, currency=sub.currency, created_at=sub.created_at,
        updated_at=sub.updated_at, charge=asdict(sub.charge) if sub.charge is not None else None,
        gsi1pk=my_subscriptions_pk(sub.subscriber_id), gsi1sk=sub.subscription_id,
        gsi2pk=shop_subscriptions_pk(sub.shop_id), gsi2sk=f"{sub.subscriber_id}#{sub.subscription_id}",
        gsi3pk=shop_status_subscriptions_pk(sub.shop_id, sub.status), gsi3sk=sub.subscription_id,
    )
    action_at = sub.action_at
    if action_at is not None:
        item.gsi4pk = due_pk(iso(action_at)[:10], sub.subscription_id)
        item.gsi4sk = f"{iso(action_at)}#{sub.subscription_id}"
    return item


def subscription_to_json(sub: Subscription) -> str:
    return json.dumps(asdict(sub), ensure_ascii=False, separators=(",", ":"))


def subscription_from_json(text: str) -> Subscription:
    data = json.loads(text)
    data["items"] = tuple(SubscriptionLine(**line) for line in data["items"])
    data["history"] = tuple(PeriodOutcome(**h) for h in data["history"])
    data["charge"] = PendingCharge(**data["charge"]) if data.get("charge") else None
    return Subscription(**data)


# The placing transaction's check that the subscriber's profile is still there (not closed).
SUBSCRIBER = "subscriber"


class _PeriodOrders:
    """The order path for one period of one subscription: the catalogue as usual, and the
    placing transaction carrying the subscription's next state, conditional on the revision
    the job read and on the subscription being active."""

    def __init__(self, orders: OrdersRepository, current: Subscription,
                 advance: Callable[[Order], Subscription]) -> None:
        self.orders, self.current, self.advance = orders, current, advance

    def load_catalog(self, shop_id, product_ids, link_code=None):
        return self.orders.load_catalog(shop_id, product_ids, link_code=link_code)

    def place(self, order, record, versions, referral=None, remembered=None, quota=None, *, shop_version=None):
        item = subscription_item(self.advance(order))
        condition = (SubscriptionItem.revision == self.current.revision) & (SubscriptionItem.status == ACTIVE)

        def explain(cancelled: Cancelled) -> None:
            if SUBSCRIBER in cancelled:  # the subscriber closed their account: no order after the close
                raise SubscriberClosed(self.current.subscriber_id)
            if PERIOD in cancelled:
                raise StaleSubscription(self.current.subscription_id)

        def add(tx: Transaction) -> None:
            tx.put(item, condition=condition, label=PERIOD)
            tx.check(UserItem, user_pk(self.current.subscriber_id), PROFILE, condition=UserItem.pk.exists(),
                     label=SUBSCRIBER)

        rider = Rider(add=add, explain=explain)
        return self.orders.place(order, record, versions, referral=referral, remembered=remembered, rider=rider,
                                 shop_version=shop_version,
                                 quota=quota)


class SubscriptionsRepository:
    def __init__(self, orders: OrdersRepository) -> None:
        self.orders = orders

    def load_catalog(self, shop_id: str, product_ids: list[str], subscriber_id: str | None = None
                     ) -> tuple[Shop | None, dict[str, Product], str | None]:
        """The shop, the products and the subscriber's name, read fresh in one BatchGetItem
        (strongly consistent: this is the quote the subscriber is told, not a cached copy).
        What it read also refreshes the order path's catalogue cache."""
        keys = [(shop_pk(shop_id), PROFILE), *(product_key(pid) for pid in dict.fromkeys(product_ids))]
        if subscriber_id is not None:
            keys.append((user_pk(subscriber_id), PROFILE))
        shop, products, name = None, {}, None
        for item in with_retries(lambda: list(MainItem.batch_get(keys, consistent_read=True))):
            if isinstance(item, ShopItem):
                shop = to_shop(item)
                self.orders.cache.put(f"shop#{shop.shop_id}", shop)
            elif isinstance(item, ProductItem):
                products[item.product_id] = to_product(item)
                self.orders.cache.put(f"product#{item.product_id}", products[item.product_id])
            elif isinstance(item, UserItem):
                name = item.name
        return shop, products, name

    def create(self, subscription: Subscription, request: SubscriptionRequest) -> SubscriptionRequest:
        """The subscription and its Idempotency-Key record in one transaction; the stored
        request when the key was used before (its ``subscription`` is the first answer)."""
        record = SubscriptionRequestItem(
            request_pk(request.user_id, request.key), SUBSCRIPTION_REQUEST,
            user_id=request.user_id, key=request.key, request_hash=request.request_hash,
            subscription_id=subscription.subscription_id, response=subscription_to_json(subscription),
            created_at=subscription.created_at,
            expires_at=datetime.fromtimestamp(subscription.created_at + REQUEST_RETENTION_SECONDS, UTC))
        tx = (Transaction(_connection(), return_consumed_capacity="NONE")
              .put(subscription_item(subscription), condition=SubscriptionItem.pk.does_not_exist(),
                   label=SUBSCRIPTION_PUT)
              .put(record, condition=SubscriptionRequestItem.pk.does_not_exist(), label=REQUEST_PUT,
                   return_old=True))
        try:
            tx.commit()
        except Cancelled as cancelled:
            if REQUEST_PUT not in cancelled:
                raise
            raw = cancelled.old_items.get(REQUEST_PUT)
            stored = (SubscriptionRequestItem.from_raw_data(raw) if raw else
                      with_retries(lambda: SubscriptionRequestItem.get(record.pk, SUBSCRIPTION_REQUEST,
                                                                       consistent_read=True)))
            return SubscriptionRequest(user_id=stored.user_id, key=stored.key, request_hash=stored.request_hash,
                                       subscription=subscription_from_json(stored.response))
        return request

    def get(self, subscription_id: str) -> Subscription | None:
        try:
            return to_subscription(with_retries(lambda: SubscriptionItem.get(
                subscription_pk(subscription_id), SUBSCRIPTION, consistent_read=True)))
        except SubscriptionItem.DoesNotExist:
            return None

    def save(self, current: Subscription, updated: Subscription) -> None:
        """Write ``updated`` if the stored subscription is still at ``current``'s revision
        (one PutItem); ``StaleSubscription`` otherwise."""
        item = subscription_item(updated)
        try:
            with_retries(lambda: item.save(condition=SubscriptionItem.revision == current.revision))
        except PutError as error:
            if error.cause_response_code == CONDITION_FAILED:
                raise StaleSubscription(current.subscription_id) from error
            raise

    def mine(self, user_id: str, start_key: dict | None, limit: int) -> Page:
        return self._page(SubscriptionItem.gsi1, my_subscriptions_pk(user_id), start_key, limit)

    def of_shop(self, shop_id: str, status: str | None, start_key: dict | None, limit: int) -> Page:
        if status is None:
            return self._page(SubscriptionItem.gsi2, shop_subscriptions_pk(shop_id), start_key, limit, newest=False)
        return self._page(SubscriptionItem.gsi3, shop_status_subscriptions_pk(shop_id, status), start_key, limit)

    def of_customer(self, shop_id: str, user_id: str, limit: int = 20) -> list[Subscription]:
        def read() -> list[Subscription]:
            results = SubscriptionItem.gsi2.query(shop_subscriptions_pk(shop_id),
                                                  SubscriptionItem.gsi2sk.startswith(f"{user_id}#"),
                                                  scan_index_forward=False, limit=limit)
            return [to_subscription(item) for item in results]

        return with_retries(read)

    def due(self, day: str, until: float, limit: int) -> Iterator[list[Subscription]]:
        """Pages of ``day``'s bucket: subscriptions whose next action is at or before ``until``,
        earliest first within a page; one page (``limit``) of each shard and of the legacy key
        at a time, read in parallel (``storage.buckets.read_pages``). Close it to stop early."""
        bound = f"{iso(until)}~"

        def page(pk: str, start: dict | None) -> tuple[list[Subscription], dict | None]:
            def read() -> tuple[list[Subscription], dict | None]:
                results = SubscriptionItem.gsi4.query(pk, SubscriptionItem.gsi4sk <= bound, limit=limit,
                                                      page_size=limit, last_evaluated_key=start)
                return [to_subscription(item) for item in results], results.last_evaluated_key

            return with_retries(read)

        return read_pages(due_pks(day), page)

    def watermark(self) -> str | None:
        try:
            return with_retries(lambda: JobStateItem.get(*WATERMARK)).day
        except JobStateItem.DoesNotExist:
            return None

    def set_watermark(self, day: str, now: float) -> None:
        item = JobStateItem(*WATERMARK, day=day, updated_at=now)
        with_retries(item.save)

    def period_orders(self, current: Subscription, advance: Callable[[Order], Subscription]) -> _PeriodOrders:
        return _PeriodOrders(self.orders, current, advance)

    @staticmethod
    def _page(index, hash_key: str, start_key: dict | None, limit: int, newest: bool = True) -> Page:
        def read() -> Page:
            results = index.query(hash_key, scan_index_forward=not newest, limit=limit, last_evaluated_key=start_key)
            return page_of(results, limit, to_subscription)

        return with_retries(read)
