"""Checkout under real concurrency: threads against the in-process app on DynamoDB Local.

The app runs in this process (``chalice.test.Client``) so the test holds its one clock
(``tests.clock.TestClock``) and runs the deadline job itself (``run_order_deadlines``); payments
go through the PortOne stand-in with the SDK, as in production. Every race ends in one outcome
per order, and the stand-in's counters show the money moved once:

* the webhook and ``POST /orders/{id}/payment`` racing for one order → paid once;
* the expiry job racing a late payment → paid, or expired with that payment refunded once;
* a refund retried (5 cancels, 5 ``process_refund`` calls at once) → one cancel call at PortOne;
* 20 buyers for 5 units → 5 placed, 15 refused; unpaid, their stock comes back after the
  deadline and 5 other buyers order and pay for it;
* two expiry jobs at once → the stock comes back once.

moto has no transaction isolation, so these run on DynamoDB Local only
(``DONGNE_TEST_BACKEND=ddblocal``).
"""

from __future__ import annotations

import time
from collections import Counter

import pytest

from chalicelib import clock
from tests.api.commerce import buy, make_product, stock
from tests.api.conftest import api, chalice_app, owner, real_dynamodb_only  # noqa: F401 (fixtures)
from tests.clock import TestClock
from tests.integration.test_order_races import race
from tests.portone import dev

pytestmark = real_dynamodb_only

MINUTE = 60.0
HOUR = 3600.0
DAY = 86_400.0
PICKUP = {"method": "pickup"}


@pytest.fixture
def world(api, owner, portone, monkeypatch):  # noqa: F811 (fixtures imported above)
    """A pickup shop, the app's clock held by the test, the stand-in."""
    held = TestClock(monkeypatch, clock.now())
    shop_id = owner["shop"]["shop_id"]
    answer = api.patch(f"/shops/{shop_id}", {"fulfilment": {"delivery": None,
                                                            "pickup": {"address": "서울 마포구 망원로 1",
                                                                       "hours": "10:00-19:00"}}},
                       token=owner["token"])
    assert answer.status == 200, answer.body
    return {"api": api, "owner": owner, "shop_id": shop_id, "clock": held, "portone": portone}


def product(w, units: int, price: int = 4500) -> str:
    return make_product(w["api"], w["owner"], price=price, stock=units)["product_id"]


def buyers(w, count: int) -> list[dict]:
    # One buyer per order: the per-user order limit (10 a minute) is tested elsewhere.
    return [w["api"].signup() for _ in range(count)]


def order_card(w, buyer: dict, product_id: str, quantity: int = 1):
    return buy(w["api"], buyer, w["shop_id"], (product_id, quantity), payment_method="card", fulfilment=PICKUP)


def card_order(w, buyer: dict, product_id: str, quantity: int = 1) -> dict:
    answer = order_card(w, buyer, product_id, quantity)
    assert answer.status == 201, answer.body
    return answer.body


def pay(w, order: dict) -> None:
    """The buyer pays in PortOne's window (the stand-in); its webhook is sent by the test."""
    status, body = dev(w["portone"], f"/__dev/payments/{order['payment']['payment_id']}/pay")
    assert status == 200, body


def confirm(w, order: dict, buyer: dict):
    return w["api"].post(f"/orders/{order['order_id']}/payment", {"payment_id": order["payment"]["payment_id"]},
                         token=buyer["token"])


def webhook(w, payment_id: str):
    """PortOne's ``Transaction.Paid`` for the payment, signed now, to the app."""
    from devtools.portone_standin import signed_headers

    standin = w["portone"]
    webhook_id, body = standin._events[payment_id]
    return w["api"].post("/webhooks/portone", raw=body,
                         headers=signed_headers(standin.webhook_secret, body, webhook_id=webhook_id))


def job(at: float):
    from chalicelib.events.schedules import run_order_deadlines

    return run_order_deadlines(now=at)


def order_of(w, order_id: str) -> dict:
    answer = w["api"].get(f"/orders/{order_id}", token=w["owner"]["token"])
    assert answer.status == 200, answer.body
    return answer.body


def statuses(order: dict) -> list[str]:
    return [h["status"] for h in order["history"]]


def cancels(w, order: dict) -> int:
    return w["portone"].cancel_calls_by_payment[order["payment"]["payment_id"]]


def provider_status(w, order: dict) -> str:
    return w["portone"].payments[order["payment"]["payment_id"]]["status"]


def later(seconds: float, call):
    time.sleep(seconds)
    return call()


def no_errors(replies: list) -> None:
    errors = [r for r in replies if isinstance(r, Exception)]
    assert not errors, errors


# --- paid once ---------------------------------------------------------------------------------


def test_the_webhook_and_the_buyers_confirmation_racing_pay_the_order_once(world):
    rounds = 10
    pid = product(world, rounds)
    people = buyers(world, rounds)
    orders = [card_order(world, b, pid) for b in people]
    for order in orders:
        pay(world, order)
    calls = []
    for order, buyer in zip(orders, people):
        pid_ = order["payment"]["payment_id"]
        calls += [lambda o=order, b=buyer: confirm(world, o, b), lambda p=pid_: webhook(world, p)]
    replies = race(calls)
    no_errors(replies)
    for i, order in enumerate(orders):
        mine, hook = replies[2 * i], replies[2 * i + 1]
        assert mine.status == 200, mine.body
        assert hook.status == 200 and hook.body == {"outcome": "paid"}, hook.body
        final = order_of(world, order["order_id"])
        assert final["status"] == "paid" and final["payment"]["status"] == "paid"
        assert statuses(final) == ["pending_payment", "paid"]
        assert mine.body["paid_at"] == final["paid_at"] is not None  # set once, whoever won
        assert final["refund"] is None and cancels(world, order) == 0 and provider_status(world, order) == "PAID"
    assert stock(world["api"], pid) == 0


# --- the deadline against a late payment ---------------------------------------------------------


def test_the_expiry_job_racing_a_late_payment_pays_or_expires_and_refunds_once(world):
    rounds = 10
    pid = product(world, rounds)
    outcomes: Counter[str] = Counter()
    payments: list[str] = []
    started = time.perf_counter()
    job(world["clock"].now)  # nothing due: how long the job takes to read its day buckets here
    step = max(0.02, (time.perf_counter() - started) / (2 * (rounds - 1)))
    for i, buyer in enumerate(buyers(world, rounds)):
        order = card_order(world, buyer, pid)
        payments.append(order["payment"]["payment_id"])
        world["clock"].now += 31 * MINUTE  # past the card deadline; the job has not run yet
        pay(world, order)  # the buyer's payment window was still open at PortOne
        now = world["clock"].now
        # Released together, the confirmations win every time (the job first reads its day
        # buckets), so each round holds them back a little longer: the rounds sweep the job's
        # run, from before its write to well after it.
        lag = i * step
        expiry, mine, hook = race([lambda now=now: job(now),
                                   lambda o=order, b=buyer, lag=lag: later(lag, lambda: confirm(world, o, b)),
                                   lambda p=order["payment"]["payment_id"], lag=lag: later(lag / 2,
                                                                                          lambda: webhook(world, p))])
        no_errors([expiry, mine, hook])
        final = order_of(world, order["order_id"])
        if final["status"] == "paid":
            assert mine.status == 200 and hook.body == {"outcome": "paid"}, (mine.body, hook.body)
            assert statuses(final) == ["pending_payment", "paid"] and final["refund"] is None
            assert cancels(world, order) == 0 and provider_status(world, order) == "PAID"
        else:
            assert final["status"] == "expired", final
            assert statuses(final) == ["pending_payment", "expired"] and final["paid_at"] is None
            assert mine.status == 409 and mine.body["code"] == "payment_expired", mine.body
            assert hook.status == 200 and hook.body == {"outcome": "refunded"}, hook.body
            assert final["refund"]["status"] == "done" and final["refund"]["amount"] == order["total"]
            assert cancels(world, order) == 1 and provider_status(world, order) == "CANCELLED"
        outcomes[final["status"]] += 1
    # Every later run of the job (and any retry of the refund) leaves the money where it is.
    world["clock"].now += DAY
    job(world["clock"].now)
    assert sum(outcomes.values()) == rounds
    assert set(outcomes) <= {"paid", "expired"}, outcomes  # each round ends at one end or the other
    assert stock(world["api"], pid) == outcomes["expired"]  # each expired order gave its unit back, once
    # (the stand-in serves the whole run: only this test's payments are looked at)
    assert all(world["portone"].cancel_calls_by_payment.get(p, 0) <= 1 for p in payments)
    print(f"expiry job vs late payment over {rounds} rounds ({step * 1000:.0f} ms apart): {dict(outcomes)}")


# --- refunds exactly once ----------------------------------------------------------------------


def paid_order(w, pid: str, quantity: int = 1) -> tuple[dict, dict]:
    buyer = w["api"].signup()
    order = card_order(w, buyer, pid, quantity)
    pay(w, order)
    answer = confirm(w, order, buyer)
    assert answer.status == 200, answer.body
    return order, buyer


def test_a_refund_retried_five_times_calls_portone_once(world):
    from chalicelib.services import checkout
    from chalicelib.wiring import container

    rounds = 5
    pid = product(world, 2 * rounds)
    deps = container()
    for _ in range(rounds):
        order, buyer = paid_order(world, pid, 2)
        oid = order["order_id"]
        cancel_by = [world["owner"], buyer, world["owner"], buyer, world["owner"]]
        calls = [lambda who=who, oid=oid: world["api"].post(f"/orders/{oid}/status", {"status": "cancelled"},
                                                   token=who["token"]) for who in cancel_by]
        calls += [lambda oid=oid: checkout.process_refund(deps.checkout, deps.payments, oid, world["clock"].now)] * 5
        replies = race(calls)
        no_errors(replies)
        assert Counter(r.status for r in replies[:5]) == {200: 1, 409: 4}, [r.body for r in replies[:5]]
        assert set(replies[5:]) <= {"done", "busy"}
        # ... and five more retries after it settled, and the job.
        again = race([lambda oid=oid: checkout.process_refund(deps.checkout, deps.payments, oid,
                                                              world["clock"].now)] * 5)
        assert again == ["busy"] * 5
        job(world["clock"].now + HOUR)
        final = order_of(world, oid)
        assert final["status"] == "cancelled" and statuses(final) == ["pending_payment", "paid", "cancelled"]
        assert final["refund"]["status"] == "done" and final["refund"]["amount"] == order["total"]
        assert final["payment"]["status"] == "refunded"
        assert world["portone"].cancel_calls_by_payment[order["payment"]["payment_id"]] == 1
        assert provider_status(world, order) == "CANCELLED"
    assert stock(world["api"], pid) == 2 * rounds  # every cancelled order's units back once


def test_a_failed_refund_retried_five_times_at_once_is_sent_once_more(world):
    from chalicelib.services import checkout
    from chalicelib.wiring import container

    pid = product(world, 1)
    deps = container()
    order, _ = paid_order(world, pid)
    world["portone"].fail_next_cancels(1)
    failed = world["api"].post(f"/orders/{order['order_id']}/status", {"status": "cancelled"},
                               token=world["owner"]["token"])
    assert failed.status == 200 and failed.body["refund"]["status"] == "failed", failed.body
    later = world["clock"].now + 10 * MINUTE
    outcomes = race([lambda: checkout.process_refund(deps.checkout, deps.payments, order["order_id"], later)] * 5
                    + [lambda: job(later)])
    no_errors(outcomes)
    taken = Counter(outcomes[:5]) + Counter(outcomes[5].refunds)  # the job may take the turn instead of a call
    assert taken["done"] == 1 and taken["failed"] == 0, (outcomes[:5], outcomes[5].refunds)
    assert cancels(world, order) == 2  # the failed attempt and the one that went through
    assert provider_status(world, order) == "CANCELLED"
    assert order_of(world, order["order_id"])["refund"]["status"] == "done"


# --- stock held by unpaid orders -----------------------------------------------------------------


def test_twenty_buyers_for_five_units_then_the_unpaid_five_give_them_back_to_five_others(world):
    pid = product(world, 5)
    first = buyers(world, 20)
    replies = race([lambda b=b: order_card(world, b, pid) for b in first])
    no_errors(replies)
    assert Counter(r.status for r in replies) == {201: 5, 409: 15}, [r.body for r in replies if r.status >= 500]
    assert all(r.body["code"] == "out_of_stock" for r in replies if r.status == 409)
    held = [(r.body, b) for r, b in zip(replies, first) if r.status == 201]
    assert stock(world["api"], pid) == 0
    # The five never pay. Before the deadline nothing moves; after it the job gives the units back.
    job(world["clock"].now + 29 * MINUTE)  # (other tests' orders may fall due: only these are looked at)
    assert all(order_of(world, o["order_id"])["status"] == "pending_payment" for o, _ in held)
    assert stock(world["api"], pid) == 0
    world["clock"].now += 31 * MINUTE
    job(world["clock"].now)
    for order, _ in held:
        final = order_of(world, order["order_id"])
        assert final["status"] == "expired" and final["payment"]["status"] == "expired"
        assert statuses(final) == ["pending_payment", "expired"]
    assert stock(world["api"], pid) == 5
    # Five other buyers take them and pay.
    second = buyers(world, 5)
    replies = race([lambda b=b: order_card(world, b, pid) for b in second])
    no_errors(replies)
    assert [r.status for r in replies] == [201] * 5, [r.body for r in replies]
    fresh = [r.body for r in replies]
    for order in fresh:
        pay(world, order)
    paid = race([lambda o=o, b=b: confirm(world, o, b) for o, b in zip(fresh, second)])
    no_errors(paid)
    assert [(a.status, a.body["status"]) for a in paid] == [(200, "paid")] * 5, [a.body for a in paid]
    assert stock(world["api"], pid) == 0
    # A late payment for one of the expired orders is refunded, never kept, and takes no unit.
    late, late_buyer = held[0]
    pay(world, late)
    assert confirm(world, late, late_buyer).body["code"] == "payment_expired"
    assert cancels(world, late) == 1 and provider_status(world, late) == "CANCELLED"
    assert stock(world["api"], pid) == 0


# --- two jobs at once ----------------------------------------------------------------------------


def test_two_expiry_jobs_at_once_return_the_stock_exactly_once(world):
    rounds, per_round = 3, 8
    pid = product(world, 2 * rounds * per_round)
    expired_total = 0
    for _ in range(rounds):
        # Well past every deadline earlier tests left (their orders are settled), and a run that
        # clears anything still due before this round's orders could be: the count is this round's.
        world["clock"].now += DAY
        orders = [card_order(world, b, pid, 2) for b in buyers(world, per_round)]
        job(world["clock"].now + 29 * MINUTE)
        at = world["clock"].now + 31 * MINUTE
        reports = race([lambda at=at: job(at)] * 2)
        no_errors(reports)
        # at least these orders (other tests' may fall due too); once each: the stock below
        assert sum(r.expired for r in reports) >= per_round, reports
        for order in orders:
            final = order_of(world, order["order_id"])
            assert final["status"] == "expired" and statuses(final) == ["pending_payment", "expired"]
        expired_total += per_round
        assert stock(world["api"], pid) == 2 * rounds * per_round  # all back, none twice
        job(at + MINUTE)  # a later run gives nothing back again
        assert stock(world["api"], pid) == 2 * rounds * per_round
    assert expired_total == rounds * per_round
