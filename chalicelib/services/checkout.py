"""Checkout: a paid purchase, deadlines that return stock, refunds exactly once, confirmation.

The rules (docs/checkout.md tells them with their races):

* **Payment is asked, never told.** ``confirm_payment`` (the buyer's ``POST /orders/{id}/payment``
  and PortOne's webhook alike) asks the provider for the order's own payment id and accepts only
  a payment that is ``PAID``, in KRW, for exactly the order's total. Not paid yet →
  ``payment_incomplete``; another amount → that payment is cancelled, ``payment_mismatch``.
  Accepting is one conditional write (``pending_payment → paid``); a second confirmation (the
  webhook after the app, a replay) finds the order paid and changes nothing.
* **Deadlines.** An unpaid order expires at ``payment.deadline_at`` (card: 30 minutes; bank
  transfer: the shop's hours) by ``run_deadlines``, which returns the stock in the same
  transaction that expires the order — exactly once, whoever races it. A payment that arrives
  after that is refunded (``payment_expired``), never kept.
* **Refunds exactly once.** A refund is owed once (``refund`` written if absent), then taken
  by one worker at a time under a lease and sent to the provider with the amount still
  cancellable, so a retried call cannot return money twice; a failed attempt is kept on the
  order (``refund.status = failed``), counted as a metric (alarmed) and retried by the job.
* **Confirmation.** The buyer confirms receipt (구매확정) or the order is delivered
  automatically ``AUTO_DELIVER_DAYS`` after it was shipped or made ready for pickup.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from chalicelib.errors import (FieldProblem, IllegalTransition, Invalid, NotFound, OrderChanged, PaymentExpired,
                               PaymentIncomplete, PaymentMismatch)
from chalicelib.records.commerce import CURRENCY, Order, Refund

if TYPE_CHECKING:
    from collections.abc import Iterator

    from chalicelib.payments import PaymentGateway
    from chalicelib.storage.checkout import DueItem

log = logging.getLogger("dongne.checkout")

CARD_DEADLINE_SECONDS = 30 * 60
DEFAULT_BANK_TRANSFER_HOURS = 24
AUTO_DELIVER_DAYS = 7
REFUND_LEASE_SECONDS = 120
# A failed refund is tried again at most this often (the job runs every few minutes).
REFUND_RETRY_SECONDS = 5 * 60
SYSTEM = "system"


class CheckoutStore(Protocol):
    def get_order(self, order_id: str) -> Order | None: ...
    def mark_paid(self, order: Order, at: float, by: str) -> Order: ...
    def due(self, kind: str, now: float, look_back_days: int = ...) -> "Iterator[DueItem]": ...
    def drop_due(self, item: DueItem) -> None: ...
    def expire(self, order: Order, due: DueItem | None, at: float) -> bool: ...
    def deliver(self, order: Order, due: DueItem | None, at: float, by: str) -> Order: ...
    def schedule(self, kind: str, at: float, order_id: str) -> None: ...
    def owe_refund(self, order: Order, refund: Refund) -> bool: ...
    def claim_refund(self, order_id: str, now: float, lease_seconds: float) -> Refund | None: ...
    def settle_refund(self, order_id: str, ok: bool, at: float, error: str | None = None) -> None: ...


def payment_deadline(method: str, bank_transfer_hours: int | None, now: float) -> float:
    if method == "card":
        return now + CARD_DEADLINE_SECONDS
    return now + 3600 * (bank_transfer_hours or DEFAULT_BANK_TRANSFER_HOURS)


# --- payment --------------------------------------------------------------------------------


def confirm_payment(store: CheckoutStore, gateway: PaymentGateway, order_id: str, payment_id: str, now: float, *,
                    buyer_id: str | None = None, on_refund: Callable[[str], None] | None = None) -> Order:
    """Accept the provider's payment ``payment_id`` for the order, or say why not.

    ``buyer_id`` (the app's call): only the buyer may, anyone else gets 404. Without it (the
    webhook) the order is found by its payment id alone. Costs one consistent read and, when
    accepted, one write, plus one call to the provider."""
    order = store.get_order(order_id)
    if order is None or (buyer_id is not None and order.buyer_id != buyer_id):
        raise NotFound("No such order.")
    if order.payment is None or order.payment.method != "card":
        raise IllegalTransition("This order is not paid by card; the shop confirms a bank transfer.",
                                extra={"order_status": order.status, "requested_status": "paid"})
    if payment_id != order.payment.payment_id:
        raise Invalid("This is not the order's payment.",
                      errors=[FieldProblem("body.payment_id", "not this order's payment id", code="not_order_payment")])
    if order.paid_at is not None:
        return order  # confirmed before (the app, then the webhook; or a replay): nothing changes
    view = _ask_payment(gateway, payment_id)
    verdict = view.verdict(order.total, CURRENCY)
    if verdict in ("pending", "void"):
        if verdict == "void" and order.status == "pending_payment":
            # A late payment the job expired meanwhile and the webhook already refunded reads as
            # cancelled: the order as it is now says which answer is true.
            order = store.get_order(order_id) or order
        if order.status != "pending_payment":
            raise PaymentExpired(f"The order is {order.status}; a payment for it is refunded, never kept.",
                                 extra={"order_status": order.status})
        raise PaymentIncomplete(f"The payment is not complete ({view.status}).",
                                extra={"payment_status": view.status})
    if verdict == "mismatch":
        if view.cancellable_amount:  # nothing left when the webhook (or a retry) cancelled it first
            _cancel_quietly(gateway, payment_id, view.cancellable_amount, "amount does not match the order")
        raise PaymentMismatch(f"The payment was {view.amount_paid} {view.currency}; the order costs {order.total} KRW.",
                              extra={"paid": view.amount_paid, "currency": view.currency, "total": order.total})
    if order.status != "pending_payment":
        return _late(store, gateway, order, view.cancellable_amount, now, on_refund)
    try:
        return store.mark_paid(order, now, order.buyer_id if buyer_id else SYSTEM)
    except OrderChanged:
        latest = store.get_order(order_id)
        if latest is not None and latest.paid_at is not None:
            return latest  # the other confirmation won: paid once
        return _late(store, gateway, latest or order, view.cancellable_amount, now, on_refund)


def accept_charge(store: CheckoutStore, gateway: PaymentGateway, order: Order, now: float) -> str:
    """A saved-card charge of the order's total went through (the server charged it): the order
    is paid — ``paid`` — unless it stopped being pending meanwhile (the buyer cancelled it, it
    expired), when the money is owed back and refunded at once — ``refunded``. Paid once,
    whoever else confirmed the same payment (its webhook)."""
    try:
        store.mark_paid(order, now, SYSTEM)
        return "paid"
    except OrderChanged:
        latest = store.get_order(order.order_id)
        if latest is not None and latest.paid_at is not None:
            return "paid"
        try:
            _late(store, gateway, latest or order, order.total, now, None)
        except PaymentExpired:
            pass
        return "refunded"


def _ask_payment(gateway: PaymentGateway, payment_id: str):
    """The provider's view of the payment; a provider that does not answer is a 503 (retry),
    a payment it does not know is one that is not complete."""
    from chalicelib.errors import Unavailable
    from chalicelib.payments import PaymentError, PaymentNotFound

    try:
        return gateway.get_payment(payment_id)
    except PaymentNotFound:
        raise PaymentIncomplete("The payment provider has no such payment yet.",
                                extra={"payment_status": "NOT_FOUND"}) from None
    except PaymentError as error:
        log.warning("asking the provider for payment %s failed: %s", payment_id, type(error).__name__)
        raise Unavailable("The payment provider did not answer; try again shortly.") from None


def _late(store: CheckoutStore, gateway: PaymentGateway, order: Order, amount: int, now: float,
          on_refund: Callable[[str], None] | None) -> Order:
    """Money for an order that expired or was cancelled unpaid: owed back, at once."""
    assert order.payment is not None
    store.owe_refund(order, Refund(status="pending", amount=amount, requested_at=now,
                                   payment_id=order.payment.payment_id))
    (on_refund or (lambda order_id: process_refund(store, gateway, order_id, now)))(order.order_id)
    raise PaymentExpired(f"The order is {order.status}; the payment will be refunded.",
                         extra={"order_status": order.status})


def _cancel_quietly(gateway: PaymentGateway, payment_id: str, amount: int, reason: str) -> None:
    from chalicelib.payments import PaymentError

    try:
        gateway.cancel(payment_id, reason=reason, amount=amount or None, current_cancellable_amount=amount or None)
    except PaymentError as error:  # already cancelled, or the provider is down: logged, alarmed
        log.warning("cancelling mismatched payment %s failed: %s", payment_id, type(error).__name__)


# --- refunds --------------------------------------------------------------------------------


def owe_card_refund(store: CheckoutStore, order: Order, now: float) -> bool:
    """A paid card order was cancelled: its total is owed back (once)."""
    if order.payment is None or order.paid_at is None:
        return False
    return store.owe_refund(order, Refund(status="pending", amount=order.total, requested_at=now,
                                          payment_id=order.payment.payment_id))


def process_refund(store: CheckoutStore, gateway: PaymentGateway, order_id: str, now: float) -> str:
    """One attempt at the order's refund: ``done``, ``failed``, ``busy`` (another worker holds
    it, or nothing is owed). The provider is called only by the worker holding the lease, and
    with the amount still cancellable, so however often this runs the money goes back once."""
    from chalicelib import observability
    from chalicelib.payments import CancellableAmountChanged, PaymentAlreadyCancelled, PaymentError

    refund = store.claim_refund(order_id, now, REFUND_LEASE_SECONDS)
    if refund is None or refund.payment_id is None:
        return "busy"
    try:
        view = gateway.get_payment(refund.payment_id)
        if view.cancellable_amount <= 0 or view.status == "CANCELLED":
            store.settle_refund(order_id, True, now)  # the money went back on an earlier attempt
            return "done"
        gateway.cancel(refund.payment_id, reason="Dongne order cancelled or expired",
                       amount=min(refund.amount, view.cancellable_amount),
                       current_cancellable_amount=view.cancellable_amount)
    except (PaymentAlreadyCancelled, CancellableAmountChanged):
        store.settle_refund(order_id, True, now)
        return "done"
    except PaymentError as error:
        store.settle_refund(order_id, False, now, f"{type(error).__name__}: {error}")
        observability.add("RefundFailed")
        log.warning("refund of order %s failed (attempt %d): %s", order_id, refund.attempts, type(error).__name__)
        return "failed"
    store.settle_refund(order_id, True, now)
    return "done"


# --- the scheduled job ----------------------------------------------------------------------


@dataclass
class DeadlineReport:
    expired: int = 0
    delivered: int = 0
    refunds: dict[str, int] = field(default_factory=dict)
    dropped: int = 0
    stopped_early: bool = False


def run_deadlines(store: CheckoutStore, gateway: PaymentGateway | None, now: float, *,
                  deadline: float | None = None, clock: Callable[[], float] | None = None) -> DeadlineReport:
    """Expire unpaid orders past their deadline (stock back, once), deliver orders nobody
    confirmed within ``AUTO_DELIVER_DAYS``, and try owed refunds again. Stops taking on work
    at ``deadline`` (on ``clock``); what is left stays due for the next run."""
    import time

    from chalicelib.storage.models.due import DELIVER, EXPIRE, REFUND

    tick = clock or time.monotonic
    report = DeadlineReport()

    def out_of_time() -> bool:
        report.stopped_early = deadline is not None and tick() >= deadline
        return report.stopped_early

    for due in store.due(EXPIRE, now):
        if out_of_time():
            return report
        order = store.get_order(due.order_id)
        if order is None or order.status != "pending_payment" or order.paid_at is not None:
            store.drop_due(due)
            report.dropped += 1
        elif store.expire(order, due, now):
            report.expired += 1
    for due in store.due(DELIVER, now):
        if out_of_time():
            return report
        order = store.get_order(due.order_id)
        if order is None or order.status not in ("shipped", "ready_for_pickup"):
            store.drop_due(due)
            report.dropped += 1
            continue
        try:
            store.deliver(order, due, now, SYSTEM)
            report.delivered += 1
        except OrderChanged:
            store.drop_due(due)
    if gateway is not None:
        for due in store.due(REFUND, now):
            if out_of_time():
                return report
            order = store.get_order(due.order_id)
            if order is None or order.refund is None or order.refund.status == "done":
                store.drop_due(due)
                report.dropped += 1
                continue
            if order.refund.status == "failed" and now - order.updated_at < REFUND_RETRY_SECONDS:
                continue
            if order.payment is None or order.payment.method != "card":
                continue  # a bank transfer is refunded by the owner, who marks it
            outcome = process_refund(store, gateway, order.order_id, now)
            report.refunds[outcome] = report.refunds.get(outcome, 0) + 1
            if outcome == "done":
                store.drop_due(due)
    return report


def confirm_receipt(store: CheckoutStore, user_id: str, order_id: str, now: float) -> Order:
    """구매확정: the buyer says the order arrived (from ``shipped`` or ``ready_for_pickup``)."""
    order = store.get_order(order_id)
    if order is None or user_id not in (order.buyer_id, order.owner_id):
        raise NotFound("No such order.")
    if user_id != order.buyer_id:
        from chalicelib.errors import Forbidden

        raise Forbidden("Only the buyer confirms receipt; the shop marks an order delivered.")
    if order.status not in ("shipped", "ready_for_pickup"):
        raise IllegalTransition(f"An order that is {order.status} cannot be confirmed as received.",
                                extra={"order_status": order.status, "requested_status": "delivered"})
    return store.deliver(order, None, now, user_id)
