"""Orders placed from a post: ``via_post_id`` is checked inside the placing transaction.

The check is a ConditionCheck on the post (exists, and is the order's shop's), which
PynamoDB sends before the puts and updates: these tests also make sure every other
cancellation (out of stock, a product edited meanwhile, a retried key) is still read
from the right item.
"""

from __future__ import annotations

import uuid

import boto3
import pytest

from devtools.callcount import dynamodb_calls
from tests.api.commerce import buy, make_product, placed, stock
from tests.api.conftest import TOKEN_CHECK, assert_problem, create_post

NEVER_POSTED = "01JDQ7ZK3M8X2V5N4P6R9T0W1Y"


@pytest.fixture
def shop(api, owner):
    tofu = make_product(api, owner, name="손두부", price=4500, stock=10)
    flowers = make_product(api, owner, name="꽃다발", price=25000, stock=3, kind="treat", reorder_days=None)
    post = create_post(api, owner, "손두부와 꽃다발", product_ids=[tofu["product_id"], flowers["product_id"]])
    return {**owner, "id": owner["shop"]["shop_id"], "tofu": tofu["product_id"], "flowers": flowers["product_id"],
            "post": post["post_id"]}


@pytest.fixture
def catalog_cache():
    from chalicelib.wiring import container

    cache = container().orders.cache
    cache.clear()
    yield cache
    cache.clear()


def _nothing_ordered(api, shop, user) -> bool:
    return (api.get("/me/orders", token=user["token"]).body["items"] == []
            and (stock(api, shop["tofu"]), stock(api, shop["flowers"])) == (10, 3))


def _rivals_post(api) -> str:
    rival = api.signup(name="이사장")
    rival = {**rival, "shop": api.open_shop(rival["token"], name="옆집 두부")}
    return create_post(api, rival, "옆집 두부 신상")["post_id"]


def test_an_order_from_the_shops_post_records_it_with_no_extra_call(api, shop, user, catalog_cache):
    with dynamodb_calls() as calls:
        order = placed(api, user, shop["id"], (shop["tofu"], 2), via_post_id=shop["post"])
    assert calls.operations == TOKEN_CHECK + ["BatchGetItem", "TransactWriteItems"]
    assert order["via_post_id"] == shop["post"] and order["total"] == 9000
    with dynamodb_calls() as calls:  # a warm container: the buyer's own items read, then the transaction
        placed(api, user, shop["id"], (shop["tofu"], 1), via_post_id=shop["post"])
    assert calls.operations == TOKEN_CHECK + ["BatchGetItem", "TransactWriteItems"]
    assert stock(api, shop["tofu"]) == 7


@pytest.mark.parametrize("which", ["another shop's post", "a deleted post", "an id never posted"])
def test_a_post_that_is_not_the_shops_is_422_on_via_post_id_and_nothing_is_written(api, shop, user, which):
    if which == "another shop's post":
        via = _rivals_post(api)
    elif which == "a deleted post":
        via = create_post(api, shop, "곧 지울 글")["post_id"]
        assert api.delete(f"/posts/{via}", token=shop["token"]).status == 204
    else:
        via = NEVER_POSTED
    key = str(uuid.uuid4())
    problem = assert_problem(buy(api, user, shop["id"], (shop["tofu"], 1), (shop["flowers"], 1), key=key,
                                 via_post_id=via), 422)
    assert [e["field"] for e in problem["errors"]] == ["body.via_post_id"]
    assert _nothing_ordered(api, shop, user)
    # The key wrote nothing: it can be used again, for the order from the right post.
    again = buy(api, user, shop["id"], (shop["tofu"], 1), (shop["flowers"], 1), key=key, via_post_id=shop["post"])
    assert again.status == 201 and "Idempotent-Replayed" not in again.headers


@pytest.mark.parametrize("short", ["tofu", "flowers"])
def test_out_of_stock_from_a_valid_post_is_409_naming_the_product(api, shop, user, short):
    lines = {"tofu": (shop["tofu"], 11 if short == "tofu" else 1),
             "flowers": (shop["flowers"], 4 if short == "flowers" else 1)}
    problem = assert_problem(buy(api, user, shop["id"], lines["tofu"], lines["flowers"], via_post_id=shop["post"]),
                             409)
    expected = {"tofu": ("손두부", 11, 10), "flowers": ("꽃다발", 4, 3)}[short]
    assert (problem["product_id"], problem["name"], problem["requested"], problem["available"]) == (
        shop[short], *expected)
    assert [s["product_id"] for s in problem["shortages"]] == [shop[short]]
    assert _nothing_ordered(api, shop, user)


def test_out_of_stock_and_a_foreign_post_is_the_post_first(api, shop, user):
    problem = assert_problem(buy(api, user, shop["id"], (shop["flowers"], 4), via_post_id=NEVER_POSTED), 422)
    assert [e["field"] for e in problem["errors"]] == ["body.via_post_id"]


def test_a_retry_gets_its_first_answer_even_after_the_post_is_deleted(api, shop, user):
    key = str(uuid.uuid4())
    first = buy(api, user, shop["id"], (shop["flowers"], 3), key=key, via_post_id=shop["post"])
    assert first.status == 201
    assert api.delete(f"/posts/{shop['post']}", token=shop["token"]).status == 204
    again = buy(api, user, shop["id"], (shop["flowers"], 3), key=key, via_post_id=shop["post"])  # shelf empty too
    assert again.status == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.body == first.body
    assert stock(api, shop["flowers"]) == 0


def test_a_product_edited_meanwhile_is_priced_again_with_the_post_check(api, aws_backend, shop, user,
                                                                        catalog_cache):
    from chalicelib.wiring import container

    placed(api, user, shop["id"], (shop["tofu"], 1), via_post_id=shop["post"])  # caches the tofu at 4,500
    settings = container().settings
    boto3.client("dynamodb", region_name=settings.region, endpoint_url=aws_backend).update_item(
        TableName=settings.table_name, Key={"pk": {"S": f"PRODUCT#{shop['tofu']}"}, "sk": {"S": "PRODUCT"}},
        UpdateExpression="SET price = :p, updated_at = :t",
        ExpressionAttributeValues={":p": {"N": "5200"}, ":t": {"N": "1900000000.5"}})
    with dynamodb_calls() as calls:
        order = placed(api, user, shop["id"], (shop["tofu"], 2), via_post_id=shop["post"])
    # the buyer's items, the transaction cancelled, then priced again
    assert calls.operations == TOKEN_CHECK + ["BatchGetItem", "TransactWriteItems", "TransactWriteItems"]
    assert order["total"] == 10400 and stock(api, shop["tofu"]) == 10 - 3
