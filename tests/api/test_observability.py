"""Logs and metrics of real requests and stream batches.

GIVEN the app with its middleware, WHEN requests and stream records run, THEN every log line of
a request carries its request id, route, cold-start flag and user, the answers count as metrics
(orders placed, out of stock), and the stream reports fan-out lag and failed batches.
"""

from __future__ import annotations

import pytest

import json

from chalicelib import observability
from tests import log_secrets
from tests.api.commerce import buy, make_product, placed
from tests.api.conftest import assert_problem, create_post
from tests.api.test_notification_channels import a_phone, channels, shop_with_a_first_order, turn_on, verified  # noqa: F401


def lines_since(mark: int) -> list[dict]:
    return [json.loads(line) for line in log_secrets.lines[mark:]]


@pytest.fixture(autouse=True)
def _fresh_metrics():
    """The app keeps only its last 1,000 metrics: start each test from none, so a mark is a position."""
    observability.emitted.clear()


def metric_values(mark: int, name: str) -> list[float]:
    return [value for blob in list(observability.emitted)[mark:] for value in blob.get(name, [])]


def test_every_line_of_a_request_carries_its_request_id_route_and_user(api, user):
    mark = len(log_secrets.lines)
    assert api.get("/me", token=user["token"]).status == 200
    assert api.get("/me", token=user["token"]).status == 200
    requests = [line for line in lines_since(mark) if line["message"] == "request"]
    assert len(requests) == 2
    for line in requests:
        assert line["route"] == "GET /me" and line["status"] == 200 and line["ms"] >= 0
        assert line["user_id"] == user["user"]["user_id"] and line["cold_start"] is False
        assert line["service"] == "dongne" and line["level"] == "INFO" and line["timestamp"]
    assert requests[0]["request_id"] != requests[1]["request_id"]
    assert all(line["request_id"] for line in requests)


def test_an_anonymous_request_has_no_user(api):
    mark = len(log_secrets.lines)
    api.get("/health")
    (line,) = [line for line in lines_since(mark) if line["message"] == "request"]
    assert line["route"] == "GET /health" and "user_id" not in line


def test_an_unexpected_error_is_one_line_with_its_request_id_and_no_secret(api, user, monkeypatch):
    from chalicelib.schemas.accounts import UserPublic

    def broken(*args, **kwargs):
        raise RuntimeError(f"lost the connection while reading {user['email']} / 010-9876-5432")

    monkeypatch.setattr(UserPublic, "model_validate", broken)
    mark = len(log_secrets.lines)
    assert_problem(api.get("/me", token=user["token"]), 500)
    errors = [line for line in lines_since(mark) if line["level"] == "ERROR"]
    assert len(errors) == 1 and errors[0]["exception_name"] == "RuntimeError"
    assert errors[0]["request_id"] and errors[0]["route"] == "GET /me"
    assert user["email"] not in json.dumps(errors) and "[redacted e-mail]" in errors[0]["exception"]


def test_placing_an_order_and_running_out_are_counted(api, owner, user):
    product = make_product(api, owner, stock=1)
    shop_id = owner["shop"]["shop_id"]
    mark = len(observability.emitted)
    placed(api, user, shop_id, (product["product_id"], 1), key="first")
    assert buy(api, user, shop_id, (product["product_id"], 1), key="first").status == 201  # a replay
    assert buy(api, user, shop_id, (product["product_id"], 1), key="second").status == 409
    assert metric_values(mark, "OrdersPlaced") == [1.0]
    assert metric_values(mark, "OutOfStock") == [1.0]


def test_a_posts_fan_out_lag_is_measured_when_its_last_chunk_is_delivered(api, owner, user, drain_stream):
    assert api.put(f"/shops/{owner['shop']['shop_id']}/follow", token=user["token"]).status == 200
    drain_stream()
    mark = len(observability.emitted)
    post = create_post(api, owner)
    drain_stream()
    # Only this post's: on DynamoDB Local the stream also carries earlier tests' posts.
    (blob,) = [b for b in list(observability.emitted)[mark:] if "FanoutLag" in b and b["post_id"] == post["post_id"]]
    (lag,) = blob["FanoutLag"]
    assert 0 <= lag < 60 and blob["hops"] == 0  # a small shop: the post's own record reached everyone
    feed_lines = [line for line in log_secrets.lines[-50:] if '"message":"feed"' in line]
    assert feed_lines and all('"handler":"DynamoDBEvent"' in line for line in feed_lines[-1:])


def test_a_failed_stream_record_is_counted(api, owner, drain_stream, monkeypatch):
    from chalicelib.events import stream as stream_module

    def boom(change, deadline):
        raise RuntimeError("injected")

    drain_stream()
    create_post(api, owner)
    monkeypatch.setattr(stream_module, "_ROUTES", {"post": (boom,)})
    mark = len(observability.emitted)
    from devtools.stream_poller import BatchItemFailures

    with pytest.raises(BatchItemFailures):  # the poller, like Lambda, sees the record reported failed
        drain_stream()
    assert sum(metric_values(mark, "StreamBatchFailures")) >= 1


def test_with_tracing_each_request_is_a_subsegment_named_after_its_route(api, user, monkeypatch):
    from contextlib import contextmanager
    from types import SimpleNamespace

    seen: list[tuple] = []

    class Subsegment:
        def put_annotation(self, key, value):
            seen.append((key, value))

        def put_metadata(self, key, value, namespace=None):
            seen.append((key, namespace))

    @contextmanager
    def in_subsegment(name):
        seen.append(("subsegment", name))
        yield Subsegment()

    monkeypatch.setitem(observability._state, "tracer", SimpleNamespace(provider=SimpleNamespace(
        in_subsegment=in_subsegment)))
    assert api.get("/me", token=user["token"]).status == 200
    assert seen[0] == ("subsegment", "## GET /me")
    assert ("route", "GET /me") in seen and ("status", 200) in seen and ("cold_start", False) in seen


def test_the_powertools_tracer_runs_the_same_path(api, user, monkeypatch):
    """The real Tracer (X-Ray SDK disabled: nothing to send to here) behind settings.tracing."""
    from chalicelib import wiring

    monkeypatch.setenv("DONGNE_TRACING", "true")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    wiring.reset()
    monkeypatch.delitem(observability._state, "tracer", raising=False)
    try:
        assert observability.tracer() is not None
        assert api.get("/me", token=user["token"]).status == 200
    finally:
        observability._state.pop("tracer", None)
        monkeypatch.undo()
        wiring.reset()



def test_notifications_sent_and_failed_are_counted_per_channel(api, owner, user, channels, drain_stream, outbound,
                                                              monkeypatch):
    from botocore.exceptions import ClientError

    tofu = shop_with_a_first_order(api, owner, drain_stream)
    turn_on(api, owner["token"], sms=True)
    a_phone(api, owner)
    verified(owner, "phone")
    outbound()
    mark = len(observability.emitted)
    placed(api, user, owner["shop"]["shop_id"], (tofu["product_id"], 1))
    drain_stream()
    outbound()  # the stream queued the SMS; the outbound function sends it
    assert [b["channel"] for b in list(observability.emitted)[mark:] if "NotificationsSent" in b] == ["sms"]

    def throttled(**kwargs):
        raise ClientError({"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, "Publish")

    monkeypatch.setattr(channels, "publish", throttled)
    mark = len(observability.emitted)
    placed(api, user, owner["shop"]["shop_id"], (tofu["product_id"], 1))
    drain_stream()
    outbound()  # every attempt fails (the queue retries it, then keeps it in the dead-letter queue)
    failed = [b for b in list(observability.emitted)[mark:] if "NotificationsFailed" in b]
    assert ("sms", "new_order") in [(b["channel"], b["notification_type"]) for b in failed]  # (and a milestone)
    assert {b["channel"] for b in failed} == {"sms"}
