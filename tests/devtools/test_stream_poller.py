"""StreamPoller against moto: Lambda's event shape, ordering, saved positions, partial batch responses,
retries and the failure file."""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from devtools.stream_poller import BatchItemFailures, StreamPoller, StreamPollerError, load_handler

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


# --- positions on disk ---------------------------------------------------------------------


def keys_of(events: list[dict[str, Any]]) -> list[str]:
    return [r["dynamodb"]["Keys"]["pk"]["S"] for event in events for r in event["Records"]]


def test_a_new_poller_resumes_after_the_saved_position(clients: tuple[Any, Any], tmp_path) -> None:
    dynamodb, _ = clients
    positions = tmp_path / "positions.json"
    first = Recorder()
    put(dynamodb, "a")
    put(dynamodb, "b")
    assert make_poller(clients, first, positions=positions).drain() == 2

    saved = json.loads(positions.read_text())
    stream_arn = dynamodb.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    assert list(saved["streams"]) == [stream_arn]
    entry = saved["streams"][stream_arn]
    assert entry["table"] == TABLE and entry["delivered"] == 2 and entry["skipped"] == 0
    [sequence] = entry["shards"].values()
    assert sequence == first.records[-1]["dynamodb"]["SequenceNumber"]
    assert [p.name for p in tmp_path.iterdir()] == ["positions.json"]  # no temporary file left

    put(dynamodb, "c")
    second = Recorder()
    restarted = make_poller(clients, second, positions=positions)  # a restart: nothing in memory
    assert restarted.drain() == 1
    assert keys_of(second.events) == ["c"]
    assert json.loads(positions.read_text())["streams"][stream_arn]["delivered"] == 3


def test_a_saved_position_wins_over_latest_and_new_shards_start_at_their_start(clients: tuple[Any, Any],
                                                                            tmp_path) -> None:
    dynamodb, _ = clients
    positions = tmp_path / "positions.json"
    put(dynamodb, "a")
    make_poller(clients, Recorder(), positions=positions).drain()
    put(dynamodb, "b")
    handler = Recorder()
    assert make_poller(clients, handler, positions=positions, start_at="LATEST").drain() == 1
    assert keys_of(handler.events) == ["b"]


def test_a_recreated_table_is_read_from_the_start_and_logged_once(clients: tuple[Any, Any], tmp_path,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    dynamodb, _ = clients
    positions = tmp_path / "positions.json"
    put(dynamodb, "a")
    put(dynamodb, "b")
    make_poller(clients, Recorder(), positions=positions).drain()
    old_arn = dynamodb.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    dynamodb.delete_table(TableName=TABLE)
    dynamodb.create_table(
        TableName=TABLE, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    new_arn = dynamodb.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    if new_arn == old_arn:  # moto labels streams with the creation time, to the millisecond
        pytest.skip("the re-created table got the same stream ARN")
    put(dynamodb, "x")
    handler = Recorder()
    poller = make_poller(clients, handler, positions=positions)
    with caplog.at_level(logging.WARNING, logger="devtools.stream_poller"):
        assert poller.drain() == 1
        assert poller.drain() == 0
    assert keys_of(handler.events) == ["x"]
    assert len([r for r in caplog.records if "re-created" in r.getMessage()]) == 1
    assert list(json.loads(positions.read_text())["streams"]) == [new_arn]  # the old stream is forgotten


class TrimmingStreams(ExpiringStreams):
    """Every iterator asked for after a sequence number fails as trimmed (a position past retention)."""

    def get_shard_iterator(self, **kwargs: Any) -> dict[str, Any]:
        if kwargs["ShardIteratorType"] == "AFTER_SEQUENCE_NUMBER":
            raise ClientError({"Error": {"Code": "TrimmedDataAccessException", "Message": "trimmed"}},
                              "GetShardIterator")
        return super().get_shard_iterator(**kwargs)


def test_a_trimmed_position_falls_back_to_the_oldest_record(clients: tuple[Any, Any], tmp_path,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    dynamodb, streams = clients
    positions = tmp_path / "positions.json"
    put(dynamodb, "a")
    make_poller(clients, Recorder(), positions=positions).drain()
    put(dynamodb, "b")
    handler = Recorder()
    with caplog.at_level(logging.WARNING, logger="devtools.stream_poller"):
        assert StreamPoller(dynamodb, TrimmingStreams(streams), TABLE, handler, positions=positions).drain() == 2
    assert keys_of(handler.events) == ["a", "b"]
    assert len([r for r in caplog.records if "no longer readable" in r.getMessage()]) == 1


def test_a_saved_shard_that_is_gone_is_logged_and_the_others_read(clients: tuple[Any, Any], tmp_path,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    dynamodb, _ = clients
    positions = tmp_path / "positions.json"
    put(dynamodb, "a")
    make_poller(clients, Recorder(), positions=positions).drain()
    saved = json.loads(positions.read_text())
    entry = next(iter(saved["streams"].values()))
    entry["shards"]["shardId-gone"] = entry["shards"].pop(next(iter(entry["shards"])))
    positions.write_text(json.dumps(saved))
    handler = Recorder()
    with caplog.at_level(logging.WARNING, logger="devtools.stream_poller"):
        assert make_poller(clients, handler, positions=positions).drain() == 1  # the live shard, from its start
    assert [r for r in caplog.records if "shardId-gone" in r.getMessage()]


def test_an_unreadable_position_file_is_ignored_with_a_warning(clients: tuple[Any, Any], tmp_path,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    positions = tmp_path / "positions.json"
    positions.write_text("{not json")
    put(clients[0], "a")
    with caplog.at_level(logging.WARNING, logger="devtools.stream_poller"):
        assert make_poller(clients, Recorder(), positions=positions).drain() == 1
    assert "unreadable" in caplog.text
    assert json.loads(positions.read_text())["streams"]


# --- partial batch responses, retries, the failure file -------------------------------------


class Reporting:
    """A handler answering like ours: it stops at the first key in ``bad`` and reports that record."""

    def __init__(self, bad: set[str], heal_after: int | None = None) -> None:
        self.bad = bad
        self.heal_after = heal_after
        self.calls: list[list[str]] = []

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, list[dict[str, str]]]:
        keys = [r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"]]
        self.calls.append(keys)
        for record, key in zip(event["Records"], keys):
            if key in self.bad and (self.heal_after is None or len(self.calls) <= self.heal_after):
                return {"batchItemFailures": [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]}]}
        return {"batchItemFailures": []}


def run_until(poller: StreamPoller, done: Callable[[], bool], timeout: float = 10) -> None:
    stop = threading.Event()
    thread = threading.Thread(target=poller.run_forever, kwargs={"interval": 0.01, "stop_event": stop})
    thread.start()
    try:
        deadline = time.monotonic() + timeout
        while not done() and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()


def test_a_reported_record_is_retried_from_itself_then_skipped_to_the_failure_file(
        clients: tuple[Any, Any], tmp_path, caplog: pytest.LogCaptureFixture) -> None:
    dynamodb, _ = clients
    for pk in "abcde":
        put(dynamodb, pk)
    handler = Reporting(bad={"c"})
    positions, failures = tmp_path / "positions.json", tmp_path / "failures.jsonl"
    poller = make_poller(clients, handler, max_attempts=3, retry_delay=0, positions=positions,
                         failures_path=failures)
    with caplog.at_level(logging.WARNING, logger="devtools.stream_poller"):
        run_until(poller, lambda: poller.delivered + poller.skipped == 5)
    # a and b are checkpointed at once and never delivered again; c is delivered three times, then skipped.
    assert handler.calls == [list("abcde"), list("cde"), list("cde"), list("de")]
    assert (poller.delivered, poller.skipped) == (4, 1)
    [line] = [json.loads(text) for text in failures.read_text().splitlines()]
    info = line["DDBStreamBatchInfo"]
    stream_arn = dynamodb.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    assert info["streamArn"] == stream_arn and info["batchSize"] == 1
    assert info["startSequenceNumber"] == info["endSequenceNumber"]
    assert line["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert line["requestContext"]["approximateInvokeCount"] == 3
    assert line["record"]["Keys"] == {"pk": {"S": "c"}} and line["record"]["eventName"] == "INSERT"
    assert "functionError" not in line["responseContext"]
    giving_up = [r for r in caplog.records if "giving up" in r.getMessage()]
    assert len(giving_up) == 1 and giving_up[0].levelno == logging.WARNING
    entry = json.loads(positions.read_text())["streams"][stream_arn]
    assert (entry["delivered"], entry["skipped"]) == (4, 1)
    assert make_poller(clients, Recorder(), positions=positions).drain() == 0  # all of it is behind us


def test_a_record_that_heals_is_delivered_without_being_skipped(clients: tuple[Any, Any], tmp_path) -> None:
    dynamodb, _ = clients
    for pk in "abc":
        put(dynamodb, pk)
    handler = Reporting(bad={"b"}, heal_after=2)
    failures = tmp_path / "failures.jsonl"
    poller = make_poller(clients, handler, max_attempts=3, retry_delay=0, failures_path=failures)
    run_until(poller, lambda: poller.delivered == 3)
    assert handler.calls == [list("abc"), list("bc"), list("bc")]
    assert poller.skipped == 0 and not failures.exists()


def test_a_raising_batch_is_split_until_only_the_bad_record_is_skipped(clients: tuple[Any, Any],
                                                                      tmp_path) -> None:
    dynamodb, _ = clients
    keys = [f"k{n}" for n in range(8)]
    for pk in keys:
        put(dynamodb, pk)
    delivered: list[str] = []

    def handler(event: dict[str, Any], context: Any) -> None:
        batch = [r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"]]
        if "k5" in batch:
            raise ValueError("cannot handle k5")
        delivered.extend(batch)

    failures = tmp_path / "failures.jsonl"
    poller = make_poller(clients, handler, max_attempts=2, retry_delay=0, failures_path=failures)
    run_until(poller, lambda: poller.delivered + poller.skipped == 8)
    assert sorted(set(delivered)) == [k for k in keys if k != "k5"]
    assert (poller.delivered, poller.skipped) == (7, 1)
    [line] = [json.loads(text) for text in failures.read_text().splitlines()]
    assert line["record"]["Keys"] == {"pk": {"S": "k5"}}
    assert line["responseContext"]["functionError"] == "Unhandled"
    assert "cannot handle k5" in line["error"]


def test_an_identifier_not_in_the_batch_fails_the_whole_batch(clients: tuple[Any, Any]) -> None:
    dynamodb, _ = clients
    put(dynamodb, "a")
    put(dynamodb, "b")
    calls: list[int] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        calls.append(len(event["Records"]))
        return {"batchItemFailures": [{"itemIdentifier": ""}]} if len(calls) == 1 else {}

    poller = make_poller(clients, handler)
    with pytest.raises(BatchItemFailures):
        poller.drain()
    assert poller.drain() == 2
    assert calls == [2, 2]


def test_drain_checkpoints_the_good_part_and_raises_on_reported_failures(clients: tuple[Any, Any],
                                                                       tmp_path) -> None:
    dynamodb, _ = clients
    for pk in "abcd":
        put(dynamodb, pk)
    handler = Reporting(bad={"c"}, heal_after=1)
    positions = tmp_path / "positions.json"
    poller = make_poller(clients, handler, positions=positions)
    with pytest.raises(BatchItemFailures) as raised:
        poller.drain()
    [failed] = raised.value.sequence_numbers
    saved = next(iter(json.loads(positions.read_text())["streams"].values()))
    assert saved["delivered"] == 2 and int(next(iter(saved["shards"].values()))) < int(failed)
    assert poller.drain() == 2  # c and d, from the failed record on
    assert handler.calls == [list("abcd"), list("cd")]


def test_the_context_has_the_deployed_function_timeout(clients: tuple[Any, Any]) -> None:
    handler = Recorder()
    put(clients[0], "a")
    make_poller(clients, handler, function_timeout=30, memory_limit_in_mb=1024).drain()
    context = handler.contexts[0]
    assert 29_000 < context.get_remaining_time_in_millis() <= 30_000
    assert context.memory_limit_in_mb == 1024


def test_a_filter_drops_what_no_pattern_matches_and_checkpoints_past_it(clients: tuple[Any, Any], tmp_path) -> None:
    """As an event source mapping's FilterCriteria: records no pattern matches never reach the
    handler, are not retried, and the position moves past them (counted as filtered)."""
    dynamodb, _ = clients
    positions = tmp_path / "positions.json"
    wanted = {"Filters": [{"Pattern": json.dumps({"dynamodb": {"NewImage": {"entity": {"S": ["keep"]}}}})}]}
    for pk, entity in (("a", "keep"), ("b", "drop"), ("c", "keep"), ("d", "drop")):
        put(dynamodb, pk, entity={"S": entity})
    recorder = Recorder()
    poller = make_poller(clients, recorder, positions=positions, filter_criteria=wanted)
    assert poller.drain() == 2 and keys_of(recorder.events) == ["a", "c"]
    assert (poller.delivered, poller.filtered, poller.skipped) == (2, 2, 0)
    [entry] = json.loads(positions.read_text())["streams"].values()
    assert (entry["delivered"], entry["filtered"], entry["skipped"]) == (2, 2, 0)
    put(dynamodb, "e", entity={"S": "drop"})
    assert make_poller(clients, Recorder(), positions=positions, filter_criteria=wanted).drain() == 0
    [entry] = json.loads(positions.read_text())["streams"].values()
    assert entry["filtered"] == 3 and int(next(iter(entry["shards"].values()))) > 0
