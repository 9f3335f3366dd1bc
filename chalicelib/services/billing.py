"""Saved cards (a PortOne billing key, 빌링키) and the charge of a subscription's period.

* **Saving a card.** The app has PortOne issue a billing key for the customer (PortOne's
  client SDK, with ``customer.id`` = the user's id) and hands it to ``PUT
  /me/payment-methods/card``. The server asks PortOne for the key (``get_billing_key``) and
  saves it only if PortOne knows it, it is ``ISSUED`` (not deleted) and, when PortOne names the
  customer, it is this user's. One card per user; saving again replaces it. The key is never
  shown back: only the card's issuer and last four digits, as PortOne described them.
* **Charging a period** (``charge_order``): the subscription job places a period's order with
  ``payment_method=card`` when the subscriber has a saved card, then charges the order's total
  with the key under ``payment_id`` = the order id. The payment id is PortOne's idempotency key,
  so a charge sent twice (a crash, a lost answer) is refused as ``PaymentAlreadyPaid`` and the
  server asks PortOne for the payment and confirms it — one charge per period. A declined charge
  (or a key gone) cancels the order (stock back) and the period is recorded ``payment_failed``
  (both sides told); a provider that does not answer leaves the order pending for the next run,
  at most ``MAX_CHARGE_ATTEMPTS`` times, then the period is given up the same way. Which run
  may charge is decided on the subscription (``services.subscriptions``): one at a time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from chalicelib.errors import BillingKeyInvalid, FieldProblem, OrderChanged, Unavailable
from chalicelib.records.commerce import Order, StatusChange
from chalicelib.records.payment_methods import SavedCard

if TYPE_CHECKING:
    from chalicelib.payments import PaymentGateway
    from chalicelib.services.checkout import CheckoutStore

log = logging.getLogger("dongne.billing")

# A period's card order waits this long for its charge before the deadline job expires it:
# longer than every retry below, so the charge decides the order, and the deadline is a backstop.
CHARGE_WINDOW_SECONDS = 6 * 3600
# The first attempt right after placing, then retries while the provider does not answer.
MAX_CHARGE_ATTEMPTS = 4
CHARGE_RETRY_SECONDS = 15 * 60
# How long a run holds a charge it took (a PortOne call is at most 10 s).
CHARGE_HOLD_SECONDS = 120
SYSTEM = "system"

# What became of one attempt (``ChargeResult.outcome``).
PAID, REFUNDED, DECLINED, RETRY, GONE = "paid", "refunded", "declined", "retry", "gone"


class CardsStore(Protocol):
    def get_card(self, user_id: str) -> SavedCard | None: ...
    def save_card(self, card: SavedCard) -> None: ...
    def delete_card(self, user_id: str) -> bool: ...


class OrderMoves(Protocol):
    def move(self, order: Order, change: StatusChange, restock: bool, settlement=None, *, updated=None,
             due=None) -> Order: ...


# --- the customer's card ------------------------------------------------------------------------


def save_card(cards: CardsStore, gateway: PaymentGateway, user_id: str, billing_key: str, now: float) -> SavedCard:
    """Check the key with PortOne, then save it as the user's card (replacing any)."""
    from chalicelib.payments import PaymentError, PaymentNotFound, ProviderError

    try:
        view = gateway.get_billing_key(billing_key)
    except PaymentNotFound:
        raise _invalid("PortOne has no such billing key.") from None
    except ProviderError:  # PortOne refused the request itself (a key it cannot even look up)
        raise _invalid("PortOne does not recognise this billing key.") from None
    except PaymentError as error:
        log.warning("asking the provider for a billing key failed: %s", type(error).__name__)
        raise Unavailable("The payment provider did not answer; try again shortly.") from None
    if not view.is_issued:
        raise _invalid("This billing key was deleted at PortOne.")
    if view.customer_id and view.customer_id != user_id:
        raise _invalid("This billing key was issued for another customer.")
    card = SavedCard(user_id=user_id, billing_key=billing_key, saved_at=now, issuer=view.card_issuer,
                     last4=view.card_last4)
    cards.save_card(card)
    return card


def _invalid(why: str) -> BillingKeyInvalid:
    return BillingKeyInvalid("The payment provider has no active card under this billing key.",
                             errors=[FieldProblem("body.billing_key", why, code="billing_key_invalid")])


def card_view(card: SavedCard | None) -> dict:
    """What ``GET /me/payment-methods/card`` shows: never the key itself."""
    if card is None:
        return {"saved": False, "issuer": None, "last4": None, "saved_at": None}
    return {"saved": True, "issuer": card.issuer, "last4": card.last4, "saved_at": card.saved_at}


# --- charging a period's order ----------------------------------------------------------------


@dataclass(frozen=True)
class ChargeResult:
    outcome: str  # paid | refunded | declined | retry | gone
    detail: str = ""


@dataclass
class Billing:
    """What the subscription job needs to pay a period with a saved card."""

    cards: CardsStore
    checkout: CheckoutStore
    orders: OrderMoves
    gateway: PaymentGateway

    def card_of(self, user_id: str) -> SavedCard | None:
        return self.cards.get_card(user_id)

    def charge(self, order_id: str, attempt: int, now: float) -> ChargeResult:
        return charge_order(self, order_id, attempt, now)


def charge_order(billing: Billing, order_id: str, attempt: int, now: float) -> ChargeResult:
    """One attempt (``attempt``, from 1) at charging a period's card order. The caller holds the
    charge (one run at a time). The order is read first: one no longer pending is ``gone`` (paid
    by an earlier attempt's webhook, cancelled by its buyer, expired)."""
    from chalicelib.payments import (ChargeDeclined, Customer, PaymentAlreadyPaid, PaymentError,
                                     PaymentNotFound)
    from chalicelib.services.checkout import accept_charge

    order = billing.checkout.get_order(order_id)
    if order is None or order.payment is None or not order.payment.billing_key_used:
        return ChargeResult(GONE)  # not a period's card order: nothing for the saved card to pay
    if order.paid_at is not None or order.status != "pending_payment":
        return ChargeResult(PAID if order.paid_at is not None else GONE, order.status)
    card = billing.cards.get_card(order.buyer_id)
    if card is None:
        return _decline(billing, order, now, "등록된 카드가 없어요")
    try:
        billing.gateway.charge_billing_key(order.payment.payment_id, billing_key=card.billing_key, amount=order.total,
                                           order_name=_order_name(order),
                                           customer=Customer(customer_id=order.buyer_id, name=order.buyer_name or None))
    except PaymentAlreadyPaid:
        return _confirm_earlier(billing, order, attempt, now)
    except (ChargeDeclined, PaymentNotFound) as error:
        reason = getattr(error, "pg_message", None) or "카드 승인이 거절되었어요"
        return _decline(billing, order, now, reason)
    except PaymentError as error:  # the provider did not answer (or refused us): try again later
        log.warning("charging order %s failed (attempt %d): %s", order_id, attempt, type(error).__name__)
        if attempt >= MAX_CHARGE_ATTEMPTS:
            return _decline(billing, order, now, "결제사가 응답하지 않아요")
        return ChargeResult(RETRY, type(error).__name__)
    return ChargeResult(accept_charge(billing.checkout, billing.gateway, order, now))


def _confirm_earlier(billing: Billing, order: Order, attempt: int, now: float) -> ChargeResult:
    """The payment id was charged before (an attempt whose answer was lost): ask PortOne for it
    and confirm it like any card payment."""
    from chalicelib.errors import PaymentExpired, PaymentIncomplete, PaymentMismatch
    from chalicelib.services.checkout import confirm_payment

    assert order.payment is not None
    try:
        confirm_payment(billing.checkout, billing.gateway, order.order_id, order.payment.payment_id, now)
    except PaymentExpired:
        return ChargeResult(REFUNDED)
    except (PaymentIncomplete, PaymentMismatch, Unavailable) as error:
        if attempt >= MAX_CHARGE_ATTEMPTS:
            return _decline(billing, order, now, "결제를 확인하지 못했어요")
        return ChargeResult(RETRY, type(error).__name__)
    return ChargeResult(PAID)


def _decline(billing: Billing, order: Order, now: float, reason: str) -> ChargeResult:
    """The period cannot be paid: its order is cancelled and its stock goes back (one
    transaction, conditional on the order still pending). If it stopped being pending
    meanwhile, whatever moved it stands."""
    from chalicelib.services import store_links

    try:
        billing.orders.move(order, StatusChange("cancelled", now, SYSTEM), restock=True,
                            settlement=store_links.settlement_for(order, "cancelled", now))
    except OrderChanged:
        latest = billing.checkout.get_order(order.order_id)
        if latest is not None and latest.paid_at is not None:
            return ChargeResult(PAID)
        return ChargeResult(GONE, latest.status if latest else "")
    return ChargeResult(DECLINED, reason)


def _order_name(order: Order) -> str:
    names = [line.name for line in order.items]
    first = names[0] if names else "정기배송"
    return f"{order.shop_name} 정기배송 · {first}" + (f" 외 {len(names) - 1}건" if len(names) > 1 else "")
