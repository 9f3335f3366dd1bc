"""The moto test backend's faster Query (tests/moto_queries.py) answers exactly as moto's own.

The same random table is queried with and without the patch: on the table's key and on an index,
forwards and backwards, with key conditions, filters, limits and every page."""

from __future__ import annotations

import random

import boto3
import pytest
from moto import mock_aws

from tests import moto_queries

PARTITIONS = ("A", "B", "C")


def _table(client) -> None:
    client.create_table(
        TableName="t", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": name, "AttributeType": kind}
                              for name, kind in (("pk", "S"), ("sk", "S"), ("g", "S"), ("gs", "S"), ("n", "N"))],
        GlobalSecondaryIndexes=[
            {"IndexName": "gsi", "Projection": {"ProjectionType": "ALL"},
             "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}, {"AttributeName": "gs", "KeyType": "RANGE"}]},
            {"IndexName": "num", "Projection": {"ProjectionType": "KEYS_ONLY"},
             "KeySchema": [{"AttributeName": "n", "KeyType": "HASH"}]},
        ])
    rng = random.Random(7)
    for i in range(300):
        item = {"pk": {"S": rng.choice(PARTITIONS)}, "sk": {"S": f"{rng.randrange(60):03d}#{i}"},
                "v": {"N": str(rng.randrange(5))}}
        if rng.random() < 0.8:  # some items are not in the index
            item["g"] = {"S": rng.choice(PARTITIONS)}
            item["gs"] = {"S": f"{rng.randrange(9)}"}  # repeated index keys: ties broken by the table's key
        if rng.random() < 0.5:
            item["n"] = {"N": str(rng.randrange(3))}
        client.put_item(TableName="t", Item=item)


def _every_page(client, **query) -> list:
    pages, start = [], None
    while True:
        answer = client.query(TableName="t", **query, **({"ExclusiveStartKey": start} if start else {}))
        pages.append((answer["Items"], answer.get("Count"), answer.get("ScannedCount")))
        start = answer.get("LastEvaluatedKey")
        if not start:
            return pages


QUERIES = [
    {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "A"}}},
    {"KeyConditionExpression": "pk = :p AND sk BETWEEN :a AND :b", "Limit": 7, "ScanIndexForward": False,
     "ExpressionAttributeValues": {":p": {"S": "B"}, ":a": {"S": "010"}, ":b": {"S": "040"}}},
    {"IndexName": "gsi", "KeyConditionExpression": "g = :g", "Limit": 11,
     "ExpressionAttributeValues": {":g": {"S": "C"}}},
    {"IndexName": "gsi", "KeyConditionExpression": "g = :g AND begins_with(gs, :s)", "ScanIndexForward": False,
     "Limit": 5, "FilterExpression": "v > :v",
     "ExpressionAttributeValues": {":g": {"S": "A"}, ":s": {"S": "3"}, ":v": {"N": "1"}}},
    {"IndexName": "num", "KeyConditionExpression": "n = :n", "Limit": 13,
     "ExpressionAttributeValues": {":n": {"N": "1"}}},
    {"IndexName": "gsi", "KeyConditionExpression": "g = :g", "ExpressionAttributeValues": {":g": {"S": "none"}}},
]


@pytest.fixture(scope="module")
def client():
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        _table(client)
        yield client


@pytest.mark.parametrize("query", QUERIES, ids=range(len(QUERIES)))
def test_the_patched_query_answers_as_motos_own(client, query):
    moto_queries.uninstall()
    try:
        expected = _every_page(client, **query)
    finally:
        moto_queries.install()
    assert _every_page(client, **query) == expected
    assert sum(len(items) for items, _, _ in expected) > 0 or query["ExpressionAttributeValues"].get(
        ":g") == {"S": "none"}
