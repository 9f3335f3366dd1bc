"""Logs and metrics on plain data: the scrubber, the leak grep itself, and what an answer counts."""

from __future__ import annotations

import json
import logging
from types import SimpleNamespace

import pytest

from chalicelib import observability
from chalicelib.logs import scrub
from tests import log_secrets

TOKEN = "eyJleHAiOjE3OTU0MDAwMDAsInN1YiI6IjAxSkRRN1pLM004WDJWNU40UDZSOVQwVzFZIn0." + "Q" * 43


@pytest.mark.parametrize("secret, kind", [
    ("minji.kim+shop@example.kr", "e-mail"),
    ("010-1234-5678", "phone"),
    ("01012345678", "phone"),
    ("+821012345678", "phone"),
    ("$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo", "password hash"),
    ("Bearer abc.def", "bearer token"),
    (TOKEN, "signed token"),
])
def test_the_scrubber_replaces_each_kind_of_secret(secret, kind):
    line = json.dumps({"message": f"before {secret} after"})
    assert scrub(line) == json.dumps({"message": f"before [redacted {kind}] after"})


def test_the_scrubber_leaves_ids_times_and_numbers_alone():
    text = "01JDQ7ZK3M8X2V5N4P6R9T0W1Y 2026-11-29T23:04:46.614Z 1795993486.614 12.84 ms 45000 won POST /orders/{id}"
    assert scrub(text) == text


@pytest.fixture
def leak_free():
    """Lets a test leak on purpose: the leaks it caused are checked here and then forgotten."""
    before = len(log_secrets.leaks)
    yield lambda: log_secrets.leaks[before:]
    del log_secrets.leaks[before:]


def test_the_grep_catches_a_password_even_in_a_line_nothing_scrubs(leak_free):
    log_secrets.remember("hunter2-correct-horse")
    logging.getLogger("dongne.test").warning("login with %s", "hunter2-correct-horse")
    assert [why for _, why, _ in leak_free()] == ["a password of this run"]


def test_the_grep_catches_a_scrubbed_token_as_an_attempt(leak_free):
    logging.getLogger("dongne.test").warning("issued %s", TOKEN)
    assert [why for _, why, _ in leak_free()] == ["a signed token was logged (scrubbed on the way out)"]
    assert TOKEN not in log_secrets.lines[-1] and "[redacted signed token]" in log_secrets.lines[-1]


def test_library_debug_lines_are_not_produced():
    """PynamoDB logs every request's parameters at DEBUG (items: e-mail, password hash)."""
    import app  # noqa: F401 — configures logging

    assert logging.getLogger("pynamodb.connection.base").getEffectiveLevel() >= logging.WARNING
    assert logging.getLogger("botocore.endpoint").getEffectiveLevel() >= logging.WARNING


def _answer(status: int, body: dict | None = None, **headers) -> SimpleNamespace:
    return SimpleNamespace(status_code=status, body=json.dumps(body or {}), headers=headers)


def _counted(monkeypatch, route: str, answer) -> list[tuple[str, dict]]:
    seen = []
    monkeypatch.setattr(observability, "add", lambda name, value=1, unit="Count", **meta: seen.append((name, meta)))
    observability._local.rate_limited = False
    observability.count_answer(route, answer)
    return seen


def test_an_order_answer_counts_placed_once_and_not_on_a_replay(monkeypatch):
    assert _counted(monkeypatch, "POST /orders", _answer(201)) == [("OrdersPlaced", {"source": "api"})]
    assert _counted(monkeypatch, "POST /orders", _answer(201, **{"Idempotent-Replayed": "true"})) == []
    assert _counted(monkeypatch, "POST /orders/{order_id}/reorder", _answer(201)) == \
        [("OrdersPlaced", {"source": "reorder"})]
    assert _counted(monkeypatch, "POST /shops", _answer(201)) == []


@pytest.mark.parametrize("body", [{"type": "https://dongne.app/problems/out-of-stock"}, {"code": "out_of_stock"}])
def test_out_of_stock_is_counted_from_the_problem(monkeypatch, body):
    assert _counted(monkeypatch, "POST /orders", _answer(409, body)) == [("OutOfStock", {"source": "api"})]
    assert _counted(monkeypatch, "POST /orders", _answer(409, {"code": "idempotency_key_reused"})) == []


def test_429_and_503_are_counted(monkeypatch):
    assert _counted(monkeypatch, "POST /auth/login", _answer(429)) == \
        [("RateLimitedRequests", {"rule": "unknown", "route": "POST /auth/login"})]
    assert _counted(monkeypatch, "PUT /posts/{post_id}/like", _answer(503)) == \
        [("ServiceUnavailable", {"route": "PUT /posts/{post_id}/like"})]


def test_a_429_the_limiter_counted_is_not_counted_again(monkeypatch):
    seen = []
    monkeypatch.setattr(observability, "add", lambda name, value=1, unit="Count", **meta: seen.append(name))
    observability._local.rate_limited = False
    observability.rate_limited("login")
    observability.count_answer("POST /auth/login", _answer(429))
    assert seen == ["RateLimitedRequests"]


def test_metrics_are_one_emf_line_on_aws(monkeypatch, capsys):
    from chalicelib.settings import Settings

    monkeypatch.setattr(observability, "_settings", lambda: Settings(stage="prod", secret_key="x" * 40))
    observability.reset()
    try:
        observability.order_placed()
        observability.fanout_delivered("01JDQ7ZK3M8X2V5N4P6R9T0W1Y", 12.3456, hops=3)
        observability.flush()
        (line,) = capsys.readouterr().out.splitlines()
    finally:
        observability.reset()
    blob = json.loads(line)
    (directive,) = blob["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "Dongne"
    assert sorted(map(sorted, directive["Dimensions"])) == [["service", "stage"]]
    assert {m["Name"]: m["Unit"] for m in directive["Metrics"]} == {"OrdersPlaced": "Count", "FanoutLag": "Seconds"}
    assert blob["stage"] == "prod" and blob["OrdersPlaced"] == [1.0] and blob["FanoutLag"] == [12.346]
    assert blob["hops"] == 3


def test_every_metric_name_is_listed_in_the_module_docs():
    for name in observability.METRICS:
        assert f"``{name}``" in observability.__doc__


@pytest.fixture
def text_format(monkeypatch):
    """The formatter as `make run` builds it (DONGNE_LOG_FORMAT=text); the suite's JSON one after."""
    from chalicelib import logs
    from chalicelib.settings import reset_settings

    saved = logs._formatter
    monkeypatch.setenv("DONGNE_LOG_FORMAT", "text")
    reset_settings()
    logs._formatter = None
    try:
        yield logs.formatter()
    finally:
        logs._formatter = saved
        monkeypatch.delenv("DONGNE_LOG_FORMAT")
        reset_settings()


def record(level: int, message: str, exc_info=None, **extra) -> logging.LogRecord:
    made = logging.getLogger("dongne.http").makeRecord("dongne.http", level, __file__, 1, message, (), exc_info)
    made.__dict__.update(extra)
    return made


def test_the_text_format_is_one_line_with_the_key_fields(text_format):
    import re
    import sys

    line = text_format.format(record(logging.WARNING, "dependency unavailable: ReadTimeout", route="GET /feed",
                                     status=503, request_id="4b587686-7412", user_id="01M21S316C"))
    assert re.fullmatch(r"\d\d:\d\d:\d\d\.\d{3} WARNING dongne\.http: dependency unavailable: ReadTimeout  "
                        r'route="GET /feed" status=503 request_id=4b587686-7412 user_id=01M21S316C', line), line
    try:
        raise KeyError("minji@example.kr")
    except KeyError:
        line = text_format.format(record(logging.ERROR, "unhandled error\nsecond line", sys.exc_info()))
    assert "\n" not in line and "Traceback" not in line
    assert " ERROR dongne.http: unhandled error\\nsecond line  error=\"KeyError: '[redacted e-mail]'\" at " in line
    assert re.search(r" at \S*test_observability\.py:\d+$", line), line  # the innermost frame


def test_the_json_format_stays_the_default():
    from chalicelib.logs import formatter

    parsed = json.loads(formatter().format(record(logging.WARNING, "x", route="GET /feed")))
    assert parsed["level"] == "WARNING" and parsed["route"] == "GET /feed" and parsed["service"] == "dongne"
