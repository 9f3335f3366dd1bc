"""A local stand-in for PortOne V2: its REST paths, its JSON, its errors, its signed webhooks.

PortOne has no local edition. This server answers the calls ``portone-server-sdk`` makes, so the
app reaches it through the same SDK code it uses in production with only the base URL changed
(``DONGNE_PORTONE_BASE_URL=http://127.0.0.1:8003``). Payments live in memory (one lock).

Run it: ``python -m devtools.portone_standin --port 8003 --webhook-url
http://127.0.0.1:8000/webhooks/portone`` (``PORTONE_PORT`` and ``PORTONE_WEBHOOK_URL`` are the
defaults of the two flags). In tests: ``with PortOneStandIn(webhook_url=...) as standin:`` starts
it on a free port in a thread; ``standin.url`` is the base URL.

PortOne's API (every call needs ``Authorization: PortOne <api secret>``; a missing or wrong
one answers 401 ``{"type": "UNAUTHORIZED"}``, PortOne's error shape ``{"type", "message"}``):

* ``POST /payments/{id}/pre-register`` ``{"totalAmount", "currency"}`` — the amount this payment
  id is to be paid with. The app calls it when it creates a card order (real PortOne then
  refuses another amount in the payment window); here it is the default of ``/__dev/.../pay``.
* ``GET /payments/{id}`` — the payment (``READY`` once pre-registered, ``PAID``, ``FAILED``,
  ``CANCELLED``, ``PARTIAL_CANCELLED``) or 404 ``PAYMENT_NOT_FOUND``.
* ``POST /payments/{id}/cancel`` ``{"reason", "amount"?, "currentCancellableAmount"?}`` —
  a refund (all that is left without ``amount``). A second cancel of a fully cancelled payment
  answers 409 ``PAYMENT_ALREADY_CANCELLED``; a stale ``currentCancellableAmount`` 409
  ``CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN``; an unpaid payment 409 ``PAYMENT_NOT_PAID``.
* ``POST /payments/{id}/billing-key`` ``{"billingKey", "orderName", "amount": {"total"},
  "currency", "customer"?}`` — a saved-card charge: 200 ``{"payment": {"pgTxId", "paidAt"}}``;
  the same payment id again answers 409 ``ALREADY_PAID``; an unknown key 404
  ``BILLING_KEY_NOT_FOUND``; a declined card 502 ``PG_PROVIDER`` (and a FAILED payment).
* ``GET /billing-keys/{key}`` — the key's info (``ISSUED``) or 404 ``BILLING_KEY_NOT_FOUND``.

Every change PortOne would announce is announced: ``Transaction.Paid``, ``Transaction.Failed``,
``Transaction.Cancelled`` and ``Transaction.PartialCancelled`` are POSTed to the webhook URL as
PortOne V2 sends them — body ``{"type", "timestamp", "data": {"storeId", "paymentId",
"transactionId", "cancellationId"?}}``, signed with the Standard Webhooks scheme: headers
``webhook-id``, ``webhook-timestamp`` (epoch seconds) and ``webhook-signature`` =
``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`` keyed with the base64 part of the
``whsec_...`` secret. ``skipWebhook: true`` in a cancel or charge body skips it, as PortOne's does.

Development only (no auth; these paths do not exist at PortOne):

* ``POST /__dev/payments/{id}/pay`` ``{"amount"?, "currency"?, "orderName"?, "method"?:
  "card"|"easy_pay", "provider"?, "webhook"?: true}`` — the customer pays in the payment
  window: the payment becomes PAID for ``amount`` (default: the pre-registered amount; without
  either, 400) and ``Transaction.Paid`` is sent (``"webhook": false``: not sent). The answer is
  ``{"payment": ..., "webhook": {"webhook_id", "status", "error"}}`` with the app's answer status.
* ``POST /__dev/payments/{id}/fail`` ``{"reason"?}`` — the payment fails (``Transaction.Failed``).
* ``POST /__dev/payments/{id}/webhook`` — delivers that payment's last event again with the same
  ``webhook-id`` and a fresh timestamp and signature, as PortOne's retries do (replay tests).
* ``POST /__dev/billing-keys`` ``{"customerId", "billingKey"?, "issuer"?, "cardNumber"?}`` — issues a
  billing key (201) for a card (default ``SHINHAN``, ``12345678****1234``).
* ``POST /__dev/cancel-failures`` ``{"count", "kind"?: "pg_provider"|"unavailable"}`` — the next
  ``count`` cancel calls fail: 502 ``PG_PROVIDER`` or a 503 HTML page (refund retries).
* ``POST /__dev/charge-failures`` ``{"count", "pgCode"?, "pgMessage"?}`` — the next ``count``
  billing-key charges are declined.
* ``GET /__dev/stats`` — calls received per API operation, cancel calls per payment, webhooks
  delivered, failed and unsent (no URL). ``GET /__dev/webhooks`` — every delivery. ``POST /__dev/reset`` — forget
  everything. ``GET /__dev/health`` — 200.

curl::

    curl -s -X POST localhost:8003/__dev/payments/pay-123/pay -d '{"amount": 15000}'
    curl -s localhost:8003/payments/pay-123 -H 'Authorization: PortOne dongne-local-portone-api-secret'
    curl -s -X POST localhost:8003/__dev/cancel-failures -d '{"count": 2}'
    curl -s localhost:8003/__dev/stats
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from chalicelib.settings import DEFAULT_PORTONE_API_SECRET, DEFAULT_PORTONE_STORE_ID, DEFAULT_PORTONE_WEBHOOK_SECRET

DEFAULT_PORT = 8003
DEFAULT_WEBHOOK_URL = "http://127.0.0.1:8000/webhooks/portone"
MERCHANT_ID = "merchant-dongne-local"
CHANNEL = {"type": "TEST", "id": "channel-id-dongne-local", "key": "channel-key-dongne-local",
           "name": "Dongne local stand-in", "pgProvider": "TOSSPAYMENTS", "pgMerchantId": "tosspayments-dongne-local"}
MAX_BODY_BYTES = 1024 * 1024
WEBHOOK_TIMEOUT_SECONDS = 10


def iso(epoch_seconds: float) -> str:
    moment = datetime.fromtimestamp(epoch_seconds, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def sign(secret: str, webhook_id: str, timestamp: str, body: str) -> str:
    """Standard Webhooks: ``v1,`` + base64 HMAC-SHA256 of ``id.timestamp.body`` with the secret's key."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{webhook_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(secret: str, body: str, *, webhook_id: str | None = None, timestamp: int | None = None) -> dict:
    webhook_id = webhook_id or "msg_" + secrets.token_hex(12)
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {"webhook-id": webhook_id, "webhook-timestamp": stamp,
            "webhook-signature": sign(secret, webhook_id, stamp, body)}


class Problem(Exception):
    """An answer in PortOne's error shape."""

    def __init__(self, status: int, type_: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.body = status, {"type": type_, "message": message, **extra}


def _new_id(prefix: str) -> str:
    return f"{prefix}-{int(time.time() * 1000):x}-{secrets.token_hex(4)}"


def _amount(payment: dict) -> dict:
    total = payment["total"]
    vat = round(total / 11)
    paid = total if payment["status"] in ("PAID", "CANCELLED", "PARTIAL_CANCELLED") else 0
    return {"total": total, "taxFree": 0, "vat": vat, "supply": total - vat, "discount": 0,
            "paid": paid, "cancelled": payment["cancelled"], "cancelledTaxFree": 0}


def _customer(given: Any, default_id: str) -> dict:
    """PortOne's CustomerInput (``name: {"full"}``) as the payment's Customer (``name: "..."``)."""
    given = given if isinstance(given, dict) else {}
    name = given.get("name") if isinstance(given.get("name"), dict) else {}
    customer = {"id": given.get("id") or default_id, "name": name.get("full"), "email": given.get("email"),
                "phoneNumber": given.get("phoneNumber")}
    return {k: v for k, v in customer.items() if isinstance(v, str)}


def _method(kind: str, provider: str | None) -> dict:
    if kind == "easy_pay":
        return {"type": "PaymentMethodEasyPay", "provider": provider or "KAKAOPAY"}
    return {"type": "PaymentMethodCard", "approvalNumber": f"{secrets.randbelow(10**8):08d}",
            "card": {"publisher": provider or "SHINHAN", "issuer": provider or "SHINHAN", "brand": "LOCAL",
                     "type": "CREDIT", "ownerType": "PERSONAL", "name": "Dongne test card",
                     "number": "12345678****1234"},
            "installment": {"month": 0, "isInterestFree": False}}


class PortOneStandIn:
    """The stand-in server. ``start()`` serves on a thread; ``stop()`` ends it; a context manager."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, api_secret: str = DEFAULT_PORTONE_API_SECRET,
                 webhook_secret: str = DEFAULT_PORTONE_WEBHOOK_SECRET, store_id: str = DEFAULT_PORTONE_STORE_ID,
                 webhook_url: str | None = None, log: bool = False) -> None:
        self.api_secret = api_secret
        self.webhook_secret = webhook_secret
        self.store_id = store_id
        self.webhook_url = webhook_url
        self.log = log
        self._lock = threading.RLock()
        self.reset()
        self._server = ThreadingHTTPServer((host, port), _Handler)
        self._server.daemon_threads = True
        self._server.standin = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self._server.server_address[0]}:{self.port}"

    def start(self) -> "PortOneStandIn":
        self._thread = threading.Thread(target=self._server.serve_forever, name="portone-standin", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> "PortOneStandIn":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        with self._lock:
            self.payments: dict[str, dict] = {}
            self.billing_keys: dict[str, dict] = {}
            self.calls: Counter[str] = Counter()
            self.cancel_calls_by_payment: Counter[str] = Counter()
            self.deliveries: list[dict] = []
            self._events: dict[str, tuple[str, str]] = {}  # payment id → (webhook id, body) of its last event
            self._cancel_failures: list[str] = []
            self._charge_failures: list[tuple[str, str]] = []

    # --- views ---------------------------------------------------------------------------------

    def payment_json(self, payment: dict) -> dict:
        body = {
            "status": payment["status"], "id": payment["id"], "transactionId": payment["transactionId"],
            "merchantId": MERCHANT_ID, "storeId": self.store_id, "channel": CHANNEL, "version": "V2",
            "requestedAt": iso(payment["requestedAt"]), "updatedAt": iso(payment["updatedAt"]),
            "statusChangedAt": iso(payment["statusChangedAt"]), "orderName": payment["orderName"],
            "amount": _amount(payment), "currency": payment["currency"], "customer": payment["customer"],
            "origin": {"platformType": "API" if payment.get("billingKey") else "PC", "ipAddress": "127.0.0.1"},
        }
        if payment.get("method"):
            body["method"] = payment["method"]
        if payment.get("billingKey"):
            body["billingKey"] = payment["billingKey"]
        if payment.get("paidAt") is not None:
            body["paidAt"] = iso(payment["paidAt"])
            body["pgTxId"] = payment["pgTxId"]
            body["receiptUrl"] = f"{self.url}/__dev/receipts/{payment['id']}"
        if payment["status"] == "PAID":
            body["disputes"] = []
        if payment["status"] in ("CANCELLED", "PARTIAL_CANCELLED"):
            body["cancellations"] = payment["cancellations"]
            body["cancelledAt"] = iso(payment["cancelledAt"])
        if payment["status"] == "FAILED":
            body["failedAt"] = iso(payment["failedAt"])
            body["failure"] = payment["failure"]
        return body

    def stats(self) -> dict:
        with self._lock:
            return {"calls": dict(self.calls), "cancel_calls_by_payment": dict(self.cancel_calls_by_payment),
                    "webhooks": {"sent": sum(1 for d in self.deliveries if d["ok"]),
                                 "failed": sum(1 for d in self.deliveries if d["url"] and not d["ok"]),
                                 "unsent": sum(1 for d in self.deliveries if not d["url"])},
                    "payments": len(self.payments), "billing_keys": len(self.billing_keys)}

    # --- PortOne's API -------------------------------------------------------------------------

    def _payment(self, payment_id: str) -> dict:
        payment = self.payments.get(payment_id)
        if payment is None:
            raise Problem(404, "PAYMENT_NOT_FOUND", "결제 건이 존재하지 않습니다.")
        return payment

    def _blank(self, payment_id: str, now: float, **fields: Any) -> dict:
        return {"id": payment_id, "status": "READY", "transactionId": _new_id("tx"), "requestedAt": now,
                "updatedAt": now, "statusChangedAt": now, "orderName": fields.get("orderName") or payment_id,
                "total": 0, "cancelled": 0, "currency": "KRW", "customer": {}, "cancellations": [], **fields}

    def pre_register(self, payment_id: str, body: dict) -> dict:
        total = body.get("totalAmount")
        if not isinstance(total, int) or isinstance(total, bool) or total <= 0:
            raise Problem(400, "INVALID_REQUEST", "totalAmount must be a positive integer")
        now = time.time()
        with self._lock:
            existing = self.payments.get(payment_id)
            if existing is not None and existing["status"] != "READY":
                raise Problem(409, "ALREADY_PAID", "결제가 이미 완료되었습니다.")
            payment = existing or self._blank(payment_id, now)
            payment.update(total=total, currency=body.get("currency") or "KRW", updatedAt=now, preRegistered=True)
            self.payments[payment_id] = payment
        return {}

    def get_payment(self, payment_id: str) -> dict:
        with self._lock:
            return self.payment_json(self._payment(payment_id))

    def cancel(self, payment_id: str, body: dict) -> tuple[dict, dict | None]:
        now = time.time()
        with self._lock:
            self.cancel_calls_by_payment[payment_id] += 1
            if self._cancel_failures:
                kind = self._cancel_failures.pop(0)
                if kind == "unavailable":
                    raise Problem(503, "", "")  # answered as an HTML page, not JSON
                raise Problem(502, "PG_PROVIDER", "PG사에서 오류를 전달했습니다.", pgCode="STANDIN_CANCEL_FAILED",
                              pgMessage="취소 처리 중 PG사 오류 (stand-in)")
            reason = body.get("reason")
            if not isinstance(reason, str) or not reason:
                raise Problem(400, "INVALID_REQUEST", "reason is required")
            payment = self._payment(payment_id)
            if payment["status"] == "CANCELLED":
                raise Problem(409, "PAYMENT_ALREADY_CANCELLED", "결제가 이미 취소되었습니다.")
            if payment["status"] not in ("PAID", "PARTIAL_CANCELLED"):
                raise Problem(409, "PAYMENT_NOT_PAID", "결제가 완료되지 않았습니다.")
            cancellable = payment["total"] - payment["cancelled"]
            current = body.get("currentCancellableAmount")
            if current is not None and current != cancellable:
                raise Problem(409, "CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN", "취소 가능 잔액 검증에 실패했습니다.")
            amount = body.get("amount", cancellable)
            if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
                raise Problem(400, "INVALID_REQUEST", "amount must be a positive integer")
            if amount > cancellable:
                raise Problem(409, "CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT", "결제 취소 금액이 취소 가능 금액을 초과합니다.")
            cancellation = {"status": "SUCCEEDED", "id": _new_id("cancel"), "pgCancellationId": _new_id("pgc"),
                            "totalAmount": amount, "taxFreeAmount": 0, "vatAmount": round(amount / 11),
                            "reason": reason, "requestedAt": iso(now), "cancelledAt": iso(now)}
            payment["cancellations"].append(cancellation)
            payment["cancelled"] += amount
            payment["status"] = "CANCELLED" if payment["cancelled"] == payment["total"] else "PARTIAL_CANCELLED"
            payment.update(updatedAt=now, statusChangedAt=now, cancelledAt=now)
            event = None
            if not body.get("skipWebhook"):
                kind = "Transaction.Cancelled" if payment["status"] == "CANCELLED" else "Transaction.PartialCancelled"
                event = self._event(payment, kind, cancellationId=cancellation["id"])
        return {"cancellation": cancellation}, event

    def charge(self, payment_id: str, body: dict) -> tuple[dict, dict | None]:
        now = time.time()
        key = body.get("billingKey")
        amount = (body.get("amount") or {}).get("total") if isinstance(body.get("amount"), dict) else None
        if not isinstance(key, str) or not isinstance(body.get("orderName"), str):
            raise Problem(400, "INVALID_REQUEST", "billingKey and orderName are required")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise Problem(400, "INVALID_REQUEST", "amount.total must be a positive integer")
        with self._lock:
            if key not in self.billing_keys:
                raise Problem(404, "BILLING_KEY_NOT_FOUND", "빌링키가 존재하지 않습니다.")
            existing = self.payments.get(payment_id)
            if existing is not None and existing["status"] not in ("READY", "FAILED"):
                raise Problem(409, "ALREADY_PAID", "결제가 이미 완료되었습니다.")
            payment = self._blank(payment_id, now, orderName=body["orderName"], billingKey=key,
                                  customer=_customer(body.get("customer"), self.billing_keys[key]["customerId"]))
            payment.update(total=amount, currency=body.get("currency") or "KRW", method=_method("card", None))
            self.payments[payment_id] = payment
            if self._charge_failures:
                code, message = self._charge_failures.pop(0)
                payment.update(status="FAILED", failedAt=now,
                               failure={"reason": message, "pgCode": code, "pgMessage": message})
                event = None if body.get("skipWebhook") else self._event(payment, "Transaction.Failed")
                return {"__problem__": Problem(502, "PG_PROVIDER", "PG사에서 오류를 전달했습니다.", pgCode=code,
                                               pgMessage=message)}, event
            self._mark_paid(payment, now)
            event = None if body.get("skipWebhook") else self._event(payment, "Transaction.Paid")
            return {"payment": {"pgTxId": payment["pgTxId"], "paidAt": iso(now)}}, event

    def billing_key_info(self, key: str) -> dict:
        with self._lock:
            info = self.billing_keys.get(key)
            if info is None:
                raise Problem(404, "BILLING_KEY_NOT_FOUND", "빌링키가 존재하지 않습니다.")
            return {"status": "ISSUED", "billingKey": key, "merchantId": MERCHANT_ID, "storeId": self.store_id,
                    "channels": [CHANNEL], "customer": {"id": info["customerId"]}, "issuedAt": iso(info["issuedAt"]),
                    "methods": [{"type": "BillingKeyPaymentMethodCard",
                                 "card": {"publisher": info.get("issuer", "SHINHAN"), "issuer": info.get("issuer", "SHINHAN"),
                                          "brand": "LOCAL", "type": "CREDIT", "ownerType": "PERSONAL",
                                          "name": "Dongne test card", "number": info.get("number", "12345678****1234")}}]}

    # --- development routes --------------------------------------------------------------------

    def _mark_paid(self, payment: dict, now: float) -> None:
        payment.update(status="PAID", paidAt=now, pgTxId=_new_id("pgtx"), updatedAt=now, statusChangedAt=now)

    def pay(self, payment_id: str, body: dict) -> tuple[dict, dict | None]:
        now = time.time()
        with self._lock:
            payment = self.payments.get(payment_id)
            if payment is not None and payment["status"] != "READY":
                raise Problem(409, "ALREADY_PAID", f"the payment is {payment['status']}, not READY")
            amount = body.get("amount", payment["total"] if payment else None)
            if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
                raise Problem(400, "INVALID_REQUEST",
                              "no amount: pre-register the payment (POST /payments/{id}/pre-register) "
                              "or pass {\"amount\": won}")
            payment = payment or self._blank(payment_id, now)
            payment.update(total=amount, currency=body.get("currency") or payment["currency"],
                           orderName=body.get("orderName") or payment["orderName"],
                           method=_method(body.get("method", "card"), body.get("provider")))
            if isinstance(body.get("customer"), dict):
                payment["customer"] = _customer(body["customer"], body["customer"].get("id") or "")
            self._mark_paid(payment, now)
            self.payments[payment_id] = payment
            event = self._event(payment, "Transaction.Paid") if body.get("webhook", True) else None
            return self.payment_json(payment), event

    def fail(self, payment_id: str, body: dict) -> tuple[dict, dict | None]:
        now = time.time()
        with self._lock:
            payment = self.payments.get(payment_id) or self._blank(payment_id, now)
            if payment["status"] != "READY":
                raise Problem(409, "INVALID_REQUEST", f"the payment is {payment['status']}, not READY")
            reason = body.get("reason") or "customer closed the payment window"
            payment.update(status="FAILED", failedAt=now, updatedAt=now, statusChangedAt=now,
                           failure={"reason": reason, "pgCode": "STANDIN_FAILED", "pgMessage": reason})
            self.payments[payment_id] = payment
            event = self._event(payment, "Transaction.Failed") if body.get("webhook", True) else None
            return self.payment_json(payment), event

    def issue_billing_key(self, body: dict) -> dict:
        customer = body.get("customerId")
        if not isinstance(customer, str) or not customer:
            raise Problem(400, "INVALID_REQUEST", "customerId is required")
        key = body.get("billingKey") or "billing-key-" + secrets.token_hex(12)
        info = {"customerId": customer, "issuedAt": time.time()}
        for field_, given in (("issuer", body.get("issuer")), ("number", body.get("cardNumber"))):
            if isinstance(given, str) and given:
                info[field_] = given
        with self._lock:
            self.billing_keys[key] = info
        return {"billingKey": key, "customerId": customer}

    def fail_next_cancels(self, count: int, kind: str = "pg_provider") -> None:
        with self._lock:
            self._cancel_failures = [kind] * count

    def fail_next_charges(self, count: int, pg_code: str = "CARD_DECLINED",
                          pg_message: str = "카드 승인이 거절되었습니다 (stand-in)") -> None:
        with self._lock:
            self._charge_failures = [(pg_code, pg_message)] * count

    # --- webhooks ------------------------------------------------------------------------------

    def _event(self, payment: dict, type_: str, **data: str) -> dict:
        """A new event for ``payment`` (kept for resending); delivered by the caller, outside the lock."""
        body = json.dumps({"type": type_, "timestamp": iso(time.time()),
                           "data": {"storeId": self.store_id, "paymentId": payment["id"],
                                    "transactionId": payment["transactionId"], **data}},
                          ensure_ascii=False, separators=(",", ":"))
        webhook_id = "msg_" + secrets.token_hex(12)
        self._events[payment["id"]] = (webhook_id, body)
        return {"webhook_id": webhook_id, "body": body, "type": type_, "payment_id": payment["id"]}

    def resend(self, payment_id: str) -> dict:
        with self._lock:
            if payment_id not in self._events:
                raise Problem(404, "PAYMENT_NOT_FOUND", "no webhook was sent for this payment")
            webhook_id, body = self._events[payment_id]
        return self.deliver({"webhook_id": webhook_id, "body": body, "type": json.loads(body)["type"],
                             "payment_id": payment_id})

    def deliver(self, event: dict | None) -> dict | None:
        """POST one event to the webhook URL, signed now. Returns the delivery record."""
        if event is None:
            return None
        record = {"webhook_id": event["webhook_id"], "type": event["type"], "payment_id": event["payment_id"],
                  "url": self.webhook_url, "status": None, "error": None, "ok": False}
        if not self.webhook_url:
            record["error"] = "no webhook URL configured"
        else:
            headers = signed_headers(self.webhook_secret, event["body"], webhook_id=event["webhook_id"])
            request = urllib.request.Request(self.webhook_url, data=event["body"].encode(), method="POST", headers={
                "Content-Type": "application/json", "User-Agent": "PortOne-Webhook (Dongne stand-in)", **headers})
            try:
                with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:
                    record["status"] = response.status
            except urllib.error.HTTPError as error:
                record["status"] = error.code
            except OSError as error:
                record["error"] = f"{type(error).__name__}: {error}"
            record["ok"] = record["status"] is not None and 200 <= record["status"] < 300
        with self._lock:
            self.deliveries.append(record)
        return record


# --- HTTP ----------------------------------------------------------------------------------------

_API_ROUTES = [
    ("GET", re.compile(r"^/payments/([^/]+)$"), "get_payment"),
    ("POST", re.compile(r"^/payments/([^/]+)/pre-register$"), "pre_register_payment"),
    ("POST", re.compile(r"^/payments/([^/]+)/cancel$"), "cancel_payment"),
    ("POST", re.compile(r"^/payments/([^/]+)/billing-key$"), "pay_with_billing_key"),
    ("GET", re.compile(r"^/billing-keys/([^/]+)$"), "get_billing_key_info"),
]
_DEV_ROUTES = [
    ("POST", re.compile(r"^/__dev/payments/([^/]+)/pay$"), "pay"),
    ("POST", re.compile(r"^/__dev/payments/([^/]+)/fail$"), "fail"),
    ("POST", re.compile(r"^/__dev/payments/([^/]+)/webhook$"), "resend"),
    ("POST", re.compile(r"^/__dev/billing-keys$"), "issue_billing_key"),
    ("POST", re.compile(r"^/__dev/cancel-failures$"), "cancel_failures"),
    ("POST", re.compile(r"^/__dev/charge-failures$"), "charge_failures"),
    ("GET", re.compile(r"^/__dev/stats$"), "stats"),
    ("GET", re.compile(r"^/__dev/webhooks$"), "webhooks"),
    ("POST", re.compile(r"^/__dev/reset$"), "reset"),
    ("GET", re.compile(r"^/__dev/health$"), "health"),
]


class _Handler(BaseHTTPRequestHandler):
    server_version = "PortOneStandIn/1"
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.standin.log:  # type: ignore[attr-defined]
            super().log_message(format, *args)

    def _handle(self, method: str) -> None:
        standin: PortOneStandIn = self.server.standin  # type: ignore[attr-defined]
        path = urlsplit(self.path).path
        try:
            body = self._body()
            for verb, pattern, name in _API_ROUTES:
                match = pattern.match(path)
                if match and verb == method:
                    with standin._lock:
                        standin.calls[name] += 1
                    self._authorize(standin)
                    self._api(standin, name, unquote(match.group(1)) if match.groups() else None, body)
                    return
            for verb, pattern, name in _DEV_ROUTES:
                match = pattern.match(path)
                if match and verb == method:
                    self._dev(standin, name, unquote(match.group(1)) if match.groups() else None, body)
                    return
            raise Problem(404, "NOT_FOUND", f"no route {method} {path}")
        except Problem as problem:
            if problem.status == 503 and not problem.body["type"]:
                self._send(503, b"<html><body>503 Service Unavailable</body></html>", "text/html")
            else:
                self._json(problem.status, problem.body)

    def _body(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise Problem(413, "INVALID_REQUEST", "body too large")
        raw = self.rfile.read(length) if length else b""
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw)
        except ValueError:
            raise Problem(400, "INVALID_REQUEST", "the body is not JSON") from None
        if not isinstance(body, dict):
            raise Problem(400, "INVALID_REQUEST", "the body is not a JSON object")
        return body

    def _authorize(self, standin: PortOneStandIn) -> None:
        given = self.headers.get("Authorization") or ""
        if not hmac.compare_digest(given.encode(), f"PortOne {standin.api_secret}".encode()):
            with standin._lock:
                standin.calls["unauthorized"] += 1
            raise Problem(401, "UNAUTHORIZED", "인증 정보가 올바르지 않습니다.")

    def _api(self, standin: PortOneStandIn, name: str, arg: str | None, body: dict) -> None:
        if name == "get_payment":
            self._json(200, standin.get_payment(arg))
        elif name == "pre_register_payment":
            self._json(200, standin.pre_register(arg, body))
        elif name == "get_billing_key_info":
            self._json(200, standin.billing_key_info(arg))
        else:
            answer, event = standin.cancel(arg, body) if name == "cancel_payment" else standin.charge(arg, body)
            # The webhook goes out before the answer, as it may at PortOne: the app must cope either way.
            standin.deliver(event)
            problem = answer.pop("__problem__", None)
            if problem is not None:
                raise problem
            self._json(200, answer)

    def _dev(self, standin: PortOneStandIn, name: str, arg: str | None, body: dict) -> None:
        if name in ("pay", "fail"):
            payment, event = getattr(standin, name)(arg, body)
            self._json(200, {"payment": payment, "webhook": _public(standin.deliver(event))})
        elif name == "resend":
            self._json(200, {"webhook": _public(standin.resend(arg))})
        elif name == "issue_billing_key":
            self._json(201, standin.issue_billing_key(body))
        elif name == "cancel_failures":
            kind = body.get("kind", "pg_provider")
            if kind not in ("pg_provider", "unavailable"):
                raise Problem(400, "INVALID_REQUEST", "kind is pg_provider or unavailable")
            standin.fail_next_cancels(_count(body), kind)
            self._json(200, {"cancel_failures": _count(body), "kind": kind})
        elif name == "charge_failures":
            standin.fail_next_charges(_count(body), body.get("pgCode") or "CARD_DECLINED",
                                      body.get("pgMessage") or "카드 승인이 거절되었습니다 (stand-in)")
            self._json(200, {"charge_failures": _count(body)})
        elif name == "stats":
            self._json(200, standin.stats())
        elif name == "webhooks":
            with standin._lock:
                self._json(200, {"deliveries": [_public(d) for d in standin.deliveries]})
        elif name == "reset":
            standin.reset()
            self._json(200, {"reset": True})
        else:
            self._json(200, {"ok": True})

    def _json(self, status: int, body: dict) -> None:
        self._send(status, json.dumps(body, ensure_ascii=False).encode(), "application/json; charset=utf-8")

    def _send(self, status: int, raw: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


def _count(body: dict) -> int:
    count = body.get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= 1000:
        raise Problem(400, "INVALID_REQUEST", "count is an integer from 0 to 1000")
    return count


def _public(record: dict | None) -> dict | None:
    return None if record is None else {k: v for k, v in record.items() if k != "ok"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.portone_standin", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORTONE_PORT") or DEFAULT_PORT))
    parser.add_argument("--webhook-url", default=os.environ.get("PORTONE_WEBHOOK_URL") or DEFAULT_WEBHOOK_URL,
                        help="where signed webhooks are POSTed ('' sends none)")
    parser.add_argument("--api-secret", default=DEFAULT_PORTONE_API_SECRET)
    parser.add_argument("--webhook-secret", default=DEFAULT_PORTONE_WEBHOOK_SECRET)
    parser.add_argument("--store-id", default=DEFAULT_PORTONE_STORE_ID)
    parser.add_argument("--quiet", action="store_true", help="no line per request")
    args = parser.parse_args(argv)
    standin = PortOneStandIn(host=args.host, port=args.port, api_secret=args.api_secret,
                             webhook_secret=args.webhook_secret, store_id=args.store_id,
                             webhook_url=args.webhook_url or None, log=not args.quiet)
    print(f"PortOne stand-in on {standin.url} (store {args.store_id}); webhooks to {args.webhook_url or 'nowhere'}\n"
          f"  pay:   curl -s -X POST {standin.url}/__dev/payments/PAYMENT_ID/pay -d '{{\"amount\": 15000}}'\n"
          f"  stats: curl -s {standin.url}/__dev/stats", flush=True)
    # Ctrl-C stops it even when it was started from a background job, which inherits SIGINT
    # ignored (a non-interactive shell's `cmd &`), and so does a plain kill.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        standin.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        standin._server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
