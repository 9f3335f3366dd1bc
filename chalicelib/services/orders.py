"""Orders: placing one (idempotent, oversell-proof), its lifecycle, listing, reordering.

Placing an order costs one read and one write on the request path: storage reads the shop
and the products (and the store link the order names) in one BatchGetItem (prices are read
here, never taken from the client; the cached ones are not read again), with the buyer's
remembered store link and first-purchase slot for the shop (always read: per buyer), then writes, in one TransactWriteItems, a conditional
stock decrement per product (``stock >= quantity``), the order and the idempotency record,
with ``via_post_id`` a condition check that the post is the shop's (a 422 otherwise), and
the store-link items (``services.store_links``: the checks of the shop's reward setting and
of the link, the first-purchase slot, the buyer's remembered link; the credit itself is written
when the order is paid) and, with ``coupon_id``, the buyer's holding used and one of the coupon's
redemptions taken (``services.coupons``; the holding, the coupon and the buyer's relationship pair
for the regular perk are read in the same BatchGetItem). Either
all of it happens or none of it, so stock can never go below zero however many buyers race,
and the idempotency record exists exactly when its order does (which is why no "in
progress" lock is needed).

Lifecycle (``TRANSITIONS`` below is the whole rule set; ``services.checkout`` the payment)::

    pending_payment --provider (card) / owner (bank transfer)--> paid
    paid --owner--> shipped (delivery) | ready_for_pickup (pickup) --owner, buyer (구매확정), 7 days--> delivered
    pending_payment --owner or buyer--> cancelled      (the stock and the coupon go back, same transaction)
    paid --owner or buyer--> cancelled                  (stock and coupon back; the money is refunded)
    pending_payment --the deadline job--> expired      (the stock and the coupon go back, exactly once)

Every move is a write conditional on the status it was decided from, so of two racing moves
(a cancel and a ship) exactly one wins; the other is answered 409. Delivering or cancelling an
order credited to a store link appends its ledger entry in that same transaction.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from collections.abc import Callable, Iterable, Mapping, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from chalicelib.records.commerce import (CURRENCY, BankAccount, DiscountLine, Fulfilment, IdempotencyRecord, Order,
                                        OrderLine, Payment, Product, Refund, Shipment, StatusChange)
from chalicelib.errors import (FieldProblem, Forbidden, IdempotencyKeyReused, IllegalTransition, Invalid, NotFound,
                               OwnShopOrder, PriceChanged, ShopClosed, StaleCatalog, FulfilmentUnavailable, AddressRequired)
from chalicelib.ids import new_id
from chalicelib.records.accounts import Shop
from chalicelib.records.common import Page
from chalicelib.services.shops import ShopsStore, owned_shop

if TYPE_CHECKING:  # store links are imported on the first order, off the API's cold start
    from chalicelib.records.store_links import Referral, Remembered, Settlement, StoreLink
    from chalicelib.records.rates import Ticket


class Status(StrEnum):
    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    SHIPPED = "shipped"
    READY_FOR_PICKUP = "ready_for_pickup"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


OWNER, BUYER = "owner", "buyer"

# (from, to) -> who may make that move through POST /orders/{id}/status. Anything not listed is
# illegal for everyone (409). A card payment is confirmed by the provider (services.checkout),
# ``expired`` only by the deadline job, and the buyer's 구매확정 is POST /orders/{id}/confirm.
TRANSITIONS: dict[tuple[Status, Status], frozenset[str]] = {
    (Status.PENDING_PAYMENT, Status.PAID): frozenset({OWNER}),  # bank transfer: the deposit arrived
    (Status.PAID, Status.SHIPPED): frozenset({OWNER}),
    (Status.PAID, Status.READY_FOR_PICKUP): frozenset({OWNER}),
    (Status.SHIPPED, Status.DELIVERED): frozenset({OWNER}),
    (Status.READY_FOR_PICKUP, Status.DELIVERED): frozenset({OWNER}),
    (Status.PENDING_PAYMENT, Status.CANCELLED): frozenset({OWNER, BUYER}),
    (Status.PAID, Status.CANCELLED): frozenset({OWNER, BUYER}),
}
PAYMENT_METHODS = ("card", "bank_transfer")
# Moves that put the order's quantities back on the shelf.
RESTOCKING = frozenset({Status.CANCELLED})

# Limits of one order. DynamoDB's TransactWriteItems takes at most 100 items. Placing holds
# 2 + n (order, idempotency record, one stock decrement per product), plus a condition check
# on the post with ``via_post_id``; cancelling 1 + n and reviewing 1 + 2n (the order, then per
# product a review entry and its rating counters). 40 products keep the largest of these at 81;
# an order through a store link adds 5 items to placing (shop check, link, ledger entry, the
# owner's totals, the remembered link) and 3 to cancelling; a coupon 2 to each (the holding,
# the coupon's count).
MAX_PRODUCTS = 40
MAX_LINES = 100  # lines as sent, before lines naming the same product are merged
MAX_QUANTITY = 999
# How many times an order is priced again when its products keep being edited meanwhile.
CATALOG_ATTEMPTS = 3
# How many times an order follows a remembered store link found at commit (one is the rule; a
# second means the visitor's memory changed in between).
REMEMBERED_HOPS = 2

# (the shop, the lines at today's prices) -> (the lines as charged, the discount in won): how an
# order path other than the plain one prices (a subscription's period: quoted prices, its discount).
Pricing = Callable[[Shop, tuple[OrderLine, ...]], tuple[tuple[OrderLine, ...], int]]
# (the shop, what the goods cost after any discount) -> (how the order reaches the buyer, the
# shipping fee): the order's fulfilment as the request names it, checked against what the shop offers.
Fulfil = Callable[[Shop, int], tuple[Fulfilment | None, int]]


@dataclass(frozen=True)
class Checkout:
    """What a buyer's order says about paying and receiving (all optional for older clients:
    no method is a bank transfer the owner confirms, as before checkout; no fulfilment is
    allowed only while the shop offers none)."""

    payment_method: str = "bank_transfer"
    fulfil: Fulfil | None = None
    expected_total: int | None = None
    buyer_name: str = ""
    # A subscription's period charged by the server with the saved card (payment.billing_key_used),
    # and how long such an order waits for its charge (instead of the card's 30 minutes).
    billing_key_used: bool = False
    payment_window_seconds: float | None = None


class OrdersStore(Protocol):
    def load_catalog(self, shop_id: str, product_ids: Sequence[str], link_code: str | None = None) -> tuple[
        Shop | None, dict[str, Product], StoreLink | None]: ...
    def place(self, order: Order, record: IdempotencyRecord, versions: Mapping[str, float],
              referral: Referral | None = None, remembered: Remembered | None = None,
              quota: Ticket | None = None, *, shop_version: float | None = None) -> IdempotencyRecord: ...
    def get_order(self, order_id: str) -> Order | None: ...
    def move(self, order: Order, change: StatusChange, restock: bool,
             settlement: Settlement | None = None, *, updated: Order | None = None,
             due: tuple[str, float] | None = None) -> Order: ...
    def list_buyer_orders(self, user_id: str, start_key: dict | None, limit: int) -> Page: ...
    def list_shop_orders(self, shop_id: str, status: str | None, start_key: dict | None, limit: int) -> Page: ...


# --- pure rules ------------------------------------------------------------------------------


def check_transition(current: str, target: str, role: str) -> None:
    """Raise ``IllegalTransition`` for a move nobody may make from ``current``, ``Forbidden`` for a legal
    move this role may not make."""
    allowed = TRANSITIONS.get((Status(current), Status(target)))
    if allowed is None:
        raise IllegalTransition(f"An order that is {current} cannot become {target}.",
                                extra={"order_status": current, "requested_status": target})
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
        raise Invalid("An order needs at least one item.",
                      errors=[FieldProblem("body.items", "empty", code="too_few", params={"min_length": 1})])
    if len(quantities) > MAX_PRODUCTS:
        raise Invalid(f"An order can hold at most {MAX_PRODUCTS} different products.",
                      errors=[FieldProblem("body.items", f"{len(quantities)} different products; at most "
                                                         f"{MAX_PRODUCTS}", code="too_many_products",
                                           params={"count": len(quantities), "limit": MAX_PRODUCTS})])
    over = [pid for pid, q in quantities.items() if q > MAX_QUANTITY]
    if over:
        raise Invalid(f"At most {MAX_QUANTITY} of one product per order.",
                      errors=[FieldProblem("body.items", f"{pid}: {quantities[pid]} in total", code="quantity_over",
                                           params={"id": pid, "quantity": quantities[pid], "limit": MAX_QUANTITY})
                              for pid in over])
    return quantities


def price_lines(shop_id: str, products: Mapping[str, Product], quantities: Mapping[str, int]) -> tuple[
        tuple[OrderLine, ...], int]:
    """Order lines at the products' current (server-side) prices, and their subtotal.

    ``Invalid`` names every product that does not exist or belongs to another shop.
    """
    problems = [FieldProblem("body.items", f"{pid}: not a product of this shop", code="not_shop_product",
                             params={"id": pid})
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
                via_post_id: str | None, key: str, now: float,
                via_store_link: str | None = None, quota: Ticket | None = None,
                checkout: Checkout | None = None, fingerprint: Mapping | None = None,
                coupon_id: str | None = None) -> tuple[Order, bool]:
    """Place an order; ``(order, replayed)``. A retry with the same key and request returns the
    first order (``replayed`` true); the same key for another request is a 409. ``quota``, the
    buyer's rate limit, is counted in the placing transaction (a replay counts nothing).
    ``coupon_id``: the buyer's coupon to use (``services.coupons``: 422 ``coupon_not_applicable``,
    409 ``coupon_exhausted``)."""
    quantities = aggregate(lines)
    request: dict[str, object] = {"shop_id": shop_id, "items": sorted(quantities.items()), "via_post_id": via_post_id}
    if via_store_link is not None:  # absent when unset, so keys stored before links keep their hash
        request["via_store_link"] = via_store_link
    if fingerprint:  # checkout's fields, as sent (absent when unset, as above)
        request["checkout"] = dict(fingerprint)
    if coupon_id is not None:
        request["coupon_id"] = coupon_id
    digest = request_hash("order", request)
    return _place(store, buyer_id, shop_id, quantities, key, digest, now, via_post_id=via_post_id,
                  via_store_link=via_store_link, quota=quota, checkout=checkout, coupon_id=coupon_id)


def reorder(store: OrdersStore, user_id: str, order_id: str, *, key: str, now: float,
            quota: Ticket | None = None, buyer_name: str = "") -> tuple[Order, bool]:
    """A new order with the same products and quantities at today's prices (buyer only), paid
    and received the way the first one was."""
    source = get_order(store, user_id, order_id)
    if source.buyer_id != user_id:
        raise Forbidden("Only the buyer can reorder.")
    quantities = {line.product_id: line.quantity for line in source.items}
    digest = request_hash("reorder", {"order_id": order_id})
    checkout = Checkout(payment_method=source.payment.method if source.payment else "bank_transfer",
                        fulfil=_same_fulfilment(source.fulfilment), buyer_name=buyer_name or source.buyer_name)
    return _place(store, user_id, source.shop_id, quantities, key, digest, now, reorder_of=order_id, quota=quota,
                  checkout=checkout)


def _same_fulfilment(fulfilment: Fulfilment | None) -> Fulfil | None:
    """A reorder is received as its source was, at the shop's fee and pickup place of today."""
    if fulfilment is None:
        return None

    def fulfil(shop: Shop, subtotal: int) -> tuple[Fulfilment | None, int]:
        from chalicelib.services import fulfilment as rules

        if fulfilment.method == rules.PICKUP:
            again = rules.resolve_fulfilment(shop, {"method": rules.PICKUP}, "", _NoBook())
        else:
            rules.check_method(shop, fulfilment.method)
            again = fulfilment
        return again, rules.shipping_fee(shop, again.method, subtotal)

    return fulfil


def place_subscription_order(store: OrdersStore, subscriber_id: str, *, shop_id: str, quantities: Mapping[str, int],
                             subscription_id: str, period: int, pricing: Pricing, now: float,
                             checkout: Checkout | None = None) -> tuple[Order, bool]:
    """A subscription's order for one period, through the same transaction as every order.

    Its Idempotency-Key is (subscription, period), so however often the period is attempted
    (overlapping runs, a retry after a crash) it places one order: a later attempt gets the
    first one back (``replayed``). The key holds spaces, which a client's header cannot, so no
    request of the subscriber's can take it. ``store`` may add its own items to the transaction
    (``services.subscriptions`` moves the subscription to its next period in the same write).
    ``checkout``: how the period is paid (default: a bank transfer to the shop's account; with a
    saved card, a card payment the job charges at once).
    """
    key = f"subscription {subscription_id} {period}"
    digest = request_hash("subscription-period", {"subscription_id": subscription_id, "period": period})
    return _place(store, subscriber_id, shop_id, dict(quantities), key, digest, now, pricing=pricing,
                  subscription_id=subscription_id, checkout=_standing(checkout))


def _standing(checkout: Checkout | None) -> Checkout:
    """A period's checkout: paid as ``checkout`` says, received as the shop allows (below)."""
    how = checkout or Checkout()
    return how if how.fulfil is not None else replace(how, fulfil=_standing_fulfilment)


def _standing_fulfilment(shop: Shop, subtotal: int) -> tuple[Fulfilment | None, int]:
    """A subscription's period: as before checkout at a shop that never set its fulfilment, else
    picked up at the shop. A shop that only delivers cannot take it yet (a subscription names no
    address): that period is skipped as unavailable, and both sides are told."""
    from chalicelib.services import fulfilment as rules

    if shop.fulfilment is None:
        return None, 0
    if rules.PICKUP in rules.offered(shop):
        return rules.resolve_fulfilment(shop, {"method": rules.PICKUP}, "", _NoBook()), 0
    raise Invalid("This shop only delivers, and a subscription names no delivery address yet.",
                  errors=[FieldProblem("fulfilment", "delivery needs an address", code="address_required")])


def _link_of(shop_id: str, code: str | None, link: StoreLink | None, named: bool) -> StoreLink | None:
    """The link an order goes through. A code the order names must be a link of the order's
    shop (422 on ``body.via_store_link``); a remembered one that is not is simply not used."""
    from chalicelib.services import store_links

    if code is None:
        return None
    if link is None or link.shop_id != shop_id:
        if not named:
            return None
        if link is None:
            raise store_links.unknown_link("There is no store link with this code.", "no such store link",
                                           "no_such_store_link")
        raise store_links.unknown_link("The store link is another shop's link.", "a store link of another shop",
                                       "foreign_store_link")
    return link


def _place(store: OrdersStore, buyer_id: str, shop_id: str, quantities: dict[str, int], key: str, digest: str,
           now: float, *, via_post_id: str | None = None, via_store_link: str | None = None,
           reorder_of: str | None = None, pricing: Pricing | None = None,
           subscription_id: str | None = None, quota: Ticket | None = None,
           checkout: Checkout | None = None, coupon_id: str | None = None) -> tuple[Order, bool]:
    from chalicelib.services.checkout import payment_deadline

    from chalicelib.records.coupons import CouponUsedUp, Entitlements, HoldingUnusable
    from chalicelib.records.store_links import FirstBuyTaken, LinkRemembered
    from chalicelib.services import coupons, store_links

    remembered: Remembered | None = None  # the buyer's remembered link, read with the catalogue or at commit
    extras = Entitlements()  # the buyer's pair (regular perk) and the coupon the order names, read with it too
    stale = hops = 0
    credit = True  # False once the buyer's first purchase at the shop is made or held: no link credits it
    # The buyer's remembered link and first-purchase slot are read once, in the catalogue's
    # BatchGetItem (not for a subscription's period, which no link credits).
    load_order = getattr(store, "load_order", None) if subscription_id is None else None
    reload_pair = load_order  # once, if a perk shows up that the first read did not read the pair for
    while True:
        code = via_store_link if via_store_link is not None else (remembered.code if remembered else None)
        if load_order is not None:
            shop, products, found, buyer, extras = load_order(shop_id, list(quantities), code, buyer_id, now,
                                                              coupon_id=coupon_id)
            load_order = None
            credit = buyer.first_buy_free
            remembered = buyer.remembered
            if via_store_link is None and remembered is not None:
                code = remembered.code  # the order goes through it: its link, from the cache if warm
                shop, products, found = store.load_catalog(shop_id, list(quantities), link_code=code)
        else:
            shop, products, found = store.load_catalog(shop_id, list(quantities), link_code=code)
        if shop is not None and shop.regular_perk is not None and not extras.pair_read and reload_pair is not None:
            # the first read went by a cached shop without a perk, which the owner has set since
            _, _, _, _, extras = reload_pair(shop_id, list(quantities), code, buyer_id, now, coupon_id=coupon_id)
            reload_pair = None
        if shop is None:
            raise Invalid("No such shop.", errors=[FieldProblem("body.shop_id", "no such shop", code="no_such_shop")])
        if shop.closed_at is not None:
            raise ShopClosed("This shop has closed; it takes no new orders or followers.")
        if shop.owner_id == buyer_id:
            raise OwnShopOrder("A shop's owner cannot order from their own shop.")
        link = _link_of(shop_id, code, found, named=via_store_link is not None)
        if via_store_link is not None and link is not None and link.owner_id == buyer_id:
            via_store_link = link = None  # the buyer's own link earns nothing: as if it named none
        lines, subtotal = price_lines(shop_id, products, quantities)
        earlier: list[DiscountLine] = []
        if pricing is not None:  # a subscription's period: its quoted prices and its discount
            lines, period_discount = pricing(shop, lines)
            subtotal = sum(line.line_total for line in lines)
            earlier.append(DiscountLine(coupons.SUBSCRIPTION, period_discount))
        coupon = coupons.applicable_coupon(extras, shop_id, subtotal, now) if coupon_id is not None else None
        perk = shop.regular_perk if coupons.perk_applies(shop.regular_perk, extras.pair_state, now) else None
        order_id = new_id()
        referral = store_links.referral_for(link, shop, buyer_id, order_id, subtotal, now) if credit else None
        if referral is not None:
            earlier.append(DiscountLine(coupons.STORE_LINK, referral.discount))
        how = checkout or Checkout()
        try:
            fulfilment, shipping_fee = how.fulfil(shop, subtotal) if how.fulfil else _no_fulfilment(shop)
        except (Invalid, FulfilmentUnavailable, AddressRequired):
            forget = getattr(store, "forget_shop", None)
            if stale or forget is None or not forget(shop_id):
                raise
            stale += 1  # the shop came from a container's cache: decide on the shop as it is now
            continue
        discounts = coupons.discount_lines(subtotal, shipping_fee, earlier=earlier, perk=perk, coupon=coupon)
        discount = sum(line.amount for line in discounts)
        total = subtotal - discount + shipping_fee
        if how.expected_total is not None and how.expected_total != total:
            raise PriceChanged(f"The order now costs {total} won, not {how.expected_total}.",
                               extra={"total": total, "subtotal": subtotal, "discount": discount,
                                      "shipping_fee": shipping_fee, "expected_total": how.expected_total,
                                      "items": [{"product_id": line.product_id, "name": line.name,
                                                 "price": line.price, "quantity": line.quantity}
                                                for line in lines]})
        account = getattr(shop, "bank_account", None) if how.payment_method == "bank_transfer" else None
        deadline = (now + how.payment_window_seconds if how.payment_window_seconds is not None else
                    payment_deadline(how.payment_method, getattr(shop, "bank_transfer_hours", None), now))
        payment = Payment(method=how.payment_method, payment_id=order_id, amount=total, deadline_at=deadline,
                          bank_account=account if isinstance(account, BankAccount) else None,
                          billing_key_used=how.billing_key_used)
        order = Order(order_id=order_id, shop_id=shop_id, shop_name=shop.name, owner_id=shop.owner_id,
                      buyer_id=buyer_id, items=lines, subtotal=subtotal, discount=discount,
                      total=total, status=Status.PENDING_PAYMENT.value,
                      history=(StatusChange(Status.PENDING_PAYMENT.value, now, buyer_id),),
                      created_at=now, updated_at=now, via_post_id=via_post_id, reorder_of=reorder_of,
                      currency=CURRENCY, subscription_id=subscription_id, buyer_name=how.buyer_name,
                      shipping_fee=shipping_fee, fulfilment=fulfilment, payment=payment, discounts=discounts,
                      coupon_id=coupon.coupon_id if coupon is not None else None, **_credit(referral))
        # Stock is not checked against the read: the transaction's conditions decide, and a retry
        # of an order that emptied the shelf must still get its order back rather than a 409.
        record = IdempotencyRecord(user_id=buyer_id, key=key, request_hash=digest, order=order)
        try:
            stored = store.place(order, record, versions={pid: products[pid].updated_at for pid in quantities},
                                 referral=referral,
                                 # a credited order naming a link drops any remembered visit; any other
                                 # order uses up the one it knows of (or checks that none is live)
                                 remembered=remembered if via_store_link is None or referral is None else None,
                                 quota=quota, shop_version=shop.updated_at)
        except StaleCatalog:
            stale += 1
            if stale == CATALOG_ATTEMPTS:
                raise
            continue  # a product, the shop's reward or the link changed since it was read: again
        except HoldingUnusable as unusable:
            raise (coupons.used_elsewhere() if unusable.held else coupons.not_held()) from None
        except CouponUsedUp:
            from chalicelib.errors import CouponExhausted

            raise CouponExhausted("This coupon has been used as many times as the shop allows; order without it.",
                                  extra={"coupon_id": coupon_id}) from None
        except FirstBuyTaken:
            credit = False  # a link rewards only a customer's first paid order at a shop: placed at full price
            continue
        except LinkRemembered as hit:
            hops += 1
            if hops > REMEMBERED_HOPS:
                raise StaleCatalog("Your store link changed while you were ordering; order again.") from None
            remembered = hit.remembered  # the buyer visited a link signed in: the order goes through it
            continue
        if stored.order is not None and stored.order.order_id == order.order_id:
            return order, False
        if stored.request_hash != digest or stored.order is None:
            raise IdempotencyKeyReused("This Idempotency-Key was already used for a different request; use a new "
                                       "key.", extra={"idempotency_key": key})
        return stored.order, True


class _NoBook:
    def get_book(self, user_id: str):
        raise AssertionError("a pickup reads no address book")


def _no_fulfilment(shop: Shop) -> tuple[Fulfilment | None, int]:
    """An order that names no fulfilment (an older client): only while the shop offers none,
    as every shop did before checkout; then it is arranged with the shop, as it was."""
    if getattr(shop, "fulfilment", None) is not None:
        raise Invalid("Say how the order reaches you: delivery to an address, or pickup.",
                      errors=[FieldProblem("body.fulfilment", "required by this shop", code="missing")])
    return None, 0


def _credit(referral: Referral | None) -> dict:
    """The order's store-link fields."""
    if referral is None:
        return {}
    return {"via_store_link": referral.code, "referrer_id": referral.owner_id, "referrer_name": referral.owner_name,
            "referral_reward": referral.reward,
            "reward_given": referral.setting is not None and referral.give_reward_to_friend}


def get_order(store: OrdersStore, user_id: str, order_id: str) -> Order:
    """The order, for its buyer or its shop's owner. Anyone else gets the same 404 as for an
    order that does not exist, so order ids reveal nothing."""
    order = store.get_order(order_id)
    if order is None or user_id not in (order.buyer_id, order.owner_id):
        raise NotFound("No such order.")
    return order


def change_status(store: OrdersStore, user_id: str, order_id: str, target: str, now: float,
                  shipment: Shipment | None = None) -> Order:
    """Move an order on ``POST /orders/{id}/status``. A paid card order that is cancelled owes
    its total back (``refund`` pending, sent by ``services.checkout.process_refund``); a paid bank
    transfer's refund is owed until the owner marks it sent."""
    from chalicelib.services import store_links
    from chalicelib.services.checkout import AUTO_DELIVER_DAYS

    order = get_order(store, user_id, order_id)
    role = OWNER if user_id == order.owner_id else BUYER
    check_transition(order.status, target, role)
    method = order.fulfilment.method if order.fulfilment is not None else None
    updated, due = order, None
    if target == Status.PAID and order.payment is not None and order.payment.method == "card":
        raise IllegalTransition("A card payment is confirmed by the payment provider, not by hand.",
                                extra={"order_status": order.status, "requested_status": target})
    if target == Status.SHIPPED:
        if method == "pickup":
            raise IllegalTransition("A pickup order is made ready for pickup, not shipped.",
                                    extra={"order_status": order.status, "requested_status": target})
        if method == "delivery" and shipment is None:
            raise Invalid("Shipping a delivery needs the carrier and the tracking number.",
                          errors=[FieldProblem("body.tracking_number", "required to ship a delivery", code="missing")])
    if target == Status.READY_FOR_PICKUP and method != "pickup":
        raise IllegalTransition("Only a pickup order is made ready for pickup.",
                                extra={"order_status": order.status, "requested_status": target})
    if target in (Status.SHIPPED, Status.READY_FOR_PICKUP):
        deliver_by = now + AUTO_DELIVER_DAYS * 86_400
        updated = replace(order, shipment=shipment if target == Status.SHIPPED else None, deliver_by=deliver_by)
        due = ("deliver", deliver_by)
    if target == Status.CANCELLED and order.paid_at is not None:
        refund = Refund(status="pending", amount=order.total, requested_at=now,
                        payment_id=order.payment.payment_id if order.payment else None)
        updated = replace(order, refund=refund)
        if order.payment is not None and order.payment.method == "card":
            due = ("refund", now)
    return store.move(order, StatusChange(target, now, user_id), restock=Status(target) in RESTOCKING,
                      settlement=store_links.settlement_for(order, target, now), updated=updated, due=due)


def list_my_orders(store: OrdersStore, user_id: str, start_key: dict | None, limit: int) -> Page:
    return store.list_buyer_orders(user_id, start_key, limit)


def list_shop_orders(shops: ShopsStore, store: OrdersStore, user_id: str, shop_id: str, status: str | None,
                     start_key: dict | None, limit: int) -> Page:
    owned_shop(shops, user_id, shop_id)
    return store.list_shop_orders(shop_id, status, start_key, limit)
