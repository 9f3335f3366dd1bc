"""Orders under real concurrency: threads against the running API on DynamoDB Local."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable

import pytest

from tests.api.conftest import real_dynamodb_only

pytestmark = real_dynamodb_only


def race(calls: list[Callable[[], object]]) -> list:
    """Run the calls on their own threads, released together; results in call order."""
    results: list = [None] * len(calls)
    barrier = threading.Barrier(len(calls))

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()
        except Exception as error:  # a transport failure must fail the test, not hang it
            results[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


@pytest.fixture
def shop(live_api):
    owner = live_api.signup("박사장")
    opened = live_api.post("/shops", {"name": "망원동 두부가게", "handle": f"race_{uuid.uuid4().hex[:10]}"},
                           token=owner["token"])
    assert opened.status == 201, opened.body
    return {"token": owner["token"], "id": opened.body["shop_id"]}


def new_product(live_api, shop, stock: int, price: int = 4500) -> str:
    reply = live_api.post(f"/shops/{shop['id']}/products",
                          {"name": "손두부", "price": price, "stock": stock, "kind": "essential", "reorder_days": 7},
                          token=shop["token"])
    assert reply.status == 201, reply.body
    return reply.body["product_id"]


def order(live_api, token: str, shop_id: str, lines: list[tuple[str, int]], key: str | None = None):
    return live_api.post("/orders", {"shop_id": shop_id, "items": [{"product_id": p, "quantity": q} for p, q in lines]},
                         token=token, headers={"Idempotency-Key": key or str(uuid.uuid4())})


def shop_orders(live_api, shop) -> list[dict]:
    reply = live_api.get(f"/shops/{shop['id']}/orders?limit=100", token=shop["token"])
    assert reply.status == 200 and reply.body["next_cursor"] is None
    return reply.body["items"]


def stock_of(live_api, product_id: str) -> int:
    return live_api.get(f"/products/{product_id}").body["stock"]


def test_fifty_buyers_race_for_ten_units(live_api, shop):
    initial = 10
    pid = new_product(live_api, shop, stock=initial)
    buyers = [live_api.signup() for _ in range(50)]
    replies = race([lambda b=b: order(live_api, b["token"], shop["id"], [(pid, 1)]) for b in buyers])
    statuses = Counter(r.status for r in replies)
    assert statuses == {201: 10, 409: 40}, (statuses, [r for r in replies if not hasattr(r, "status")])
    for reply in replies:
        if reply.status == 409:
            assert reply.body["type"].endswith("/out-of-stock")
            assert (reply.body["product_id"], reply.body["available"], reply.body["requested"]) == (pid, 0, 1)
    remaining = stock_of(live_api, pid)
    sold = sum(line["quantity"] for o in shop_orders(live_api, shop) for line in o["items"])
    assert (len(shop_orders(live_api, shop)), remaining, sold) == (10, 0, 10)
    assert sold + remaining == initial
    winners = {r.body["buyer_id"] for r in replies if r.status == 201}
    assert len(winners) == 10


def test_two_lines_of_one_product_race_as_one_quantity(live_api, shop):
    pid = new_product(live_api, shop, stock=5)
    buyers = [live_api.signup() for _ in range(10)]
    replies = race([lambda b=b: order(live_api, b["token"], shop["id"], [(pid, 2), (pid, 1)]) for b in buyers])
    assert Counter(r.status for r in replies) == {201: 1, 409: 9}
    won = next(r.body for r in replies if r.status == 201)
    assert [(line["product_id"], line["quantity"]) for line in won["items"]] == [(pid, 3)]
    assert all(r.body["requested"] == 3 and r.body["available"] == 2 for r in replies if r.status == 409)
    assert stock_of(live_api, pid) == 2


def test_a_retry_racing_its_original_buys_once(live_api, shop):
    pid = new_product(live_api, shop, stock=10)
    buyer = live_api.signup()
    replies = race([lambda: order(live_api, buyer["token"], shop["id"], [(pid, 2)], key="double-tap")
                    for _ in range(8)])
    assert {r.status for r in replies} == {201}
    assert len({r.body["order_id"] for r in replies}) == 1
    assert stock_of(live_api, pid) == 8
    assert len(live_api.get("/me/orders", token=buyer["token"]).body["items"]) == 1


def test_cancel_racing_ship_has_exactly_one_winner_and_stock_stays_true(live_api, shop):
    initial = 30
    pid = new_product(live_api, shop, stock=initial)
    buyer = live_api.signup()
    placed = []
    for _ in range(12):
        reply = order(live_api, buyer["token"], shop["id"], [(pid, 2)])
        assert reply.status == 201
        paid = live_api.post(f"/orders/{reply.body['order_id']}/status", {"status": "paid"}, token=shop["token"])
        assert paid.status == 200
        placed.append(reply.body["order_id"])

    def move(order_id: str, status: str):
        return live_api.post(f"/orders/{order_id}/status", {"status": status}, token=shop["token"])

    calls = []
    for oid in placed:
        calls += [lambda o=oid: move(o, "shipped"), lambda o=oid: move(o, "cancelled")]
    replies = race(calls)
    outcomes = Counter()
    for i, oid in enumerate(placed):
        ship, cancel = replies[2 * i], replies[2 * i + 1]
        assert sorted((ship.status, cancel.status)) == [200, 409], (ship.body, cancel.body)
        winner = "shipped" if ship.status == 200 else "cancelled"
        loser = cancel if winner == "shipped" else ship
        assert loser.body["order_status"] == winner
        final = live_api.get(f"/orders/{oid}", token=shop["token"]).body
        assert final["status"] == winner
        assert [h["status"] for h in final["history"]] == ["pending_payment", "paid", winner]
        outcomes[winner] += 1
    shipped_units = 2 * outcomes["shipped"]
    assert stock_of(live_api, pid) == initial - shipped_units
    assert sum(outcomes.values()) == len(placed)


def test_buyer_cancel_racing_owner_payment_has_one_winner(live_api, shop):
    pid = new_product(live_api, shop, stock=20)
    buyer = live_api.signup()
    ids = []
    for _ in range(8):
        reply = order(live_api, buyer["token"], shop["id"], [(pid, 1)])
        assert reply.status == 201
        ids.append(reply.body["order_id"])
    calls = []
    for oid in ids:
        calls += [lambda o=oid: live_api.post(f"/orders/{o}/status", {"status": "paid"}, token=shop["token"]),
                  lambda o=oid: live_api.post(f"/orders/{o}/status", {"status": "cancelled"}, token=buyer["token"])]
    replies = race(calls)
    cancelled = 0
    for i, oid in enumerate(ids):
        pay, cancel = replies[2 * i], replies[2 * i + 1]
        # A buyer may cancel a paid order before it ships (the money is then owed back), so
        # both can succeed, in that order. Otherwise the loser is 409: the cancel read the
        # order unpaid and its conditional write met the payment, or the payment met the cancel.
        assert (pay.status, cancel.status) in {(200, 200), (200, 409), (409, 200)}, (pay.body, cancel.body)
        cancelled += cancel.status == 200
        final = live_api.get(f"/orders/{oid}", token=buyer["token"]).body
        assert final["status"] == ("cancelled" if cancel.status == 200 else "paid")
        if pay.status == 200 and cancel.status == 200:  # paid, then cancelled: the transfer is owed back
            assert (final["refund"]["status"], final["refund"]["amount"]) == ("pending", final["total"]), final
    assert stock_of(live_api, pid) == 20 - len(ids) + cancelled
