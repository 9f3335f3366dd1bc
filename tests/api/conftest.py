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


def assert_problem(answer: Answer, status: int) -> dict:
    assert answer.status == status, (answer.status, answer.body)
    assert answer.content_type.startswith("application/problem+json"), answer.headers
    assert answer.body["status"] == status and answer.body["title"] and answer.body["type"]
    return answer.body


# moto has no transaction isolation (concurrent transactions can corrupt its state), so
# concurrency claims are only tested against DynamoDB Local.
from tests.conftest import BACKEND  # noqa: E402

real_dynamodb_only = pytest.mark.skipif(BACKEND != "ddblocal", reason="concurrency needs real DynamoDB semantics")
