"""StreamPoller against moto: Lambda's event shape, ordering, positions and error handling."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from devtools.stream_poller import StreamPoller, StreamPollerError, load_handler

TABLE = "poller-test"
REGION = "us-east-1"


class Recorder:
    """A stream handler that keeps every event it is given."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.contexts: list[Any] = []

    def __call__(self, event: dict[str, Any], context: Any) -> None:
        self.events.append(event)
        self.contexts.append(context)

    @property
    def records(self) -> list[dict[str, Any]]:
        return [record for event in self.events for record in event["Records"]]


@pytest.fixture
def clients(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any]]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        # botocore sends stream calls for an ARN with an account id to
        # https://<account>.streams-ddb.<region>.amazonaws.com, which moto does not
        # intercept (404 "Not yet implemented"); the classic endpoint it does.
        streams = boto3.client("dynamodbstreams", region_name=REGION,
                               config=Config(account_id_endpoint_mode="disabled"))
        try:
            yield dynamodb, streams
        finally:
            # When the API suite's session-wide mock is active, this mock shares its state.
            dynamodb.delete_table(TableName=TABLE)


def make_poller(clients: tuple[Any, Any], handler: Any, **kwargs: Any) -> StreamPoller:
    return StreamPoller(clients[0], clients[1], TABLE, handler, **kwargs)


def put(dynamodb: Any, pk: str, **attrs: dict[str, Any]) -> None:
    dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": pk}, **attrs})


def test_insert_modify_remove_have_lambda_event_shape(clients: tuple[Any, Any]) -> None:
    dynamodb, _ = clients
    handler = Recorder()
    poller = make_poller(clients, handler)
    put(dynamodb, "a", n={"N": "1"}, blob={"B": b"\x00\x01"})
    dynamodb.update_item(TableName=TABLE, Key={"pk": {"S": "a"}}, UpdateExpression="SET n = :n",
                         ExpressionAttributeValues={":n": {"N": "2"}})
    dynamodb.delete_item(TableName=TABLE, Key={"pk": {"S": "a"}})

    assert poller.drain() == 3

    stream_arn = dynamodb.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    insert, modify, remove = handler.records
    assert [r["eventName"] for r in handler.records] == ["INSERT", "MODIFY", "REMOVE"]
    for record in handler.records:
        assert set(record) == {"eventID", "eventName", "eventVersion", "eventSource", "awsRegion",
                               "dynamodb", "eventSourceARN"}
        assert record["eventVersion"] == "1.1"
        assert record["eventSource"] == "aws:dynamodb"
        assert record["awsRegion"] == REGION
        assert record["eventSourceARN"] == stream_arn
        assert record["dynamodb"]["Keys"] == {"pk": {"S": "a"}}
        assert record["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], (int, float))
        assert isinstance(record["dynamodb"]["SequenceNumber"], str)
        assert isinstance(record["dynamodb"]["SizeBytes"], int)
    blob = base64.b64encode(b"\x00\x01").decode()  # Lambda's JSON carries binaries as base64
    assert insert["dynamodb"]["NewImage"] == {"pk": {"S": "a"}, "n": {"N": "1"}, "blob": {"B": blob}}
    assert "OldImage" not in insert["dynamodb"]
    assert modify["dynamodb"]["OldImage"]["n"] == {"N": "1"}
    assert modify["dynamodb"]["NewImage"]["n"] == {"N": "2"}
    assert remove["dynamodb"]["OldImage"]["n"] == {"N": "2"}
    assert "NewImage" not in remove["dynamodb"]
    sequence = [int(r["dynamodb"]["SequenceNumber"]) for r in handler.records]
    assert sequence == sorted(sequence)
    assert handler.contexts[0].aws_request_id and handler.contexts[0].function_name


def test_drain_resumes_where_it_left_off(clients: tuple[Any, Any]) -> None:
    dynamodb, _ = clients
    handler = Recorder()
    poller = make_poller(clients, handler)
    assert poller.drain() == 0
    put(dynamodb, "a")
    assert poller.drain() == 1
    assert poller.drain() == 0
    put(dynamodb, "b")
    put(dynamodb, "c")
    assert poller.drain() == 2
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in handler.records] == ["a", "b", "c"]


def test_one_handler_call_per_batch(clients: tuple[Any, Any]) -> None:
    dynamodb, _ = clients
    handler = Recorder()
    for pk in "abcde":
        put(dynamodb, pk)
    assert make_poller(clients, handler, batch_size=2).drain() == 5
    assert [len(event["Records"]) for event in handler.events] == [2, 2, 1]


def test_latest_skips_what_was_written_before(clients: tuple[Any, Any]) -> None:
    dynamodb, _ = clients
    handler = Recorder()
    put(dynamodb, "old")
    poller = make_poller(clients, handler, start_at="LATEST")
    assert poller.drain() == 0
    put(dynamodb, "new")
    assert poller.drain() == 1
    assert handler.records[0]["dynamodb"]["Keys"] == {"pk": {"S": "new"}}


def test_failed_batch_is_delivered_again_by_next_drain(clients: tuple[Any, Any]) -> None:
    dynamodb, _ = clients
    seen: list[str] = []

    def flaky(event: dict[str, Any], context: Any) -> None:
        seen.extend(r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"])
        if len(seen) == 2:
            raise RuntimeError("boom")

    poller = make_poller(clients, flaky, batch_size=1)
    put(dynamodb, "a")
    put(dynamodb, "b")
    with pytest.raises(RuntimeError, match="boom"):
        poller.drain()
    assert poller.drain() == 1
    assert seen == ["a", "b", "b"]


class ExpiringStreams:
    """Wraps a streams client; every iterator handed out before ``expire()`` then fails as expired."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.expired: set[str] = set()
        self.issued: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def expire(self) -> None:
        self.expired |= self.issued

    def get_shard_iterator(self, **kwargs: Any) -> dict[str, Any]:
        response = self.client.get_shard_iterator(**kwargs)
        self.issued.add(response["ShardIterator"])
        return response

    def get_records(self, **kwargs: Any) -> dict[str, Any]:
        if kwargs["ShardIterator"] in self.expired:
            raise ClientError({"Error": {"Code": "ExpiredIteratorException", "Message": "expired"}}, "GetRecords")
        response = self.client.get_records(**kwargs)
        self.issued.add(response["NextShardIterator"])
        return response


def test_expired_iterator_resumes_after_last_record(clients: tuple[Any, Any]) -> None:
    dynamodb, streams = clients
    handler = Recorder()
    expiring = ExpiringStreams(streams)
    poller = StreamPoller(dynamodb, expiring, TABLE, handler)
    put(dynamodb, "a")
    assert poller.drain() == 1
    expiring.expire()
    put(dynamodb, "b")
    assert poller.drain() == 1
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in handler.records] == ["a", "b"]


def test_run_forever_retries_then_skips_a_poisoned_batch(clients: tuple[Any, Any]) -> None:
    dynamodb, _ = clients
    attempts: list[str] = []
    done = threading.Event()

    def handler(event: dict[str, Any], context: Any) -> None:
        pk = event["Records"][0]["dynamodb"]["Keys"]["pk"]["S"]
        attempts.append(pk)
        if pk == "poison":
            raise ValueError("cannot handle this one")
        done.set()

    put(dynamodb, "poison")
    put(dynamodb, "fine")
    poller = make_poller(clients, handler, batch_size=1, max_attempts=3, retry_delay=0)
    stop = threading.Event()
    thread = threading.Thread(target=poller.run_forever, kwargs={"interval": 0.01, "stop_event": stop})
    thread.start()
    try:
        assert done.wait(10)
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert attempts == ["poison", "poison", "poison", "fine"]


def test_table_without_stream_is_an_error(clients: tuple[Any, Any]) -> None:
    dynamodb, streams = clients
    dynamodb.create_table(
        TableName="no-stream",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    with pytest.raises(StreamPollerError, match="no stream"):
        StreamPoller(dynamodb, streams, "no-stream", Recorder()).drain()


def test_load_handler_imports_module_attribute() -> None:
    assert load_handler("json:dumps")({"a": 1}) == '{"a": 1}'
    with pytest.raises(ValueError):
        load_handler("json.dumps")


def test_chalice_stream_handler_reads_the_events(clients: tuple[Any, Any]) -> None:
    """The app's handlers are Chalice ``on_dynamodb_record`` functions; they must parse what we send."""
    from chalice import Chalice

    app = Chalice(app_name="poller-test")
    seen: list[tuple[str, str, Any]] = []

    @app.on_dynamodb_record(stream_arn="arn:aws:dynamodb:us-east-1:123456789012:table/x/stream/label")
    def handle(event: Any) -> None:
        seen.extend((record.event_name, record.table_name, record.new_image) for record in event)

    put(clients[0], "a")
    assert make_poller(clients, handle).drain() == 1
    assert seen == [("INSERT", TABLE, {"pk": {"S": "a"}})]
