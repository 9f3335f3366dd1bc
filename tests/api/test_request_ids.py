"""Every answer names its request: ``X-Request-Id``, the id every log line of the request carries.

GIVEN the app with its middleware, WHEN a request is answered — a success, a problem the edge
refuses early (a bad body, a missing token), a 404, a 405, a preflight, an HTML page, the
document or its page — THEN the answer carries ``X-Request-Id``; a client's own safe id comes
back verbatim and is the one in the logs, an unsafe or too long one is replaced by the
generated id (not refused), and browsers of an allowed origin may read and send the header.
"""

from __future__ import annotations

import json
import re

import pytest

from chalicelib.observability import REQUEST_ID
from tests import log_secrets

UNKNOWN_ID = "01JDQ7ZK3M8X2V5N4P6R9T0W1Y"

# (method, path, body or raw, needs a token, expected status); "{shop}" is the owner's shop id.
ANSWERS = [
    ("GET", "/health", None, False, 200),
    ("GET", "/me", None, True, 200),
    ("GET", "/me", None, False, 401),  # no token: the edge's own refusal
    ("POST", "/auth/signup", {"name": "민지"}, False, 422),  # the body fails validation
    ("POST", "/auth/signup", b"{not json", False, 400),  # malformed JSON, refused before validation
    ("GET", f"/shops/{UNKNOWN_ID}", None, False, 404),
    ("GET", "/shops/{shop}", None, False, 200),
    ("DELETE", "/health", None, False, 405),  # api.protocol's 405 with Allow
    ("HEAD", "/health", None, False, 405),  # the framework's own 405, rewritten as a problem
    ("OPTIONS", "/feed", None, False, 204),
    ("GET", "/s/no-such-shop", None, False, 404),  # an HTML sharing page's own 404
    ("GET", "/openapi.json", None, False, 200),
    ("GET", "/docs", None, False, 200),
]
# Every answer logs one "request" line (api.edge for its routes, api.protocol for its own).


def lines_since(mark: int) -> list[dict]:
    return [json.loads(line) for line in log_secrets.lines[mark:]]


def call(api, owner, method, path, body, signed_in, headers=None):
    path = path.replace("{shop}", owner["shop"]["shop_id"])
    kw = {"token": owner["token"]} if signed_in else {}
    if isinstance(body, bytes):
        kw["raw"] = body
    return api.call(method, path, body if not isinstance(body, bytes) else None, headers=headers, **kw)


def request_lines(mark: int) -> list[dict]:
    return [line for line in lines_since(mark) if line["message"] == "request"]


@pytest.mark.parametrize("method, path, body, signed_in, status", ANSWERS,
                         ids=[f"{m} {p} {s}" for m, p, _, _, s in ANSWERS])
def test_every_answer_carries_the_request_id_its_log_lines_carry(api, owner, method, path, body, signed_in, status):
    mark = len(log_secrets.lines)
    answer = call(api, owner, method, path, body, signed_in)
    assert answer.status == status, (answer.status, answer.body)
    generated = answer.headers[REQUEST_ID]
    assert re.fullmatch(r"[A-Za-z0-9._:-]{1,64}", generated)
    lines = [line for line in lines_since(mark) if line.get("request_id")]
    assert lines and {line["request_id"] for line in lines} == {generated}, lines
    (line,) = request_lines(mark)
    assert line["status"] == status and line["request_id"] == generated

    # a client's own id comes back verbatim and is the one logged; the gateway's is kept beside it
    own = f"web:{status}-3f2a_17.b"
    mark = len(log_secrets.lines)
    answer = call(api, owner, method, path, body, signed_in, headers={"X-Request-Id": own})
    assert answer.status == status and answer.headers[REQUEST_ID] == own
    lines = [line for line in lines_since(mark) if line.get("request_id")]
    assert lines and all(line["request_id"] == own and line["gateway_request_id"] != own for line in lines)


@pytest.mark.parametrize("sent", [
    "a" * 65,  # too long
    "has space", "semi;colon", "new\nline", "slash/", "퀵", "", "<script>",
])
def test_an_unsafe_or_too_long_client_id_is_replaced_not_refused(api, sent):
    mark = len(log_secrets.lines)
    answer = api.get("/health", headers={"X-Request-Id": sent})
    assert answer.status == 200
    replaced = answer.headers[REQUEST_ID]
    assert replaced != sent and re.fullmatch(r"[A-Za-z0-9._:-]{1,64}", replaced)
    (line,) = request_lines(mark)
    assert line["request_id"] == replaced and "gateway_request_id" not in line


def test_the_longest_safe_id_comes_back(api):
    longest = "A1._:-" * 10 + "Zz09"
    assert len(longest) == 64
    assert api.get("/health", headers={"X-Request-Id": longest}).headers[REQUEST_ID] == longest


def test_two_requests_get_two_ids(api):
    first, second = (api.get("/health").headers[REQUEST_ID] for _ in range(2))
    assert first != second


def test_browsers_of_an_allowed_origin_may_read_and_send_the_header(api, monkeypatch):
    from chalicelib import wiring

    deps = wiring.container()
    origin = "https://shop.dongne.app"
    monkeypatch.setattr(deps, "settings", deps.settings.model_copy(update={"cors_origins": (origin,)}))
    preflight = api.call("OPTIONS", "/me", headers={"Origin": origin, "Access-Control-Request-Method": "GET",
                                                    "Access-Control-Request-Headers": "authorization, x-request-id"})
    assert preflight.status == 204 and preflight.headers[REQUEST_ID]
    assert "X-Request-Id" in preflight.headers["Access-Control-Allow-Headers"].split(", ")
    for answer in (api.get("/health", headers={"Origin": origin}), api.get("/me", headers={"Origin": origin})):
        assert answer.headers["Access-Control-Allow-Origin"] == origin
        assert "X-Request-Id" in answer.headers["Access-Control-Expose-Headers"].split(", ")
        assert answer.headers[REQUEST_ID]
