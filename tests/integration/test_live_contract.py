"""The contract on the running server (``make run``'s ``devtools.chalice_local``), where the
gateway's own answers and Python's HTTP server join in: still nothing but problem+json."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlparse

import pytest


def send(served, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    url = urlparse(served.base_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def problem(status_headers_raw, status: int) -> dict:
    status_, headers, raw = status_headers_raw
    assert status_ == status, (status_, raw[:500])
    assert headers["content-type"] == "application/problem+json", headers
    body = json.loads(raw)
    assert body["status"] == status and body["code"] and body["type"].endswith(body["code"].replace("_", "-"))
    return body


@pytest.mark.parametrize("method", ["TRACE", "QUERY", "HEAD", "DELETE", "PATCH"])
def test_wrong_methods_are_405_problems_with_allow(served, method):
    answer = send(served, method, "/feed")
    if method == "HEAD":  # no body on a HEAD answer
        assert answer[0] == 405 and answer[1]["allow"] == "GET, OPTIONS"
        return
    assert problem(answer, 405)["code"] == "method_not_allowed"
    assert answer[1]["allow"] == "GET, OPTIONS"


def test_no_token_is_a_401_problem_in_korean_too(served):
    body = problem(send(served, "GET", "/me", headers={"Accept-Language": "ko-KR"}), 401)
    assert (body["code"], body["title"]) == ("unauthorized", "로그인 필요")


def test_unknown_route_is_a_404_problem(served):
    assert problem(send(served, "GET", "/no/such/route"), 404)["code"] == "route_not_found"


def test_every_answer_on_the_wire_names_its_request(served):
    """The app's answers carry the request's id (a client's safe one verbatim); the gateway's own
    answers carry the gateway's, as GatewayResponses do on AWS."""
    for method, path, status in (("GET", "/health", 200), ("GET", "/me", 401), ("DELETE", "/feed", 405),
                                 ("GET", "/docs", 200), ("GET", "/no/such/route", 404)):
        answer_status, headers, _ = send(served, method, path)
        assert answer_status == status and headers["x-request-id"], (method, path)
        _, headers, _ = send(served, method, path, headers={"X-Request-Id": "web:wire-1"})
        assert (headers["x-request-id"] == "web:wire-1") == (status != 404), (method, path, headers)
    _, headers, _ = send(served, "GET", "/health", headers={"X-Request-Id": "not safe!"})
    assert headers["x-request-id"] not in ("not safe!", "")


@pytest.mark.parametrize("content_type", ["text/csv", "", "application/x-www-form-urlencoded"])
def test_content_types_outside_the_list(served, content_type):
    status, _, raw = send(served, "GET", "/health", headers={"Content-Type": content_type})
    assert status == 200 and json.loads(raw)["status"] == "ok"
    answer = send(served, "POST", "/auth/login", body=b"email=a", headers={"Content-Type": content_type or "text/csv"})
    assert problem(answer, 415)["code"] == "unsupported_media_type"


def test_deep_nesting_is_400_on_the_wire(served):
    answer = send(served, "POST", "/auth/login", body=b"[" * 10_000 + b"]" * 10_000,
                  headers={"Content-Type": "application/json"})
    assert problem(answer, 400)["code"] == "json_too_deep"


def test_korean_goes_out_as_utf8(served):
    body = json.dumps({"name": "김민지", "email": "live-utf8@example.kr", "password": "correct horse 9"}).encode()
    status, headers, raw = send(served, "POST", "/auth/signup", body=body, headers={"Content-Type": "application/json"})
    assert status == 201 and "김민지".encode() in raw and b"\\u" not in raw
    again = send(served, "POST", "/auth/signup", body=body,
                 headers={"Content-Type": "application/json", "Accept-Language": "ko"})
    assert problem(again, 409)["code"] == "email_taken" and "이미 가입된".encode() in again[2]
