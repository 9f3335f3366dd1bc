"""DynamoDB calls per commerce request (ENGINEERING.md §4: an order is 1 read + 1 TransactWriteItems)."""

from __future__ import annotations

from devtools.callcount import dynamodb_calls
from tests.api.commerce import advance, buy, make_product, placed


def test_placing_an_order_is_one_batch_read_and_one_transaction(api, owner, user):
    shop_id = owner["shop"]["shop_id"]
    products = [make_product(api, owner)["product_id"] for _ in range(3)]
    with dynamodb_calls() as calls:
        first = buy(api, user, shop_id, *[(pid, 1) for pid in products], key="budget")
    assert first.status == 201
    assert calls.operations == ["BatchGetItem", "TransactWriteItems"]
    with dynamodb_calls() as calls:  # a retry costs the same: the stored answer comes back with the cancellation
        again = buy(api, user, shop_id, *[(pid, 1) for pid in products], key="budget")
    assert again.status == 201 and again.body == first.body
    assert calls.operations == ["BatchGetItem", "TransactWriteItems"]


def test_order_reads_and_moves(api, owner, user):
    pid = make_product(api, owner)["product_id"]
    order = placed(api, user, owner["shop"]["shop_id"], (pid, 1))
    path = f"/orders/{order['order_id']}"
    with dynamodb_calls() as calls:
        api.get(path, token=user["token"])
    assert calls.operations == ["GetItem"]
    with dynamodb_calls() as calls:
        advance(api, owner, order["order_id"], "paid")
    assert calls.operations == ["GetItem", "UpdateItem"]
    with dynamodb_calls() as calls:
        advance(api, owner, order["order_id"], "cancelled")
    assert calls.operations == ["GetItem", "TransactWriteItems"]
    with dynamodb_calls() as calls:
        api.get("/me/orders", token=user["token"])
    assert calls.operations == ["Query"]


def test_product_reads(api, owner):
    pid = make_product(api, owner)["product_id"]
    with dynamodb_calls() as calls:
        api.get(f"/products/{pid}")
    assert calls.operations == ["GetItem"]
    with dynamodb_calls() as calls:
        api.get(f"/products/{pid}/reviews")
    assert calls.operations == ["GetItem", "Query"]
