"""Orders: the placing transaction, status moves, and the buyer's and shop's lists."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.update import Action

from chalicelib.records.commerce import (Address, BankAccount, DiscountLine, Fulfilment, IdempotencyRecord, Order,
                                        OrderLine, Payment, Product, Refund, Shipment, StatusChange)
from chalicelib.records.coupons import Entitlements
from chalicelib.errors import FieldProblem, Invalid, NotFound, OrderChanged, OutOfStock, StaleCatalog
from chalicelib.records.accounts import Shop
from chalicelib.records.common import Page
from chalicelib.records.store_links import (BuyerAtShop, FirstBuyTaken, LinkRemembered, Referral, ReferrerClosed,
                                            Remembered, Settlement, StoreLink)
from chalicelib.storage.accounts import PROFILE, _connection
from chalicelib.storage.base import MainItem
from chalicelib.storage.catalog_cache import CatalogCache
from chalicelib.storage.conversations import block_check, raise_if_blocked
from chalicelib.storage.models.accounts import ShopItem, shop_pk
from chalicelib.storage.models.orders import (IDEMPOTENCY, ORDER, HistoryMap, IdempotencyItem, LineMap, OrderItem,
                                              buyer_orders_pk, idempotency_pk, order_pk, shop_orders_pk,
                                              shop_status_pk)
from chalicelib.storage.models.due import EXPIRE, due_item
from chalicelib.storage.models.products import ProductItem
from chalicelib.storage.models.social import POST_MARKER_SK, POST_SK, PostItem, PostMarkerItem, post_pk
from chalicelib.storage.paging import page_of
from chalicelib.storage.posts import post_marker
from chalicelib.storage.products import CONDITION_FAILED, product_key, to_product
from chalicelib.storage.retry import with_retries
from chalicelib.storage.models.store_links import StoreLinkItem, shop_referrals_pk
from chalicelib.storage.shops import to_shop
from chalicelib.storage import store_links as links
from chalicelib.records.rates import Ticket
from chalicelib.storage.rates import add_quota, raise_if_limited
from chalicelib.storage.transactions import Cancelled, Transaction

# Orders a shop still owes its buyers something on (an owner with any cannot close the account).
OPEN_STATUSES = ("pending_payment", "paid", "shipped")

# How long a stored Idempotency-Key answers retries. Far beyond DynamoDB's 10-minute
# ClientRequestToken window: a phone that lost its connection may retry hours later.
# TTL deletion is lazy, so records live at least this long.
IDEMPOTENCY_RETENTION_SECONDS = 7 * 24 * 3600

# Labels of the placing transaction's items. DynamoDB reports a cancellation by position and
# PynamoDB sends condition checks first, then puts, then updates — not in the order they were
# added — so the reasons are read by label (``storage.transactions``).
CHECK_FAILED = "ConditionalCheckFailed"  # a cancellation reason code (no "Exception" suffix)

VIA_POST, ORDER_PUT, RECORD_PUT, ORDER_MOVE = "via-post", "order", "idempotency-record", "order-move"
# Token attempts of a transaction sent again after its post got its marker (see ``place``).
MARKED_ATTEMPTS = 100


def stock_label(product_id: str) -> str:
    return f"stock:{product_id}"


@dataclass(frozen=True)
class Rider:
    """Items another domain adds to an order's placing transaction, so they are written with
    the order or not at all (a subscription moving on to its next period).

    ``add`` puts them on the transaction (labelled); ``explain`` is handed a cancellation and
    raises when one of its own conditions failed. It is asked after the idempotency record (a
    retry still gets its first answer back) and before stock (a change of the rider's item
    outranks a shortage).
    """

    add: Callable[[Transaction], object]
    explain: Callable[[Cancelled], None]


# --- conversions ------------------------------------------------------------------------------


def to_order(item: OrderItem) -> Order:
    return Order(
        order_id=item.order_id, shop_id=item.shop_id, shop_name=item.shop_name, owner_id=item.owner_id,
        buyer_id=item.buyer_id,
        items=tuple(OrderLine(product_id=line.product_id, name=line.name, price=int(line.price),
                              quantity=int(line.quantity), kind=line.kind,
                              reorder_days=None if line.reorder_days is None else int(line.reorder_days))
                    for line in item.items),
        subtotal=int(item.subtotal), discount=int(item.discount), total=int(item.total), status=item.status,
        history=tuple(StatusChange(status=h.status, at=h.at, by=h.by) for h in item.history or ()),
        created_at=item.created_at, updated_at=item.updated_at, via_post_id=item.via_post_id,
        via_store_link=item.via_store_link, reorder_of=item.reorder_of, review_id=item.review_id,
        currency=item.currency, referrer_id=item.referrer_id, referrer_name=item.referrer_name,
        referral_reward=None if item.referral_reward is None else int(item.referral_reward),
        reward_given=bool(item.reward_given), subscription_id=item.subscription_id,
        buyer_closed=bool(item.buyer_closed),
        buyer_name=item.buyer_name or "", shipping_fee=int(item.shipping_fee or 0),
        fulfilment=fulfilment_from(_plain(item.fulfilment)), payment=payment_from(_plain(item.payment)),
        paid_at=None if item.paid_at is None else float(item.paid_at), refund=refund_from(_plain(item.refund)),
        shipment=_shipment(_plain(item.shipment)),
        deliver_by=None if item.deliver_by is None else float(item.deliver_by),
        discounts=_discounts(item), coupon_id=item.coupon_id,
    )


def _discounts(item: OrderItem) -> tuple[DiscountLine, ...]:
    """The order's discount lines; an order placed before they were kept shows its one discount
    as what it was (a subscription's, or a store-link reward given to the friend)."""
    stored = _plain(item.discounts) if item.discounts else None
    if stored:
        return tuple(DiscountLine(kind=d["kind"], amount=int(d["amount"]), coupon_id=d.get("coupon_id"),
                                  name=d.get("name") or "") for d in stored)
    if int(item.discount or 0) > 0:
        return (DiscountLine("subscription" if item.subscription_id else "store_link", int(item.discount)),)
    return ()


def _plain(value) -> dict | None:
    """A stored map as plain Python: Decimals as int or float."""
    from decimal import Decimal

    def convert(v):
        if isinstance(v, Decimal):
            return int(v) if v == v.to_integral_value() else float(v)
        if isinstance(v, dict):
            return {k: convert(x) for k, x in v.items()}
        if isinstance(v, list):
            return [convert(x) for x in v]
        return v

    if value is None:
        return None
    raw = value.as_dict() if hasattr(value, "as_dict") else value
    return convert(raw)


def _stored(value) -> dict | None:
    """A record as a map to store: no None values (DynamoDB maps hold no nulls we need)."""
    if value is None:
        return None
    data = asdict(value)

    def drop(v):
        if isinstance(v, dict):
            return {k: drop(x) for k, x in v.items() if x is not None}
        return v

    return drop(data)


def _shipment(data: dict | None) -> Shipment | None:
    return Shipment(carrier=data.get("carrier", ""), tracking_number=data["tracking_number"]) if data else None


def fulfilment_from(data: dict | None) -> Fulfilment | None:
    if not data:
        return None
    address = data.get("address")
    return Fulfilment(method=data["method"], address=Address(**address) if address else None,
                      pickup_address=data.get("pickup_address"), pickup_hours=data.get("pickup_hours"))


def payment_from(data: dict | None) -> Payment | None:
    if not data:
        return None
    account = data.get("bank_account")
    return Payment(method=data["method"], payment_id=data["payment_id"], amount=int(data["amount"]),
                   deadline_at=float(data["deadline_at"]), bank_account=BankAccount(**account) if account else None,
                   billing_key_used=bool(data.get("billing_key_used", False)))


def refund_from(data: dict | None) -> Refund | None:
    if not data:
        return None
    return Refund(status=data["status"], amount=int(data["amount"]), requested_at=float(data["requested_at"]),
                  refunded_at=None if data.get("refunded_at") is None else float(data["refunded_at"]),
                  attempts=int(data.get("attempts", 0)), last_error=data.get("last_error"),
                  payment_id=data.get("payment_id"))


def order_item(order: Order) -> OrderItem:
    credited = order.via_store_link is not None and order.referrer_id is not None
    return OrderItem(
        order_pk(order.order_id), ORDER,
        order_id=order.order_id, shop_id=order.shop_id, shop_name=order.shop_name, owner_id=order.owner_id,
        buyer_id=order.buyer_id, status=order.status,
        items=[LineMap(product_id=line.product_id, name=line.name, price=line.price, quantity=line.quantity,
                       kind=line.kind, reorder_days=line.reorder_days) for line in order.items],
        subtotal=order.subtotal, discount=order.discount, total=order.total, currency=order.currency,
        via_post_id=order.via_post_id, via_store_link=order.via_store_link, reorder_of=order.reorder_of,
        review_id=order.review_id, referrer_id=order.referrer_id, referrer_name=order.referrer_name,
        referral_reward=order.referral_reward, reward_given=order.reward_given if credited else None,
        subscription_id=order.subscription_id, buyer_closed=order.buyer_closed or None,
        history=[HistoryMap(status=h.status, at=h.at, by=h.by) for h in order.history],
        created_at=order.created_at, updated_at=order.updated_at,
        buyer_name=order.buyer_name or None, shipping_fee=order.shipping_fee or None,
        fulfilment=_stored(order.fulfilment), payment=_stored(order.payment), paid_at=order.paid_at,
        refund=_stored(order.refund), shipment=_stored(order.shipment), deliver_by=order.deliver_by,
        discounts=[_stored(line) for line in order.discounts] or None, coupon_id=order.coupon_id,
        gsi1pk=buyer_orders_pk(order.buyer_id), gsi1sk=order.order_id,
        gsi2pk=shop_orders_pk(order.shop_id), gsi2sk=order.order_id,
        gsi3pk=shop_status_pk(order.shop_id, order.status), gsi3sk=order.order_id,
        gsi4pk=shop_referrals_pk(order.shop_id) if credited else None, gsi4sk=order.order_id if credited else None,
    )


def order_to_json(order: Order) -> str:
    return json.dumps(asdict(order), ensure_ascii=False, separators=(",", ":"))


def order_from_json(text: str) -> Order:
    data = json.loads(text)
    data["items"] = tuple(OrderLine(**line) for line in data["items"])
    data["history"] = tuple(StatusChange(**change) for change in data["history"])
    data["fulfilment"] = fulfilment_from(data.get("fulfilment"))
    data["payment"] = payment_from(data.get("payment"))
    data["refund"] = refund_from(data.get("refund"))
    data["shipment"] = Shipment(**data["shipment"]) if data.get("shipment") else None
    data["discounts"] = tuple(DiscountLine(**line) for line in data.get("discounts") or ())
    return Order(**data)


def to_record(item: IdempotencyItem) -> IdempotencyRecord:
    return IdempotencyRecord(user_id=item.user_id, key=item.key, request_hash=item.request_hash,
                             order=order_from_json(item.response))


def request_token(user_id: str, key: str, order_id: str, attempt: int) -> str:
    """The transaction's ClientRequestToken (≤ 36 characters).

    Derived from the user's Idempotency-Key and this request's order: a network-level resend of
    the very same transaction (a lost response, retried by botocore) is then a no-op success
    inside DynamoDB's 10-minute window. A client's retry is a new request with a new order id,
    so it gets a new token and is answered from the idempotency record instead (a token shared
    by all requests of one key would make every such retry an IdempotentParameterMismatch).
    ``attempt`` changes when we resend on purpose after a definite cancellation (a transaction
    conflict), so a remembered cancellation can never be replayed at us.
    """
    seed = "\x00".join((user_id, key, order_id, str(attempt)))
    return hashlib.sha256(seed.encode()).hexdigest()[:36]


def shop_key(shop_id: str) -> tuple[str, str]:
    return shop_pk(shop_id), PROFILE


class OrdersRepository:
    def __init__(self, cache: CatalogCache | None = None) -> None:
        self.cache = cache if cache is not None else CatalogCache()

    def load_catalog(self, shop_id: str, product_ids: Sequence[str], link_code: str | None = None) -> tuple[
            Shop | None, dict[str, Product], StoreLink | None]:
        """The shop, the products and the store link named by ``link_code``: from the container's
        cache, the rest in one BatchGetItem.

        Eventually consistent, on purpose (half the read capacity, a faster read): nothing
        here is trusted at commit. Stock is decided by the transaction's conditions, and the
        transaction also checks each product's ``updated_at`` against this copy, so a price
        or name from a stale read (or a stale cache entry) cancels it and is priced again; the
        same goes for the shop's reward setting and the link's give-to-friend flag.
        """
        shop, products, link, _, _ = self._load(shop_id, product_ids, link_code, None, 0.0, None)
        return shop, products, link

    def load_order(self, shop_id: str, product_ids: Sequence[str], link_code: str | None, buyer_id: str,
                   now: float, coupon_id: str | None = None) -> tuple[
            Shop | None, dict[str, Product], StoreLink | None, BuyerAtShop, Entitlements]:
        """``load_catalog`` and, in the same BatchGetItem, the buyer's remembered link for the
        shop and their first-purchase slot (``BuyerAtShop``): per buyer, so never cached, and
        so read by every order, warm or cold. Knowing them before the transaction is what keeps
        an order through a remembered link, or a customer's second order through a link, at one
        TransactWriteItems; the transaction still checks both, so a stale read only retries.

        Also in that read (``Entitlements``): the buyer's relationship pair with the shop, for the
        regular perk (left out when a cached shop sets no perk), and the holding and coupon
        ``coupon_id`` names."""
        shop, products, link, buyer, extras = self._load(shop_id, product_ids, link_code, buyer_id, now, coupon_id)
        assert buyer is not None and extras is not None
        return shop, products, link, buyer, extras

    def _load(self, shop_id: str, product_ids: Sequence[str], link_code: str | None, buyer_id: str | None,
              now: float, coupon_id: str | None) -> tuple[Shop | None, dict[str, Product], StoreLink | None,
                                                          BuyerAtShop | None, Entitlements | None]:
        from chalicelib.storage import coupons

        wanted = list(dict.fromkeys(product_ids))
        shop = self.cache.get(f"shop#{shop_id}")
        products = {pid: cached for pid in wanted if (cached := self.cache.get(f"product#{pid}")) is not None}
        link = self.cache.get(f"link#{link_code}") if link_code else None
        keys = ([] if shop is not None else [shop_key(shop_id)]) + [
            product_key(pid) for pid in wanted if pid not in products]
        if link_code and link is None:
            keys.append(links.link_key(link_code))
        with_pair = shop is None or shop.regular_perk is not None  # a cached shop without a perk needs no pair
        if buyer_id is not None:
            keys += links.buyer_keys(buyer_id, shop_id)
            keys += coupons.order_keys(shop_id, buyer_id, coupon_id, with_pair=with_pair)
        read: list = []
        if keys:
            read = with_retries(lambda: list(MainItem.batch_get(keys)))
            for item in read:
                if isinstance(item, ShopItem):
                    shop = to_shop(item)
                    self.cache.put(f"shop#{shop.shop_id}", shop)
                elif isinstance(item, ProductItem):
                    products[item.product_id] = self._remember(to_product(item))
                elif isinstance(item, StoreLinkItem):
                    link = self._remember_link(links.to_link(item))
        if buyer_id is None:
            return shop, products, link, None, None
        return (shop, products, link, links.buyer_at_shop(read, buyer_id, shop_id, now),
                coupons.entitlements(read, shop_id, buyer_id, coupon_id, with_pair))

    def forget_shop(self, shop_id: str) -> bool:
        """Drop a cached shop; True if there was one (a decision made on it may be stale)."""
        return self.cache.forget(f"shop#{shop_id}")

    def _remember(self, product: Product) -> Product:
        self.cache.put(f"product#{product.product_id}", product)
        return product

    def _remember_link(self, link: StoreLink) -> StoreLink:
        self.cache.put(f"link#{link.code}", link)
        return link

    def place(self, order: Order, record: IdempotencyRecord, versions: Mapping[str, float],
              referral: Referral | None = None, remembered: Remembered | None = None,
              rider: Rider | None = None, quota: Ticket | None = None, *,
              post_marked: bool = False, shop_version: float | None = None) -> IdempotencyRecord:
        """One TransactWriteItems: the order, the idempotency record and, per line, a stock
        decrement conditional on enough stock and on the product being the version it was
        priced from (``versions``: product id → ``updated_at``); with ``via_post_id``, a
        condition check that the post exists and is the order's shop's (no extra call); with a
        ``referral``, the store-link items (``storage.store_links.add_referral``); and always
        the buyer's remembered link for the shop (``add_remembered``: used, dropped or checked
        absent).

        Returns ``record`` when this order was written, or the record already stored under
        the key (its ``order`` is the first answer). A post that is not the shop's →
        ``Invalid`` on ``body.via_post_id``; not enough stock → ``OutOfStock``; a product,
        the reward setting or the link changed since it was read → ``StaleCatalog`` (the cache
        now holds the current product or link, or has forgotten the shop); a remembered link
        the order did not use → ``LinkRemembered``. A ``rider``'s items go in the same
        transaction. ``quota`` (the buyer's rate-limit window) is one more item of the
        transaction: a full window → ``RateLimited``, a replay never. Unless the order is a
        subscription's, a check that the shop has not blocked the buyer (``Blocked``) rides along."""
        item = order_item(order)
        stored_record = IdempotencyItem(
            idempotency_pk(record.user_id, record.key), IDEMPOTENCY,
            user_id=record.user_id, key=record.key, request_hash=record.request_hash, order_id=order.order_id,
            response=order_to_json(order), created_at=order.created_at,
            expires_at=datetime.fromtimestamp(order.created_at + IDEMPOTENCY_RETENTION_SECONDS, UTC),
        )
        # PynamoDB asks for ReturnConsumedCapacity=TOTAL unless told otherwise; nothing reads it
        # here, and it costs DynamoDB Local ~0.8 ms per transaction.
        # ``post_marked``: sent again once the post got its marker; other tokens, so a remembered
        # cancellation of the first send cannot come back
        first = MARKED_ATTEMPTS if post_marked else 0
        tx = Transaction(_connection(), return_consumed_capacity="NONE",
                         client_request_token=lambda attempt: request_token(record.user_id, record.key,
                                                                            order.order_id, first + attempt))
        if order.via_post_id is not None:
            # the post's immutable marker, not the post item its likes keep updating (see PostMarkerItem)
            tx.check(PostMarkerItem, post_pk(order.via_post_id), POST_MARKER_SK,
                     condition=PostMarkerItem.pk.exists() & (PostMarkerItem.shop_id == order.shop_id), label=VIA_POST)
        tx.put(item, condition=OrderItem.pk.does_not_exist(), label=ORDER_PUT)
        if order.payment is not None and order.paid_at is None:
            # the deadline job's work item: expires the order, and returns its stock, if unpaid by then
            tx.put(due_item(EXPIRE, order.payment.deadline_at, order.order_id), label="due")
        tx.put(stored_record, condition=IdempotencyItem.pk.does_not_exist(), label=RECORD_PUT, return_old=True)
        for line in order.items:
            tx.update(ProductItem(*product_key(line.product_id)), [ProductItem.stock.add(-line.quantity)],
                      condition=(ProductItem.stock >= line.quantity)
                      & (ProductItem.updated_at == versions[line.product_id]),
                      label=stock_label(line.product_id), return_old=True)
        if referral is not None:
            links.add_referral(tx, referral, shop_version, buyer_id=order.buyer_id, order_id=order.order_id,
                               hold_until=order.payment.deadline_at if order.payment else order.created_at,
                               now=order.created_at)
        elif shop_version is not None:
            # the shop's fee, pickup place and account the order copied are the shop's at commit
            tx.check(ShopItem, *shop_key(order.shop_id), condition=ShopItem.updated_at == shop_version,
                     label=links.SHOP_REWARD)
        links.add_remembered(tx, order, remembered)
        if order.coupon_id is not None:
            from chalicelib.storage import coupons

            coupons.add_use(tx, order)
        if order.subscription_id is None:
            # a buyer the shop blocked orders nothing from it: one more check, no extra call
            block_check(tx, order.shop_id, order.buyer_id)
        if rider is not None:
            rider.add(tx)
        add_quota(tx, quota)
        try:
            tx.commit()
        except Cancelled as cancelled:
            # A retry finds its first answer even if the post or the stock has gone since.
            if RECORD_PUT in cancelled:
                return self._stored_record(record, cancelled.old_items.get(RECORD_PUT))
            raise_if_limited(cancelled, quota, order.created_at)
            raise_if_blocked(cancelled)
            if (VIA_POST in cancelled and order.via_post_id is not None and not post_marked
                    and self._mark_post(order.via_post_id, order.shop_id)):
                return self.place(order, record, versions, referral, remembered, rider, quota, post_marked=True,
                                  shop_version=shop_version)
            if rider is not None:
                rider.explain(cancelled)
            if order.coupon_id is not None:
                from chalicelib.storage import coupons

                coupons.explain_use(cancelled)
            if VIA_POST in cancelled:
                raise Invalid("The post this order comes from is not a post of the order's shop.",
                              errors=[FieldProblem("body.via_post_id", "no such post of this shop",
                                                   code="not_shop_post")]) from None
            short, stale = [], False
            for line in order.items:
                label = stock_label(line.product_id)
                if label not in cancelled:
                    continue
                raw = cancelled.old_items.get(label)
                current = self._remember(to_product(ProductItem.from_raw_data(raw))) if raw else None
                if current is None or current.stock < line.quantity:
                    short.append((line, current))
                else:
                    stale = True
            if short:
                raise _out_of_stock(short) from None
            self._store_link_cancellation(order, referral, cancelled)
            if stale:
                raise StaleCatalog("The products changed while you were ordering; check the prices and order "
                                   "again.") from None
            raise
        return record

    @staticmethod
    def _mark_post(post_id: str, shop_id: str) -> bool:
        """Give a post written before markers existed its marker, if it exists now and is the
        shop's (one transaction: the post checked, the marker written). False when it is not."""
        tx = (Transaction(_connection(), return_consumed_capacity="NONE")
              .check(PostItem, post_pk(post_id), POST_SK, condition=PostItem.pk.exists() & (PostItem.shop_id == shop_id),
                     label="post")
              .put(post_marker(post_id, shop_id), condition=PostMarkerItem.pk.does_not_exist(), label="marker"))
        try:
            tx.commit()
        except Cancelled as cancelled:
            return "post" not in cancelled  # a marker written meanwhile is as good
        return True

    def _store_link_cancellation(self, order: Order, referral: Referral | None, cancelled: Cancelled) -> None:
        """Raise for the store-link items that cancelled the order's transaction, if any."""
        if referral is not None and links.REFERRER in cancelled:
            self.cache.forget(f"link#{referral.code}")
            raise ReferrerClosed() from None  # placed again without the credit
        if referral is not None and links.FIRST_BUY in cancelled:
            raise FirstBuyTaken() from None
        if links.REMEMBERED_CHECK in cancelled or links.REMEMBERED_USE in cancelled:
            raise LinkRemembered(links.read_remembered(order.buyer_id, order.shop_id, order.created_at)) from None
        if links.SHOP_REWARD in cancelled:
            self.cache.forget(f"shop#{order.shop_id}")
            raise StaleCatalog("The shop changed its settings meanwhile; order again.") from None
        if referral is not None and links.LINK in cancelled:
            current = links.link_from_raw(cancelled.old_items.get(links.LINK))
            if current is None:
                self.cache.forget(f"link#{referral.code}")
            else:
                self._remember_link(current)
            raise StaleCatalog("The store link changed meanwhile; order again.") from None

    def _stored_record(self, record: IdempotencyRecord, raw: dict | None) -> IdempotencyRecord:
        if raw:
            return to_record(IdempotencyItem.from_raw_data(raw))
        key = (idempotency_pk(record.user_id, record.key), IDEMPOTENCY)
        return to_record(with_retries(lambda: IdempotencyItem.get(*key, consistent_read=True)))

    def get_order(self, order_id: str) -> Order | None:
        try:
            return to_order(with_retries(lambda: OrderItem.get(order_pk(order_id), ORDER, consistent_read=True)))
        except OrderItem.DoesNotExist:
            return None

    def move(self, order: Order, change: StatusChange, restock: bool,
             settlement: Settlement | None = None, *, updated: Order | None = None,
             due: tuple[str, float] | None = None) -> Order:
        """Write the new status if the order is still in the status it was read in; with
        ``restock`` the quantities go back to the products, and with a ``settlement`` the
        store-link ledger entry and totals are written, in the same transaction.

        ``updated``: the order as it is after the move (its ``shipment``, ``deliver_by`` and
        ``refund`` are written too); ``due``: (kind, at) of a deadline-job work item to put with it."""
        target = OrderItem(order_pk(order.order_id), ORDER)
        actions: list[Action] = [
            OrderItem.status.set(change.status),
            OrderItem.updated_at.set(change.at),
            OrderItem.gsi3pk.set(shop_status_pk(order.shop_id, change.status)),
            OrderItem.history.set(OrderItem.history.append([HistoryMap(status=change.status, at=change.at,
                                                                       by=change.by)])),
        ]
        if updated is not None:
            for name in ("shipment", "refund"):
                value = getattr(updated, name)
                if value is not None and value != getattr(order, name):
                    actions.append(getattr(OrderItem, name).set(_stored(value)))
            if updated.deliver_by is not None and updated.deliver_by != order.deliver_by:
                actions.append(OrderItem.deliver_by.set(updated.deliver_by))
        condition = OrderItem.status == order.status
        paid_at = order.paid_at
        if change.status == "paid" and order.paid_at is None:
            # The order counts from this record on (stream contract): set once, never removed.
            actions.append(OrderItem.paid_at.set(change.at))
            condition = condition & OrderItem.paid_at.does_not_exist()
            paid_at = change.at

        if not restock and settlement is None and due is None and change.status != "paid":
            try:
                with_retries(lambda: target.update(actions=actions, condition=condition))
            except UpdateError as error:
                if error.cause_response_code != CONDITION_FAILED:
                    raise
                self._raise_moved(order, change, error)
        else:
            self._move_together(order, change, target, actions, condition, restock, settlement, due)
        base = updated if updated is not None else order
        return replace(base, status=change.status, updated_at=change.at, history=order.history + (change,),
                       paid_at=paid_at)

    def _move_together(self, order: Order, change: StatusChange, target: OrderItem, actions: list, condition,
                       restock: bool, settlement: Settlement | None, due: tuple[str, float] | None = None) -> None:
        """One transaction: the order's move and what rides along. With ``restock`` (the order is
        undone) the quantities go back to the products and the coupon it used to its buyer
        (``storage.coupons.add_return``)."""
        from chalicelib.storage import coupons

        with_link = True

        def build() -> Transaction:
            tx = Transaction(_connection()).update(target, actions, condition=condition, label=ORDER_MOVE)
            if due is not None:
                tx.put(due_item(due[0], due[1], order.order_id), label="due")
            if restock:
                for line in order.items:
                    tx.update(ProductItem(*product_key(line.product_id)), [ProductItem.stock.add(line.quantity)],
                              condition=ProductItem.pk.exists(), label=stock_label(line.product_id))
            if settlement is not None:
                links.add_settlement(tx, settlement, with_link=with_link)
            if change.status == "paid":
                links.add_first_paid(tx, order)
            return tx

        while True:
            try:
                if restock and order.coupon_id is not None:
                    coupons.commit_with_return(build, order)
                else:
                    build().commit()
                return
            except Cancelled as cancelled:
                if ORDER_MOVE in cancelled:
                    self._raise_moved(order, change, cancelled)
                if links.LINK in cancelled and with_link:
                    with_link = False  # the link is gone (its owner closed the account): the ledger still moves
                    continue
                raise

    def _raise_moved(self, order: Order, change: StatusChange, error: Exception) -> None:
        latest = self.get_order(order.order_id)
        if latest is None:
            raise NotFound("No such order.") from error
        raise OrderChanged(f"The order became {latest.status} meanwhile; it cannot become {change.status} now.",
                           extra={"order_status": latest.status, "requested_status": change.status}) from error

    def list_buyer_orders(self, user_id: str, start_key: dict | None, limit: int) -> Page:
        """My orders, newest first: one Query on gsi1."""
        return self._page(OrderItem.gsi1, buyer_orders_pk(user_id), start_key, limit)

    def list_shop_orders(self, shop_id: str, status: str | None, start_key: dict | None, limit: int) -> Page:
        """A shop's orders, newest first: one Query on gsi2, or on gsi3 for one status."""
        if status is None:
            return self._page(OrderItem.gsi2, shop_orders_pk(shop_id), start_key, limit)
        return self._page(OrderItem.gsi3, shop_status_pk(shop_id, status), start_key, limit)

    # --- closing accounts ------------------------------------------------------------------

    def open_statuses(self, shop_id: str) -> list[str]:
        """The open statuses (pending payment, paid, shipped) the shop has orders in: one
        Query of one item per status on gsi3."""
        found = []
        for status in OPEN_STATUSES:
            def first(status: str = status) -> OrderItem | None:
                return next(iter(OrderItem.gsi3.query(shop_status_pk(shop_id, status), limit=1,
                                                      attributes_to_get=["pk", "sk", "entity"])), None)

            if with_retries(first) is not None:
                found.append(status)
        return found

    def close_buyer(self, user_id: str) -> int:
        """Mark the buyer's orders as bought by a closed account (they stay in the shops'
        books): one Query page per 100 orders, one conditional UpdateItem per order not yet
        marked. Returns how many were marked now."""
        marked = 0
        results = OrderItem.gsi1.query(buyer_orders_pk(user_id), page_size=100,
                                       attributes_to_get=["pk", "sk", "entity", "order_id", "buyer_closed"])
        for item in results:
            if item.buyer_closed:
                continue
            target = OrderItem(order_pk(item.order_id), ORDER)
            try:
                with_retries(lambda: target.update(actions=[OrderItem.buyer_closed.set(True)],
                                                   condition=OrderItem.pk.exists()))
                marked += 1
            except UpdateError as error:
                if error.cause_response_code != CONDITION_FAILED:
                    raise
        return marked

    @staticmethod
    def _page(index, hash_key: str, start_key: dict | None, limit: int) -> Page:
        def read() -> Page:
            results = index.query(hash_key, scan_index_forward=False, limit=limit, last_evaluated_key=start_key)
            return page_of(results, limit, to_order)

        return with_retries(read)


def _out_of_stock(short: list[tuple[OrderLine, Product | None]]) -> OutOfStock:
    """409 naming each product there is not enough of, and how many are left."""
    shortages = [{"product_id": line.product_id, "name": current.name if current else line.name,
                  "requested": line.quantity, "available": max(current.stock, 0) if current else 0}
                 for line, current in short]
    first = shortages[0]
    return OutOfStock(f"Not enough '{first['name']}': {first['available']} left, {first['requested']} requested.",
                      extra={**first, "shortages": shortages})
