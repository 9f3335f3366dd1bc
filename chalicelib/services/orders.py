"""Orders: placing one (idempotent, oversell-proof), its lifecycle, listing, reordering.

Placing an order costs one read and one write on the request path: storage reads the shop
and the products in one BatchGetItem (prices are read here, never taken from the client),
then writes, in one TransactWriteItems, a conditional stock decrement per product
(``stock >= quantity``), the order and the idempotency record, and with ``via_post_id`` a
condition check that the post is the shop's (a 422 otherwise). Either all of it happens or
none of it, so stock can never go below zero however many buyers race, and the idempotency
record exists exactly when its order does (which is why no "in progress" lock is needed).

Lifecycle (``TRANSITIONS`` below is the whole rule set)::

    pending_payment --owner--> paid --owner--> shipped --owner--> delivered
          |                     |
          +--owner or buyer-----+--owner--> cancelled   (the stock goes back, same transaction)

Every move is a write conditional on the status it was decided from, so of two racing moves
(a cancel and a ship) exactly one wins; the other is answered 409.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Protocol

from chalicelib.records.commerce import CURRENCY, IdempotencyRecord, Order, OrderLine, Product, StatusChange
from chalicelib.errors import Conflict, FieldProblem, Forbidden, Invalid, NotFound, StaleCatalog
from chalicelib.ids import new_id
from chalicelib.records.accounts import Shop
from chalicelib.records.common import Page
from chalicelib.services.shops import ShopsStore, owned_shop


class Status(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


OWNER, BUYER = "owner", "buyer"

# (from, to) -> who may make that move. Anything not listed is illegal for everyone (409).
TRANSITIONS: dict[tuple[Status, Status], frozenset[str]] = {
    (Status.PENDING_PAYMENT, Status.PAID): frozenset({OWNER}),
    (Status.PAID, Status.SHIPPED): frozenset({OWNER}),
    (Status.SHIPPED, Status.DELIVERED): frozenset({OWNER}),
    (Status.PENDING_PAYMENT, Status.CANCELLED): frozenset({OWNER, BUYER}),
    (Status.PAID, Status.CANCELLED): frozenset({OWNER}),
}
# Moves that put the order's quantities back on the shelf.
RESTOCKING = frozenset({Status.CANCELLED})

# Limits of one order. DynamoDB's TransactWriteItems takes at most 100 items. Placing holds
# 2 + n (order, idempotency record, one stock decrement per product), plus a condition check
# on the post with ``via_post_id``; cancelling 1 + n and reviewing 1 + 2n (the order, then per
# product a review entry and its rating counters). 40 products keep the largest of these at 81
# and leave room for the store-link writes step 5 adds to the placing transaction.
MAX_PRODUCTS = 40
MAX_LINES = 100  # lines as sent, before lines naming the same product are merged
MAX_QUANTITY = 999
# How many times an order is priced again when its products keep being edited meanwhile.
CATALOG_ATTEMPTS = 3

# (the shop, the lines at today's prices) -> (the lines as charged, the discount in won): how an
# order path other than the plain one prices (a subscription's period: quoted prices, its discount).
Pricing = Callable[[Shop, tuple[OrderLine, ...]], tuple[tuple[OrderLine, ...], int]]


class OrdersStore(Protocol):
    def load_catalog(self, shop_id: str, product_ids: Sequence[str]) -> tuple[Shop | None, dict[str, Product]]: ...
    def place(self, order: Order, record: IdempotencyRecord,
              versions: Mapping[str, float]) -> IdempotencyRecord: ...
    def get_order(self, order_id: str) -> Order | None: ...
    def move(self, order: Order, change: StatusChange, restock: bool) -> Order: ...
    def list_buyer_orders(self, user_id: str, start_key: dict | None, limit: int) -> Page: ...
    def list_shop_orders(self, shop_id: str, status: str | None, start_key: dict | None, limit: int) -> Page: ...


# --- pure rules ------------------------------------------------------------------------------


def check_transition(current: str, target: str, role: str) -> None:
    """Raise ``Conflict`` for a move nobody may make from ``current``, ``Forbidden`` for a legal
    move this role may not make."""
    allowed = TRANSITIONS.get((Status(current), Status(target)))
    if allowed is None:
        raise Conflict(f"An order that is {current} cannot become {target}.",
                       extra={"order_status": current, "requested": target})
    if role not in allowed:
        who = "the shop" if allowed == {OWNER} else "the buyer or the shop"
        raise Forbidden(f"Only {who} can move an order from {current} to {target}.")


def aggregate(lines: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Quantities per product, in first-mention order: two lines naming one product are one.

    ``Invalid`` (422) when, after merging, a product's quantity exceeds ``MAX_QUANTITY`` or the
    order names more than ``MAX_PRODUCTS`` products. Each quantity is 1..999 by schema already.
    """
    quantities: dict[str, int] = {}
    for product_id, quantity in lines:
        quantities[product_id] = quantities.get(product_id, 0) + quantity
    if not quantities:
        raise Invalid("An order needs at least one item.", errors=[FieldProblem("body.items", "empty")])
    if len(quantities) > MAX_PRODUCTS:
        raise Invalid(f"An order can hold at most {MAX_PRODUCTS} different products.",
                      errors=[FieldProblem("body.items", f"{len(quantities)} different products; at most "
                                                         f"{MAX_PRODUCTS}")])
    over = [pid for pid, q in quantities.items() if q > MAX_QUANTITY]
    if over:
        raise Invalid(f"At most {MAX_QUANTITY} of one product per order.",
                      errors=[FieldProblem("body.items", f"{pid}: {quantities[pid]} in total") for pid in over])
    return quantities


def price_lines(shop_id: str, products: Mapping[str, Product], quantities: Mapping[str, int]) -> tuple[
        tuple[OrderLine, ...], int]:
    """Order lines at the products' current (server-side) prices, and their subtotal.

    ``Invalid`` names every product that does not exist or belongs to another shop.
    """
    problems = [FieldProblem("body.items", f"{pid}: not a product of this shop")
                for pid in quantities if pid not in products or products[pid].shop_id != shop_id]
    if problems:
        raise Invalid("Every item must be a product of the order's shop.", errors=problems)
    lines = tuple(OrderLine(product_id=pid, name=products[pid].name, price=products[pid].price, quantity=q,
                            kind=products[pid].kind, reorder_days=products[pid].reorder_days)
                  for pid, q in quantities.items())
    return lines, sum(line.line_total for line in lines)


def request_hash(operation: str, payload: Mapping) -> str:
    """Fingerprint of what a request asks for (not how it is spelled): a retry must match it."""
    canonical = json.dumps({"op": operation, **payload}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


# --- use cases -------------------------------------------------------------------------------


def place_order(store: OrdersStore, buyer_id: str, *, shop_id: str, lines: Iterable[tuple[str, int]],
                via_post_id: str | None, key: str, now: float) -> tuple[Order, bool]:
    """Place an order; ``(order, replayed)``. A retry with the same key and request returns the
    first order (``replayed`` true); the same key for another request is a 409."""
    quantities = aggregate(lines)
    digest = request_hash("order", {"shop_id": shop_id, "items": sorted(quantities.items()),
                                    "via_post_id": via_post_id})
    return _place(store, buyer_id, shop_id, quantities, key, digest, now, via_post_id=via_post_id)


def reorder(store: OrdersStore, user_id: str, order_id: str, *, key: str, now: float) -> tuple[Order, bool]:
    """A new order with the same products and quantities at today's prices (buyer only)."""
    source = get_order(store, user_id, order_id)
    if source.buyer_id != user_id:
        raise Forbidden("Only the buyer can reorder.")
    quantities = {line.product_id: line.quantity for line in source.items}
    digest = request_hash("reorder", {"order_id": order_id})
    return _place(store, user_id, source.shop_id, quantities, key, digest, now, reorder_of=order_id)


def place_subscription_order(store: OrdersStore, subscriber_id: str, *, shop_id: str, quantities: Mapping[str, int],
                             subscription_id: str, period: int, pricing: Pricing, now: float) -> tuple[Order, bool]:
    """A subscription's order for one period, through the same transaction as every order.

    Its Idempotency-Key is (subscription, period), so however often the period is attempted
    (overlapping runs, a retry after a crash) it places one order: a later attempt gets the
    first one back (``replayed``). The key holds spaces, which a client's header cannot, so no
    request of the subscriber's can take it. ``store`` may add its own items to the transaction
    (``services.subscriptions`` moves the subscription to its next period in the same write).
    """
    key = f"subscription {subscription_id} {period}"
    digest = request_hash("subscription-period", {"subscription_id": subscription_id, "period": period})
    return _place(store, subscriber_id, shop_id, dict(quantities), key, digest, now, pricing=pricing,
                  subscription_id=subscription_id)


def _place(store: OrdersStore, buyer_id: str, shop_id: str, quantities: dict[str, int], key: str, digest: str,
           now: float, *, via_post_id: str | None = None, reorder_of: str | None = None,
           pricing: Pricing | None = None, subscription_id: str | None = None) -> tuple[Order, bool]:
    for attempt in range(CATALOG_ATTEMPTS):
        shop, products = store.load_catalog(shop_id, list(quantities))
        if shop is None:
            raise Invalid("No such shop.", errors=[FieldProblem("body.shop_id", "no such shop")])
        if shop.owner_id == buyer_id:
            raise Forbidden("A shop's owner cannot order from their own shop.")
        lines, subtotal = price_lines(shop_id, products, quantities)
        discount = 0  # store-link discounts arrive with step 5
        if pricing is not None:
            lines, discount = pricing(shop, lines)
            subtotal = sum(line.line_total for line in lines)
        order = Order(order_id=new_id(), shop_id=shop_id, shop_name=shop.name, owner_id=shop.owner_id,
                      buyer_id=buyer_id, items=lines, subtotal=subtotal, discount=discount,
                      total=subtotal - discount, status=Status.PENDING_PAYMENT.value,
                      history=(StatusChange(Status.PENDING_PAYMENT.value, now, buyer_id),),
                      created_at=now, updated_at=now, via_post_id=via_post_id, reorder_of=reorder_of,
                      currency=CURRENCY, subscription_id=subscription_id)
        # Stock is not checked against the read: the transaction's conditions decide, and a retry
        # of an order that emptied the shelf must still get its order back rather than a 409.
        record = IdempotencyRecord(user_id=buyer_id, key=key, request_hash=digest, order=order)
        try:
            stored = store.place(order, record, versions={pid: products[pid].updated_at for pid in quantities})
        except StaleCatalog:
            if attempt + 1 == CATALOG_ATTEMPTS:
                raise
            continue  # an owner edited a product since it was read: price the order again
        if stored.order is not None and stored.order.order_id == order.order_id:
            return order, False
        if stored.request_hash != digest or stored.order is None:
            raise Conflict("This Idempotency-Key was already used for a different request; use a new key.",
                           extra={"idempotency_key": key})
        return stored.order, True
    raise AssertionError("unreachable")


def get_order(store: OrdersStore, user_id: str, order_id: str) -> Order:
    """The order, for its buyer or its shop's owner. Anyone else gets the same 404 as for an
    order that does not exist, so order ids reveal nothing."""
    order = store.get_order(order_id)
    if order is None or user_id not in (order.buyer_id, order.owner_id):
        raise NotFound("No such order.")
    return order


def change_status(store: OrdersStore, user_id: str, order_id: str, target: str, now: float) -> Order:
    order = get_order(store, user_id, order_id)
    role = OWNER if user_id == order.owner_id else BUYER
    check_transition(order.status, target, role)
    return store.move(order, StatusChange(target, now, user_id), restock=Status(target) in RESTOCKING)


def list_my_orders(store: OrdersStore, user_id: str, start_key: dict | None, limit: int) -> Page:
    return store.list_buyer_orders(user_id, start_key, limit)


def list_shop_orders(shops: ShopsStore, store: OrdersStore, user_id: str, shop_id: str, status: str | None,
                     start_key: dict | None, limit: int) -> Page:
    owned_shop(shops, user_id, shop_id)
    return store.list_shop_orders(shop_id, status, start_key, limit)
