"""Limits on the writes a client can repeat that had none: uploads, subscriptions, reviews, notes,
devices, the saved card, store-link visits, new products, new coupons and coupon grants (each a rule of ``services.rates``, 429
``rate_limited`` with Retry-After), and an anonymous visit counted once per address and day
whatever its User-Agent.

Each test sets a small limit of its own and runs on a day of its own (DynamoDB Local keeps one
table for the whole run, so no two tests share a window).
"""

from __future__ import annotations

import itertools
import uuid

import pytest

from chalicelib import wiring as deps
from tests.api.commerce import advance, make_product, placed, product_body
from chalicelib.ids import iso
from tests.api.conftest import assert_problem
from tests.clock import hold

# 2030-01-14 00:00 UTC plus a day per test: far from the windows of tests/api/test_limits.py.
T = 1_800_000_000.0 - 1_800_000_000.0 % 86400 + 1000 * 86400
_days = itertools.count()


@pytest.fixture
def clock(monkeypatch):
    class Clock:
        now = T + next(_days) * 7 * 86400  # a week apart: a test may move on a day or a minute

    hold(monkeypatch, lambda: Clock.now)
    return Clock


@pytest.fixture
def limits(monkeypatch):
    """``limits(rate_x="2/1m")``: the suite's settings with these DONGNE_* settings changed."""

    def apply(**overrides: str) -> None:
        for name, value in overrides.items():
            monkeypatch.setenv(f"DONGNE_{name.upper()}", value)
        deps.reset()

    yield apply
    monkeypatch.undo()
    deps.reset()


def assert_limited(answer, window: int) -> None:
    problem = assert_problem(answer, 429)
    assert problem["code"] == "rate_limited"
    assert 1 <= int(answer.headers["Retry-After"]) <= window


def test_uploads_are_limited_per_user(api, clock, limits):
    limits(rate_upload="3/1m")
    minji, other = api.signup(), api.signup()
    for _ in range(3):
        assert api.post("/uploads", {"content_type": "image/jpeg"}, token=minji["token"]).status == 201
    assert_limited(api.post("/uploads", {"content_type": "image/jpeg"}, token=minji["token"]), 60)
    assert api.post("/uploads", {"content_type": "image/png"}, token=other["token"]).status == 201  # not hers
    clock.now += 60  # the next window
    assert api.post("/uploads", {"content_type": "image/jpeg"}, token=minji["token"]).status == 201


def test_subscriptions_are_limited_per_user(api, clock, limits, owner):
    limits(rate_subscription="2/1h")
    beans = make_product(api, owner, name="원두 200g", price=14000, reorder_days=14)
    buyer = api.signup()

    def subscribe():
        return api.post("/subscriptions", {"shop_id": owner["shop"]["shop_id"], "every_days": 14,
                                           "items": [{"product_id": beans["product_id"], "quantity": 1}]},
                        token=buyer["token"], headers={"Idempotency-Key": str(uuid.uuid4())})

    assert [subscribe().status for _ in range(2)] == [201, 201]
    assert_limited(subscribe(), 3600)
    mine = api.get("/me/subscriptions", token=buyer["token"]).body["items"]
    assert len(mine) == 2  # the refused one wrote nothing


def test_reviews_are_limited_per_user(api, clock, limits, owner):
    limits(rate_review="1/1h")
    tofu = make_product(api, owner)
    buyer = api.signup()
    orders = [placed(api, buyer, owner["shop"]["shop_id"], (tofu["product_id"], 1)) for _ in range(2)]
    for order in orders:
        advance(api, owner, order["order_id"], "paid", "shipped", "delivered")
    assert api.post(f"/orders/{orders[0]['order_id']}/review", {"rating": 5}, token=buyer["token"]).status == 201
    assert_limited(api.post(f"/orders/{orders[1]['order_id']}/review", {"rating": 4}, token=buyer["token"]), 3600)
    assert api.get(f"/orders/{orders[1]['order_id']}", token=buyer["token"]).body["review_id"] is None


def test_owner_notes_are_limited_per_owner(api, clock, limits, owner, drain_stream):
    limits(rate_note="2/10m")
    tofu = make_product(api, owner)
    buyer = api.signup()
    order = placed(api, buyer, owner["shop"]["shop_id"], (tofu["product_id"], 1))
    advance(api, owner, order["order_id"], "paid")
    drain_stream()  # the paid order makes them a customer of the shop
    path = f"/shops/{owner['shop']['shop_id']}/customers/{buyer['user']['user_id']}/note"
    answers = [api.put(path, {"note": f"메모 {n}"}, token=owner["token"]) for n in range(3)]
    assert [a.status for a in answers[:2]] == [200, 200], [a.body for a in answers]
    assert_limited(answers[2], 600)


def test_device_registrations_are_limited_per_user(api, clock, limits):
    limits(rate_device="2/1h")
    minji = api.signup()
    assert api.put("/me/devices/phone-1", {"platform": "ios", "token": "a" * 64}, token=minji["token"]).status == 200
    assert api.delete("/me/devices/phone-1", token=minji["token"]).status == 204
    assert_limited(api.put("/me/devices/phone-1", {"platform": "ios", "token": "b" * 64}, token=minji["token"]),
                   3600)
    assert_limited(api.delete("/me/devices/phone-1", token=minji["token"]), 3600)


def test_saved_card_changes_are_counted_against_their_limit(api, clock, limits):
    """``PUT /me/payment-methods/card`` declared the payment limit but never counted it."""
    limits(rate_payment="2/1m")
    minji = api.signup()
    answers = [api.put("/me/payment-methods/card", {"billing_key": f"billing-key-unknown-{n}"}, token=minji["token"])
               for n in range(3)]
    assert [a.status for a in answers[:2]] != [429, 429]
    assert_limited(answers[2], 60)


def test_new_products_are_limited_per_owner(api, clock, limits, owner):
    limits(rate_product="2/1h")
    shop_id = owner["shop"]["shop_id"]
    for n in range(2):
        make_product(api, owner, name=f"손두부 {n}")
    assert_limited(api.post(f"/shops/{shop_id}/products", product_body(name="콩물"), token=owner["token"]), 3600)
    listed = api.get(f"/shops/{shop_id}/products").body["items"]
    assert sorted(p["name"] for p in listed) == ["손두부 0", "손두부 1"]  # the refused one wrote nothing
    other = {**(neighbour := api.signup(name="이사장")), "shop": api.open_shop(neighbour["token"])}
    make_product(api, other)  # not hers
    clock.now += 3600  # the next window
    make_product(api, owner, name="콩물")


def _coupon(**overrides) -> dict:
    from chalicelib import clock

    now = clock.now()
    return {"name": "단골 감사 쿠폰", "kind": "percent", "value": 10, "min_subtotal": 0, "starts_at": iso(now - 60),
            "ends_at": iso(now + 7 * 86400), "max_redemptions": 100, **overrides}


def test_new_coupons_are_limited_per_owner(api, clock, limits, owner):
    limits(rate_coupon="2/1d")
    path = f"/shops/{owner['shop']['shop_id']}/coupons"
    assert [api.post(path, _coupon(name=f"쿠폰 {n}"), token=owner["token"]).status for n in range(2)] == [201, 201]
    assert_limited(api.post(path, _coupon(), token=owner["token"]), 86400)
    assert len(api.get(path, token=owner["token"]).body["items"]) == 2  # the refused one wrote nothing
    clock.now += 86400
    assert api.post(path, _coupon(), token=owner["token"]).status == 201


def test_coupon_grants_are_limited_per_owner(api, clock, limits, owner, drain_stream):
    limits(rate_coupon_grant="1/1h")
    shop_id = owner["shop"]["shop_id"]
    minji, sora = api.signup(), api.signup()
    for person in (minji, sora):
        assert api.put(f"/shops/{shop_id}/follow", token=person["token"]).status == 200
    drain_stream()  # the follows make them customers
    coupon = api.post(f"/shops/{shop_id}/coupons", _coupon(), token=owner["token"]).body

    def grant(person: dict):
        return api.post(f"/shops/{shop_id}/coupons/{coupon['coupon_id']}/grants",
                        {"audience": {"user_ids": [person["user"]["user_id"]]}}, token=owner["token"])

    assert grant(minji).body["granted"] == 1
    assert_limited(grant(sora), 3600)
    assert api.get("/me/coupons", token=sora["token"]).body["items"] == []  # the refused grant wrote nothing
    clock.now += 3600
    assert grant(sora).body["granted"] == 1


@pytest.fixture
def link(api, owner):
    """A store link: a buyer's paid order at the owner's shop issues it (on the stream)."""
    tofu = make_product(api, owner)
    alice = api.signup(name="앨리스")
    order = placed(api, alice, owner["shop"]["shop_id"], (tofu["product_id"], 1))
    advance(api, owner, order["order_id"], "paid")
    return alice


def _visits(api, alice) -> int:
    [mine] = api.get("/me/store-links", token=alice["token"]).body["items"]
    return mine["visits"]


def test_a_rotating_user_agent_is_one_visitor_per_address_and_day(api, clock, link, drain_stream):
    drain_stream()
    [mine] = api.get("/me/store-links", token=link["token"]).body["items"]
    path = f"/store-links/{mine['code']}/visits"
    agents = [f"Mozilla/5.0 (iPhone; CPU iPhone OS 18_{n} like Mac OS X) Safari/{600 + n}" for n in range(10)]
    agents += ["Mozilla/5.0 (Linux; Android 15) Chrome/131", "curl/8.5", "", "Mozilla/5.0 (Windows NT 10.0) Edge"]
    for agent in agents:  # and no cookie, no visitor id: a client that forgets itself every time
        assert api.post(path, headers={"User-Agent": agent}).status == 200
    assert _visits(api, link) == 1
    clock.now += 86400  # the next UTC day: the same address is a visitor again, once
    for agent in agents[:3]:
        api.post(path, headers={"User-Agent": agent})
    assert _visits(api, link) == 2


def test_visits_are_limited_per_address(api, clock, limits, link, drain_stream):
    drain_stream()
    limits(rate_visit_ip="5/1m")
    [mine] = api.get("/me/store-links", token=link["token"]).body["items"]
    path = f"/store-links/{mine['code']}/visits"
    assert [api.post(path).status for _ in range(5)] == [200] * 5
    assert_limited(api.post(path), 60)
    bob = api.signup()
    assert_limited(api.post(path, token=bob["token"]), 60)  # a token does not widen the address's budget
    clock.now += 60
    assert api.post(path, token=bob["token"]).status == 200
