"""Subscriptions paid with a saved card (a PortOne billing key), or by bank transfer.

GIVEN a subscriber who saved a card (a key minted by the PortOne stand-in and checked with it),
WHEN the subscription job places a period (sometimes two runs at once), THEN the server charges
the period's order once under the order's own payment id and the order is paid; a declined
charge cancels the order (stock back), records the period ``payment_failed`` and tells both
sides; a provider that does not answer leaves the order pending for a later run (a bounded
number of times). Without a card, the period's order is a bank transfer that waits.
"""

from __future__ import annotations

import pytest

from chalicelib.payments import ProviderUnavailable
from chalicelib.wiring import container
from tests.api.conftest import assert_problem, real_dynamodb_only
from tests.api.essentials_kit import DAY, T0, make_world
from tests.api.essentials_kit import race
from tests.portone import dev

MINUTE = 60.0
PERIOD = 14 * DAY


@pytest.fixture
def world(portone, api, monkeypatch):
    w = make_world(api, monkeypatch, discount=10)
    w.run(T0 - DAY)  # this test's job starts at its own day
    return w


def mint_key(portone, user: dict, **card) -> str:
    status, body = dev(portone, "/__dev/billing-keys", {"customerId": user["user"]["user_id"], **card})
    assert status == 201, body
    return body["billingKey"]


def save_card(world, portone, who: dict | None = None) -> str:
    who = who or world.subscriber
    key = mint_key(portone, who)
    answer = world.api.put("/me/payment-methods/card", {"billing_key": key}, token=who["token"])
    assert answer.status == 200, answer.body
    return key


def charges(portone) -> int:
    return portone.calls["pay_with_billing_key"]


def order_of(world, sid: str) -> dict:
    (order,) = world.orders_of(sid)
    return world.api.get(f"/orders/{order['order_id']}", token=world.subscriber["token"]).body


# --- the saved card ---------------------------------------------------------------------------------


def test_a_card_is_checked_with_portone_saved_and_never_shown_back(world, portone):
    key = mint_key(portone, world.subscriber, issuer="HYUNDAI", cardNumber="94101234****5678")
    me = world.subscriber["token"]
    assert world.api.get("/me/payment-methods/card", token=me).body["saved"] is False
    answer = world.api.put("/me/payment-methods/card", {"billing_key": key}, token=me)
    assert answer.status == 200, answer.body
    assert (answer.body["saved"], answer.body["issuer"], answer.body["last4"]) == (True, "HYUNDAI", "5678")
    assert key not in answer.raw.decode()
    shown = world.api.get("/me/payment-methods/card", token=me)
    assert shown.body == answer.body and key not in shown.raw.decode()
    assert world.api.delete("/me/payment-methods/card", token=me).status == 204
    assert world.api.get("/me/payment-methods/card", token=me).body["saved"] is False
    assert world.api.delete("/me/payment-methods/card", token=me).status == 204  # idempotent


def test_an_unknown_or_someone_elses_key_is_refused_and_nothing_saved(world, portone):
    me = world.subscriber["token"]
    body = assert_problem(world.api.put("/me/payment-methods/card", {"billing_key": "no-such-key"}, token=me), 422)
    assert body["code"] == "billing_key_invalid"
    others = mint_key(portone, world.other)
    body = assert_problem(world.api.put("/me/payment-methods/card", {"billing_key": others}, token=me), 422)
    assert body["code"] == "billing_key_invalid"
    assert world.api.get("/me/payment-methods/card", token=me).body["saved"] is False
    assert_problem(world.api.put("/me/payment-methods/card", {"billing_key": "has space"}, token=me), 422)


def test_a_closed_accounts_card_is_gone(world, portone, drain_stream):
    from chalicelib.storage.models.accounts import user_pk
    from chalicelib.storage.models.payment_methods import SAVED_CARD, SavedCardItem

    save_card(world, portone)
    user_id = world.subscriber["user"]["user_id"]
    assert container().payment_methods.get_card(user_id) is not None
    assert world.api.delete("/me", token=world.subscriber["token"]).status == 204
    drain_stream()
    assert container().payment_methods.get_card(user_id) is None
    with pytest.raises(SavedCardItem.DoesNotExist):
        SavedCardItem.get(user_pk(user_id), SAVED_CARD, consistent_read=True)


# --- charging each period ---------------------------------------------------------------------------


def test_a_saved_card_is_charged_once_per_period_and_the_order_is_paid(world, portone):
    save_card(world, portone)
    sid = world.subscribed()["subscription_id"]
    before = charges(portone)
    report = world.run()
    assert report.outcomes == {"charged": 1}
    world.run()  # again at the same moment: nothing more
    order = order_of(world, sid)
    assert (order["status"], order["payment"]["method"]) == ("paid", "card")
    assert order["paid_at"] is not None and order["payment"]["payment_id"] == order["order_id"]
    assert charges(portone) - before == 1
    payment = container().payments.get_payment(order["order_id"])
    assert payment.verdict(order["total"]) == "paid"
    sub = world.get(sid).body
    assert sub["history"][-1]["outcome"] == "ordered" and sub["period"] == 2
    world.travel_to(T0 + PERIOD)
    world.run()
    paid = [o for o in world.orders_of(sid) if o["status"] == "paid"]
    assert len(paid) == 2 and charges(portone) - before == 2


@real_dynamodb_only  # two threads in one moto: its transactions are not isolated from each other
def test_two_runs_at_once_charge_a_period_once(world, portone):
    save_card(world, portone)
    sid = world.subscribed()["subscription_id"]
    before = charges(portone)
    first, second = race(world.run, world.run)
    outcomes = {**{f"a:{k}": v for k, v in first.outcomes.items()}, **{f"b:{k}": v for k, v in second.outcomes.items()}}
    assert charges(portone) - before == 1, outcomes
    assert order_of(world, sid)["status"] == "paid"
    world.run(world.clock.now + 5 * MINUTE)  # a later run: the charge is decided, nothing more
    assert charges(portone) - before == 1


@real_dynamodb_only
def test_four_overlapping_runs_for_each_of_two_periods_pay_each_period_once(world, portone):
    save_card(world, portone)
    sid = world.subscribed()["subscription_id"]
    before = charges(portone)
    for at in (T0, T0 + PERIOD):
        world.travel_to(at)
        race(world.run, world.run, world.run, world.run)
        world.run(at + 5 * MINUTE)
    orders = world.orders_of(sid)
    assert [o["status"] for o in orders] == ["paid", "paid"]
    # one payment per period at PortOne, each for its order's total (a charge call sent twice for
    # one period is refused ALREADY_PAID by PortOne: the order id is the payment id)
    assert all(portone.payments[o["order_id"]]["status"] == "PAID" and portone.payments[o["order_id"]]["total"]
               == o["total"] for o in orders)
    assert 2 <= charges(portone) - before <= 4


def test_a_declined_charge_skips_the_period_returns_the_stock_and_tells_both(world, portone, drain_stream):
    save_card(world, portone)
    sid = world.subscribed((world.beans["product_id"], 2))["subscription_id"]
    stock = world.stock(world.beans)
    dev(portone, "/__dev/charge-failures", {"count": 1, "pgMessage": "한도 초과"})
    report = world.run()
    assert report.outcomes == {"payment_failed": 1}
    order = order_of(world, sid)
    assert order["status"] == "cancelled" and order["paid_at"] is None
    assert world.stock(world.beans) == stock
    sub = world.get(sid).body
    assert (sub["period"], sub["history"][-1]["outcome"]) == (2, "payment_failed")
    assert "한도 초과" in sub["history"][-1]["detail"]
    world.run()
    drain_stream()
    skipped = world.inbox.of("subscription_skipped", sid)
    assert sorted(n.recipient_id for n in skipped) == sorted([world.subscriber["user"]["user_id"],
                                                              world.owner["user"]["user_id"]])
    assert all(n.data["reason"] == "payment_failed" and n.data["period"] == 1 for n in skipped)
    assert any("결제" in n.data["title"] for n in skipped)
    # the next period is charged again, and goes through
    world.travel_to(T0 + PERIOD)
    world.run()
    assert sorted(o["status"] for o in world.orders_of(sid)) == ["cancelled", "paid"]


def test_a_provider_outage_leaves_the_order_pending_then_a_later_run_charges_it(world, portone, monkeypatch):
    save_card(world, portone)
    sid = world.subscribed()["subscription_id"]
    gateway = container().payments
    real, down = gateway.charge_billing_key, {"left": 2}

    def flaky(*args, **kwargs):
        if down["left"]:
            down["left"] -= 1
            raise ProviderUnavailable("PortOne is unreachable: ConnectTimeout")
        return real(*args, **kwargs)

    monkeypatch.setattr(gateway, "charge_billing_key", flaky)
    before = charges(portone)
    assert world.run().outcomes == {"charge_retry": 1}
    assert order_of(world, sid)["status"] == "pending_payment"
    assert world.run(T0 + 5 * MINUTE).outcomes == {}  # its retry is not due yet
    assert world.run(T0 + 16 * MINUTE).outcomes == {"charge_retry": 1}
    assert world.run(T0 + 32 * MINUTE).outcomes == {"charged": 1}
    order = order_of(world, sid)
    assert order["status"] == "paid" and charges(portone) - before == 1
    assert world.get(sid).body["history"][-1]["outcome"] == "ordered"


def test_a_provider_down_for_every_attempt_gives_the_period_up(world, portone, monkeypatch):
    from chalicelib.services.billing import MAX_CHARGE_ATTEMPTS

    save_card(world, portone)
    sid = world.subscribed()["subscription_id"]
    stock = world.stock(world.beans)

    def down(*args, **kwargs):
        raise ProviderUnavailable("PortOne is unreachable: ConnectTimeout")

    monkeypatch.setattr(container().payments, "charge_billing_key", down)
    at = T0
    for _ in range(MAX_CHARGE_ATTEMPTS):
        world.run(at)
        at += 16 * MINUTE
    sub = world.get(sid).body
    assert sub["history"][-1]["outcome"] == "payment_failed"
    order = order_of(world, sid)
    assert order["status"] == "cancelled" and world.stock(world.beans) == stock


def test_a_charge_whose_answer_was_lost_is_confirmed_not_charged_again(world, portone, monkeypatch):
    save_card(world, portone)
    sid = world.subscribed()["subscription_id"]
    gateway = container().payments
    real, lost = gateway.charge_billing_key, {"left": 1}

    def answer_lost(*args, **kwargs):
        result = real(*args, **kwargs)
        if lost["left"]:
            lost["left"] -= 1
            raise ProviderUnavailable("PortOne is unreachable: ReadTimeout")  # charged, but we never heard
        return result

    monkeypatch.setattr(gateway, "charge_billing_key", answer_lost)
    before = charges(portone)
    assert world.run().outcomes == {"charge_retry": 1}
    assert world.run(T0 + 16 * MINUTE).outcomes == {"charged": 1}  # ALREADY_PAID → asked → confirmed
    assert order_of(world, sid)["status"] == "paid"
    assert charges(portone) - before == 2  # the second call was refused by PortOne: one payment
    assert portone.payments[order_of(world, sid)["order_id"]]["status"] == "PAID"


# --- without a card ---------------------------------------------------------------------------------


def test_without_a_card_the_periods_order_is_a_bank_transfer_that_waits(world, portone):
    account = {"bank": "국민은행", "number": "123-45-67890", "holder": "정로스터"}
    assert world.api.patch(f"/shops/{world.shop_id}", {"bank_account": account},
                           token=world.owner["token"]).status == 200
    sid = world.subscribed()["subscription_id"]
    before = charges(portone)
    assert world.run().outcomes == {"ordered": 1}
    order = order_of(world, sid)
    assert (order["status"], order["payment"]["method"]) == ("pending_payment", "bank_transfer")
    assert order["payment"]["bank_account"]["number"] == "123-45-67890"
    assert charges(portone) == before
    world.pay_all(sid)  # the owner confirms the deposit
    assert order_of(world, sid)["status"] == "paid"
