"""Fixtures for the HTTP API tests (``chalice.test.Client`` over the real app)."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

import pytest
from chalice.test import Client

_counter = itertools.count()


@dataclass
class Answer:
    status: int
    headers: dict
    body: Any
    raw: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type") or self.headers.get("content-type") or ""


class Api:
    """A thin JSON client: ``api.post('/shops', {...}, token=t)`` → ``Answer``."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def call(self, method: str, path: str, body: Any = None, *, token: str | None = None,
             headers: dict | None = None, raw: bytes | str | None = None) -> Answer:
        h = {"Content-Type": "application/json", **(headers or {})}
        if token:
            h["Authorization"] = f"Bearer {token}"
        data = raw if raw is not None else (json.dumps(body, ensure_ascii=False) if body is not None else None)
        response = self.client.http.request(method, path, headers=h, body=data or b"")
        try:
            parsed = json.loads(response.body) if response.body else None
        except ValueError:
            parsed = None
        return Answer(response.status_code, dict(response.headers), parsed, response.body)

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.call("POST", path, body, **kw)

    def patch(self, path, body=None, **kw):
        return self.call("PATCH", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.call("PUT", path, body, **kw)

    def delete(self, path, **kw):
        return self.call("DELETE", path, **kw)

    # --- factories through the real API -------------------------------------------------
    def signup(self, name: str = "김민지", password: str = "correct horse 1") -> dict:
        n = next(_counter)
        email = f"user{n}-{id(self)}@example.kr"
        answer = self.post("/auth/signup", {"name": name, "email": email, "password": password})
        assert answer.status == 201, answer.body
        return {**answer.body, "email": email, "password": password}

    def open_shop(self, token: str, name: str = "망원동 두부가게", handle: str | None = None) -> dict:
        handle = handle or f"shop{next(_counter)}x{id(self) % 10000}"
        answer = self.post("/shops", {"name": name, "handle": handle, "region": "서울 마포구"}, token=token)
        assert answer.status == 201, answer.body
        return answer.body


@pytest.fixture(autouse=True)
def _fresh_moto_tables(aws_backend):
    """On moto, every API test starts from empty tables.

    moto deep-copies a whole table for every transaction (so it can roll back), stream
    included: with every earlier test's items kept, each transaction grows slower and the
    suite goes quadratic. DynamoDB Local keeps one table for the whole run.
    """
    if aws_backend is None:
        import boto3

        from chalicelib import wiring as deps
        from chalicelib.storage.tables import ensure_tables

        settings = deps.container().settings
        client = boto3.client("dynamodb", region_name=settings.region)
        for name in (settings.table_name, settings.feed_table_name):
            client.delete_table(TableName=name)
        ensure_tables(client, settings.table_name, settings.feed_table_name)
    yield
    if aws_backend is not None:  # one table for the run: leave no subscription due for the next test
        from tests.api.essentials_kit import close_worlds

        close_worlds()
    else:
        from tests.api import essentials_kit

        essentials_kit._open_shops.clear()


@pytest.fixture(scope="session")
def chalice_app(aws_backend):
    from app import app

    return app


@pytest.fixture
def api(chalice_app):
    # The "test" stage sets no environment variables: chalice's test client swaps os.environ
    # per request, which concurrent requests would otherwise leave pointing at another stage.
    with Client(chalice_app, stage_name="test") as client:
        yield Api(client)


@pytest.fixture
def user(api):
    return api.signup()


@pytest.fixture
def owner(api):
    """A user with a shop: ``{"token", "user", "shop"}``."""
    account = api.signup(name="박사장")
    shop = api.open_shop(account["token"])
    return {**account, "shop": shop}


# Every signed-in request reads the account once, strongly consistent, to check that its token
# is still alive (logout, password change, closed account): services.accounts.check_token.
TOKEN_CHECK = ["GetItem"]
TOKEN_CHECK_RCU = 1.0  # strongly consistent, a profile well under 4 KB


def assert_problem(answer: Answer, status: int) -> dict:
    assert answer.status == status, (answer.status, answer.body)
    assert answer.content_type.startswith("application/problem+json"), answer.headers
    assert answer.body["status"] == status and answer.body["title"] and answer.body["type"]
    return answer.body


# moto has no transaction isolation (concurrent transactions can corrupt its state), so
# concurrency claims are only tested against DynamoDB Local.
from tests.conftest import BACKEND  # noqa: E402

real_dynamodb_only = pytest.mark.skipif(BACKEND != "ddblocal", reason="concurrency needs real DynamoDB semantics")


# --- the social core: photos, posts and the stream --------------------------------------
JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + bytes(range(256)) * 8 + b"\xff\xd9"


def upload_photo(api: Api, token: str, content: bytes = JPEG, content_type: str = "image/jpeg",
                 sent_type: str | None = None) -> str:
    """Ask for a presigned POST and upload through it, as the app does; returns the key.

    ``sent_type`` replaces the form's Content-Type (S3 refuses that by policy; moto does not).
    """
    import requests

    answer = api.post("/uploads", {"content_type": content_type}, token=token)
    assert answer.status == 201, answer.body
    form = answer.body
    fields = {**form["fields"], **({"Content-Type": sent_type} if sent_type else {})}
    sent = requests.post(form["upload_url"], data=fields,
                         files={"file": ("photo", content, sent_type or content_type)}, timeout=10)
    assert sent.status_code in (200, 201, 204), (sent.status_code, sent.text[:300])
    return form["key"]


def create_post(api: Api, owner: dict, text: str = "오늘 아침 손두부 나왔어요 #망원동 #두부", **extra) -> dict:
    answer = api.post(f"/shops/{owner['shop']['shop_id']}/posts", {"text": text, **extra}, token=owner["token"])
    assert answer.status == 201, answer.body
    return answer.body


@pytest.fixture(scope="session")
def _stream_poller(aws_backend):
    """Reads the test table's stream (moto's or DynamoDB Local's) into the real handler."""
    import boto3

    from chalicelib import wiring as deps
    from chalicelib.events.stream import stream
    from chalicelib.events.stream import filter_criteria
    from devtools.stream_poller import StreamPoller

    settings = deps.container().settings
    region = settings.region
    # botocore derives an account-specific Streams host from the stream ARN, which moto
    # does not intercept; the classic regional host it does.
    streams_url = aws_backend or f"https://streams.dynamodb.{region}.amazonaws.com"
    # Skip what earlier tests wrote (read it with a no-op handler), then deliver the rest.
    poller = StreamPoller(boto3.client("dynamodb", region_name=region, endpoint_url=aws_backend),
                          boto3.client("dynamodbstreams", region_name=region, endpoint_url=streams_url),
                          settings.table_name, lambda event, context: None, start_at="TRIM_HORIZON",
                          filter_criteria=filter_criteria())  # as the deployed event source mapping

    poller.drain()
    poller.handler = stream
    return poller


@pytest.fixture
def stream(_stream_poller):
    """``stream()`` runs the stream handler on everything written so far, keeping the records it
    handled in ``stream.seen`` so a test can deliver them again (``dispatch``)."""
    seen: list[dict] = []

    def drain() -> None:
        handler = _stream_poller.handler

        def keep(event, context):
            seen.extend(event["Records"])
            return handler(event, context)

        _stream_poller.handler = keep
        try:
            _stream_poller.reacquire()
            _stream_poller.drain()
        finally:
            _stream_poller.handler = handler

    drain.seen = seen  # type: ignore[attr-defined]
    return drain


@pytest.fixture
def drain_stream(_stream_poller):
    """``drain_stream()`` runs the stream handler on everything written so far; returns the count."""

    def drain() -> int:
        _stream_poller.reacquire()  # moto replaces its stream on every failed transaction
        return _stream_poller.drain()

    return drain


@pytest.fixture
def outbound(aws_backend):
    """``outbound()`` runs the outbound function (``chalicelib.events.outbound``) on everything
    queued so far, as its event source mapping would (``devtools.queue_poller``), retries
    included: the test queue's visibility timeout is 0, so a message that failed is received again
    at once until its redrive policy moves it to the dead-letter queue. Returns the messages
    received. ``outbound.waiting()`` / ``outbound.dead_letters()`` count what is on each queue.
    The queues start empty, whatever earlier tests left on them."""
    import boto3

    from chalicelib.events.outbound import BATCH_SIZE, outbound as function
    from chalicelib.wiring import container
    from devtools.queue_poller import QueuePoller
    from devtools.redrive import dead_letter_queue

    settings = container().settings
    sqs = boto3.client("sqs", region_name=settings.region)
    queue_url = settings.outbound_queue_url
    _, dead_url, _ = dead_letter_queue(sqs, queue_url)
    for url in (queue_url, dead_url):  # (PurgeQueue: once a minute per queue)
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
            sqs.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)])
    poller = QueuePoller(sqs, queue_url, function, batch_size=BATCH_SIZE)

    def count(url: str) -> int:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return sum(int(value) for value in attributes.values())

    def drain() -> int:
        return poller.drain()

    drain.poller = poller  # type: ignore[attr-defined]
    drain.waiting = lambda: count(queue_url)  # type: ignore[attr-defined]
    drain.dead_letters = lambda: count(dead_url)  # type: ignore[attr-defined]
    return drain


@pytest.fixture(autouse=True)
def _inbox_stand_in(aws_backend, monkeypatch):
    """Stream handlers hand notices to ``container().inbox`` (the notifications domain). In a
    tree without it, a recorder stands in so those handlers never fail a test's stream."""
    from chalicelib.wiring import Container

    if not hasattr(Container, "inbox"):
        from tests.api.essentials_kit import install_inbox

        install_inbox(monkeypatch)
    yield
