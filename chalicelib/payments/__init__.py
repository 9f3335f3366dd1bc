"""The payment provider, behind one small Protocol: what the order and subscription services
may ask of it, in their words. ``chalicelib.payments.portone`` implements it on PortOne V2's
official server SDK; ``devtools.portone_standin`` speaks the same REST paths locally.

Nothing here imports the SDK (it costs about a second to import): services and wiring can
import this module freely, and only the first real payment call pays for the SDK.

The provider is never trusted on the client's word: a service asks ``get_payment`` and
compares with the order (``PaymentView.verdict``). Webhooks are verified over the raw body
before anything is parsed (``verify_webhook``); deduplicating them by ``webhook_id`` is the
caller's job. Errors are a short list (below): the SDK's dozens of error types are mapped
onto them at the adapter, so no caller imports the SDK.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

# PortOne V2 payment statuses (Payment.status). Only PAID is money received.
PAID = "PAID"
READY = "READY"
PAY_PENDING = "PAY_PENDING"
VIRTUAL_ACCOUNT_ISSUED = "VIRTUAL_ACCOUNT_ISSUED"
FAILED = "FAILED"
CANCELLED = "CANCELLED"
PARTIAL_CANCELLED = "PARTIAL_CANCELLED"
# Not paid yet, may still be: the customer is in the payment window, the PG is confirming, or a
# virtual account waits for its deposit.
PENDING_STATUSES = frozenset({READY, PAY_PENDING, VIRTUAL_ACCOUNT_ISSUED})
# Will never be paid as it stands.
VOID_STATUSES = frozenset({FAILED, CANCELLED, PARTIAL_CANCELLED})
CANCELLED_STATUSES = frozenset({CANCELLED, PARTIAL_CANCELLED})

KRW = "KRW"

# Webhook types (PortOne V2). Transaction.* carry data.paymentId; BillingKey.* carry data.billingKey.
TRANSACTION_PAID = "Transaction.Paid"
TRANSACTION_FAILED = "Transaction.Failed"
TRANSACTION_CANCELLED = "Transaction.Cancelled"
TRANSACTION_PARTIAL_CANCELLED = "Transaction.PartialCancelled"

Verdict = Literal["paid", "mismatch", "pending", "void"]


@dataclass(frozen=True)
class PaymentView:
    """One payment as the provider sees it now. Money in integer won; times in epoch seconds."""

    payment_id: str
    status: str
    amount_total: int
    currency: str
    amount_paid: int = 0
    amount_cancelled: int = 0
    transaction_id: str | None = None
    store_id: str | None = None
    order_name: str | None = None
    paid_at: float | None = None
    cancelled_at: float | None = None
    # "card", "easy_pay", "transfer", "virtual_account", "mobile", "gift_certificate",
    # "convenience_store", "crypto" (None when the provider did not say)
    method: str | None = None
    # The easy-pay provider (KAKAOPAY, NAVERPAY, TOSSPAY...) or the card's publisher, when known.
    method_provider: str | None = None
    # Set when the payment was a charge of a saved card (a billing key).
    billing_key: str | None = None
    failure_reason: str | None = None

    @property
    def is_paid(self) -> bool:
        return self.status == PAID

    @property
    def cancellable_amount(self) -> int:
        """What a refund can still return (what ``cancel``'s ``current_cancellable_amount`` expects)."""
        return max(0, self.amount_paid - self.amount_cancelled)

    def verdict(self, expected_total: int, currency: str = KRW) -> Verdict:
        """How this payment stands against an order of ``expected_total`` won:

        * ``paid``: paid, in ``currency``, for exactly ``expected_total`` — the only acceptance;
        * ``mismatch``: paid, but another amount or currency (the caller cancels what is left of
          it) — also once it was cancelled for that (the webhook usually gets there first);
        * ``pending``: not paid yet and may still be (READY, PAY_PENDING, VIRTUAL_ACCOUNT_ISSUED);
        * ``void``: failed, or a payment of the right amount cancelled (wholly or in part): it
          will not pay for the order.
        """
        exact = (self.currency == currency and self.amount_total == expected_total
                 and self.amount_paid == expected_total)
        if self.status == PAID:
            return "paid" if exact else "mismatch"
        if self.status in PENDING_STATUSES:
            return "pending"
        if self.status in CANCELLED_STATUSES and self.amount_paid > 0 and not exact:
            return "mismatch"
        return "void"


@dataclass(frozen=True)
class CancelResult:
    """One cancellation (refund). ``status`` is PortOne's: SUCCEEDED (money returned), REQUESTED
    (the PG confirms later: a Transaction.Cancelled webhook follows) or FAILED."""

    payment_id: str
    cancellation_id: str
    status: str
    amount: int
    cancelled_at: float | None = None

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"


@dataclass(frozen=True)
class ChargeResult:
    """A billing-key charge that went through (a declined one raises ``ChargeDeclined``)."""

    payment_id: str
    pg_tx_id: str
    paid_at: float | None


@dataclass(frozen=True)
class Customer:
    """Who a billing-key charge is for (PortOne's CustomerInput, the fields Dongne has)."""

    customer_id: str
    name: str | None = None
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class BillingKeyView:
    billing_key: str
    status: str  # ISSUED or DELETED
    customer_id: str | None = None
    issued_at: float | None = None
    # The saved card as the provider describes it, when it does: its issuer (or publisher) and
    # its masked number ("12345678****1234"); never enough to charge it.
    card_issuer: str | None = None
    card_number: str | None = None

    @property
    def is_issued(self) -> bool:
        return self.status == "ISSUED"

    @property
    def card_last4(self) -> str | None:
        tail = (self.card_number or "")[-4:]
        return tail if len(tail) == 4 and tail.isdigit() else None


@dataclass(frozen=True)
class WebhookEvent:
    """A verified webhook. ``webhook_id`` is the same on every delivery of one event (PortOne
    retries with it): the caller deduplicates on it. ``data`` is the event's data as sent."""

    webhook_id: str
    type: str
    timestamp: str | None
    payment_id: str | None = None
    transaction_id: str | None = None
    cancellation_id: str | None = None
    store_id: str | None = None
    billing_key: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_transaction(self) -> bool:
        return self.type.startswith("Transaction.")


# --- errors ------------------------------------------------------------------------------------
class PaymentError(Exception):
    """Base of what the gateway raises. ``retryable``: the same call may succeed later."""

    retryable = False

    def __init__(self, message: str, *, payment_id: str | None = None) -> None:
        super().__init__(message)
        self.payment_id = payment_id


class PaymentNotFound(PaymentError):
    """The provider has no payment (or billing key) by that id."""


class PaymentAlreadyCancelled(PaymentError):
    """A cancel of a payment already fully cancelled: for a refund retry, the refund is done."""


class CancellableAmountChanged(PaymentError):
    """``current_cancellable_amount`` no longer matches: another cancellation came first (read
    the payment again before deciding anything)."""


class PaymentAlreadyPaid(PaymentError):
    """A billing-key charge for a payment id that is already paid: an earlier attempt of the
    same charge went through (the payment id is the idempotency key)."""


class PaymentNotPaid(PaymentError):
    """A cancel of a payment that was never paid (nothing to refund)."""


class ChargeDeclined(PaymentError):
    """The PG refused (a card declined, a refund the PG would not do now), or the billing key is
    gone. ``pg_code``/``pg_message`` are the PG's words when it gave them."""

    def __init__(self, message: str, *, payment_id: str | None = None, pg_code: str | None = None,
                 pg_message: str | None = None) -> None:
        super().__init__(message, payment_id=payment_id)
        self.pg_code = pg_code
        self.pg_message = pg_message


class ProviderUnavailable(PaymentError):
    """No usable answer (connection refused, timeout, a non-JSON error page): try again later."""

    retryable = True


class ProviderError(PaymentError):
    """The provider refused our request itself (credentials, a malformed request) or answered
    something this SDK version does not know: a configuration or programming problem."""


class WebhookRejected(PaymentError):
    """A webhook that must not be trusted: headers missing, no matching signature, a timestamp
    outside the tolerance (5 minutes), or a body that is not a JSON object. ``reason`` is one of
    MISSING_REQUIRED_HEADERS, NO_MATCHING_SIGNATURE, INVALID_SIGNATURE, TIMESTAMP_TOO_OLD,
    TIMESTAMP_TOO_NEW, MALFORMED_BODY."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"webhook rejected: {reason}")
        self.reason = reason


class PaymentGateway(Protocol):
    """What Dongne asks of its payment provider."""

    def pre_register(self, payment_id: str, *, amount: int, currency: str = KRW) -> None:
        """Tell the provider the amount a payment id must be paid with, before the customer opens
        the payment window (the provider refuses another amount)."""
        ...

    def get_payment(self, payment_id: str) -> PaymentView: ...

    def cancel(self, payment_id: str, *, reason: str, amount: int | None = None,
               current_cancellable_amount: int | None = None) -> CancelResult:
        """Refund ``amount`` won (all that is left when None). With ``current_cancellable_amount``
        the provider cancels only if that is still what is left, so a retried refund can never
        return money twice (raises ``CancellableAmountChanged`` or ``PaymentAlreadyCancelled``)."""
        ...

    def charge_billing_key(self, payment_id: str, *, billing_key: str, amount: int, order_name: str,
                           customer: Customer | None = None, currency: str = KRW) -> ChargeResult:
        """Charge a saved card. ``payment_id`` should be fixed per thing charged (a subscription
        period): a retry then answers ``PaymentAlreadyPaid`` instead of charging twice."""
        ...

    def get_billing_key(self, billing_key: str) -> BillingKeyView: ...

    def verify_webhook(self, body: bytes | str, headers: Mapping[str, str]) -> WebhookEvent:
        """Verify the signature over the raw body, then parse it; raises ``WebhookRejected``."""
        ...


def gateway_from(settings) -> PaymentGateway:
    """The PortOne gateway for these settings (secrets read now, the SDK loaded on first call)."""
    from chalicelib.payments.portone import PortOneGateway
    from chalicelib.secrets import portone_secrets

    secrets = portone_secrets(settings)
    return PortOneGateway(api_secret=secrets.api_secret, webhook_secret=secrets.webhook_secret,
                          base_url=settings.portone_base_url, channel_key=settings.portone_channel_key,
                          timeout_seconds=settings.portone_timeout_seconds)
