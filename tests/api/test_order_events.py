"""The order events later steps consume: the JSON fixtures document the contract, and the
items the API really writes (and the stream really carries) have exactly their shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.api.commerce import advance, make_product, placed
from tests.api.conftest import create_post, real_dynamodb_only

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ORDER_CONTRACT = {"order_id", "shop_id", "buyer_id", "status", "subtotal", "discount", "total", "created_at",
                  "updated_at", "items", "history"}
OPTIONAL = {"via_post_id", "via_store_link", "reorder_of", "review_id"}  # absent when null
LINE_CONTRACT = {"product_id", "name", "price", "quantity", "kind"}  # + reorder_days for essentials
REVIEW_CONTRACT = {"review_id", "order_id", "product_id", "product_ids", "shop_id", "user_id", "rating", "created_at"}


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def image(name: str, which: str = "NewImage") -> dict:
    return fixture(name)["Records"][0]["dynamodb"][which]


def shape(raw: dict) -> dict:
    """Attribute names and DynamoDB types (recursively for maps and lists of maps), not values."""
    out = {}
    for name, value in raw.items():
        (kind, inner), = value.items()
        if kind == "M":
            out[name] = ("M", shape(inner))
        elif kind == "L":
            out[name] = ("L", sorted({json.dumps(shape(v["M"]), sort_keys=True) if "M" in v else next(iter(v))
                                      for v in inner}))
        else:
            out[name] = kind
    return out


def test_fixtures_carry_the_contract():
    insert = image("order_insert")
    assert fixture("order_insert")["Records"][0]["eventName"] == "INSERT"
    assert insert["entity"] == {"S": "order"} and ORDER_CONTRACT <= set(insert)
    assert insert["status"] == {"S": "pending_payment"} and insert["created_at"] == insert["updated_at"]
    for line in insert["items"]["L"]:
        assert LINE_CONTRACT <= set(line["M"])
    assert {line["M"]["kind"]["S"] for line in insert["items"]["L"]} == {"essential", "treat"}
    for name, before, after in (("order_paid", "pending_payment", "paid"), ("order_cancelled", "paid", "cancelled")):
        record = fixture(name)["Records"][0]
        assert record["eventName"] == "MODIFY"
        old, new = record["dynamodb"]["OldImage"], record["dynamodb"]["NewImage"]
        assert (old["status"]["S"], new["status"]["S"]) == (before, after)
        assert new["history"]["L"][-1]["M"]["status"]["S"] == after
        assert len(new["history"]["L"]) == len(old["history"]["L"]) + 1
        assert new["created_at"] == old["created_at"] and new["items"] == old["items"]
    review = image("review_insert")
    assert review["entity"] == {"S": "review"} and REVIEW_CONTRACT <= set(review)


def test_fixtures_route_by_entity_and_dispatch_cleanly():
    from chalicelib.events.stream import dispatch
    from chalicelib.storage.stream import decode

    for name, entity in (("order_insert", "order"), ("order_paid", "order"), ("order_cancelled", "order"),
                         ("review_insert", "review")):
        records = fixture(name)["Records"]
        assert decode(records[0]).entity == entity
        assert dispatch(records) == []  # every record handled: no failure to report


def _raw_item(aws_backend, pk: str, sk: str) -> dict:
    import boto3

    from chalicelib.wiring import container

    settings = container().settings
    client = boto3.client("dynamodb", region_name=settings.region, endpoint_url=aws_backend)
    return client.get_item(TableName=settings.table_name, Key={"pk": {"S": pk}, "sk": {"S": sk}},
                           ConsistentRead=True)["Item"]


@pytest.fixture
def story(api, owner, user):
    """An order with an essential and a treat, from a post; paid, then cancelled."""
    shop_id = owner["shop"]["shop_id"]
    tofu = make_product(api, owner, name="손두부", kind="essential", reorder_days=7)
    oil = make_product(api, owner, name="들기름", kind="treat", reorder_days=None, price=12000)
    post = create_post(api, owner, "손두부와 들기름", product_ids=[tofu["product_id"], oil["product_id"]])
    order = placed(api, user, shop_id, (tofu["product_id"], 2), (oil["product_id"], 1), via_post_id=post["post_id"])
    return {"owner": owner, "user": user, "order": order, "tofu": tofu, "oil": oil}


def test_stored_order_has_the_fixture_shape(api, aws_backend, story):
    oid = story["order"]["order_id"]
    assert shape(_raw_item(aws_backend, f"ORDER#{oid}", "ORDER")) == shape(image("order_insert"))
    advance(api, story["owner"], oid, "paid")
    assert shape(_raw_item(aws_backend, f"ORDER#{oid}", "ORDER")) == shape(image("order_paid"))
    advance(api, story["owner"], oid, "cancelled")
    assert shape(_raw_item(aws_backend, f"ORDER#{oid}", "ORDER")) == shape(image("order_cancelled"))


@real_dynamodb_only
def test_the_stream_carries_insert_paid_cancelled(api, aws_backend, story):
    import boto3

    from chalicelib.wiring import container
    from devtools.stream_poller import StreamPoller

    settings = container().settings
    kwargs = {"region_name": settings.region, "endpoint_url": aws_backend}
    seen: list[dict] = []
    poller = StreamPoller(boto3.client("dynamodb", **kwargs), boto3.client("dynamodbstreams", **kwargs),
                          settings.table_name, lambda event, context: seen.extend(event["Records"]))
    oid = story["order"]["order_id"]
    advance(api, story["owner"], oid, "paid", "cancelled")
    poller.drain()
    mine = [r for r in seen if r["dynamodb"]["Keys"]["pk"]["S"] == f"ORDER#{oid}"]
    assert [r["eventName"] for r in mine] == ["INSERT", "MODIFY", "MODIFY"]
    for record, name in zip(mine, ("order_insert", "order_paid", "order_cancelled")):
        expected = fixture(name)["Records"][0]
        assert shape(record["dynamodb"]["NewImage"]) == shape(expected["dynamodb"]["NewImage"])
        assert set(record["dynamodb"]) == set(expected["dynamodb"])
        assert set(record) == set(expected)
