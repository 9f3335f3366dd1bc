"""The moto test backend's faster answers (tests/moto_serialize.py) are byte for byte moto's own.

Every kind of attribute value, nested and at its edges, is written by moto's serializer with and
without the patch, in a GetItem, a Query and a stream read; then whole calls are made both ways
against a moto table with a stream."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core.serialize import BaseJSONSerializer, XFormedAttributePicker, get_serializer_class
from moto.core.utils import get_service_model

from tests import moto_serialize

VALUES: list[Any] = [
    {"S": "손두부"}, {"S": ""}, {"N": "4500"}, {"N": "-1.5e3"}, {"BOOL": False}, {"BOOL": True},
    {"NULL": True}, {"SS": ["a", "b"]}, {"NS": ["1", "2"]}, {"M": {}}, {"L": []},
    {"M": {"a": {"S": "x"}, "b": {"L": [{"N": "1"}, {"M": {"c": {"NULL": True}}}]}}},
    {"L": [{"S": "x"}, {"SS": ["y"]}, {"BOOL": False}]},
    # Not plain: these go through moto's own code.
    {"B": b"\x00\xff"}, {"B": "AP8="}, {"BS": [b"x"]}, {"N": 7}, {"M": {"a": {"B": b"x"}}},
    {"L": [{"S": "x"}, {"B": b"y"}]}, {"S": "x", "N": "1"},
]


def _serialize(service: str, operation: str, result: dict) -> str:
    model = get_service_model(service)
    operation_model = model.operation_model(operation)
    serializer = get_serializer_class(service, model.protocol)(
        operation_model=operation_model, pretty_print=False,
        value_picker=XFormedAttributePicker(response_transformers=None))
    return serializer.serialize(result)["body"]


@contextmanager
def serializer(fast: bool) -> Iterator[None]:
    """moto's own serializer, or the patched one, whichever the test session has installed."""
    before = BaseJSONSerializer._serialize
    BaseJSONSerializer._serialize = moto_serialize._serialize if fast else moto_serialize._original_serialize
    try:
        yield
    finally:
        BaseJSONSerializer._serialize = before


def _both(service: str, operation: str, result: dict) -> tuple[str, str]:
    with serializer(fast=False):
        original = _serialize(service, operation, result)
    with serializer(fast=True):
        fast = _serialize(service, operation, result)
    return original, fast


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_each_kind_of_value_is_written_as_moto_writes_it(value):
    item = {"pk": {"S": "A"}, "v": value}
    for service, operation, result in (
        ("dynamodb", "GetItem", {"Item": item}),
        ("dynamodb", "Query", {"Items": [item, item], "Count": 2, "ScannedCount": 2,
                               "LastEvaluatedKey": {"pk": {"S": "A"}}}),
        ("dynamodbstreams", "GetRecords", {"Records": [{
            "eventID": "1", "eventName": "MODIFY", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1", "dynamodb": {"Keys": {"pk": {"S": "A"}}, "NewImage": item, "OldImage": item,
                                                   "SequenceNumber": "1", "SizeBytes": 10,
                                                   "StreamViewType": "NEW_AND_OLD_IMAGES"}}],
            "NextShardIterator": "it"}),
    ):
        original, fast = _both(service, operation, result)
        assert fast == original, (service, operation)


def test_plain_copies_only_plain_values():
    assert moto_serialize.plain({"M": {"a": {"L": [{"N": "1"}]}}}) == {"M": {"a": {"L": [{"N": "1"}]}}}
    for value in ({"B": b"x"}, {"N": 1}, {"S": "x", "N": "1"}, {"SS": []}, {"X": "y"}, "S"):
        assert moto_serialize.plain(value) is None


def _calls(table: str) -> list[Any]:
    """Items of every kind written to a new table, then read back by each call the app makes."""
    client = boto3.client("dynamodb", region_name="ap-northeast-2")
    # botocore derives an account-specific Streams host from the stream ARN, which moto does not
    # intercept; the classic regional host it does (as in tests/api/conftest.py).
    streams = boto3.client("dynamodbstreams", region_name="ap-northeast-2",
                           endpoint_url="https://streams.dynamodb.ap-northeast-2.amazonaws.com")
    client.create_table(
        TableName=table, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "S"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    rng = random.Random(3)
    for i in range(40):
        item = {"pk": {"S": rng.choice("AB")}, "sk": {"S": f"{i:03d}"}, "v": rng.choice(VALUES[:13]),
                "w": {"M": {"x": rng.choice(VALUES[:13]), "b": {"B": bytes([i])}}}}
        client.put_item(TableName=table, Item=item)
    client.update_item(TableName=table, Key={"pk": {"S": "A"}, "sk": {"S": "000"}},
                       UpdateExpression="SET n = :n", ExpressionAttributeValues={":n": {"N": "3"}})
    stream = client.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=stream)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=stream, ShardId=shard,
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator, Limit=100)["Records"]
    for record in records:  # what differs between two runs: ids, sequence numbers, sizes, the time
        record.pop("eventID")
        for key in ("ApproximateCreationDateTime", "SequenceNumber", "SizeBytes"):
            record["dynamodb"].pop(key, None)
    return [
        client.query(TableName=table, KeyConditionExpression="pk = :p",
                     ExpressionAttributeValues={":p": {"S": "A"}})["Items"],
        client.scan(TableName=table)["Items"],
        client.get_item(TableName=table, Key={"pk": {"S": "B"}, "sk": {"S": "001"}}).get("Item"),
        client.batch_get_item(RequestItems={table: {"Keys": [{"pk": {"S": p}, "sk": {"S": f"{i:03d}"}}
                                                           for p in "AB" for i in range(5)]}})["Responses"][table],
        records,
    ]


def test_whole_calls_answer_as_moto_answers():
    with mock_aws():  # (inside the test session's own mock, if there is one: new tables each time)
        with serializer(fast=False):
            original = _calls(f"t-{uuid.uuid4().hex}")
        with serializer(fast=True):
            fast = _calls(f"t-{uuid.uuid4().hex}")
    assert fast == original
    assert len(original[-1]) == 41
