"""Store links under real concurrency: threads against the running API on DynamoDB Local.

Every number a link shows (visits, orders, rewards) and every ledger total must stay exact
when requests race: buyers for the last units, a delivery against a cancellation, a thousand
repeated visits.
"""

from __future__ import annotations

import uuid
from collections import Counter

import pytest

from tests.api.conftest import _stream_poller, drain_stream, real_dynamodb_only  # noqa: F401 (fixtures)
from tests.integration.test_order_races import new_product, race

pytestmark = real_dynamodb_only

PERCENT = 10


@pytest.fixture
def shop(live_api):
    owner = live_api.signup("박사장")
    opened = live_api.post("/shops", {"name": "망원동 두부가게", "handle": f"links_{uuid.uuid4().hex[:10]}"},
                           token=owner["token"])
    assert opened.status == 201, opened.body
    reward = live_api.patch(f"/shops/{opened.body['shop_id']}",
                            {"referral_reward": {"kind": "percent", "value": PERCENT}}, token=owner["token"])
    assert reward.status == 200, reward.body
    return {"token": owner["token"], "id": opened.body["shop_id"]}


def order(live_api, token: str, shop_id: str, product_id: str, code: str | None = None, quantity: int = 1):
    body = {"shop_id": shop_id, "items": [{"product_id": product_id, "quantity": quantity}]}
    if code:
        body["via_store_link"] = code
    return live_api.post("/orders", body, token=token, headers={"Idempotency-Key": str(uuid.uuid4())})


@pytest.fixture
def referrer(live_api, shop, drain_stream):
    """A customer with her link for the shop (issued from her paid order's stream record)."""
    person = live_api.signup("김민지")
    starter = new_product(live_api, shop, stock=10)
    placed = order(live_api, person["token"], shop["id"], starter)
    assert placed.status == 201
    paid = live_api.post(f"/orders/{placed.body['order_id']}/status", {"status": "paid"}, token=shop["token"])
    assert paid.status == 200, paid.body
    drain_stream()
    links = live_api.get("/me/store-links", token=person["token"]).body["items"]
    return {**person, "code": next(link["code"] for link in links if link["shop_id"] == shop["id"])}


def pay(live_api, shop: dict, order_id: str):
    """The owner confirms the bank transfer: from here on the order counts."""
    return live_api.post(f"/orders/{order_id}/status", {"status": "paid"}, token=shop["token"])


def link_of(live_api, person: dict) -> dict:
    return next(link for link in live_api.get("/me/store-links", token=person["token"]).body["items"]
                if link["code"] == person["code"])


def ledger(live_api, person: dict) -> dict:
    reply = live_api.get("/me/rewards?limit=100", token=person["token"])
    assert reply.status == 200 and reply.body["next_cursor"] is None
    return reply.body


def test_twenty_friends_race_for_the_last_five_units_through_one_link(live_api, shop, referrer):
    pid = new_product(live_api, shop, stock=5, price=4500)
    friends = [live_api.signup() for _ in range(20)]
    replies = race([lambda f=f: order(live_api, f["token"], shop["id"], pid, referrer["code"]) for f in friends])
    assert Counter(r.status for r in replies) == {201: 5, 409: 15}, [r.body for r in replies if r.status >= 500]
    won = {r.body["order_id"] for r in replies if r.status == 201}
    assert all(r.body["via_store_link"] == referrer["code"] for r in replies if r.status == 201)
    assert ledger(live_api, referrer)["items"] == []  # placed, not paid: nothing credited yet
    for oid in won:
        assert pay(live_api, shop, oid).status == 200
    earned = 4500 * PERCENT // 100
    book = ledger(live_api, referrer)
    assert [(e["status"], e["amount"]) for e in book["items"]] == [("pending", earned)] * 5
    assert {e["order_id"] for e in book["items"]} == won
    assert (book["balance"], book["pending"]) == (0, 5 * earned)
    link = link_of(live_api, referrer)
    assert (link["orders"], link["pending_rewards"], link["rewards"]) == (5, 5 * earned, 0)
    assert live_api.get(f"/products/{pid}").body["stock"] == 0


def test_a_delivery_racing_a_cancellation_has_one_winner_and_the_ledger_follows(live_api, shop, referrer):
    pid = new_product(live_api, shop, stock=50, price=10000)
    paid = []
    for _ in range(8):  # eight friends: a link credits each friend's first paid order only
        reply = order(live_api, live_api.signup()["token"], shop["id"], pid, referrer["code"])
        assert reply.status == 201 and reply.body["via_store_link"] == referrer["code"]
        assert pay(live_api, shop, reply.body["order_id"]).status == 200
        paid.append(reply.body["order_id"])

    def move(order_id: str, status: str):
        return live_api.post(f"/orders/{order_id}/status", {"status": status}, token=shop["token"])

    def ship_and_deliver(order_id: str):
        shipped = move(order_id, "shipped")
        return shipped if shipped.status != 200 else move(order_id, "delivered")

    calls = []
    for oid in paid:
        calls += [lambda o=oid: ship_and_deliver(o), lambda o=oid: move(o, "cancelled")]
    replies = race(calls)
    delivered = set()
    for i, oid in enumerate(paid):
        deliver, cancel = replies[2 * i], replies[2 * i + 1]
        assert sorted((deliver.status, cancel.status)) == [200, 409], (deliver.body, cancel.body)
        if deliver.status == 200:
            delivered.add(oid)
    earned = 10000 * PERCENT // 100
    book = ledger(live_api, referrer)
    by_order = Counter((e["order_id"], e["status"]) for e in book["items"] if e["order_id"] in paid)
    for oid in paid:
        settled = "confirmed" if oid in delivered else "cancelled"
        assert by_order[(oid, "pending")] == 1 and by_order[(oid, settled)] == 1
        assert by_order[(oid, "cancelled" if settled == "confirmed" else "confirmed")] == 0
    assert (book["balance"], book["pending"]) == (earned * len(delivered), 0)
    link = link_of(live_api, referrer)
    assert (link["orders"], link["rewards"], link["pending_rewards"]) == (len(delivered), earned * len(delivered), 0)
    assert live_api.get(f"/products/{pid}").body["stock"] == 50 - len(delivered)


def test_repeated_deliveries_and_cancellations_of_one_order_write_one_entry(live_api, shop, referrer):
    pid = new_product(live_api, shop, stock=5, price=10000)
    friend = live_api.signup()
    reply = order(live_api, friend["token"], shop["id"], pid, referrer["code"])
    oid = reply.body["order_id"]
    for status in ("paid", "shipped"):
        assert live_api.post(f"/orders/{oid}/status", {"status": status}, token=shop["token"]).status == 200
    replies = race([lambda s=s: live_api.post(f"/orders/{oid}/status", {"status": s}, token=shop["token"])
                    for s in ["delivered"] * 6 + ["cancelled"] * 6])
    assert Counter(r.status for r in replies) == {200: 1, 409: 11}
    assert [e["status"] for e in ledger(live_api, referrer)["items"]] == ["confirmed", "pending"]
    assert ledger(live_api, referrer)["balance"] == 1000


def test_a_thousand_repeated_visits_count_once_per_visitor(live_api, shop, referrer):
    friend = live_api.signup()
    path = f"/store-links/{referrer['code']}/visits"
    before = link_of(live_api, referrer)["visits"]
    calls = []
    for i in range(1000):
        calls.append((lambda: live_api.post(path, token=friend["token"])) if i % 2 else
                     (lambda: live_api.post(path, headers={"User-Agent": "race-browser"})))
    replies = []
    for start in range(0, len(calls), 50):  # 50 threads at a time: the server's accept queue, not the app
        replies += race(calls[start:start + 50])
    assert Counter(r.status for r in replies) == {200: 1000}
    assert link_of(live_api, referrer)["visits"] == before + 2  # one signed-in visitor, one anonymous browser
    # The signed-in visitor is remembered: his next order is credited, once.
    pid = new_product(live_api, shop, stock=5, price=4500)
    assert order(live_api, friend["token"], shop["id"], pid).body["via_store_link"] == referrer["code"]
    assert order(live_api, friend["token"], shop["id"], pid).body["via_store_link"] is None


def test_six_new_friends_racing_five_orders_each_get_one_discount_each(live_api, shop, referrer):
    """The farm of issue 18 under real concurrency: a public give-to-friend link, 6 new accounts
    each sending 5 orders through it at once. The first-purchase slot lets one order per friend
    carry the discount; the other 24 are placed at full price; paying all of them credits 6."""
    assert live_api.patch(f"/me/store-links/{referrer['code']}", {"give_reward_to_friend": True},
                          token=referrer["token"]).status == 200
    pid = new_product(live_api, shop, stock=100, price=4500)
    friends = [live_api.signup() for _ in range(6)]
    calls = [lambda f=f: order(live_api, f["token"], shop["id"], pid, referrer["code"]) for f in friends for _ in range(5)]
    replies = race(calls)
    assert Counter(r.status for r in replies) == {201: 30}, [r.body for r in replies if r.status != 201]
    discount = 4500 * PERCENT // 100
    for i in range(6):
        mine = [r.body for r in replies[5 * i:5 * i + 5]]
        assert sorted(o["discount"] for o in mine) == [0, 0, 0, 0, discount]
        assert sum(o["via_store_link"] == referrer["code"] for o in mine) == 1
    assert ledger(live_api, referrer)["items"] == []
    for r in replies:
        assert pay(live_api, shop, r.body["order_id"]).status == 200
    book = ledger(live_api, referrer)
    assert [(e["amount"], e["reason"]) for e in book["items"]] == [(0, "given_to_friend")] * 6
    assert link_of(live_api, referrer)["orders"] == 6
    # their next orders through the link: full price
    again = race([lambda f=f: order(live_api, f["token"], shop["id"], pid, referrer["code"]) for f in friends])
    assert [(r.status, r.body["discount"], r.body["via_store_link"]) for r in again] == [(201, 0, None)] * 6


def test_two_credited_orders_at_once_by_one_friend_credit_one(live_api, shop, referrer):
    pid = new_product(live_api, shop, stock=10, price=10000)
    friend = live_api.signup()
    replies = race([lambda: order(live_api, friend["token"], shop["id"], pid, referrer["code"])] * 2)
    assert [r.status for r in replies] == [201, 201]
    assert sorted(r.body["via_store_link"] or "" for r in replies) == ["", referrer["code"]]
    for r in replies:
        assert pay(live_api, shop, r.body["order_id"]).status == 200
    book = ledger(live_api, referrer)
    assert [(e["amount"], e["status"]) for e in book["items"]] == [(10000 * PERCENT // 100, "pending")]
    assert link_of(live_api, referrer)["orders"] == 1
