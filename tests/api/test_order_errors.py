"""Bad input on the commerce routes: a clear problem+json 4xx, nothing written, never a 500."""

from __future__ import annotations

import pytest

from tests.api.commerce import buy, make_product, order_body, stock
from tests.api.conftest import assert_problem


@pytest.fixture
def shop(api, owner):
    tofu = make_product(api, owner, name="손두부", price=4500, stock=10)
    return {**owner, "id": owner["shop"]["shop_id"], "tofu": tofu["product_id"]}


def nothing_written(api, shop, user):
    assert stock(api, shop["tofu"]) == 10
    assert api.get("/me/orders", token=user["token"]).body["items"] == []


def test_missing_idempotency_key_is_400(api, shop, user):
    answer = api.post("/orders", order_body(shop["id"], (shop["tofu"], 1)), token=user["token"])
    problem = assert_problem(answer, 400)
    assert "Idempotency-Key" in problem["detail"]
    nothing_written(api, shop, user)


@pytest.mark.parametrize("key", ["   ", "has space", "x" * 256, "한글키"])
def test_malformed_idempotency_key_is_400(api, shop, user, key):
    answer = api.post("/orders", order_body(shop["id"], (shop["tofu"], 1)), token=user["token"],
                      headers={"Idempotency-Key": key})
    assert_problem(answer, 400)
    nothing_written(api, shop, user)


@pytest.mark.parametrize("quantity", [0, -1, 1000, 10**9, 10**30, "1", 1.5, 1000.0, True, None])
def test_bad_quantities_are_422(api, shop, user, quantity):
    problem = assert_problem(buy(api, user, shop["id"], (shop["tofu"], quantity)), 422)
    assert problem["errors"][0]["field"].startswith("body.items.0.quantity")
    nothing_written(api, shop, user)


def test_merged_quantity_over_999_is_422(api, shop, user):
    problem = assert_problem(buy(api, user, shop["id"], (shop["tofu"], 600), (shop["tofu"], 600)), 422)
    assert problem["errors"][0]["field"] == "body.items"
    nothing_written(api, shop, user)


def test_unknown_product_is_422(api, shop, user):
    problem = assert_problem(buy(api, user, shop["id"], (shop["tofu"], 1), ("01JDQ7ZK3M8X2V5N4P6R9T0W1Y", 1)), 422)
    assert "01JDQ7ZK3M8X2V5N4P6R9T0W1Y" in problem["errors"][0]["message"]
    nothing_written(api, shop, user)


def test_product_of_another_shop_is_422(api, shop, user):
    other = api.signup()
    other["shop"] = api.open_shop(other["token"])
    foreign = make_product(api, other, stock=5)
    problem = assert_problem(buy(api, user, shop["id"], (shop["tofu"], 1), (foreign["product_id"], 1)), 422)
    assert foreign["product_id"] in problem["errors"][0]["message"]
    assert stock(api, foreign["product_id"]) == 5
    nothing_written(api, shop, user)


def test_unknown_shop_is_422(api, shop, user):
    problem = assert_problem(buy(api, user, "01JDQ7ZK3M8X2V5N4P6R9T0W1Y", (shop["tofu"], 1)), 422)
    assert problem["errors"][0]["field"] == "body.shop_id"
    nothing_written(api, shop, user)


def test_100_distinct_items_is_422(api, shop, user):
    lines = [(shop["tofu"], 1)] + [(f"01JDQ7ZK3M8X2V5N4P6R9T{i:04d}", 1) for i in range(99)]
    problem = assert_problem(buy(api, user, shop["id"], *lines), 422)
    assert "at most 40 different products" in problem["detail"]
    assert_problem(buy(api, user, shop["id"], *(lines + [(shop["tofu"], 1)])), 422)  # 101 lines: schema
    nothing_written(api, shop, user)


def test_forty_products_is_the_largest_order(api, owner, user):
    shop_id = owner["shop"]["shop_id"]
    made = [make_product(api, owner, kind="treat", reorder_days=None, price=1000 + i, stock=2)["product_id"]
            for i in range(41)]
    answer = buy(api, user, shop_id, *[(pid, 1) for pid in made[:40]])
    assert answer.status == 201 and len(answer.body["items"]) == 40
    assert answer.body["total"] == sum(1000 + i for i in range(40))
    assert_problem(buy(api, user, shop_id, *[(pid, 1) for pid in made]), 422)
    assert [stock(api, pid) for pid in (made[0], made[39], made[40])] == [1, 1, 2]


@pytest.mark.parametrize("body", [
    {}, {"shop_id": "S"}, {"items": []}, {"shop_id": "S", "items": []}, {"shop_id": "S", "items": {}},
    {"shop_id": "S", "items": [{"quantity": 1}]}, {"shop_id": "S", "items": [{"product_id": "P"}]},
    {"shop_id": "S", "items": [{"product_id": "has space", "quantity": 1}]},
    {"shop_id": "S", "items": [{"product_id": "P", "quantity": 1, "discount": 100}]},
    {"shop_id": "S", "items": [{"product_id": "P", "quantity": 1}], "total": 1},
    {"shop_id": "S", "items": [{"product_id": "P", "quantity": 1}], "via_post_id": "../../etc"},
    {"shop_id": "x" * 65, "items": [{"product_id": "P", "quantity": 1}]},
])
def test_malformed_order_bodies_are_422(api, shop, user, body):
    answer = api.post("/orders", body, token=user["token"], headers={"Idempotency-Key": "malformed"})
    assert_problem(answer, 422)
    nothing_written(api, shop, user)


def test_malformed_json_and_huge_body(api, shop, user):
    headers = {"Idempotency-Key": "raw"}
    assert_problem(api.call("POST", "/orders", raw='{"shop_id": ', token=user["token"], headers=headers), 400)
    huge = {"shop_id": shop["id"], "items": [{"product_id": shop["tofu"], "quantity": 1, "price": 1}] * 100,
            "via_post_id": None, "note": "가" * 70_000}
    answer = api.post("/orders", huge, token=user["token"], headers=headers)
    assert answer.status in (413, 422) and answer.content_type.startswith("application/problem+json")
    nothing_written(api, shop, user)


def test_bad_review_bodies_are_422(api, shop, user):
    from tests.api.commerce import advance, placed

    order = placed(api, user, shop["id"], (shop["tofu"], 1))
    advance(api, shop, order["order_id"], "paid", "shipped", "delivered")
    path = f"/orders/{order['order_id']}/review"
    for body in ({}, {"rating": 0}, {"rating": 6}, {"rating": 4.5}, {"rating": "5"}, {"rating": 5, "text": "가" * 1001},
                 {"rating": 5, "user_id": "someone"}):
        assert_problem(api.post(path, body, token=user["token"]), 422)
    assert api.get(f"/products/{shop['tofu']}/reviews").body["rating_count"] == 0


def test_ids_that_cannot_exist_are_404(api, user):
    for path in ("/orders/" + "A" * 100, "/orders/%F0%9F%98%80", "/products/" + "B" * 65):
        assert_problem(api.get(path, token=user["token"]), 404)
