"""devtools.chalice_local: the server's own error answers, its backlog, its quiet mode (one line
per request), and requests read as API Gateway reads them (chunked bodies, the query's bytes).

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
    chalice_local.install(quiet=True)
    app = Chalice(app_name="local-test")

    @app.route("/")
    def index() -> dict:
        return {"ok": True}

    @app.route("/things", methods=["POST"])
    def things() -> dict:
        return {"got": app.current_request.json_body}

    @app.route("/echo", methods=["GET", "POST"], content_types=["*/*"])
    def echo() -> dict:
        request = app.current_request
        query = request.query_params or {}
        return {"query": {name: query.getlist(name) for name in query},
                "body": (request.raw_body or b"").decode("latin-1"), "path": request.context["path"]}

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
        chalice_local.uninstall()


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


def send(address: tuple[str, int], head: bytes, body: bytes = b"") -> tuple[int, dict[str, str], dict]:
    status, headers, raw = exchange(address, head + b"Host: x\r\nConnection: close\r\n\r\n" + body)
    return int(status.split()[1]), headers, json.loads(raw)


def chunked(body: bytes, size: int = 7) -> bytes:
    parts = [body[i:i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts) + b"0\r\n\r\n"


def test_a_chunked_body_reaches_the_app(server) -> None:
    address, _ = server
    payload = json.dumps({"name": "청크로 보낸 이름", "n": list(range(40))}, ensure_ascii=False).encode()
    head = b"POST /things HTTP/1.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
    status, _, body = send(address, head, chunked(payload))
    assert status == 200 and body == {"got": json.loads(payload)}
    # chunk extensions and trailer fields are read and dropped; upper-case hex sizes are sizes
    framed = b"1A;ext=1\r\n" + payload[:26] + b"\r\n" + b"%X\r\n" % (len(payload) - 26) + payload[26:] \
        + b"\r\n0\r\nX-Checksum: abc\r\n\r\n"
    status, _, body = send(address, head, framed)
    assert status == 200 and body == {"got": json.loads(payload)}


def test_the_request_after_a_chunked_one_on_the_same_connection_is_its_own(server) -> None:
    """Before, the chunks were read as the next request: a 400 for "Bad request syntax"."""
    address, _ = server
    first = b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(b"hello world")
    second = b"GET /echo?n=2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    with socket.create_connection(address, timeout=5) as sock:
        sock.sendall(first + second)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    answers = [json.loads(part.split(b"\r\n\r\n", 1)[1]) for part in data.split(b"HTTP/1.1 ")[1:]]
    assert data.count(b"HTTP/1.1 200 OK") == 2, data
    assert [answer["body"] for answer in answers] == ["hello world", ""]
    assert answers[1]["query"] == {"n": ["2"]}


@pytest.mark.parametrize("framing", [
    b"zz\r\nhello\r\n0\r\n\r\n",          # not a hex size
    b"5\r\nhello world\r\n0\r\n\r\n",      # a chunk longer than its size
    b"0x5\r\nhello\r\n0\r\n\r\n",          # int() would take it; HTTP does not
])
def test_broken_chunk_framing_is_a_400_problem(server, framing) -> None:
    address, _ = server
    status, headers, body = send(address, b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n", framing)
    assert (status, body["code"]) == (400, "bad_request")
    assert headers["content-type"] == "application/problem+json"


def test_a_length_that_is_no_number_or_a_coding_not_chunked_is_a_400_problem(server) -> None:
    address, _ = server
    for head in (b"POST /echo HTTP/1.1\r\nContent-Length: ten\r\n",
                 b"POST /echo HTTP/1.1\r\nContent-Length: -1\r\n",
                 b"POST /echo HTTP/1.1\r\nTransfer-Encoding: gzip\r\n"):
        status, _, body = send(address, head, b"")
        assert (status, body["code"]) == (400, "bad_request"), head


def test_a_body_over_the_gateway_quota_is_413_chunked_or_not(server, monkeypatch) -> None:
    address, _ = server
    monkeypatch.setattr(chalice_local, "GATEWAY_PAYLOAD_LIMIT", 100)
    status, _, body = send(address, b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n", chunked(b"x" * 101))
    assert (status, body["code"]) == (413, "payload_too_large")
    status, _, body = send(address, b"POST /echo HTTP/1.1\r\nContent-Length: 101\r\n", b"x" * 101)
    assert (status, body["code"]) == (413, "payload_too_large")
    status, _, body = send(address, b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n", chunked(b"x" * 100))
    assert status == 200 and body["body"] == "x" * 100


def test_the_query_is_decoded_from_its_bytes_as_utf8(server) -> None:
    """As API Gateway hands it to Lambda: U+FFFD for each byte that is not UTF-8, the rest as text,
    whether the bytes came percent-encoded or as they are."""
    address, _ = server
    cases = {
        b"/echo?cursor=%ff": {"cursor": ["\ufffd"]},
        b"/echo?limit=%C3%28": {"limit": ["\ufffd("]},
        b"/echo?q=%EB%91%90%EB%B6%80": {"q": ["두부"]},
        "/echo?q=두부&r=망원".encode(): {"q": ["두부"], "r": ["망원"]},   # raw UTF-8, as curl sends it
        b"/echo?q=\xff": {"q": ["\ufffd"]},                             # a raw byte that is not UTF-8
    }
    for target, query in cases.items():
        status, _, body = send(address, b"GET " + target + b" HTTP/1.1\r\n")
        assert status == 200 and body["query"] == query, (target, body)


def test_quiet_mode_prints_one_line_per_request(server, capfd) -> None:
    address, _ = server
    send(address, b"GET /echo?cursor=secret HTTP/1.1\r\n")
    send(address, b"GET /nowhere HTTP/1.1\r\n")
    exchange(address, b"GARBAGE\r\n\r\n")
    out, err = capfd.readouterr()
    lines = out.splitlines()
    pattern = re.compile(r"^\d\d:\d\d:\d\d\.\d{3} (GET|-) (/\S*|-) (\d{3}) \d+ms (\S+)$")
    matches = [pattern.match(line) for line in lines]
    assert all(matches) and len(lines) == 3, lines
    assert [(m[1], m[2], m[3]) for m in matches] == [("GET", "/echo", "200"), ("GET", "/nowhere", "404"),
                                                     ("-", "-", "400")]
    assert all(len(m[4]) == 36 for m in matches[:2])  # the local Lambda context's request id (a uuid)
    assert "secret" not in out  # no query: cursors are secrets
    assert "WARNING chalice local: code 400" in err and "\n" not in err.strip()
