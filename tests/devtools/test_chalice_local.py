"""devtools.chalice_local: the server's own error answers, its backlog, and its quiet mode.

The real request handler and server classes of `chalice local`, patched by ``install``,
serving a two-route app in this process on a free port.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator

import pytest
from chalice import Chalice
from chalice import local as chalice_local_module
from chalice.config import Config

from devtools import chalice_local


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, int]]:
    handler = chalice_local_module.ChaliceRequestHandler
    saved = {name: handler.__dict__.get(name)
             for name in ("send_error", "_send_error_response", "log_request", "__getattr__")}
    saved_serve = chalice_local_module.LocalDevServer.serve_forever
    saved_backlog = chalice_local_module.ThreadedHTTPServer.__dict__.get("request_queue_size")
    chalice_local.install(quiet=True)
    app = Chalice(app_name="local-test")

    @app.route("/")
    def index() -> dict:
        return {"ok": True}

    @app.route("/things", methods=["POST"])
    def things() -> dict:
        return {"got": app.current_request.json_body}

    dev = chalice_local_module.LocalDevServer(app, Config(chalice_stage="dev", user_provided_params={}),
                                              "127.0.0.1", 0)
    thread = threading.Thread(target=dev.serve_forever, daemon=True)
    thread.start()
    try:
        yield dev.server.server_address[:2], dev.server
    finally:
        dev.shutdown()
        thread.join(5)
        dev.server.server_close()
        for name, value in saved.items():
            if value is None:
                if name in handler.__dict__:
                    delattr(handler, name)
            else:
                setattr(handler, name, value)
        chalice_local_module.LocalDevServer.serve_forever = saved_serve
        if saved_backlog is None:
            del chalice_local_module.ThreadedHTTPServer.request_queue_size
        else:
            chalice_local_module.ThreadedHTTPServer.request_queue_size = saved_backlog


def exchange(address: tuple[str, int], raw: bytes) -> tuple[str, dict[str, str], bytes]:
    """Send raw bytes, read until the server closes; return the status line, headers and body."""
    with socket.create_connection(address, timeout=5) as sock:
        sock.sendall(raw)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status, *lines = head.decode("iso-8859-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return status, headers, body


def test_a_malformed_request_line_gets_a_400_problem_and_the_server_lives_on(server) -> None:
    address, _ = server
    for line in (b"GARBAGE\r\n\r\n", b"GET / HTTP/1.1 extra\r\n\r\n", b"GET / HTTP/x.y\r\n\r\n"):
        status, headers, body = exchange(address, line)
        assert status.split()[1] == "400", (line, status)
        assert headers["content-type"] == "application/problem+json"
        assert json.loads(body)["status"] == 400 and json.loads(body)["code"] == "bad_request"
        assert re.fullmatch(r"[0-9a-f-]{36}", headers["x-request-id"])
    status, _, body = exchange(address, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status.split()[1] == "200" and json.loads(body) == {"ok": True}


def test_a_method_the_app_is_not_handed_gets_a_405_problem_even_with_a_body(server) -> None:
    address, _ = server
    status, headers, body = exchange(
        address, b"M-SEARCH /things HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n\r\n{\"a\":1}")
    assert status.split()[1] == "405"
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(body)["code"] == "method_not_allowed"


def test_gateway_answers_are_problems(server) -> None:
    address, _ = server
    status, headers, body = exchange(address, b"GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status.split()[1] == "404" and headers["content-type"] == "application/problem+json"
    assert json.loads(body)["code"] == "route_not_found"
    # the gateway's own id, as on AWS: a client's id never reaches a route that does not exist
    assert re.fullmatch(r"[0-9a-f-]{36}", headers["x-request-id"])
    _, again, _ = exchange(address, b"GET /nowhere HTTP/1.1\r\nHost: x\r\nX-Request-Id: mine\r\n"
                                    b"Connection: close\r\n\r\n")
    assert again["x-request-id"] not in ("mine", headers["x-request-id"])


def test_the_backlog_holds_fifty_clients_connecting_at_once(server) -> None:
    address, http_server = server
    assert http_server.request_queue_size == chalice_local.BACKLOG >= 50
    answers: list[object] = [None] * 50
    barrier = threading.Barrier(50)

    def client(i: int) -> None:
        barrier.wait()
        try:
            body = json.dumps({"n": i}).encode()
            answers[i] = exchange(address, b"POST /things HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                            b"Content-Type: application/json\r\n"
                                            + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        except OSError as error:
            answers[i] = error

    threads = [threading.Thread(target=client, args=(i,)) for i in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    errors = [a for a in answers if isinstance(a, BaseException) or a is None]
    assert not errors
    assert [json.loads(a[2])["got"]["n"] for a in answers] == list(range(50))
