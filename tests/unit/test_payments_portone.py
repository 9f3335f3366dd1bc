"""The payment gateway's pure parts: verdicts, the mapping of the SDK's objects and errors,
webhook verification (Standard Webhooks), secrets and the SDK pin. No server here: the calls
through the SDK to the stand-in are tests/integration/test_portone_gateway.py."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from chalicelib.payments import (
    CancellableAmountChanged,
    ChargeDeclined,
    PaymentAlreadyCancelled,
    PaymentAlreadyPaid,
    PaymentNotFound,
    PaymentNotPaid,
    PaymentView,
    ProviderError,
    ProviderUnavailable,
    WebhookRejected,
)
from chalicelib.payments.portone import (
    PortOneGateway,
    cancel_result,
    epoch,
    map_error,
    payment_client,
    payment_view,
    webhook_event,
)
from chalicelib.secrets import portone_secrets
from chalicelib.settings import DEFAULT_PORTONE_API_SECRET, DEFAULT_PORTONE_WEBHOOK_SECRET, Settings
from deploy.locks import parse_lock

ROOT = Path(__file__).resolve().parents[2]
SECRET = "whsec_" + base64.b64encode(b"unit-test-webhook-key-32-bytes!!").decode()


def view(status="PAID", total=15000, currency="KRW", paid=None, cancelled=0) -> PaymentView:
    if paid is None:
        paid = total if status in ("PAID", "CANCELLED", "PARTIAL_CANCELLED") else 0
    return PaymentView(payment_id="p", status=status, amount_total=total, currency=currency,
                       amount_paid=paid, amount_cancelled=cancelled)


# --- verdicts ------------------------------------------------------------------------------------

def test_only_a_paid_payment_in_krw_for_exactly_the_total_is_accepted():
    assert view().verdict(15000) == "paid"
    assert view(total=14999).verdict(15000) == "mismatch"
    assert view(total=15001).verdict(15000) == "mismatch"
    assert view(currency="USD").verdict(15000) == "mismatch"


def test_a_payment_of_another_amount_stays_a_mismatch_once_cancelled():
    """The webhook cancels a wrong amount first; the buyer's confirmation still hears why."""
    assert view("CANCELLED", total=100, paid=100, cancelled=100).verdict(15000) == "mismatch"
    assert view("PARTIAL_CANCELLED", total=20000, paid=20000, cancelled=5000).verdict(15000) == "mismatch"
    assert view("CANCELLED", currency="USD", cancelled=15000).verdict(15000) == "mismatch"
    assert view("CANCELLED", cancelled=15000).verdict(15000) == "void"  # the right amount, refunded
    assert view("CANCELLED", total=100, paid=0).verdict(15000) == "void"  # cancelled before it was paid


@pytest.mark.parametrize("status", ["READY", "PAY_PENDING", "VIRTUAL_ACCOUNT_ISSUED"])
def test_a_payment_not_paid_yet_is_pending(status):
    assert view(status).verdict(15000) == "pending"


@pytest.mark.parametrize("status", ["FAILED", "CANCELLED", "PARTIAL_CANCELLED", "SOMETHING_NEW"])
def test_a_failed_or_cancelled_payment_pays_for_nothing(status):
    assert view(status).verdict(15000) == "void"


def test_cancellable_amount_is_what_was_paid_less_what_was_refunded():
    assert view().cancellable_amount == 15000
    assert view("PARTIAL_CANCELLED", cancelled=5000).cancellable_amount == 10000
    assert view("READY").cancellable_amount == 0


# --- mapping the SDK's objects ---------------------------------------------------------------------

def test_rfc3339_times_become_epoch_seconds():
    assert epoch("2026-12-07T00:00:00Z") == 1796601600.0
    assert epoch("2026-12-07T09:00:00+09:00") == 1796601600.0
    assert epoch("2026-12-07T00:00:00.123456789Z") == pytest.approx(1796601600.123456)
    assert epoch("2026-12-07T00:00:00") == 1796601600.0  # no offset: UTC
    assert epoch(None) is None and epoch("") is None and epoch("yesterday") is None


def _payment_json(status="PAID", **extra) -> dict:
    body = {"status": status, "id": "pay-1", "transactionId": "tx-1", "merchantId": "m", "storeId": "store-1",
            "channel": {"type": "TEST", "pgProvider": "TOSSPAYMENTS", "pgMerchantId": "t"}, "version": "V2",
            "requestedAt": "2026-12-07T00:00:00Z", "updatedAt": "2026-12-07T00:01:00Z",
            "statusChangedAt": "2026-12-07T00:01:00Z", "orderName": "귤 한 상자",
            "amount": {"total": 15000, "taxFree": 0, "discount": 0, "paid": 15000, "cancelled": 0, "cancelledTaxFree": 0},
            "currency": "KRW", "customer": {"id": "u1"}, "origin": {"platformType": "PC", "ipAddress": "127.0.0.1"}}
    body.update(extra)
    return body


def _sdk_payment(body: dict):
    from portone_server_sdk._generated.payment.payment import _deserialize_payment

    return _deserialize_payment(body)


def test_a_paid_payment_maps_status_amounts_time_and_method():
    payment = _sdk_payment(_payment_json(paidAt="2026-12-07T00:01:00Z", disputes=[], billingKey="bk-1",
                                         method={"type": "PaymentMethodEasyPay", "provider": "KAKAOPAY"}))
    got = payment_view(payment)
    assert (got.status, got.amount_total, got.amount_paid, got.currency) == ("PAID", 15000, 15000, "KRW")
    assert got.paid_at == 1796601660.0 and got.payment_id == "pay-1" and got.store_id == "store-1"
    assert (got.method, got.method_provider, got.billing_key) == ("easy_pay", "KAKAOPAY", "bk-1")
    assert got.verdict(15000) == "paid"


def test_a_card_payment_names_its_publisher_and_a_failed_one_its_reason():
    card = payment_view(_sdk_payment(_payment_json(paidAt="2026-12-07T00:01:00Z", disputes=[], method={
        "type": "PaymentMethodCard", "card": {"publisher": "HYUNDAI"}})))
    assert (card.method, card.method_provider) == ("card", "HYUNDAI")
    failed = payment_view(_sdk_payment(_payment_json(
        "FAILED", failedAt="2026-12-07T00:01:00Z", failure={"reason": "잔액 부족", "pgCode": "X"},
        amount={"total": 15000, "taxFree": 0, "discount": 0, "paid": 0, "cancelled": 0, "cancelledTaxFree": 0})))
    assert (failed.status, failed.failure_reason, failed.verdict(15000)) == ("FAILED", "잔액 부족", "void")


def test_a_cancelled_payment_keeps_what_was_paid_and_refunded():
    cancellation = {"status": "SUCCEEDED", "id": "c1", "totalAmount": 15000, "taxFreeAmount": 0, "vatAmount": 1364,
                    "reason": "환불", "requestedAt": "2026-12-07T00:02:00Z", "cancelledAt": "2026-12-07T00:02:00Z"}
    got = payment_view(_sdk_payment(_payment_json(
        "CANCELLED", cancellations=[cancellation], cancelledAt="2026-12-07T00:02:00Z",
        amount={"total": 15000, "taxFree": 0, "discount": 0, "paid": 15000, "cancelled": 15000, "cancelledTaxFree": 0})))
    assert (got.status, got.amount_cancelled, got.cancellable_amount, got.cancelled_at) == (
        "CANCELLED", 15000, 0, 1796601720.0)


def test_cancellation_results_name_their_status():
    from portone_server_sdk._generated.payment.payment_cancellation import _deserialize_payment_cancellation

    body = {"id": "c1", "totalAmount": 5000, "taxFreeAmount": 0, "vatAmount": 455, "reason": "r",
            "requestedAt": "2026-12-07T00:02:00Z"}
    done = cancel_result("p", _deserialize_payment_cancellation({**body, "status": "SUCCEEDED",
                                                                 "cancelledAt": "2026-12-07T00:02:00Z"}))
    assert (done.status, done.amount, done.succeeded, done.cancelled_at) == ("SUCCEEDED", 5000, True, 1796601720.0)
    pending = cancel_result("p", _deserialize_payment_cancellation({**body, "status": "REQUESTED"}))
    assert (pending.status, pending.succeeded) == ("REQUESTED", False)


# --- mapping the SDK's errors ----------------------------------------------------------------------

def _sdk_error(cls_name: str, module: str, body: dict):
    import importlib

    from portone_server_sdk import errors

    deserialize = getattr(importlib.import_module(f"portone_server_sdk._generated.{module}"),
                          f"_deserialize_{module.rsplit('.', 1)[1]}")
    return getattr(errors, cls_name)(deserialize(body))


@pytest.mark.parametrize(("cls_name", "module", "body", "expected"), [
    ("PaymentNotFoundError", "common.payment_not_found_error", {"type": "PAYMENT_NOT_FOUND"}, PaymentNotFound),
    ("BillingKeyNotFoundError", "common.billing_key_not_found_error", {"type": "BILLING_KEY_NOT_FOUND"}, PaymentNotFound),
    ("PaymentAlreadyCancelledError", "payment.payment_already_cancelled_error",
     {"type": "PAYMENT_ALREADY_CANCELLED"}, PaymentAlreadyCancelled),
    ("CancellableAmountConsistencyBrokenError", "payment.cancellable_amount_consistency_broken_error",
     {"type": "CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN"}, CancellableAmountChanged),
    ("AlreadyPaidError", "payment.already_paid_error", {"type": "ALREADY_PAID"}, PaymentAlreadyPaid),
    ("PaymentNotPaidError", "payment.payment_not_paid_error", {"type": "PAYMENT_NOT_PAID"}, PaymentNotPaid),
    ("PgProviderError", "common.pg_provider_error",
     {"type": "PG_PROVIDER", "pgCode": "CARD_DECLINED", "pgMessage": "거절"}, ChargeDeclined),
    ("UnauthorizedError", "common.unauthorized_error", {"type": "UNAUTHORIZED"}, ProviderError),
    ("InvalidRequestError", "common.invalid_request_error", {"type": "INVALID_REQUEST"}, ProviderError),
])
def test_sdk_errors_map_to_the_gateway_errors(cls_name, module, body, expected):
    mapped = map_error(_sdk_error(cls_name, module, body), "p")
    assert type(mapped) is expected and mapped.payment_id == "p"
    if expected is ChargeDeclined:
        assert (mapped.pg_code, mapped.pg_message) == ("CARD_DECLINED", "거절")


def test_transport_trouble_is_retryable_and_the_rest_is_not():
    import httpx
    from portone_server_sdk.errors import UnknownError

    for error in (httpx.ConnectError("refused"), httpx.ReadTimeout("slow"),
                  json.JSONDecodeError("Expecting value", "<html>", 0), UnknownError({"type": "NEW_KIND"})):
        mapped = map_error(error)
        assert isinstance(mapped, ProviderUnavailable) and mapped.retryable, error
    assert isinstance(map_error(ValueError("{} is not Payment")), ProviderError)
    assert not ProviderError("x").retryable
    assert map_error(TypeError("a bug of ours")) is None


# --- webhooks (Standard Webhooks) ------------------------------------------------------------------

def gateway(secret: str = SECRET) -> PortOneGateway:
    return PortOneGateway(api_secret="unused", webhook_secret=secret, base_url="http://127.0.0.1:9")


def signed(body: str, *, secret: str = SECRET, webhook_id: str = "msg_1", at: int | None = None) -> dict:
    """Signed by hand, independently of the stand-in: v1,base64(HMAC-SHA256(key, id.ts.body))."""
    stamp = str(int(time.time()) if at is None else at)
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{webhook_id}.{stamp}.{body}".encode(), hashlib.sha256).digest()
    return {"webhook-id": webhook_id, "webhook-timestamp": stamp, "webhook-signature": "v1," + base64.b64encode(mac).decode()}


PAID_BODY = json.dumps({"type": "Transaction.Paid", "timestamp": "2026-12-07T00:01:00.000Z",
                        "data": {"storeId": "store-1", "paymentId": "pay-1", "transactionId": "tx-1"}})


def test_a_genuine_webhook_is_verified_and_parsed():
    event = gateway().verify_webhook(PAID_BODY.encode(), signed(PAID_BODY))
    assert (event.webhook_id, event.type, event.payment_id, event.transaction_id, event.store_id) == (
        "msg_1", "Transaction.Paid", "pay-1", "tx-1", "store-1")
    assert event.is_transaction and event.data["paymentId"] == "pay-1"


def test_header_names_are_matched_whatever_their_case_and_rotated_signatures_are_accepted():
    headers = {k.title(): v for k, v in signed(PAID_BODY).items()}
    headers["Webhook-Signature"] = "v1,bm90IGl0 " + headers["Webhook-Signature"]  # an old key's, then ours
    assert gateway().verify_webhook(PAID_BODY, headers).payment_id == "pay-1"


@pytest.mark.parametrize(("mutate", "reason"), [
    (lambda body, headers: (body.replace("pay-1", "pay-2"), headers), "NO_MATCHING_SIGNATURE"),
    (lambda body, headers: (body, {**headers, "webhook-id": "msg_2"}), "NO_MATCHING_SIGNATURE"),
    (lambda body, headers: (body, signed(body, secret="whsec_" + base64.b64encode(b"another key").decode())),
     "NO_MATCHING_SIGNATURE"),
    (lambda body, headers: (body, {**headers, "webhook-signature": "v2," + headers["webhook-signature"][3:]}),
     "NO_MATCHING_SIGNATURE"),
    (lambda body, headers: (body, {k: v for k, v in headers.items() if k != "webhook-signature"}),
     "MISSING_REQUIRED_HEADERS"),
    (lambda body, headers: (body, signed(body, at=int(time.time()) - 301)), "TIMESTAMP_TOO_OLD"),
    (lambda body, headers: (body, signed(body, at=int(time.time()) + 301)), "TIMESTAMP_TOO_NEW"),
    (lambda body, headers: (body, {**headers, "webhook-timestamp": "soon"}), "INVALID_SIGNATURE"),
])
def test_forged_tampered_or_stale_webhooks_are_rejected(mutate, reason):
    body, headers = mutate(PAID_BODY, signed(PAID_BODY))
    with pytest.raises(WebhookRejected) as caught:
        gateway().verify_webhook(body, headers)
    assert caught.value.reason == reason


def test_a_signed_body_that_is_not_a_json_object_is_rejected():
    for body in ("not json", "[1, 2]", json.dumps({"data": {}})):
        with pytest.raises(WebhookRejected) as caught:
            gateway().verify_webhook(body, signed(body))
        assert caught.value.reason == "MALFORMED_BODY"
    with pytest.raises(WebhookRejected):
        gateway().verify_webhook(b"\xff\xfe", signed("x"))


def test_a_replay_verifies_again_with_the_same_id_deduplicating_is_the_callers_job():
    first = gateway().verify_webhook(PAID_BODY, signed(PAID_BODY, webhook_id="msg_same"))
    again = gateway().verify_webhook(PAID_BODY, signed(PAID_BODY, webhook_id="msg_same"))
    assert first.webhook_id == again.webhook_id == "msg_same"


def test_an_unknown_event_type_still_parses():
    event = webhook_event("msg_9", {"type": "BillingKey.Issued", "timestamp": "t",
                                    "data": {"storeId": "s", "billingKey": "bk"}})
    assert (event.type, event.billing_key, event.payment_id, event.is_transaction) == (
        "BillingKey.Issued", "bk", None, False)


def test_an_unusable_webhook_secret_is_our_configuration_error_not_a_rejection():
    with pytest.raises(RuntimeError, match="webhook secret"):
        gateway("whsec_").verify_webhook(PAID_BODY, signed(PAID_BODY))


# --- secrets, settings, the SDK ------------------------------------------------------------------

def test_local_stages_use_the_development_secrets():
    secrets = portone_secrets(Settings.from_env({"DONGNE_STAGE": "test"}))
    assert secrets == (DEFAULT_PORTONE_API_SECRET, DEFAULT_PORTONE_WEBHOOK_SECRET)


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_development_secrets_are_refused_outside_local(stage):
    env = {"DONGNE_STAGE": stage, "DONGNE_SECRET_KEY": "x" * 40}
    with pytest.raises(RuntimeError, match="DONGNE_PORTONE_SECRET_ARN"):
        portone_secrets(Settings.from_env(env))
    explicit = Settings.from_env({**env, "DONGNE_PORTONE_API_SECRET": "real", "DONGNE_PORTONE_WEBHOOK_SECRET": SECRET})
    assert portone_secrets(explicit) == ("real", SECRET)


def test_on_aws_the_secrets_come_from_secrets_manager(monkeypatch):
    from aws_lambda_powertools.utilities import parameters

    asked = []

    def get_secret(name, transform=None, max_age=None):
        asked.append((name, transform))
        return {"api_secret": "from-sm", "webhook_secret": SECRET}

    monkeypatch.setattr(parameters, "get_secret", get_secret)
    settings = Settings.from_env({"DONGNE_STAGE": "prod", "DONGNE_SECRET_KEY": "x" * 40,
                                  "DONGNE_PORTONE_SECRET_ARN": "arn:aws:secretsmanager:r:1:secret:portone"})
    assert portone_secrets(settings) == ("from-sm", SECRET)
    assert asked == [("arn:aws:secretsmanager:r:1:secret:portone", "json")]
    monkeypatch.setattr(parameters, "get_secret", lambda *a, **k: {"api_secret": "only one"})
    with pytest.raises(RuntimeError, match="webhook_secret"):
        portone_secrets(settings)


def test_the_client_gets_our_timeout_instead_of_the_sdks_60_seconds():
    client = payment_client("secret", "http://127.0.0.1:9/", 7.0)
    for sub in (client, client.billing_key):
        assert sub._sync_client.timeout.read == 7.0 and sub._sync_client.timeout.connect == 3.0
    assert client._base_url == "http://127.0.0.1:9"


def test_the_installed_sdk_is_the_pinned_one():
    pins = parse_lock((ROOT / "requirements.txt").read_text(), "requirements.txt").pins
    assert metadata.version("portone-server-sdk") == pins[canonicalize_name("portone-server-sdk")].version


def test_importing_the_gateway_does_not_import_the_sdk():
    code = ("import sys, chalicelib.payments, chalicelib.payments.portone; "
            "print(any(m.startswith('portone_server_sdk') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_gateway_never_shows_its_secrets():
    shown = repr(PortOneGateway(api_secret="s3cr3t-api", webhook_secret=SECRET))
    assert "s3cr3t-api" not in shown and SECRET not in shown
