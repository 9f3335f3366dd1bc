"""Products through the HTTP API: owner-only writes, public reads, strict money."""

from __future__ import annotations

import pytest

from tests.api.commerce import make_product, product_body
from tests.api.conftest import assert_problem, upload_photo


def test_create_and_read_a_product(api, owner):
    body = product_body(name="손두부 (500g)", price=4500, stock=30, kind="essential", reorder_days=7)
    answer = api.post(f"/shops/{owner['shop']['shop_id']}/products", body, token=owner["token"])
    assert answer.status == 201
    product = answer.body
    assert product["name"] == "손두부 (500g)" and product["price"] == 4500 and product["currency"] == "KRW"
    assert product["stock"] == 30 and product["kind"] == "essential" and product["reorder_days"] == 7
    assert product["rating_count"] == 0 and product["rating_average"] is None and product["photos"] == []
    assert api.get(f"/products/{product['product_id']}").body == product


def test_only_the_owner_adds_products(api, owner, user):
    shop_id = owner["shop"]["shop_id"]
    assert_problem(api.post(f"/shops/{shop_id}/products", product_body(), token=user["token"]), 403)
    assert_problem(api.post("/shops/NOSUCHSHOP/products", product_body(), token=owner["token"]), 404)
    assert api.post(f"/shops/{shop_id}/products", product_body()).status == 401
    assert api.get(f"/shops/{shop_id}/products").body["items"] == []


def test_shop_products_newest_first_with_signed_cursor(api, owner):
    shop_id = owner["shop"]["shop_id"]
    made = [make_product(api, owner)["product_id"] for _ in range(5)]
    first = api.get(f"/shops/{shop_id}/products?limit=2")
    assert first.status == 200 and [p["product_id"] for p in first.body["items"]] == made[::-1][:2]
    seen = [p["product_id"] for p in first.body["items"]]
    cursor = first.body["next_cursor"]
    while cursor:
        page = api.get(f"/shops/{shop_id}/products?limit=2&cursor={cursor}").body
        seen += [p["product_id"] for p in page["items"]]
        cursor = page["next_cursor"]
    assert seen == made[::-1]
    other = api.signup()
    other_shop = api.open_shop(other["token"])
    assert_problem(api.get(f"/shops/{other_shop['shop_id']}/products?cursor={first.body['next_cursor']}"), 400)
    assert_problem(api.get("/shops/NOSUCHSHOP/products"), 404)


def test_a_whole_number_written_with_a_fraction_is_that_integer(api, owner):
    # JSON has one number type (and JSON Schema calls 4500.0 an integer): 4500.0 is 4500 won
    answer = api.post(f"/shops/{owner['shop']['shop_id']}/products", {**product_body(), "price": 4500.0, "stock": 3.0},
                      token=owner["token"])
    assert answer.status == 201 and (answer.body["price"], answer.body["stock"]) == (4500, 3)
    assert b'"price":4500,' in answer.raw


@pytest.mark.parametrize("field,value", [
    ("price", -1), ("price", 0), ("price", 10_000_001), ("price", "4500"), ("price", 0.0), ("price", 45.5),
    ("price", True), ("price", None), ("stock", -1), ("stock", 10**9), ("stock", "3"), ("kind", "luxury"),
    ("reorder_days", 0), ("reorder_days", 366), ("currency", "USD"), ("name", ""), ("name", "가" * 101),
    ("description", "가" * 2001), ("photos", ["not/an/upload.jpg"]), ("photos", "uploads/x/y.jpg"),
    ("rating_count", 100), ("owner_id", "x"),
])
def test_bad_product_fields_are_422_and_nothing_is_written(api, owner, field, value):
    shop_id = owner["shop"]["shop_id"]
    answer = api.post(f"/shops/{shop_id}/products", {**product_body(), field: value}, token=owner["token"])
    problem = assert_problem(answer, 422)
    assert any(e["field"].startswith(f"body.{field}") for e in problem["errors"]), problem
    assert api.get(f"/shops/{shop_id}/products").body["items"] == []


def test_essential_needs_reorder_days_and_treat_has_none(api, owner):
    shop_id = owner["shop"]["shop_id"]
    problem = assert_problem(api.post(f"/shops/{shop_id}/products", product_body(reorder_days=...),
                                      token=owner["token"]), 422)
    assert problem["errors"][0]["field"] == "body.reorder_days"
    assert_problem(api.post(f"/shops/{shop_id}/products", product_body(kind="treat", reorder_days=3),
                            token=owner["token"]), 422)
    treat = make_product(api, owner, kind="treat", reorder_days=None, name="꽃다발")
    assert treat["reorder_days"] is None


def test_photos_are_the_owners_uploads(api, owner):
    uid = owner["user"]["user_id"]
    mine = [upload_photo(api, owner["token"]), upload_photo(api, owner["token"])]
    product = make_product(api, owner, photos=mine)
    assert product["photos"] == mine
    shop_id = owner["shop"]["shop_id"]
    for bad in (["uploads/SOMEONEELSE/x.jpg"], [f"uploads/{uid}/../x.jpg"], [mine[0]] * 11):
        assert_problem(api.post(f"/shops/{shop_id}/products", product_body(photos=bad), token=owner["token"]), 422)
    # a key of the owner's own prefix and form that was never uploaded: refused, as a post refuses it
    never = f"uploads/{uid}/01JDQ80A1B2C3D4E5F6G7H8J9K.jpg"
    created = api.post(f"/shops/{shop_id}/products", product_body(photos=[never]), token=owner["token"])
    assert [(e["field"], e["code"]) for e in assert_problem(created, 422)["errors"]] == [
        ("body.photos.0", "not_uploaded")]
    edited = api.patch(f"/products/{product['product_id']}", {"photos": [mine[1], never]}, token=owner["token"])
    assert [(e["field"], e["code"]) for e in assert_problem(edited, 422)["errors"]] == [
        ("body.photos.1", "not_uploaded")]
    assert api.get(f"/products/{product['product_id']}").body["photos"] == mine


def test_owner_edits_others_get_403(api, owner, user):
    product = make_product(api, owner, price=4500)
    pid = product["product_id"]
    edited = api.patch(f"/products/{pid}", {"price": 5000, "description": "가격 조정"}, token=owner["token"])
    assert edited.status == 200 and edited.body["price"] == 5000 and edited.body["description"] == "가격 조정"
    assert edited.body["name"] == product["name"] and edited.body["stock"] == product["stock"]
    assert_problem(api.patch(f"/products/{pid}", {"price": 1}, token=user["token"]), 403)
    assert_problem(api.patch("/products/NOSUCHPRODUCT", {"price": 1}, token=owner["token"]), 404)
    assert api.get(f"/products/{pid}").body["price"] == 5000


def test_edit_rejects_nulls_unknown_fields_and_bad_kinds(api, owner):
    pid = make_product(api, owner)["product_id"]
    for body in ({"name": None}, {"price": None}, {"rating_sum": 50}, {"shop_id": "x"}, {"price": -5}):
        assert_problem(api.patch(f"/products/{pid}", body, token=owner["token"]), 422)
    assert_problem(api.patch(f"/products/{pid}", {"reorder_days": None}, token=owner["token"]), 422)
    treat = api.patch(f"/products/{pid}", {"kind": "treat"}, token=owner["token"])
    assert treat.status == 200 and treat.body["kind"] == "treat" and treat.body["reorder_days"] is None
    assert_problem(api.patch(f"/products/{pid}", {"kind": "essential"}, token=owner["token"]), 422)
    back = api.patch(f"/products/{pid}", {"kind": "essential", "reorder_days": 14}, token=owner["token"])
    assert back.status == 200 and back.body["reorder_days"] == 14
    assert api.get(f"/products/{pid}").body["reorder_days"] == 14


def test_stock_edit_that_raced_an_order_is_409(api, owner, monkeypatch):
    from dataclasses import replace

    from chalicelib.services import products

    pid = make_product(api, owner, stock=10)["product_id"]
    real = products.get_product
    # The edit is decided on a read that an order has since made stale.
    monkeypatch.setattr(products, "get_product", lambda store, product_id: replace(real(store, product_id), stock=12))
    problem = assert_problem(api.patch(f"/products/{pid}", {"stock": 50}, token=owner["token"]), 409)
    assert problem["stock"] == 10
    monkeypatch.undo()
    assert api.get(f"/products/{pid}").body["stock"] == 10
    assert api.patch(f"/products/{pid}", {"stock": 50}, token=owner["token"]).body["stock"] == 50


def test_resolve_products_for_posts(api, owner):
    """The service step 2's posts call: the shop's own products only, as a feed shows them."""
    from chalicelib.wiring import container
    from chalicelib.errors import Invalid
    from chalicelib.services.products import resolve_products

    shop_id = owner["shop"]["shop_id"]
    tofu = make_product(api, owner, name="손두부", price=4500, photos=[upload_photo(api, owner["token"])])
    other_owner = api.signup()
    other_owner["shop"] = api.open_shop(other_owner["token"])
    foreign = make_product(api, other_owner)
    summaries = resolve_products(container().products, shop_id, [tofu["product_id"]])
    assert [(s.product_id, s.name, s.price, s.currency, s.photo) for s in summaries] == [
        (tofu["product_id"], "손두부", 4500, "KRW", tofu["photos"][0])]
    with pytest.raises(Invalid) as error:
        resolve_products(container().products, shop_id, [tofu["product_id"], foreign["product_id"], "UNKNOWN"])
    assert [p.field for p in error.value.errors] == ["body.product_ids.1", "body.product_ids.2"]
