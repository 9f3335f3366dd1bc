"""Coupons and the regular perk (단골 우대) through the HTTP API.

Runs on moto and on DynamoDB Local; the races (a cap under 30 racing orders, two orders racing
for one holding) only on DynamoDB Local, since moto has no transaction isolation. Dates are set
from the app's clock, so nothing here depends on the day it runs.
"""

from __future__ import annotations

from collections import Counter

import pytest

from chalicelib import clock
from chalicelib.ids import iso
from devtools.callcount import dynamodb_calls
from tests.api.commerce import advance, buy, make_product, paid, placed, stock
from tests.api.conftest import TOKEN_CHECK, assert_problem, real_dynamodb_only
from tests.api.essentials_kit import race
from tests.clock import TestClock

DAY = 86_400.0


@pytest.fixture
def shop(api, owner, drain_stream):
    """The owner's shop with a 10,000-won product, and a helper making customers of people."""
    pid = make_product(api, owner, price=10_000, stock=50)["product_id"]

    def customer(person: dict) -> dict:
        assert api.put(f"/shops/{owner['shop']['shop_id']}/follow", token=person["token"]).status == 200
        drain_stream()  # the follow makes the (customer, shop) pair
        return person

    return {"id": owner["shop"]["shop_id"], "pid": pid, "owner": owner, "customer": customer}


def coupon_body(**overrides) -> dict:
    now = clock.now()
    body = {"name": "단골 감사 쿠폰", "kind": "percent", "value": 10, "min_subtotal": 0,
            "starts_at": iso(now - 60), "ends_at": iso(now + 7 * DAY), "max_redemptions": 100}
    return {**body, **overrides}


def create(api, shop, **overrides) -> dict:
    answer = api.post(f"/shops/{shop['id']}/coupons", coupon_body(**overrides), token=shop["owner"]["token"])
    assert answer.status == 201, answer.body
    return answer.body


def grant(api, shop, coupon_id: str, *people: dict):
    return api.post(f"/shops/{shop['id']}/coupons/{coupon_id}/grants",
                    {"audience": {"user_ids": [p["user"]["user_id"] for p in people]}}, token=shop["owner"]["token"])


def given(api, shop, person: dict, **overrides) -> dict:
    """A coupon of the shop, given to ``person`` (made a customer first)."""
    coupon = create(api, shop, **overrides)
    assert grant(api, shop, coupon["coupon_id"], shop["customer"](person)).body["granted"] == 1
    return coupon


def my_coupons(api, person: dict) -> list[str]:
    answer = api.get("/me/coupons", token=person["token"])
    assert answer.status == 200, answer.body
    return [c["coupon_id"] for c in answer.body["items"]]


def redeemed(api, shop, coupon_id: str) -> int:
    items = api.get(f"/shops/{shop['id']}/coupons", token=shop["owner"]["token"]).body["items"]
    return next(c["redeemed"] for c in items if c["coupon_id"] == coupon_id)


def reason(answer) -> str:
    problem = assert_problem(answer, 422)
    assert problem["code"] == "coupon_not_applicable", problem
    return problem["reason"]


# --- creating and giving ------------------------------------------------------------------------


def test_the_owner_creates_and_lists_coupons_and_bad_terms_are_refused(api, shop, user):
    made = create(api, shop, kind="fixed", value=3000, min_subtotal=20000, max_redemptions=5)
    assert (made["kind"], made["value"], made["min_subtotal"], made["max_redemptions"], made["redeemed"]) == (
        "fixed", 3000, 20000, 5, 0)
    listed = api.get(f"/shops/{shop['id']}/coupons", token=shop["owner"]["token"]).body
    assert [c["coupon_id"] for c in listed["items"]] == [made["coupon_id"]]
    now, token = clock.now(), shop["owner"]["token"]
    for bad, code in (({"kind": "percent", "value": 101}, "percent_over_100"),
                      ({"value": -5}, "too_small"), ({"max_redemptions": 0}, "too_small"),
                      ({"ends_at": iso(now - 120)}, "ends_before_starts"),
                      ({"starts_at": iso(now - 3 * DAY), "ends_at": iso(now - DAY)}, "ends_in_past"),
                      ({"value": "10"}, "wrong_type"), ({"surprise": 1}, "unknown_field")):
        problem = assert_problem(api.post(f"/shops/{shop['id']}/coupons", coupon_body(**bad), token=token), 422)
        assert code in {e["code"] for e in problem["errors"]}, (bad, problem)
    assert assert_problem(api.post(f"/shops/{shop['id']}/coupons", coupon_body(), token=user["token"]),
                          403)["code"] == "forbidden"
    assert api.get(f"/shops/{shop['id']}/coupons", token=user["token"]).status == 403
    assert len(api.get(f"/shops/{shop['id']}/coupons", token=token).body["items"]) == 1  # nothing written


def test_a_grant_reaches_customers_once_each_and_tells_them(api, shop, user, drain_stream):
    stranger = api.signup(name="이방인")
    coupon = create(api, shop)
    first = grant(api, shop, coupon["coupon_id"], shop["customer"](user), stranger, shop["owner"])
    assert first.status == 202 and first.body == {"coupon_id": coupon["coupon_id"], "granted": 1,
                                                   "already_held": 0, "not_customers": 2}
    again = grant(api, shop, coupon["coupon_id"], user)
    assert (again.body["granted"], again.body["already_held"]) == (0, 1)
    assert my_coupons(api, user) == [coupon["coupon_id"]] and my_coupons(api, stranger) == []
    drain_stream()
    drain_stream()  # a replay adds nothing
    notes = [n for n in api.get("/me/notifications", token=user["token"]).body["items"] if n["type"] == "coupon"]
    assert len(notes) == 1 and notes[0]["data"]["coupon_id"] == coupon["coupon_id"]
    assert "쿠폰" in notes[0]["title"] and "10% 할인" in notes[0]["body"]


def test_grants_refuse_other_audiences_strangers_and_ended_coupons(api, shop, user, monkeypatch):
    coupon = create(api, shop, ends_at=iso(clock.now() + 1800))
    path, token = f"/shops/{shop['id']}/coupons/{coupon['coupon_id']}/grants", shop["owner"]["token"]
    assert assert_problem(api.post(path, {"audience": {"tier": "regular"}}, token=token),
                          422)["code"] == "audience_not_supported"
    assert assert_problem(api.post(path, {"audience": {"essential_due": True}}, token=token),
                          422)["code"] == "audience_not_supported"
    for bad in ({"user_ids": [f"u{n}" for n in range(101)]}, {"user_ids": ["a"], "tier": "regular"}, {},
                {"user_ids": ["a", "a"]}):
        assert assert_problem(api.post(path, {"audience": bad}, token=token), 422)["code"] == "validation_failed"
    body = {"audience": {"user_ids": [user["user"]["user_id"]]}}
    assert assert_problem(api.post(path, body, token=user["token"]), 403)["code"] == "forbidden"
    other = api.signup(name="옆가게")
    other_shop = api.open_shop(other["token"])
    foreign = f"/shops/{other_shop['shop_id']}/coupons/{coupon['coupon_id']}/grants"
    assert assert_problem(api.post(foreign, body, token=other["token"]), 404)["code"] == "not_found"
    TestClock(monkeypatch, clock.now() + 1900)
    assert assert_problem(api.post(path, body, token=token), 409)["code"] == "coupon_ended"


# --- using one --------------------------------------------------------------------------------


def test_an_order_uses_a_coupon_once_and_shows_the_discount(api, shop, user):
    coupon = given(api, shop, user, value=15)
    order = placed(api, user, shop["id"], (shop["pid"], 2), coupon_id=coupon["coupon_id"])
    assert (order["subtotal"], order["discount"], order["total"]) == (20000, 3000, 17000)
    assert order["coupon_id"] == coupon["coupon_id"]
    assert order["discounts"] == [{"kind": "coupon", "amount": 3000, "coupon_id": coupon["coupon_id"],
                                   "name": "단골 감사 쿠폰"}]
    assert api.get(f"/orders/{order['order_id']}", token=user["token"]).body["discounts"] == order["discounts"]
    assert my_coupons(api, user) == [] and redeemed(api, shop, coupon["coupon_id"]) == 1
    assert reason(buy(api, user, shop["id"], (shop["pid"], 1), coupon_id=coupon["coupon_id"])) == "used"
    assert stock(api, shop["pid"]) == 48  # the refused order wrote nothing


def test_a_coupon_that_does_not_apply_is_422_with_its_reason_and_nothing_written(api, shop, user, monkeypatch):
    friend = api.signup(name="친구")
    mine = given(api, shop, user, kind="fixed", value=50_000, min_subtotal=20000)
    later = given(api, shop, user, starts_at=iso(clock.now() + DAY))
    soon = given(api, shop, user, ends_at=iso(clock.now() + 1800))
    other = api.signup(name="옆가게")
    other_shop = {"id": api.open_shop(other["token"])["shop_id"], "owner": other, "customer": shop["customer"]}
    elsewhere = create(api, other_shop)
    api.put(f"/shops/{other_shop['id']}/follow", token=user["token"])
    shop["customer"](user)
    assert grant(api, other_shop, elsewhere["coupon_id"], user).body["granted"] == 1
    order = lambda coupon_id, who=user, qty=1: buy(api, who, shop["id"], (shop["pid"], qty), coupon_id=coupon_id)  # noqa: E731
    assert reason(order(mine["coupon_id"], who=friend)) == "not_held"  # someone else's coupon
    assert reason(order("01NOSUCHCOUPON000000000000")) == "not_held"
    assert reason(order(mine["coupon_id"])) == "below_min_subtotal"
    assert reason(order(later["coupon_id"])) == "not_started"
    assert reason(order(elsewhere["coupon_id"])) == "other_shop"
    ko = api.post("/orders", {"shop_id": shop["id"], "items": [{"product_id": shop["pid"], "quantity": 1}],
                              "coupon_id": mine["coupon_id"]}, token=user["token"],
                  headers={"Idempotency-Key": "ko", "Accept-Language": "ko"})
    assert assert_problem(ko, 422)["errors"][0]["message"] == "이 쿠폰은 상품 금액이 20,000원 이상일 때 쓸 수 있어요."
    big = order(mine["coupon_id"], qty=2)  # a fixed coupon bigger than the goods: they cost 0, never less
    assert big.status == 201 and (big.body["discount"], big.body["total"]) == (20000, 0)
    TestClock(monkeypatch, clock.now() + 1900)
    assert reason(order(soon["coupon_id"])) == "ended"
    assert stock(api, shop["pid"]) == 48 and redeemed(api, shop, soon["coupon_id"]) == 0


def test_a_used_up_coupon_is_409_and_nothing_is_written(api, shop, user):
    second = api.signup(name="두번째")
    coupon = given(api, shop, user, max_redemptions=1)
    assert grant(api, shop, coupon["coupon_id"], shop["customer"](second)).body["granted"] == 1
    placed(api, user, shop["id"], (shop["pid"], 1), coupon_id=coupon["coupon_id"])
    problem = assert_problem(buy(api, second, shop["id"], (shop["pid"], 1), coupon_id=coupon["coupon_id"]), 409)
    assert problem["code"] == "coupon_exhausted"
    assert stock(api, shop["pid"]) == 49 and redeemed(api, shop, coupon["coupon_id"]) == 1
    assert my_coupons(api, second) == [coupon["coupon_id"]]  # still held: it was not used


def test_a_retry_gets_its_first_answer_and_costs_one_read_and_one_transaction(api, shop, user):
    coupon = given(api, shop, user)
    with dynamodb_calls() as calls:
        first = buy(api, user, shop["id"], (shop["pid"], 1), key="coupon-key", coupon_id=coupon["coupon_id"])
    assert first.status == 201 and calls.operations == TOKEN_CHECK + ["BatchGetItem", "TransactWriteItems"]
    again = buy(api, user, shop["id"], (shop["pid"], 1), key="coupon-key", coupon_id=coupon["coupon_id"])
    assert again.status == 201 and again.body == first.body and again.headers.get("Idempotent-Replayed") == "true"
    other = buy(api, user, shop["id"], (shop["pid"], 1), key="coupon-key")  # the same key without the coupon
    assert assert_problem(other, 409)["code"] == "idempotency_key_reused"
    assert redeemed(api, shop, coupon["coupon_id"]) == 1 and stock(api, shop["pid"]) == 49


# --- giving it back -----------------------------------------------------------------------------


def test_a_cancelled_order_gives_its_coupon_back_exactly_once(api, shop, user):
    coupon = given(api, shop, user)
    order = placed(api, user, shop["id"], (shop["pid"], 1), coupon_id=coupon["coupon_id"])
    cancelled = api.post(f"/orders/{order['order_id']}/status", {"status": "cancelled"}, token=user["token"])
    assert cancelled.status == 200 and cancelled.body["coupon_id"] == coupon["coupon_id"]
    assert my_coupons(api, user) == [coupon["coupon_id"]] and redeemed(api, shop, coupon["coupon_id"]) == 0
    replay = api.post(f"/orders/{order['order_id']}/status", {"status": "cancelled"}, token=user["token"])
    assert replay.status == 409 and redeemed(api, shop, coupon["coupon_id"]) == 0  # nothing returned twice
    # used again, paid, then cancelled by the shop: back again
    again = paid(api, shop["owner"], user, shop["id"], (shop["pid"], 1), coupon_id=coupon["coupon_id"])
    assert my_coupons(api, user) == [] and redeemed(api, shop, coupon["coupon_id"]) == 1
    advance(api, shop["owner"], again["order_id"], "cancelled")
    assert my_coupons(api, user) == [coupon["coupon_id"]] and redeemed(api, shop, coupon["coupon_id"]) == 0


def test_an_order_that_expires_unpaid_gives_its_coupon_back(api, shop, user):
    from chalicelib.events.schedules import run_order_deadlines

    coupon = given(api, shop, user)
    order = placed(api, user, shop["id"], (shop["pid"], 1), coupon_id=coupon["coupon_id"])
    later = clock.now() + 2 * DAY  # past the bank transfer's 24 hours
    run_order_deadlines(now=later)
    run_order_deadlines(now=later + 60)  # a second run returns nothing again
    assert api.get(f"/orders/{order['order_id']}", token=user["token"]).body["status"] == "expired"
    assert my_coupons(api, user) == [coupon["coupon_id"]] and redeemed(api, shop, coupon["coupon_id"]) == 0
    assert stock(api, shop["pid"]) == 50


def test_a_closed_account_leaves_no_holdings_and_its_cancelled_order_still_returns_the_redemption(
        api, shop, user, drain_stream):
    coupon = given(api, shop, user)
    order = placed(api, user, shop["id"], (shop["pid"], 1), coupon_id=coupon["coupon_id"])
    advance(api, shop["owner"], order["order_id"], "cancelled")
    used = placed(api, user, shop["id"], (shop["pid"], 1), coupon_id=coupon["coupon_id"])
    assert api.delete("/me", token=user["token"]).status == 204
    drain_stream()
    from chalicelib.wiring import container

    assert container().coupons.holding(user["user"]["user_id"], coupon["coupon_id"]) is None
    advance(api, shop["owner"], used["order_id"], "cancelled")
    assert redeemed(api, shop, coupon["coupon_id"]) == 0


# --- the regular perk ---------------------------------------------------------------------------


def test_a_regular_gets_the_perk_first_then_the_coupon_on_the_rest(api, shop, user, drain_stream):
    newcomer = api.signup(name="처음")
    token = shop["owner"]["token"]
    for bad in ({"kind": "percent", "value": 51}, {"kind": "percent", "value": 0},
                {"kind": "free_shipping", "value": 5}, {"kind": "half"}):
        answer = api.patch(f"/shops/{shop['id']}", {"regular_perk": bad}, token=token)
        assert assert_problem(answer, 422)["code"] == "validation_failed", bad
    assert api.patch(f"/shops/{shop['id']}", {"regular_perk": {"kind": "percent", "value": 10}},
                     token=user["token"]).status == 403
    answer = api.patch(f"/shops/{shop['id']}", {"regular_perk": {"kind": "percent", "value": 10}}, token=token)
    assert answer.status == 200 and answer.body["regular_perk"] == {"kind": "percent", "value": 10}
    for _ in range(2):  # two paid orders within the window: a regular
        paid(api, shop["owner"], user, shop["id"], (shop["pid"], 1))
    drain_stream()
    coupon = given(api, shop, user, kind="percent", value=50)
    order = placed(api, user, shop["id"], (shop["pid"], 3), coupon_id=coupon["coupon_id"])
    # 30,000: perk 10% → 3,000 off; the coupon's 50% of the 27,000 left → 13,500
    assert [(d["kind"], d["amount"]) for d in order["discounts"]] == [("regular_perk", 3000), ("coupon", 13500)]
    assert (order["discount"], order["total"]) == (16500, 13500)
    assert placed(api, newcomer, shop["id"], (shop["pid"], 1))["discounts"] == []  # not a regular
    assert api.patch(f"/shops/{shop['id']}", {"regular_perk": None}, token=token).body["regular_perk"] is None
    assert placed(api, user, shop["id"], (shop["pid"], 1))["discount"] == 0


def test_free_shipping_for_regulars_waives_the_delivery_fee(api, shop, user, drain_stream):
    token = shop["owner"]["token"]
    assert api.patch(f"/shops/{shop['id']}", {"fulfilment": {"delivery": {"fee": 3000}}}, token=token).status == 200
    home = {"method": "delivery", "address": {"recipient": "김민지", "phone": "010-1234-5678",
                                              "postal_code": "04001", "address1": "서울 마포구 망원로 10"}}
    first = paid(api, shop["owner"], user, shop["id"], (shop["pid"], 1), fulfilment=home)
    assert (first["shipping_fee"], first["discount"], first["total"]) == (3000, 0, 13000)
    paid(api, shop["owner"], user, shop["id"], (shop["pid"], 1), fulfilment=home)
    drain_stream()
    # set after this container cached the shop without a perk: the next order still gets it
    answer = api.patch(f"/shops/{shop['id']}", {"regular_perk": {"kind": "free_shipping"}}, token=token)
    assert answer.status == 200 and answer.body["regular_perk"] == {"kind": "free_shipping", "value": 0}
    for _ in range(2):
        with dynamodb_calls() as calls:
            order = placed(api, user, shop["id"], (shop["pid"], 1), fulfilment=home)
        assert order["discounts"] == [{"kind": "regular_perk", "amount": 3000, "coupon_id": None,
                                       "name": "free_shipping"}]
        assert (order["shipping_fee"], order["discount"], order["total"]) == (3000, 3000, 10000)
    assert calls.operations == TOKEN_CHECK + ["BatchGetItem", "TransactWriteItems"]


# --- races, on DynamoDB Local ---------------------------------------------------------------------


@real_dynamodb_only
def test_thirty_racing_orders_redeem_a_ten_use_coupon_exactly_ten_times(api, shop):
    from chalicelib.wiring import container

    coupon_id = create(api, shop, max_redemptions=10)["coupon_id"]
    coupon = container().coupons.get_coupon(coupon_id)
    buyers = [api.signup(name=f"손님{n}") for n in range(30)]
    for buyer in buyers:  # given directly (the grant's per-customer step): the race is about the cap
        assert container().coupons.grant(coupon, buyer["user"]["user_id"], clock.now())
    replies = race(*[lambda b=b: buy(api, b, shop["id"], (shop["pid"], 1), coupon_id=coupon_id) for b in buyers])
    assert Counter(r.status for r in replies) == {201: 10, 409: 20}, [getattr(r, "body", r) for r in replies]
    assert all(r.body["code"] == "coupon_exhausted" for r in replies if r.status == 409)
    assert redeemed(api, shop, coupon_id) == 10 and stock(api, shop["pid"]) == 40


@real_dynamodb_only
def test_two_orders_racing_for_one_holding_use_it_once(api, shop, user):
    coupon = given(api, shop, user)
    replies = race(*[lambda: buy(api, user, shop["id"], (shop["pid"], 1), coupon_id=coupon["coupon_id"])] * 4)
    assert Counter(r.status for r in replies) == {201: 1, 422: 3}, [r.body for r in replies]
    assert all(r.body["reason"] == "used" for r in replies if r.status == 422)
    assert redeemed(api, shop, coupon["coupon_id"]) == 1 and stock(api, shop["pid"]) == 49
