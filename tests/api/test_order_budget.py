"""DynamoDB calls per commerce request (ENGINEERING.md §4: an order is 1 read + 1 TransactWriteItems).

The read is one BatchGetItem: the shop and products when the container's cache does not hold
them, and always the buyer's remembered store link and first-purchase slot for the shop (per
buyer, never cached), so a warm order too is BatchGetItem + TransactWriteItems."""

from __future__ import annotations

import pytest

from devtools.callcount import dynamodb_calls
from tests.api.conftest import TOKEN_CHECK
from tests.api.commerce import advance, buy, make_product, placed


@pytest.fixture
def catalog_cache():
    from chalicelib.wiring import container

    cache = container().orders.cache
    yield cache
    cache.clear()


def test_placing_an_order_is_one_batch_read_and_one_transaction(api, owner, user, catalog_cache):
    shop_id = owner["shop"]["shop_id"]
    products = [make_product(api, owner)["product_id"] for _ in range(3)]
    catalog_cache.clear()
    with dynamodb_calls() as calls:
        first = buy(api, user, shop_id, *[(pid, 1) for pid in products], key="budget")
    assert first.status == 201
    assert calls.operations == TOKEN_CHECK + ["BatchGetItem", "TransactWriteItems"]
    with dynamodb_calls() as calls:  # a retry: the stored answer comes back with the cancellation
        again = buy(api, user, shop_id, *[(pid, 1) for pid in products], key="budget")
    assert again.status == 201 and again.body == first.body
    assert calls.operations == TOKEN_CHECK + ["BatchGetItem", "TransactWriteItems"]  # the buyer's items only


def test_a_warm_container_orders_with_one_transaction(api, owner, user, catalog_cache):
    shop_id = owner["shop"]["shop_id"]
    pid = make_product(api, owner, price=4500)["product_id"]
    placed(api, user, shop_id, (pid, 1))
    with dynamodb_calls() as calls:
        order = placed(api, user, shop_id, (pid, 2))
    assert calls.operations == TOKEN_CHECK + ["BatchGetItem", "TransactWriteItems"] and order["total"] == 9000


def test_a_product_edited_elsewhere_is_priced_again_never_charged_stale(api, aws_backend, owner, user,
                                                                         catalog_cache):
    """Another container (here: a direct write) changes the price; this container's cached copy
    fails the transaction's version check and the order is priced from the current item."""
    import boto3

    from chalicelib.wiring import container

    shop_id = owner["shop"]["shop_id"]
    pid = make_product(api, owner, price=4500)["product_id"]
    placed(api, user, shop_id, (pid, 1))  # warms the cache at 4,500
    settings = container().settings
    boto3.client("dynamodb", region_name=settings.region, endpoint_url=aws_backend).update_item(
        TableName=settings.table_name, Key={"pk": {"S": f"PRODUCT#{pid}"}, "sk": {"S": "PRODUCT"}},
        UpdateExpression="SET price = :p, updated_at = :t",
        ExpressionAttributeValues={":p": {"N": "5200"}, ":t": {"N": "1900000000.5"}})
    with dynamodb_calls() as calls:
        order = placed(api, user, shop_id, (pid, 2))
    # the buyer's items, the transaction cancelled, then priced again
    assert calls.operations == TOKEN_CHECK + ["BatchGetItem", "TransactWriteItems", "TransactWriteItems"]
    assert order["items"][0]["price"] == 5200 and order["total"] == 10400
    assert api.get(f"/products/{pid}").body["stock"] == 20 - 3
    with dynamodb_calls() as calls:
        assert placed(api, user, shop_id, (pid, 1))["total"] == 5200
    assert calls.operations == TOKEN_CHECK + ["BatchGetItem", "TransactWriteItems"]


def test_cached_entries_expire(api, owner, user, catalog_cache, monkeypatch):
    shop_id = owner["shop"]["shop_id"]
    pid = make_product(api, owner)["product_id"]
    placed(api, user, shop_id, (pid, 1))
    later = catalog_cache._clock() + catalog_cache.ttl_seconds + 1
    monkeypatch.setattr(catalog_cache, "_clock", lambda: later)
    with dynamodb_calls() as calls:
        placed(api, user, shop_id, (pid, 1))
    assert calls.operations == TOKEN_CHECK + ["BatchGetItem", "TransactWriteItems"]


def test_order_reads_and_moves(api, owner, user):
    pid = make_product(api, owner)["product_id"]
    order = placed(api, user, owner["shop"]["shop_id"], (pid, 1))
    path = f"/orders/{order['order_id']}"
    with dynamodb_calls() as calls:
        api.get(path, token=user["token"])
    assert calls.operations == TOKEN_CHECK + ["GetItem"]
    with dynamodb_calls() as calls:
        advance(api, owner, order["order_id"], "paid")
    assert calls.operations == TOKEN_CHECK + ["GetItem", "TransactWriteItems"]  # with the first-purchase slot
    with dynamodb_calls() as calls:
        advance(api, owner, order["order_id"], "cancelled")
    assert calls.operations == TOKEN_CHECK + ["GetItem", "TransactWriteItems"]
    with dynamodb_calls() as calls:
        api.get("/me/orders", token=user["token"])
    assert calls.operations == TOKEN_CHECK + ["Query"]


def test_product_reads(api, owner):
    pid = make_product(api, owner)["product_id"]
    with dynamodb_calls() as calls:
        api.get(f"/products/{pid}")
    assert calls.operations == ["GetItem"]
    with dynamodb_calls() as calls:
        api.get(f"/products/{pid}/reviews")
    assert calls.operations == ["GetItem", "Query"]


def test_an_order_with_a_coupon_and_a_perk_is_still_one_batch_read_and_one_transaction(api, owner, user,
                                                                                       catalog_cache):
    """The holding, the coupon and the buyer's relationship pair (the regular perk) are three more
    keys of the same BatchGetItem; using the coupon is two more items of the same transaction."""
    from chalicelib import clock
    from chalicelib.ids import iso
    from chalicelib.wiring import container

    shop_id = owner["shop"]["shop_id"]
    assert api.patch(f"/shops/{shop_id}", {"regular_perk": {"kind": "percent", "value": 5}},
                     token=owner["token"]).status == 200
    pid = make_product(api, owner, price=4500)["product_id"]
    made = api.post(f"/shops/{shop_id}/coupons", {"name": "쿠폰", "kind": "fixed", "value": 1000,
                                                   "ends_at": iso(clock.now() + 86_400), "max_redemptions": 5},
                    token=owner["token"]).body
    container().coupons.grant(container().coupons.get_coupon(made["coupon_id"]), user["user"]["user_id"], clock.now())
    for warm in (False, True):
        if not warm:
            catalog_cache.clear()
        with dynamodb_calls() as calls:
            order = buy(api, user, shop_id, (pid, 1), coupon_id=made["coupon_id"])
        assert order.status == 201, order.body
        assert calls.operations == TOKEN_CHECK + ["BatchGetItem", "TransactWriteItems"]
        with dynamodb_calls() as calls:
            advance(api, owner, order.body["order_id"], "cancelled")  # the coupon comes back with the stock
        assert calls.operations == TOKEN_CHECK + ["GetItem", "TransactWriteItems"]
