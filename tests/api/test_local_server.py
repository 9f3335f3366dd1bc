"""The app behind `make run`'s server (``devtools.chalice_local``: chalice local, patched), over
real HTTP: a chunked body is read like any other, and a query that is not UTF-8 is 400
``malformed_query`` on every route that reads a query, as on API Gateway.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator

import pytest
from chalice import local as chalice_local_module
from chalice.config import Config

from devtools import chalice_local


@pytest.fixture(scope="module")
def base(chalice_app) -> Iterator[tuple[str, int]]:
    chalice_local.install(quiet=True)
    dev = chalice_local_module.LocalDevServer(chalice_app, Config(chalice_stage="test", user_provided_params={}),
                                              "127.0.0.1", 0)
    thread = threading.Thread(target=dev.serve_forever, daemon=True)
    thread.start()
    try:
        yield dev.server.server_address[:2]
    finally:
        dev.shutdown()
        thread.join(5)
        dev.server.server_close()
        chalice_local.uninstall()


def request(address: tuple[str, int], method: str, target: str, token: str | None = None,
            headers: dict[str, str] | None = None, body: bytes = b"") -> tuple[int, dict]:
    """One request as raw bytes (the target exactly as given, e.g. ``%ff``); the answer's status and JSON."""
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", "Connection: close",
             *(f"Authorization: Bearer {token}" for _ in [token] if token),
             *(f"{name}: {value}" for name, value in (headers or {}).items())]
    with socket.create_connection(address, timeout=30) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, raw = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(raw) if raw else {}


def chunked(body: bytes, size: int = 5) -> bytes:
    parts = [body[i:i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts) + b"0\r\n\r\n"


CHUNKED = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}


def test_patch_me_with_a_chunked_body_changes_the_name(base, api, user) -> None:
    body = json.dumps({"name": "청크 김민지"}, ensure_ascii=False).encode()
    status, answer = request(base, "PATCH", "/me", user["token"], CHUNKED, chunked(body))
    assert status == 200 and answer["name"] == "청크 김민지", answer
    assert api.get("/me", token=user["token"]).body["name"] == "청크 김민지"


def test_a_chunked_body_over_the_limit_is_refused_like_a_large_one(base, api, user) -> None:
    from chalicelib.wiring import container

    limit = container().settings.max_body_bytes
    body = json.dumps({"name": "x" * limit}).encode()
    large = request(base, "PATCH", "/me", user["token"],
                    {"Content-Type": "application/json", "Content-Length": str(len(body))}, body)
    sent_chunked = request(base, "PATCH", "/me", user["token"], CHUNKED, chunked(body, 4096))
    assert large[0] == sent_chunked[0] == 413
    assert large[1]["code"] == sent_chunked[1]["code"] == "payload_too_large"
    assert large[1]["detail"] == sent_chunked[1]["detail"]
    assert api.get("/me", token=user["token"]).body["name"] == user["user"]["name"]


@pytest.mark.parametrize("target", [
    "/feed?cursor=%ff",                       # a cursor
    "/feed?limit=%C3%28",                     # a limit
    "/feed?limit=5&utm_source=%ff",           # an unknown parameter
    "/me/following?cursor=%ff",
    "/me/following?limit=%C3%28",
    "/me/following?utm_source=%ff",
    "/shops/{shop}/posts?cursor=%ff",         # a route without a token
    "/shops/{shop}/posts?limit=%C3%28",
    "/shops/{shop}/posts?fbclid=%ff",
    "/search/shops?q=%EB%91%90%ff",           # free text
    "/search/shops?q=%ff%ff&region=",
])
def test_a_query_that_is_not_utf8_is_400_malformed_query(base, owner, target) -> None:
    status, answer = request(base, "GET", target.format(shop=owner["shop"]["shop_id"]), owner["token"])
    assert (status, answer.get("code")) == (400, "malformed_query"), answer
    assert answer["type"].endswith("/malformed-query")


def test_the_same_routes_answer_utf8_queries(base, owner) -> None:
    shop = owner["shop"]["shop_id"]
    for target in ("/feed?limit=5&utm_source=%EC%B9%B4%ED%86%A1", "/me/following?limit=5",
                   f"/shops/{shop}/posts?limit=5&fbclid=abc", "/search/shops?q=%EB%91%90%EB%B6%80"):
        status, answer = request(base, "GET", target, owner["token"])
        assert status == 200 and "items" in answer, (target, answer)
