"""My reorders: the order stream keeps a "due at" item per (customer, product); the list is one Query.

GIVEN orders placed, paid and cancelled through the API (and their stream records, delivered
again and out of turn), WHEN the customer asks for their reorders later, THEN the essentials due
are listed soonest first from their latest standing (paid) purchase, and one tap reorders them.
"""

from __future__ import annotations

import uuid

import pytest

from chalicelib.events.stream import dispatch
from chalicelib.storage.models.orders import ORDER, OrderItem, order_pk
from chalicelib.storage.models.subscriptions import ReorderItem, reorder_pk, reorder_sk
from chalicelib.wiring import container
from devtools.callcount import dynamodb_calls
from tests.api.commerce import advance, make_product, pay, placed
from tests.api.conftest import assert_problem, real_dynamodb_only
from tests.api.essentials_kit import DAY, T0, Clock, install_inbox


@pytest.fixture
def shop(api, monkeypatch):
    clock = Clock(monkeypatch)
    install_inbox(monkeypatch)
    owner = api.signup(name="박두부")
    owner = {**owner, "shop": api.open_shop(owner["token"], name="망원동 두부가게")}
    products = {
        "tofu": make_product(api, owner, name="손두부 (500g)", price=4500, reorder_days=7),
        "soymilk": make_product(api, owner, name="콩물 (1L)", price=6000, reorder_days=3),
        "oil": make_product(api, owner, name="들기름", price=18000, kind="treat", reorder_days=None),
    }
    customer = api.signup(name="김민지")
    return {"api": api, "clock": clock, "owner": owner, "products": products, "customer": customer}


def pid(shop, name: str) -> str:
    return shop["products"][name]["product_id"]


def login(api, account: dict) -> str:
    answer = api.post("/auth/login", {"email": account["email"], "password": account["password"]})
    assert answer.status == 200
    account["token"] = answer.body["token"]
    return account["token"]


def reorders(shop, at: float, query: str = "") -> list[dict]:
    shop["clock"].now = at
    answer = shop["api"].get(f"/me/reorders{query}", token=login(shop["api"], shop["customer"]))
    assert answer.status == 200, answer.body
    return answer.body["items"]


def order_at(shop, at: float, *lines: tuple[str, int], paid: bool = True) -> dict:
    """An order placed at ``at`` and (unless ``paid=False``) paid by the owner at that moment."""
    shop["clock"].now = at
    login(shop["api"], shop["customer"])
    order = placed(shop["api"], shop["customer"], shop["owner"]["shop"]["shop_id"],
                   *((pid(shop, name), q) for name, q in lines))
    if not paid:
        return order
    login(shop["api"], shop["owner"])
    return pay(shop["api"], shop["owner"], order["order_id"])


def cancel(shop, order: dict) -> None:
    login(shop["api"], shop["owner"])
    advance(shop["api"], shop["owner"], order["order_id"], "cancelled")


def stored(shop, name: str) -> ReorderItem:
    return ReorderItem.get(reorder_pk(shop["customer"]["user"]["user_id"]), reorder_sk(pid(shop, name)),
                           consistent_read=True)


def stream_record(event: str, order_id: str, old: dict | None = None) -> dict:
    """A Lambda stream record of the order as stored now (``old``: the image before)."""
    new = OrderItem.get(order_pk(order_id), ORDER, consistent_read=True).serialize()
    data = {"NewImage": new, "SequenceNumber": str(uuid.uuid4().int)[:20], "ApproximateCreationDateTime": T0}
    if old is not None:
        data["OldImage"] = old
    return {"eventID": uuid.uuid4().hex, "eventName": event, "dynamodb": data}


def test_essentials_come_due_soonest_first_and_one_tap_reorders(shop, drain_stream):
    first = order_at(shop, T0, ("tofu", 2), ("soymilk", 1), ("oil", 1))
    drain_stream()
    assert reorders(shop, T0 + 2 * DAY) == []  # nothing has run out yet
    due = reorders(shop, T0 + 8 * DAY)
    assert [(d["name"], d["due_at"], d["overdue_days"]) for d in due] == [
        ("콩물 (1L)", "2026-12-04T00:00:00.000Z", 5.0), ("손두부 (500g)", "2026-12-08T00:00:00.000Z", 1.0)]
    tofu = due[1]
    assert (tofu["product_id"], tofu["shop_id"], tofu["shop_name"], tofu["last_order_id"], tofu["reorder_days"]) == (
        pid(shop, "tofu"), shop["owner"]["shop"]["shop_id"], "망원동 두부가게", first["order_id"], 7)
    assert tofu["last_bought_at"] == "2026-12-01T00:00:00.000Z"
    tap = shop["api"].post(f"/orders/{tofu['last_order_id']}/reorder", token=shop["customer"]["token"],
                           headers={"Idempotency-Key": str(uuid.uuid4())})
    assert tap.status == 201 and tap.body["reorder_of"] == first["order_id"]
    drain_stream()
    assert len(reorders(shop, T0 + 8 * DAY)) == 2  # reordered, not paid yet: still due
    login(shop["api"], shop["owner"])
    pay(shop["api"], shop["owner"], tap.body["order_id"])
    drain_stream()
    assert reorders(shop, T0 + 8 * DAY) == []  # bought again just now: nothing due
    with dynamodb_calls() as calls:
        reorders(shop, T0 + 12 * DAY)
    assert calls.operations.count("Query") == 1 and "Scan" not in calls.operations


def test_a_cancellation_restores_the_purchase_before(shop, drain_stream):
    first = order_at(shop, T0, ("tofu", 1))
    second = order_at(shop, T0 + 5 * DAY, ("tofu", 1))
    drain_stream()
    assert reorders(shop, T0 + 9 * DAY) == []  # due on 12-13, from the second order
    cancel(shop, second)  # a paid order cancelled: a refund
    drain_stream()
    due = reorders(shop, T0 + 9 * DAY)
    assert [(d["last_order_id"], d["due_at"]) for d in due] == [(first["order_id"], "2026-12-08T00:00:00.000Z")]
    cancel(shop, first)
    drain_stream()
    assert reorders(shop, T0 + 30 * DAY) == []  # no standing purchase left
    assert stored(shop, "tofu").gsi1pk is None  # out of the index


def test_replays_and_records_out_of_turn_change_nothing(shop, drain_stream):
    order = order_at(shop, T0, ("tofu", 1), ("soymilk", 2), paid=False)
    unpaid_image = OrderItem.get(order_pk(order["order_id"]), ORDER, consistent_read=True).serialize()
    login(shop["api"], shop["owner"])
    pay(shop["api"], shop["owner"], order["order_id"])
    paid_record = stream_record("MODIFY", order["order_id"], old=unpaid_image)
    drain_stream()
    before = stored(shop, "tofu")
    assert dispatch([paid_record]) == []  # delivered again
    assert stored(shop, "tofu").version == before.version
    old_image = OrderItem.get(order_pk(order["order_id"]), ORDER, consistent_read=True).serialize()
    cancel(shop, order)
    cancelled_record = stream_record("MODIFY", order["order_id"], old=old_image)
    drain_stream()
    after_cancel = stored(shop, "tofu")
    for record in (cancelled_record, paid_record, cancelled_record):  # again, and the payment late
        assert dispatch([record]) == []
    assert stored(shop, "tofu").version == after_cancel.version
    assert reorders(shop, T0 + 30 * DAY) == []


def test_an_unpaid_order_is_no_purchase_and_leaves_nothing(shop, drain_stream):
    waiting = order_at(shop, T0, ("tofu", 1), paid=False)
    dropped = order_at(shop, T0 + DAY, ("soymilk", 1), paid=False)
    drain_stream()
    assert reorders(shop, T0 + 20 * DAY) == []  # placed, never paid: not bought
    login(shop["api"], shop["customer"])
    advance(shop["api"], shop["customer"], dropped["order_id"], "cancelled")  # cancelled unpaid
    drain_stream()
    user_id = shop["customer"]["user"]["user_id"]
    for name in ("tofu", "soymilk"):
        with pytest.raises(ReorderItem.DoesNotExist):
            ReorderItem.get(reorder_pk(user_id), reorder_sk(pid(shop, name)), consistent_read=True)
    shop["clock"].now = T0 + 2 * DAY
    login(shop["api"], shop["owner"])
    pay(shop["api"], shop["owner"], waiting["order_id"])  # paid late: bought now, due 7 days on
    drain_stream()
    [due] = reorders(shop, T0 + 9 * DAY)
    assert (due["last_order_id"], due["last_bought_at"]) == (waiting["order_id"], "2026-12-03T00:00:00.000Z")


def test_the_list_pages_and_belongs_to_its_reader(shop, drain_stream, api):
    order_at(shop, T0, ("tofu", 1), ("soymilk", 1))
    drain_stream()
    shop["clock"].now = T0 + 10 * DAY
    first = shop["api"].get("/me/reorders?limit=1", token=login(api, shop["customer"]))
    assert len(first.body["items"]) == 1 and first.body["next_cursor"]
    rest = shop["api"].get(f"/me/reorders?limit=1&cursor={first.body['next_cursor']}",
                           token=shop["customer"]["token"]).body
    assert [d["name"] for d in first.body["items"] + rest["items"]] == ["콩물 (1L)", "손두부 (500g)"]
    stranger = api.signup()
    assert_problem(api.get(f"/me/reorders?cursor={first.body['next_cursor']}", token=stranger["token"]), 400)
    assert api.get("/me/reorders", token=stranger["token"]).body["items"] == []
    assert_problem(api.get("/me/reorders?limit=0", token=stranger["token"]), 422)


@real_dynamodb_only
def test_orders_of_one_customer_on_two_shards_at_once_both_count(shop):
    """Two orders' records handled concurrently (two shards): both purchases are kept."""
    import threading

    one = order_at(shop, T0, ("tofu", 1))
    two = order_at(shop, T0 + DAY, ("tofu", 1))
    records = [stream_record("INSERT", one["order_id"]), stream_record("INSERT", two["order_id"])]  # paid already
    # Forget what the poller may have done: start from no item.
    ReorderItem(reorder_pk(shop["customer"]["user"]["user_id"]), reorder_sk(pid(shop, "tofu"))).delete()
    barrier = threading.Barrier(2)
    results = []

    def handle(record):
        barrier.wait()
        results.append(dispatch([record]))

    threads = [threading.Thread(target=handle, args=(r,)) for r in records]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == [[], []]
    item = stored(shop, "tofu")
    assert sorted(p["order_id"] for p in item.purchases) == sorted([one["order_id"], two["order_id"]])
    assert container().reorders.due(shop["customer"]["user"]["user_id"], T0 + 30 * DAY, None, 10).items[0].latest \
        .order_id == two["order_id"]
