"""PortOne V2 through its official server SDK (``portone-server-sdk``).

The SDK's ``PaymentClient`` is built with the API secret and ``base_url`` — PortOne's API when
deployed, the local stand-in (``devtools.portone_standin``) in ``make run`` and the tests — so
the code that runs locally is the code that runs in production. Calls and REST paths:

==============================  ===========================================================
gateway                         SDK call → PortOne V2 REST (``Authorization: PortOne <secret>``)
==============================  ===========================================================
``pre_register``                ``pre_register_payment`` → ``POST /payments/{id}/pre-register``
``get_payment``                 ``get_payment`` → ``GET /payments/{id}``
``cancel``                      ``cancel_payment`` → ``POST /payments/{id}/cancel``
``charge_billing_key``          ``pay_with_billing_key`` → ``POST /payments/{id}/billing-key``
``get_billing_key``             ``billing_key.get_billing_key_info`` → ``GET /billing-keys/{key}``
``verify_webhook``              ``portone_server_sdk.webhook.verify`` (Standard Webhooks)
==============================  ===========================================================

Cold start: importing the SDK takes about 1 s and building a ``PaymentClient`` about 0.4 s
(it makes an httpx client, with its TLS context, for each of its sub-clients), so both happen
on the first call and are kept for the container's life. The SDK's httpx timeout is a fixed
60 s, longer than the API function's 30 s: the client's own httpx clients are replaced with
ones using ``timeout_seconds`` (connect at most 3 s). That reaches into the SDK's
``_sync_client`` attribute; ``tests/unit/test_payments_portone.py`` pins it so an SDK upgrade
that renames it fails there, not in production.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from chalicelib.payments import (
    KRW,
    BillingKeyView,
    CancellableAmountChanged,
    CancelResult,
    ChargeDeclined,
    ChargeResult,
    Customer,
    PaymentAlreadyCancelled,
    PaymentAlreadyPaid,
    PaymentError,
    PaymentNotFound,
    PaymentNotPaid,
    PaymentView,
    ProviderError,
    ProviderUnavailable,
    WebhookEvent,
    WebhookRejected,
)

DEFAULT_BASE_URL = "https://api.portone.io"
CONNECT_TIMEOUT_SECONDS = 3.0

# The SDK's payment classes (one per status) and their status.
_STATUS_OF_CLASS = {
    "PaidPayment": "PAID",
    "ReadyPayment": "READY",
    "PayPendingPayment": "PAY_PENDING",
    "VirtualAccountIssuedPayment": "VIRTUAL_ACCOUNT_ISSUED",
    "FailedPayment": "FAILED",
    "CancelledPayment": "CANCELLED",
    "PartialCancelledPayment": "PARTIAL_CANCELLED",
}
_METHOD_OF_CLASS = {
    "PaymentMethodCard": "card",
    "PaymentMethodEasyPay": "easy_pay",
    "PaymentMethodTransfer": "transfer",
    "PaymentMethodVirtualAccount": "virtual_account",
    "PaymentMethodMobile": "mobile",
    "PaymentMethodGiftCertificate": "gift_certificate",
    "PaymentMethodConvenienceStore": "convenience_store",
    "PaymentMethodCrypto": "crypto",
}
_CANCELLATION_STATUS_OF_CLASS = {
    "SucceededPaymentCancellation": "SUCCEEDED",
    "RequestedPaymentCancellation": "REQUESTED",
    "FailedPaymentCancellation": "FAILED",
}


class PortOneGateway:
    """``chalicelib.payments.PaymentGateway`` on PortOne V2. Thread-safe; build one per container."""

    def __init__(self, *, api_secret: str, webhook_secret: str, base_url: str = DEFAULT_BASE_URL,
                 channel_key: str | None = None, timeout_seconds: float = 10.0, client: Any = None) -> None:
        self._api_secret = api_secret
        self._webhook_secret = webhook_secret
        self.base_url = base_url.rstrip("/")
        self.channel_key = channel_key
        self.timeout_seconds = timeout_seconds
        self._client = client
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # never the secrets
        return f"PortOneGateway(base_url={self.base_url!r})"

    @property
    def client(self) -> Any:
        """The SDK's ``PaymentClient``, built on first use."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = payment_client(self._api_secret, self.base_url, self.timeout_seconds)
        return self._client

    # --- payments ------------------------------------------------------------------------------

    def pre_register(self, payment_id: str, *, amount: int, currency: str = KRW) -> None:
        with _calling(payment_id):
            self.client.pre_register_payment(payment_id=payment_id, total_amount=amount, currency=currency)

    def get_payment(self, payment_id: str) -> PaymentView:
        with _calling(payment_id):
            payment = self.client.get_payment(payment_id=payment_id)
        return payment_view(payment)

    def cancel(self, payment_id: str, *, reason: str, amount: int | None = None,
               current_cancellable_amount: int | None = None) -> CancelResult:
        with _calling(payment_id):
            response = self.client.cancel_payment(payment_id=payment_id, amount=amount, reason=reason,
                                                  current_cancellable_amount=current_cancellable_amount)
        return cancel_result(payment_id, response.cancellation)

    def charge_billing_key(self, payment_id: str, *, billing_key: str, amount: int, order_name: str,
                           customer: Customer | None = None, currency: str = KRW) -> ChargeResult:
        from portone_server_sdk.common import PaymentAmountInput

        with _calling(payment_id):
            response = self.client.pay_with_billing_key(
                payment_id=payment_id, billing_key=billing_key, channel_key=self.channel_key,
                order_name=order_name, customer=customer_input(customer),
                amount=PaymentAmountInput(total=amount), currency=currency)
        return ChargeResult(payment_id=payment_id, pg_tx_id=response.payment.pg_tx_id,
                            paid_at=epoch(response.payment.paid_at))

    def get_billing_key(self, billing_key: str) -> BillingKeyView:
        with _calling(None):
            info = self.client.billing_key.get_billing_key_info(billing_key=billing_key)
        return billing_key_view(info)

    # --- webhooks ------------------------------------------------------------------------------

    def verify_webhook(self, body: bytes | str, headers: Mapping[str, str]) -> WebhookEvent:
        from portone_server_sdk.webhook import InvalidInputError, WebhookVerificationError, verify

        if isinstance(body, (bytes, bytearray)):
            try:
                body = bytes(body).decode("utf-8")
            except UnicodeDecodeError:
                raise WebhookRejected("MALFORMED_BODY") from None
        lowered = {str(name).lower(): value for name, value in headers.items()}
        try:
            verify(self._webhook_secret, body, lowered)
        except WebhookVerificationError as error:
            raise WebhookRejected(error.reason) from None
        except InvalidInputError as error:  # our secret, not the sender's fault
            raise RuntimeError(f"the PortOne webhook secret is unusable: {error.message}") from None
        except ValueError:  # signed, but not a JSON object
            raise WebhookRejected("MALFORMED_BODY") from None
        return webhook_event(lowered["webhook-id"], json.loads(body))


# --- the SDK client ----------------------------------------------------------------------------

def payment_client(api_secret: str, base_url: str, timeout_seconds: float) -> Any:
    import httpx
    from portone_server_sdk import PaymentClient

    client = PaymentClient(secret=api_secret, base_url=base_url.rstrip("/"))
    timeout = httpx.Timeout(timeout_seconds, connect=min(CONNECT_TIMEOUT_SECONDS, timeout_seconds))
    for sub in (client, client.billing_key):
        sub._sync_client = httpx.Client(timeout=timeout)
    return client


@contextmanager
def _calling(payment_id: str | None) -> Iterator[None]:
    try:
        yield
    except PaymentError:
        raise
    except Exception as error:  # noqa: BLE001 - every SDK and transport error becomes one of ours
        mapped = map_error(error, payment_id)
        if mapped is None:
            raise
        raise mapped from error


def map_error(error: BaseException, payment_id: str | None = None) -> PaymentError | None:
    """The gateway's error for an SDK or transport exception (None: not a provider error)."""
    import httpx
    from portone_server_sdk import errors as sdk

    def name() -> str:
        return type(error).__name__

    if isinstance(error, (sdk.PaymentNotFoundError, sdk.BillingKeyNotFoundError)):
        return PaymentNotFound(error.message or name(), payment_id=payment_id)
    if isinstance(error, sdk.PaymentAlreadyCancelledError):
        return PaymentAlreadyCancelled(error.message or name(), payment_id=payment_id)
    if isinstance(error, (sdk.CancellableAmountConsistencyBrokenError, sdk.CancelAmountExceedsCancellableAmountError)):
        return CancellableAmountChanged(error.message or name(), payment_id=payment_id)
    if isinstance(error, sdk.AlreadyPaidError):
        return PaymentAlreadyPaid(error.message or name(), payment_id=payment_id)
    if isinstance(error, sdk.PaymentNotPaidError):
        return PaymentNotPaid(error.message or name(), payment_id=payment_id)
    if isinstance(error, sdk.PgProviderError):
        return ChargeDeclined(error.message or error.pg_message or name(), payment_id=payment_id,
                              pg_code=error.pg_code, pg_message=error.pg_message)
    if isinstance(error, sdk.BillingKeyAlreadyDeletedError):
        return ChargeDeclined(error.message or "the billing key was deleted", payment_id=payment_id)
    if isinstance(error, sdk.UnknownError):
        # A JSON error of a type this SDK does not know: most likely PortOne's own trouble.
        return ProviderUnavailable(f"PortOne answered an unknown error: {str(error.error)[:200]}",
                                   payment_id=payment_id)
    if isinstance(error, sdk.PortOneError):  # UNAUTHORIZED, FORBIDDEN, INVALID_REQUEST, ...
        return ProviderError(f"{name()}: {error.message}", payment_id=payment_id)
    if isinstance(error, (httpx.TransportError, json.JSONDecodeError)):
        # Refused, reset, timed out, or an error page that is not PortOne's JSON (a proxy's 502).
        return ProviderUnavailable(f"PortOne is unreachable: {name()}", payment_id=payment_id)
    if isinstance(error, ValueError):  # the SDK's "response not supported by this version"
        return ProviderError(f"PortOne answered something this SDK does not know: {str(error)[:200]}",
                             payment_id=payment_id)
    if isinstance(error, httpx.HTTPError):
        return ProviderError(f"PortOne call failed: {name()}", payment_id=payment_id)
    return None


# --- mapping the SDK's objects (pure) ----------------------------------------------------------

def epoch(value: str | None) -> float | None:
    """RFC 3339 (PortOne's date-time, any fraction digits, ``Z`` or an offset) to epoch seconds."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def payment_view(payment: Any) -> PaymentView:
    status = _STATUS_OF_CLASS.get(type(payment).__name__)
    if status is None:  # an unrecognised shape the SDK handed through as a dict
        raw = payment if isinstance(payment, dict) else {}
        amount = raw.get("amount") or {}
        return PaymentView(payment_id=str(raw.get("id", "")), status=str(raw.get("status", "UNKNOWN")),
                           amount_total=int(amount.get("total", 0)), currency=str(raw.get("currency", "")),
                           amount_paid=int(amount.get("paid", 0)), amount_cancelled=int(amount.get("cancelled", 0)))
    method, provider = method_of(getattr(payment, "method", None))
    failure = getattr(payment, "failure", None)
    return PaymentView(
        payment_id=payment.id,
        status=status,
        amount_total=payment.amount.total,
        currency=payment.currency,
        amount_paid=payment.amount.paid,
        amount_cancelled=payment.amount.cancelled,
        transaction_id=payment.transaction_id,
        store_id=payment.store_id,
        order_name=payment.order_name,
        paid_at=epoch(getattr(payment, "paid_at", None)),
        cancelled_at=epoch(getattr(payment, "cancelled_at", None)),
        method=method,
        method_provider=provider,
        billing_key=getattr(payment, "billing_key", None),
        failure_reason=(failure.reason or failure.pg_message) if failure is not None else None,
    )


def method_of(method: Any) -> tuple[str | None, str | None]:
    """(kind, provider) of an SDK PaymentMethod: ("easy_pay", "KAKAOPAY"), ("card", "HYUNDAI")..."""
    if method is None:
        return None, None
    kind = _METHOD_OF_CLASS.get(type(method).__name__)
    provider = None
    if kind == "easy_pay":
        provider = getattr(method, "provider", None)
    elif kind == "card":
        card = getattr(method, "card", None)
        provider = (getattr(card, "publisher", None) or getattr(card, "issuer", None)) if card else None
    elif kind == "transfer":
        provider = getattr(method, "bank", None)
    return kind, provider


def cancel_result(payment_id: str, cancellation: Any) -> CancelResult:
    status = _CANCELLATION_STATUS_OF_CLASS.get(type(cancellation).__name__)
    if status is None:
        raw = cancellation if isinstance(cancellation, dict) else {}
        return CancelResult(payment_id=payment_id, cancellation_id=str(raw.get("id", "")),
                            status=str(raw.get("status", "UNKNOWN")), amount=int(raw.get("totalAmount", 0)))
    return CancelResult(payment_id=payment_id, cancellation_id=cancellation.id, status=status,
                        amount=cancellation.total_amount, cancelled_at=epoch(getattr(cancellation, "cancelled_at", None)))


def billing_key_view(info: Any) -> BillingKeyView:
    if isinstance(info, dict):
        return BillingKeyView(billing_key=str(info.get("billingKey", "")), status=str(info.get("status", "UNKNOWN")))
    status = {"IssuedBillingKeyInfo": "ISSUED", "DeletedBillingKeyInfo": "DELETED"}.get(type(info).__name__, "UNKNOWN")
    customer = getattr(info, "customer", None)
    card = next((getattr(method, "card", None) for method in getattr(info, "methods", None) or ()
                 if getattr(method, "card", None) is not None), None)
    return BillingKeyView(billing_key=info.billing_key, status=status,
                          customer_id=getattr(customer, "id", None), issued_at=epoch(getattr(info, "issued_at", None)),
                          card_issuer=(getattr(card, "issuer", None) or getattr(card, "publisher", None)) if card else None,
                          card_number=getattr(card, "number", None) if card else None)


def customer_input(customer: Customer | None) -> Any:
    if customer is None:
        return None
    from portone_server_sdk.common import CustomerInput, CustomerNameInput

    return CustomerInput(id=customer.customer_id,
                         name=CustomerNameInput(full=customer.name) if customer.name else None,
                         email=customer.email, phone_number=customer.phone)


def webhook_event(webhook_id: str, body: Any) -> WebhookEvent:
    """A verified webhook body (``{"type", "timestamp", "data": {...}}``) as a ``WebhookEvent``."""
    if not isinstance(body, dict) or not isinstance(body.get("type"), str):
        raise WebhookRejected("MALFORMED_BODY")
    given = body.get("data")
    data: dict[str, Any] = given if isinstance(given, dict) else {}

    def text(key: str) -> str | None:
        value = data.get(key)
        return value if isinstance(value, str) else None

    timestamp = body.get("timestamp")
    return WebhookEvent(webhook_id=webhook_id, type=body["type"],
                        timestamp=timestamp if isinstance(timestamp, str) else None,
                        payment_id=text("paymentId"), transaction_id=text("transactionId"),
                        cancellation_id=text("cancellationId"), store_id=text("storeId"),
                        billing_key=text("billingKey"), data=dict(data))
