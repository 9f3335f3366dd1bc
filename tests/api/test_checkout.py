"""Checkout through the HTTP API and the PortOne stand-in (the gateway as production builds it).

Runs on moto and on DynamoDB Local (``DONGNE_TEST_BACKEND=ddblocal``); the races are in
``tests/integration/test_checkout_races.py``, which needs DynamoDB Local's transactions.
"""

from __future__ import annotations

import json

import pytest

from chalicelib import clock
from tests.api.commerce import buy, make_product, placed, stock
from tests.api.conftest import assert_problem
from tests.clock import TestClock
from tests.portone import dev

MINUTE = 60.0
DAY = 86_400.0


@pytest.fixture
def world(api, owner, user, portone, monkeypatch):
    """A shop that delivers (3,000 won, free over 30,000) and offers pickup, with a bank
    account; a buyer; the app's clock held by the test."""
    time = TestClock(monkeypatch, clock.now())
    shop_id = owner["shop"]["shop_id"]
    answer = api.patch(f"/shops/{shop_id}", {
        "fulfilment": {"delivery": {"fee": 3000, "free_over": 30000},
                       "pickup": {"address": "서울 마포구 망원로 1", "hours": "10:00-19:00"}},
        "bank_account": {"bank": "국민은행", "number": "123-45-6789", "holder": "박사장"},
        "bank_transfer_hours": 24}, token=owner["token"])
    assert answer.status == 200, answer.body
    tofu = make_product(api, owner, name="손두부", price=4500, stock=5)
    return {"api": api, "owner": owner, "buyer": user, "shop_id": shop_id, "tofu": tofu["product_id"],
            "clock": time, "portone": portone}


PICKUP = {"method": "pickup"}
HOME = {"method": "delivery", "address": {"recipient": "김민지", "phone": "010-1234-5678", "postal_code": "04001",
                                          "address1": "서울 마포구 망원로 10", "address2": "101호"}}


def card_order(w, quantity=1, fulfilment=PICKUP, buyer=None, **extra) -> dict:
    return placed(w["api"], buyer or w["buyer"], w["shop_id"], (w["tofu"], quantity), payment_method="card",
                  fulfilment=fulfilment, **extra)


def pay(w, order: dict, amount: int | None = None) -> dict:
    status, body = dev(w["portone"], f"/__dev/payments/{order['payment']['payment_id']}/pay",
                       {} if amount is None else {"amount": amount})
    assert status == 200, body
    return body


def confirm(w, order: dict, buyer=None):
    return w["api"].post(f"/orders/{order['order_id']}/payment", {"payment_id": order["payment"]["payment_id"]},
                         token=(buyer or w["buyer"])["token"])


def webhook(w, payment_id: str, *, secret: str | None = None, timestamp: int | None = None, body: str | None = None):
    """The stand-in's last event for the payment, signed (now, or at ``timestamp``) and sent."""
    from devtools.portone_standin import signed_headers

    standin = w["portone"]
    webhook_id, sent = standin._events[payment_id]
    body = body or sent
    headers = signed_headers(secret or standin.webhook_secret, body, webhook_id=webhook_id, timestamp=timestamp)
    return w["api"].post("/webhooks/portone", raw=body, headers=headers)


def run_deadlines(at: float):
    from chalicelib.events.schedules import run_order_deadlines

    return run_order_deadlines(now=at)


def order_of(w, order_id: str, who=None) -> dict:
    return w["api"].get(f"/orders/{order_id}", token=(who or w["buyer"])["token"]).body


# --- placing ---------------------------------------------------------------------------------


def test_a_card_order_waits_30_minutes_for_its_exact_total(world):
    order = card_order(world, 2, HOME)
    assert order["status"] == "pending_payment" and order["paid_at"] is None
    assert order["shipping_fee"] == 3000 and order["total"] == 2 * 4500 + 3000
    payment = order["payment"]
    assert payment["method"] == "card" and payment["status"] == "pending" and payment["amount"] == order["total"]
    assert payment["payment_id"] == order["order_id"] and payment["bank_account"] is None
    created = world["clock"].now
    assert abs(_epoch(payment["deadline_at"]) - (created + 30 * MINUTE)) < 1
    assert order["fulfilment"]["address"]["phone"] == "+821012345678"
    assert order["buyer_name"] == "김민지"
    assert stock(world["api"], world["tofu"]) == 3  # held until paid or expired


def test_a_bank_transfer_shows_the_shops_account_and_the_owner_confirms_the_deposit(world):
    order = placed(world["api"], world["buyer"], world["shop_id"], (world["tofu"], 1), payment_method="bank_transfer",
                   fulfilment=PICKUP)
    assert order["payment"]["bank_account"] == {"bank": "국민은행", "number": "123-45-6789", "holder": "박사장"}
    assert abs(_epoch(order["payment"]["deadline_at"]) - (world["clock"].now + DAY)) < 1
    paid = world["api"].post(f"/orders/{order['order_id']}/status", {"status": "paid"}, token=world["owner"]["token"])
    assert paid.status == 200 and paid.body["paid_at"] is not None and paid.body["payment"]["status"] == "paid"


def test_the_owner_sees_the_buyers_name_and_address_on_the_shops_orders(world):
    card_order(world, 1, HOME)
    listed = world["api"].get(f"/shops/{world['shop_id']}/orders", token=world["owner"]["token"]).body["items"]
    assert listed[0]["buyer_name"] == "김민지"
    assert listed[0]["fulfilment"]["address"]["address1"] == "서울 마포구 망원로 10"


def test_a_price_changed_since_the_app_showed_it_is_a_409_and_nothing_is_written(world):
    api = world["api"]
    api.patch(f"/products/{world['tofu']}", {"price": 5000}, token=world["owner"]["token"])
    answer = buy(api, world["buyer"], world["shop_id"], (world["tofu"], 1), payment_method="card", fulfilment=PICKUP,
                 expected_total=4500)
    problem = assert_problem(answer, 409)
    assert problem["code"] == "price_changed" and problem["total"] == 5000
    assert problem["items"][0]["price"] == 5000
    assert stock(api, world["tofu"]) == 5
    assert api.get("/me/orders", token=world["buyer"]["token"]).body["items"] == []
    assert card_order(world, 1, expected_total=5000)["total"] == 5000


def test_a_method_the_shop_does_not_offer_and_a_delivery_without_address_are_422(world):
    api, owner = world["api"], world["owner"]
    api.patch(f"/shops/{world['shop_id']}", {"fulfilment": {"delivery": None, "pickup": {"address": "가게", "hours": ""}}},
              token=owner["token"])
    answer = buy(api, world["buyer"], world["shop_id"], (world["tofu"], 1), fulfilment={"method": "delivery",
                                                                                        "address_id": "x"})
    assert assert_problem(answer, 422)["code"] == "fulfilment_unavailable"
    changed = api.patch(f"/shops/{world['shop_id']}", {"fulfilment": {"delivery": {"fee": 0, "free_over": None},
                                                                      "pickup": None}}, token=owner["token"])
    assert changed.status == 200, changed.body
    answer = buy(api, world["buyer"], world["shop_id"], (world["tofu"], 1), fulfilment={"method": "delivery"})
    assert assert_problem(answer, 422)["code"] == "address_required"
    assert stock(api, world["tofu"]) == 5


# --- payment ---------------------------------------------------------------------------------


def test_confirming_before_paying_is_payment_incomplete(world):
    order = card_order(world)
    assert assert_problem(confirm(world, order), 409)["code"] == "payment_incomplete"
    assert order_of(world, order["order_id"])["status"] == "pending_payment"


def test_a_paid_payment_confirms_the_order_once_by_the_app_and_by_the_webhook(world):
    order = card_order(world)
    pay(world, order)
    first = confirm(world, order)
    assert first.status == 200, first.body
    assert first.body["status"] == "paid" and first.body["payment"]["status"] == "paid"
    again = confirm(world, order)
    assert again.status == 200 and again.body["paid_at"] == first.body["paid_at"]
    hook = webhook(world, order["payment"]["payment_id"])
    assert hook.status == 200 and hook.body["outcome"] == "paid"
    latest = order_of(world, order["order_id"])
    assert [h["status"] for h in latest["history"]] == ["pending_payment", "paid"]


def test_the_webhook_alone_confirms_a_payment(world):
    order = card_order(world)
    pay(world, order)
    assert webhook(world, order["payment"]["payment_id"]).body["outcome"] == "paid"
    assert order_of(world, order["order_id"])["status"] == "paid"
    assert webhook(world, order["payment"]["payment_id"]).status == 200  # replayed: nothing changes
    assert [h["status"] for h in order_of(world, order["order_id"])["history"]] == ["pending_payment", "paid"]


def test_a_payment_of_another_amount_is_cancelled_and_refused(world):
    order = card_order(world)
    pay(world, order, amount=100)
    problem = assert_problem(confirm(world, order), 409)
    assert problem["code"] == "payment_mismatch"
    status, payment = dev(world["portone"], "/__dev/stats", method="GET")
    assert world["portone"].payments[order["payment"]["payment_id"]]["status"] == "CANCELLED"
    assert order_of(world, order["order_id"])["status"] == "pending_payment"


def test_a_wrong_amount_the_webhook_cancelled_first_is_still_a_mismatch_to_the_buyer(world):
    """Under ``make run`` the stand-in's webhook arrives before the app's confirmation: the
    webhook cancels the wrong amount, and the buyer then hears why (not ``payment_incomplete``)."""
    order = card_order(world)
    pay(world, order, amount=100)
    hook = webhook(world, order["payment"]["payment_id"])
    assert hook.status == 200, hook.body
    problem = assert_problem(confirm(world, order), 409)
    assert (problem["code"], problem["paid"], problem["total"]) == ("payment_mismatch", 100, order["total"])
    assert world["portone"].payments[order["payment"]["payment_id"]]["status"] == "CANCELLED"
    assert world["portone"].cancel_calls_by_payment[order["payment"]["payment_id"]] == 1  # not cancelled twice
    assert order_of(world, order["order_id"])["status"] == "pending_payment"


@pytest.mark.parametrize("forge", ["secret", "stale", "body"])
def test_a_forged_or_stale_webhook_is_401_and_changes_nothing(world, forge):
    import time as system_time

    order = card_order(world)
    pay(world, order)
    pid = order["payment"]["payment_id"]
    if forge == "secret":
        answer = webhook(world, pid, secret="whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=")
    elif forge == "stale":
        answer = webhook(world, pid, timestamp=int(system_time.time()) - 3600)
    else:
        from devtools.portone_standin import signed_headers

        webhook_id, sent = world["portone"]._events[pid]
        headers = signed_headers(world["portone"].webhook_secret, sent, webhook_id=webhook_id)
        answer = world["api"].post("/webhooks/portone", raw=sent.replace(pid, pid[:-1] + "0"), headers=headers)
    assert assert_problem(answer, 401)["code"] == "unauthorized"
    assert order_of(world, order["order_id"])["status"] == "pending_payment"


def test_a_webhook_for_a_payment_that_is_not_ours_is_acknowledged(world):
    from devtools.portone_standin import signed_headers

    body = json.dumps({"type": "Transaction.Paid", "timestamp": "2026-12-07T00:00:00Z",
                       "data": {"paymentId": "01NOTANORDER0000000000000", "storeId": "s"}})
    answer = world["api"].post("/webhooks/portone", raw=body,
                               headers=signed_headers(world["portone"].webhook_secret, body))
    assert answer.status == 200 and answer.body["outcome"] == "not_ours"


def test_confirmations_are_limited_per_buyer(world):
    order = card_order(world)
    for _ in range(30):  # rate_payment: 30 a minute, each asking the provider
        assert assert_problem(confirm(world, order), 409)["code"] == "payment_incomplete"
    limited = assert_problem(confirm(world, order), 429)
    assert limited["code"] == "rate_limited"
    world["clock"].now += MINUTE
    assert assert_problem(confirm(world, order), 409)["code"] == "payment_incomplete"


def test_only_the_buyer_confirms_and_another_orders_payment_id_is_refused(world, api):
    order = card_order(world)
    pay(world, order)
    stranger = api.signup()
    assert confirm(world, order, buyer=stranger).status == 404
    other = card_order(world)
    answer = api.post(f"/orders/{other['order_id']}/payment", {"payment_id": order["payment"]["payment_id"]},
                      token=world["buyer"]["token"])
    assert assert_problem(answer, 422)["errors"][0]["field"] == "body.payment_id"
    assert order_of(world, other["order_id"])["status"] == "pending_payment"


def test_the_owner_cannot_mark_a_card_order_paid(world):
    order = card_order(world)
    answer = world["api"].post(f"/orders/{order['order_id']}/status", {"status": "paid"}, token=world["owner"]["token"])
    assert assert_problem(answer, 409)["code"] == "illegal_transition"


# --- deadlines ---------------------------------------------------------------------------------


def test_an_unpaid_order_expires_and_gives_its_stock_back_once(world):
    order = card_order(world, 3)
    assert stock(world["api"], world["tofu"]) == 2
    run_deadlines(world["clock"].now + 29 * MINUTE)
    assert order_of(world, order["order_id"])["status"] == "pending_payment"
    world["clock"].now += 31 * MINUTE
    report = run_deadlines(world["clock"].now)
    # On DynamoDB Local the table is shared by the run: an unpaid order an earlier test placed
    # within the last minute falls due in the same window and is expired by this run too.
    assert report.expired >= 1
    expired = order_of(world, order["order_id"])
    assert expired["status"] == "expired" and expired["payment"]["status"] == "expired"
    assert stock(world["api"], world["tofu"]) == 5
    run_deadlines(world["clock"].now + MINUTE)  # a later run: the stock came back once
    assert stock(world["api"], world["tofu"]) == 5


def test_one_run_expires_every_page_of_due_orders_until_its_deadline(world, api, monkeypatch):
    """The job reads due items a page at a time and goes on to the next page while it has time:
    a flash sale's unpaid orders all give their stock back in one run (before: one page per day
    and run, so 1,000 unpaid orders held stock for ten runs). Out of time, it stops; the rest
    stays due for the next run."""
    from chalicelib.services.checkout import run_deadlines as run
    from chalicelib.storage import due as storage
    from chalicelib.wiring import container

    monkeypatch.setattr(storage, "DUE_PAGE", 2)
    orders = [card_order(world, buyer=api.signup()) for _ in range(5)]
    assert stock(world["api"], world["tofu"]) == 0
    world["clock"].now += 31 * MINUTE
    ticks = iter(range(1000))
    stopped = run(container().checkout, None, world["clock"].now, deadline=3, clock=lambda: next(ticks))
    assert stopped.stopped_early and 1 <= stopped.expired < 5  # the deadline came first
    report = run_deadlines(world["clock"].now)  # the next run: three pages, every one of them
    assert stopped.expired + report.expired >= 5 and not report.stopped_early
    assert {order_of(world, o["order_id"], world["owner"])["status"] for o in orders} == {"expired"}
    assert stock(world["api"], world["tofu"]) == 5


def test_a_payment_after_the_order_expired_is_refunded_never_kept(world):
    order = card_order(world)
    world["clock"].now += 31 * MINUTE
    run_deadlines(world["clock"].now)
    pay(world, order)
    assert assert_problem(confirm(world, order), 409)["code"] == "payment_expired"
    latest = order_of(world, order["order_id"])
    assert latest["status"] == "expired" and latest["paid_at"] is None
    assert latest["refund"]["status"] == "done" and latest["refund"]["amount"] == order["total"]
    assert world["portone"].cancel_calls_by_payment[order["payment"]["payment_id"]] == 1
    assert webhook(world, order["payment"]["payment_id"]).body["outcome"] in ("refunded", "ignored", "not_paid")
    assert world["portone"].cancel_calls_by_payment[order["payment"]["payment_id"]] == 1


def test_the_buyers_confirmation_after_the_webhook_refunded_the_late_payment_is_payment_expired(world):
    order = card_order(world)
    world["clock"].now += 31 * MINUTE
    run_deadlines(world["clock"].now)
    pay(world, order)
    assert webhook(world, order["payment"]["payment_id"]).body["outcome"] == "refunded"
    # PortOne now shows the payment cancelled: still the order's answer, not "not paid yet".
    assert assert_problem(confirm(world, order), 409)["code"] == "payment_expired"
    assert world["portone"].cancel_calls_by_payment[order["payment"]["payment_id"]] == 1


def test_a_paid_order_does_not_expire(world):
    order = card_order(world)
    pay(world, order)
    confirm(world, order)
    world["clock"].now += DAY
    run_deadlines(world["clock"].now)  # (on DynamoDB Local other tests' unpaid orders may expire here)
    latest = order_of(world, order["order_id"])
    assert latest["status"] == "paid" and latest["refund"] is None


# --- refunds -----------------------------------------------------------------------------------


def test_cancelling_a_paid_card_order_refunds_it_once_however_often_it_is_retried(world):
    from chalicelib.services import checkout
    from chalicelib.wiring import container

    order = card_order(world, 2)
    pay(world, order)
    confirm(world, order)
    cancelled = world["api"].post(f"/orders/{order['order_id']}/status", {"status": "cancelled"},
                                  token=world["buyer"]["token"])
    assert cancelled.status == 200, cancelled.body
    assert cancelled.body["refund"]["status"] == "done" and cancelled.body["payment"]["status"] == "refunded"
    assert stock(world["api"], world["tofu"]) == 5
    deps = container()
    for _ in range(5):
        assert checkout.process_refund(deps.checkout, deps.payments, order["order_id"], world["clock"].now) == "busy"
    run_deadlines(world["clock"].now + DAY)
    assert world["portone"].cancel_calls_by_payment[order["payment"]["payment_id"]] == 1


def test_a_failed_refund_shows_on_the_order_and_the_job_retries_it(world):
    order = card_order(world)
    pay(world, order)
    confirm(world, order)
    world["portone"].fail_next_cancels(1)
    cancelled = world["api"].post(f"/orders/{order['order_id']}/status", {"status": "cancelled"},
                                  token=world["owner"]["token"])
    assert cancelled.body["refund"]["status"] == "failed" and cancelled.body["refund"]["attempts"] == 1
    report = run_deadlines(world["clock"].now + 10 * MINUTE)
    assert report.refunds == {"done": 1}
    latest = order_of(world, order["order_id"])
    assert latest["refund"]["status"] == "done" and latest["refund"]["attempts"] == 2
    pid = order["payment"]["payment_id"]
    assert world["portone"].payments[pid]["status"] == "CANCELLED"


# --- fulfilment and confirmation ---------------------------------------------------------------


def test_a_delivery_ships_with_its_tracking_number_and_the_buyer_confirms_receipt(world):
    api, owner = world["api"], world["owner"]
    order = card_order(world, 1, HOME)
    pay(world, order)
    confirm(world, order)
    path = f"/orders/{order['order_id']}/status"
    answer = api.post(path, {"status": "shipped"}, token=owner["token"])
    assert assert_problem(answer, 422)["errors"][0]["field"] == "body.tracking_number"
    assert assert_problem(api.post(path, {"status": "ready_for_pickup"}, token=owner["token"]), 409)
    shipped = api.post(path, {"status": "shipped", "carrier": "CJ대한통운", "tracking_number": "1234-5678"},
                       token=owner["token"])
    assert shipped.status == 200 and shipped.body["shipment"]["tracking_number"] == "1234-5678"
    assert shipped.body["deliver_by"] is not None
    assert api.post(f"/orders/{order['order_id']}/confirm", token=owner["token"]).status == 403
    done = api.post(f"/orders/{order['order_id']}/confirm", token=world["buyer"]["token"])
    assert done.status == 200 and done.body["status"] == "delivered"
    assert assert_problem(api.post(f"/orders/{order['order_id']}/confirm", token=world["buyer"]["token"]), 409)


def test_a_pickup_order_nobody_confirms_is_delivered_after_seven_days(world):
    api, owner = world["api"], world["owner"]
    order = card_order(world)
    pay(world, order)
    confirm(world, order)
    ready = api.post(f"/orders/{order['order_id']}/status", {"status": "ready_for_pickup"}, token=owner["token"])
    assert ready.status == 200, ready.body
    # (On DynamoDB Local the job also finds other tests' orders: only this one is looked at.)
    run_deadlines(world["clock"].now + 6 * DAY)
    assert order_of(world, order["order_id"])["status"] == "ready_for_pickup"
    assert run_deadlines(world["clock"].now + 7 * DAY + MINUTE).delivered >= 1
    latest = order_of(world, order["order_id"])
    assert latest["status"] == "delivered" and latest["history"][-1]["by"] == "system"
    review = api.post(f"/orders/{order['order_id']}/review", {"rating": 5, "text": "맛있어요"},
                      token=world["buyer"]["token"])
    assert review.status == 201, review.body


def test_the_automatic_delivery_confirms_a_store_link_reward(world, drain_stream):
    """The deadline job's delivery writes what the owner's would: the friend's reward confirmed
    (a ledger entry appended, the link's and the owner's totals moved)."""
    api, owner = world["api"], world["owner"]
    answer = api.patch(f"/shops/{world['shop_id']}", {"referral_reward": {"kind": "fixed", "value": 500}},
                       token=owner["token"])
    assert answer.status == 200, answer.body
    first = card_order(world)
    pay(world, first)
    confirm(world, first)
    drain_stream()  # the first paid order issues the buyer's store link
    links = api.get("/me/store-links", token=world["buyer"]["token"]).body["items"]
    code = next(link["code"] for link in links if link["shop_id"] == world["shop_id"])
    friend = api.signup(name="최서연")
    order = card_order(world, buyer=friend, via_store_link=code)
    pay(world, order)
    confirm(world, order, buyer=friend)
    drain_stream()
    ready = api.post(f"/orders/{order['order_id']}/status", {"status": "ready_for_pickup"}, token=owner["token"])
    assert ready.status == 200, ready.body
    assert api.get("/me/rewards", token=world["buyer"]["token"]).body["pending"] == 500
    assert run_deadlines(world["clock"].now + 7 * DAY + MINUTE).delivered >= 1
    rewards = api.get("/me/rewards", token=world["buyer"]["token"]).body
    assert (rewards["balance"], rewards["pending"]) == (500, 0)
    assert [(e["status"], e["reason"]) for e in rewards["items"]][0] == ("confirmed", "delivered")


def test_a_bank_transfer_refund_is_owed_until_the_owner_marks_it_sent(world):
    api, owner = world["api"], world["owner"]
    order = placed(api, world["buyer"], world["shop_id"], (world["tofu"], 1), payment_method="bank_transfer",
                   fulfilment=PICKUP)
    api.post(f"/orders/{order['order_id']}/status", {"status": "paid"}, token=owner["token"])
    cancelled = api.post(f"/orders/{order['order_id']}/status", {"status": "cancelled"}, token=owner["token"])
    assert cancelled.body["refund"]["status"] == "pending"
    assert api.post(f"/orders/{order['order_id']}/refund", token=world["buyer"]["token"]).status == 403
    sent = api.post(f"/orders/{order['order_id']}/refund", token=owner["token"])
    assert sent.status == 200 and sent.body["refund"]["status"] == "done"
    assert assert_problem(api.post(f"/orders/{order['order_id']}/refund", token=owner["token"]), 409)


def _epoch(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
