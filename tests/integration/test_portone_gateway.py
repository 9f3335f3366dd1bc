"""The PortOne gateway against the local stand-in, through the official SDK over real HTTP:
the same code production runs, only the base URL differs. No DynamoDB here, so these run on
either backend."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from chalicelib.payments import (
    CancellableAmountChanged,
    ChargeDeclined,
    Customer,
    PaymentAlreadyCancelled,
    PaymentAlreadyPaid,
    PaymentError,
    PaymentNotFound,
    PaymentNotPaid,
    ProviderError,
    ProviderUnavailable,
    WebhookRejected,
)
from chalicelib.payments.portone import PortOneGateway
from chalicelib.settings import DEFAULT_PORTONE_API_SECRET, DEFAULT_PORTONE_STORE_ID, DEFAULT_PORTONE_WEBHOOK_SECRET
from tests.portone import dev, gateway_for, running_standin, webhook_receiver

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def receiver_and_standin():
    with webhook_receiver() as (receiver, url), running_standin(url) as standin:
        yield receiver, standin


@pytest.fixture
def standin(receiver_and_standin):
    receiver, standin = receiver_and_standin
    standin.reset()
    receiver.received.clear()
    receiver.status = 200
    return standin


@pytest.fixture
def receiver(receiver_and_standin, standin):
    return receiver_and_standin[0]


@pytest.fixture(scope="module")
def shared_gateway(receiver_and_standin) -> PortOneGateway:
    # One per module, as one per warm container: building the SDK's client costs ~0.5-1 s.
    return gateway_for(receiver_and_standin[1])


@pytest.fixture
def gateway(shared_gateway, standin) -> PortOneGateway:
    return shared_gateway


def paid(standin, payment_id: str, amount: int = 15000, **body) -> dict:
    status, answer = dev(standin, f"/__dev/payments/{payment_id}/pay", {"amount": amount, **body})
    assert status == 200, answer
    return answer


# --- get ---------------------------------------------------------------------------------------

def test_a_pre_registered_payment_is_pending_until_paid_then_paid_for_exactly_that_amount(standin, gateway):
    gateway.pre_register("pay-get-1", amount=15000)
    assert gateway.get_payment("pay-get-1").verdict(15000) == "pending"

    status, answer = dev(standin, "/__dev/payments/pay-get-1/pay")  # no amount: the pre-registered one
    assert status == 200 and answer["payment"]["amount"]["total"] == 15000

    payment = gateway.get_payment("pay-get-1")
    assert (payment.status, payment.amount_total, payment.currency, payment.method) == ("PAID", 15000, "KRW", "card")
    assert payment.paid_at == pytest.approx(time.time(), abs=60)
    assert payment.store_id == DEFAULT_PORTONE_STORE_ID
    assert payment.verdict(15000) == "paid" and payment.verdict(16000) == "mismatch"


def test_a_wrong_amount_paid_is_a_mismatch(standin, gateway):
    gateway.pre_register("pay-get-2", amount=15000)
    paid(standin, "pay-get-2", amount=100, method="easy_pay", provider="NAVERPAY")
    payment = gateway.get_payment("pay-get-2")
    assert (payment.verdict(15000), payment.method, payment.method_provider) == ("mismatch", "easy_pay", "NAVERPAY")


def test_pay_without_an_amount_or_a_registration_is_refused(standin):
    status, answer = dev(standin, "/__dev/payments/pay-get-3/pay")
    assert status == 400 and answer["type"] == "INVALID_REQUEST" and "pre-register" in answer["message"]


def test_an_unknown_payment_is_not_found(gateway):
    with pytest.raises(PaymentNotFound):
        gateway.get_payment("pay-nobody-made")


def test_a_failed_payment_is_void(standin, gateway):
    gateway.pre_register("pay-get-4", amount=15000)
    status, _ = dev(standin, "/__dev/payments/pay-get-4/fail", {"reason": "한도 초과"})
    assert status == 200
    payment = gateway.get_payment("pay-get-4")
    assert (payment.status, payment.failure_reason, payment.verdict(15000)) == ("FAILED", "한도 초과", "void")


# --- cancel ------------------------------------------------------------------------------------

def test_a_refund_returns_everything_once_and_a_second_cancel_says_already_cancelled(standin, gateway):
    paid(standin, "pay-cancel-1")
    result = gateway.cancel("pay-cancel-1", reason="고객 요청", current_cancellable_amount=15000)
    assert (result.status, result.amount, result.succeeded) == ("SUCCEEDED", 15000, True)

    with pytest.raises(PaymentAlreadyCancelled):
        gateway.cancel("pay-cancel-1", reason="고객 요청", current_cancellable_amount=15000)
    payment = gateway.get_payment("pay-cancel-1")
    assert (payment.status, payment.amount_cancelled, payment.cancellable_amount) == ("CANCELLED", 15000, 0)
    assert dev(standin, "/__dev/stats", method="GET")[1]["cancel_calls_by_payment"] == {"pay-cancel-1": 2}


def test_a_partial_refund_then_a_stale_balance_is_refused(standin, gateway):
    paid(standin, "pay-cancel-2", amount=20000)
    assert gateway.cancel("pay-cancel-2", reason="한 개 반품", amount=5000).amount == 5000
    assert gateway.get_payment("pay-cancel-2").status == "PARTIAL_CANCELLED"
    with pytest.raises(CancellableAmountChanged):  # a retry that still believes 20000 is left
        gateway.cancel("pay-cancel-2", reason="전액", current_cancellable_amount=20000)
    with pytest.raises(CancellableAmountChanged):
        gateway.cancel("pay-cancel-2", reason="너무 많이", amount=15001)
    assert gateway.cancel("pay-cancel-2", reason="나머지", current_cancellable_amount=15000).amount == 15000
    assert gateway.get_payment("pay-cancel-2").status == "CANCELLED"


def test_an_unpaid_payment_cannot_be_refunded(gateway):
    gateway.pre_register("pay-cancel-3", amount=15000)
    with pytest.raises(PaymentNotPaid):
        gateway.cancel("pay-cancel-3", reason="x")


def test_a_refund_failing_twice_then_retried_refunds_once(standin, gateway):
    paid(standin, "pay-cancel-4")
    assert dev(standin, "/__dev/cancel-failures", {"count": 2})[0] == 200
    outcomes = []
    for _ in range(5):  # a refund outbox retrying the same request
        try:
            outcomes.append(gateway.cancel("pay-cancel-4", reason="환불", current_cancellable_amount=15000).status)
        except PaymentError as error:
            outcomes.append(type(error).__name__)
    assert outcomes == ["ChargeDeclined", "ChargeDeclined", "SUCCEEDED", "PaymentAlreadyCancelled",
                        "PaymentAlreadyCancelled"]
    assert gateway.get_payment("pay-cancel-4").amount_cancelled == 15000
    stats = dev(standin, "/__dev/stats", method="GET")[1]
    assert stats["cancel_calls_by_payment"]["pay-cancel-4"] == 5 and stats["calls"]["cancel_payment"] == 5


def test_an_unavailable_provider_is_retryable(standin, gateway):
    paid(standin, "pay-cancel-5")
    dev(standin, "/__dev/cancel-failures", {"count": 1, "kind": "unavailable"})
    with pytest.raises(ProviderUnavailable) as caught:
        gateway.cancel("pay-cancel-5", reason="환불")
    assert caught.value.retryable
    assert gateway.cancel("pay-cancel-5", reason="환불").succeeded


def test_concurrent_refunds_of_one_payment_refund_once(standin, gateway):
    paid(standin, "pay-cancel-6")
    outcomes, barrier = [], threading.Barrier(12)

    def refund():
        barrier.wait()
        try:
            outcomes.append(gateway.cancel("pay-cancel-6", reason="동시", current_cancellable_amount=15000).status)
        except (PaymentAlreadyCancelled, CancellableAmountChanged) as error:
            outcomes.append(type(error).__name__)

    threads = [threading.Thread(target=refund) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert outcomes.count("SUCCEEDED") == 1 and len(outcomes) == 12
    assert gateway.get_payment("pay-cancel-6").amount_cancelled == 15000


# --- billing keys ------------------------------------------------------------------------------

def test_a_billing_key_charge_goes_through_once_per_payment_id(standin, gateway):
    status, issued = dev(standin, "/__dev/billing-keys", {"customerId": "user-1"})
    assert status == 201
    key = issued["billingKey"]
    info = gateway.get_billing_key(key)
    assert (info.status, info.customer_id) == ("ISSUED", "user-1")

    customer = Customer("user-1", name="김동네", email="user1@example.kr", phone="01012345678")
    charge = gateway.charge_billing_key("sub-1-2026-12", billing_key=key, amount=9900, order_name="12월 정기배송",
                                        customer=customer)
    assert charge.pg_tx_id and charge.paid_at == pytest.approx(time.time(), abs=60)
    with pytest.raises(PaymentAlreadyPaid):  # the job retried the same period
        gateway.charge_billing_key("sub-1-2026-12", billing_key=key, amount=9900, order_name="12월 정기배송")
    payment = gateway.get_payment("sub-1-2026-12")
    assert (payment.verdict(9900), payment.billing_key) == ("paid", key)
    assert standin.payments["sub-1-2026-12"]["customer"] == {
        "id": "user-1", "name": "김동네", "email": "user1@example.kr", "phoneNumber": "01012345678"}
    assert dev(standin, "/__dev/stats", method="GET")[1]["calls"]["pay_with_billing_key"] == 2


def test_a_declined_charge_fails_the_payment_and_may_be_tried_again(standin, gateway):
    key = dev(standin, "/__dev/billing-keys", {"customerId": "user-2"})[1]["billingKey"]
    dev(standin, "/__dev/charge-failures", {"count": 1, "pgCode": "LIMIT_EXCEEDED", "pgMessage": "한도 초과"})
    with pytest.raises(ChargeDeclined) as caught:
        gateway.charge_billing_key("sub-2-2026-12", billing_key=key, amount=9900, order_name="정기배송")
    assert (caught.value.pg_code, caught.value.pg_message) == ("LIMIT_EXCEEDED", "한도 초과")
    assert gateway.get_payment("sub-2-2026-12").status == "FAILED"
    gateway.charge_billing_key("sub-2-2026-12", billing_key=key, amount=9900, order_name="정기배송")
    assert gateway.get_payment("sub-2-2026-12").status == "PAID"


def test_an_unknown_billing_key_is_not_found(gateway):
    with pytest.raises(PaymentNotFound):
        gateway.charge_billing_key("sub-3", billing_key="no-such-key", amount=9900, order_name="x")
    with pytest.raises(PaymentNotFound):
        gateway.get_billing_key("no-such-key")


# --- credentials and reachability --------------------------------------------------------------

def test_a_wrong_api_secret_is_refused_as_portone_refuses_it(standin):
    with pytest.raises(ProviderError, match="Unauthorized"):
        gateway_for(standin, api_secret="not-the-secret").get_payment("anything")
    request = urllib.request.Request(standin.url + "/payments/anything", headers={"Authorization": "Bearer x"})
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)
    assert caught.value.code == 401 and json.loads(caught.value.read())["type"] == "UNAUTHORIZED"
    assert dev(standin, "/__dev/stats", method="GET")[1]["calls"]["unauthorized"] == 2


def test_an_unreachable_provider_is_unavailable():
    from devtools.ddblocal import free_port

    gateway = PortOneGateway(api_secret="x", webhook_secret=DEFAULT_PORTONE_WEBHOOK_SECRET,
                             base_url=f"http://127.0.0.1:{free_port()}", timeout_seconds=2)
    with pytest.raises(ProviderUnavailable):
        gateway.get_payment("anything")


# --- webhooks ----------------------------------------------------------------------------------

def test_paying_sends_a_transaction_paid_webhook_signed_with_standard_webhooks(standin, receiver, gateway):
    gateway.pre_register("pay-hook-1", amount=15000)
    answer = paid(standin, "pay-hook-1", amount=15000)
    assert answer["webhook"]["status"] == 200 and answer["webhook"]["error"] is None

    [got] = receiver.wait_for(1)
    # Checked by hand first (the scheme itself), then by the gateway (the SDK's verify).
    key = base64.b64decode(DEFAULT_PORTONE_WEBHOOK_SECRET.removeprefix("whsec_"))
    signed = f"{got.headers['webhook-id']}.{got.headers['webhook-timestamp']}.".encode() + got.body
    expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert got.headers["webhook-signature"] == expected
    assert abs(int(got.headers["webhook-timestamp"]) - time.time()) < 60
    assert got.headers["webhook-id"] == answer["webhook"]["webhook_id"]

    body = json.loads(got.body)
    assert body["type"] == "Transaction.Paid" and body["timestamp"].endswith("Z")
    assert body["data"] == {"storeId": DEFAULT_PORTONE_STORE_ID, "paymentId": "pay-hook-1",
                            "transactionId": answer["payment"]["transactionId"]}

    event = gateway.verify_webhook(got.body, got.headers)
    assert (event.type, event.payment_id, event.store_id) == ("Transaction.Paid", "pay-hook-1", DEFAULT_PORTONE_STORE_ID)
    forger = gateway_for(standin, webhook_secret="whsec_" + base64.b64encode(b"someone else's key").decode())
    with pytest.raises(WebhookRejected, match="NO_MATCHING_SIGNATURE"):
        forger.verify_webhook(got.body, got.headers)


def test_a_resent_webhook_keeps_its_id_with_a_fresh_signature(standin, receiver, gateway):
    paid(standin, "pay-hook-2")
    status, answer = dev(standin, "/__dev/payments/pay-hook-2/webhook")
    assert status == 200 and answer["webhook"]["status"] == 200
    first, again = receiver.wait_for(2)
    assert first.headers["webhook-id"] == again.headers["webhook-id"] and first.body == again.body
    assert gateway.verify_webhook(again.body, again.headers).webhook_id == first.headers["webhook-id"]


def test_refunds_and_billing_charges_are_announced_too(standin, receiver, gateway):
    paid(standin, "pay-hook-3", amount=20000)
    partial = gateway.cancel("pay-hook-3", reason="일부", amount=5000)
    rest = gateway.cancel("pay-hook-3", reason="나머지")
    key = dev(standin, "/__dev/billing-keys", {"customerId": "user-3"})[1]["billingKey"]
    gateway.charge_billing_key("sub-hook-3", billing_key=key, amount=9900, order_name="정기배송")
    events = [gateway.verify_webhook(r.body, r.headers) for r in receiver.wait_for(4)]
    assert [(e.type, e.payment_id, e.cancellation_id) for e in events] == [
        ("Transaction.Paid", "pay-hook-3", None),
        ("Transaction.PartialCancelled", "pay-hook-3", partial.cancellation_id),
        ("Transaction.Cancelled", "pay-hook-3", rest.cancellation_id),
        ("Transaction.Paid", "sub-hook-3", None),
    ]


def test_a_failing_app_is_recorded_and_the_webhook_can_be_sent_again(standin, receiver):
    receiver.status = 500
    answer = paid(standin, "pay-hook-4")
    assert answer["webhook"]["status"] == 500
    receiver.status = 200
    assert dev(standin, "/__dev/payments/pay-hook-4/webhook")[1]["webhook"]["status"] == 200
    assert dev(standin, "/__dev/stats", method="GET")[1]["webhooks"] == {"sent": 1, "failed": 1, "unsent": 0}
    deliveries = dev(standin, "/__dev/webhooks", method="GET")[1]["deliveries"]
    assert [d["status"] for d in deliveries] == [500, 200]


def test_webhook_false_pays_silently(standin, receiver):
    answer = paid(standin, "pay-hook-5", webhook=False)
    assert answer["webhook"] is None and answer["payment"]["status"] == "PAID"
    time.sleep(0.2)
    assert receiver.received == []


# --- the stand-in as a program -----------------------------------------------------------------

def test_the_standin_runs_as_a_module_on_the_port_it_is_given(tmp_path):
    from devtools.ddblocal import free_port

    port = free_port()
    log = tmp_path / "standin.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "devtools.portone_standin", "--port", str(port),
                                 "--webhook-url", "", "--quiet"], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/__dev/health", timeout=1) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        gateway = PortOneGateway(api_secret=DEFAULT_PORTONE_API_SECRET, webhook_secret=DEFAULT_PORTONE_WEBHOOK_SECRET,
                                 base_url=f"http://127.0.0.1:{port}")
        gateway.pre_register("pay-cli-1", amount=3000)
        assert gateway.get_payment("pay-cli-1").status == "READY"
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(30)  # Ctrl-C ends it (generous: the machine may be running every suite at once)
        except subprocess.TimeoutExpired:
            status = Path(f"/proc/{proc.pid}/status")
            signals = [line for line in (status.read_text().splitlines() if status.exists() else [])
                       if line.startswith(("State", "Threads", "Sig", "Shd"))]
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
            parent = [line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("Sig")]
            raise AssertionError(f"the stand-in did not stop on SIGINT within 30 s: {signals}; this process: "
                                 f"{parent}\n{log.read_text()}") from None
    assert f"PortOne stand-in on http://127.0.0.1:{port}" in log.read_text()
