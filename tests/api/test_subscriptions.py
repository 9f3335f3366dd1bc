"""Subscriptions (정기배송) through the API: subscribing, reading, changing, the shop's list.

GIVEN a roaster with essentials and a treat, WHEN a customer subscribes and changes the
subscription, THEN only essentials are accepted, the key makes retries safe, only the two
parties see it, and bad input is a problem+json 4xx that changes nothing.
"""

from __future__ import annotations

import uuid

import pytest

from devtools.callcount import dynamodb_calls
from tests.api.conftest import TOKEN_CHECK, assert_problem
from tests.api.essentials_kit import DAY, T0, make_world


@pytest.fixture
def world(api, monkeypatch):
    return make_world(api, monkeypatch, discount=10)


def test_subscribe_answers_the_subscription_with_the_quote_and_discount(world):
    answer = world.subscribe((world.beans["product_id"], 2), (world.filters["product_id"], 1))
    assert answer.status == 201, answer.body
    sub = answer.body
    assert answer.headers["Location"] == f"/subscriptions/{sub['subscription_id']}"
    assert (sub["shop_id"], sub["shop_name"], sub["status"], sub["every_days"], sub["period"]) == (
        world.shop_id, "성수 커피로스터스", "active", 14, 1)
    assert sub["subscriber_id"] == world.subscriber["user"]["user_id"] and sub["subscriber_name"] == "김민지"
    assert [(i["name"], i["quantity"], i["price"], i["line_total"]) for i in sub["items"]] == [
        ("원두 200g", 2, 14000, 28000), ("드립 필터 100매", 1, 3000, 3000)]
    assert (sub["subtotal"], sub["discount_percent"], sub["discount"], sub["total"]) == (31000, 10, 3100, 27900)
    assert sub["next_order_at"] == "2026-12-01T00:00:00.000Z" and sub["currency"] == "KRW"
    assert sub["history"] == [] and sub["last_order_id"] is None


def test_subscribe_is_idempotent_by_key(world):
    key = str(uuid.uuid4())
    first = world.subscribe((world.beans["product_id"], 1), key=key)
    again = world.subscribe((world.beans["product_id"], 1), key=key)
    assert first.status == again.status == 201
    assert again.body == first.body and again.headers.get("Idempotent-Replayed") == "true"
    other = world.subscribe((world.beans["product_id"], 2), key=key)
    assert assert_problem(other, 409)["code"] == "idempotency_key_reused"
    mine = world.api.get("/me/subscriptions", token=world.subscriber["token"]).body["items"]
    assert [s["subscription_id"] for s in mine] == [first.body["subscription_id"]]


def test_a_first_order_later_is_due_then(world):
    sub = world.subscribed(first_order_at="2026-12-10T09:00:00Z")
    assert sub["next_order_at"] == "2026-12-10T09:00:00.000Z"
    too_far = world.subscribe((world.beans["product_id"], 1), first_order_at="2027-06-01T00:00:00Z")
    error = assert_problem(too_far, 422)["errors"][0]
    assert (error["field"], error["code"]) == ("body.first_order_at", "first_order_window")
    no_zone = world.subscribe((world.beans["product_id"], 1), first_order_at="2026-12-10T09:00:00")
    assert_problem(no_zone, 422)


@pytest.mark.parametrize("body, status, field", [
    ({"every_days": 6}, 422, "body.every_days"),
    ({"every_days": 91}, 422, "body.every_days"),
    ({"every_days": "14"}, 422, "body.every_days"),
    ({"items": []}, 422, "body.items"),
    ({"items": [{"product_id": "01NOSUCHPRODUCT00000000000", "quantity": 1}]}, 422, "body.items"),
    ({"items": [{"product_id": "$BEANS", "quantity": 0}]}, 422, "body.items.0.quantity"),
    ({"shop_id": "01NOSUCHSHOP0000000000000"}, 422, "body.shop_id"),
    ({"discount": 50}, 422, "body.discount"),
])
def test_bad_input_is_a_problem_and_writes_nothing(world, body, status, field):
    base = {"shop_id": world.shop_id, "items": [{"product_id": world.beans["product_id"], "quantity": 1}],
            "every_days": 14}
    payload = {**base, **body}
    payload["items"] = [{**line, "product_id": world.beans["product_id"]} if line["product_id"] == "$BEANS" else line
                        for line in payload["items"]]
    answer = world.api.post("/subscriptions", payload, token=world.subscriber["token"],
                            headers={"Idempotency-Key": str(uuid.uuid4())})
    problem = assert_problem(answer, status)
    assert field in {e["field"] for e in problem.get("errors", [])}, problem
    assert world.api.get("/me/subscriptions", token=world.subscriber["token"]).body["items"] == []


def test_treats_cannot_be_subscribed_to(world):
    answer = world.subscribe((world.beans["product_id"], 1), (world.mug["product_id"], 1))
    problem = assert_problem(answer, 422)
    assert (problem["errors"][0]["field"], problem["errors"][0]["code"]) == ("body.items", "not_essential")
    assert "treat" in problem["errors"][0]["message"]
    korean = world.api.post("/subscriptions", {"shop_id": world.shop_id, "every_days": 14,
                                               "items": [{"product_id": world.mug["product_id"], "quantity": 1}]},
                            token=world.subscriber["token"],
                            headers={"Idempotency-Key": str(uuid.uuid4()), "Accept-Language": "ko"})
    assert "기호품" in assert_problem(korean, 422)["errors"][0]["message"]
    assert world.api.get("/me/subscriptions", token=world.subscriber["token"]).body["items"] == []


def test_the_key_is_required_and_the_owner_cannot_subscribe(world):
    body = {"shop_id": world.shop_id, "items": [{"product_id": world.beans["product_id"], "quantity": 1}],
            "every_days": 14}
    missing = assert_problem(world.api.post("/subscriptions", body, token=world.subscriber["token"]), 400)
    assert missing["code"] == "idempotency_key_missing"
    own = assert_problem(world.subscribe((world.beans["product_id"], 1), who=world.owner), 403)
    assert own["code"] == "own_shop_subscription"
    assert world.api.post("/subscriptions", body).status == 401


def test_only_the_subscriber_and_the_owner_see_it(world):
    sub = world.subscribed()
    sid = sub["subscription_id"]
    assert world.get(sid).body == sub
    assert world.get(sid, who=world.owner).status == 200
    assert_problem(world.get(sid, who=world.other), 404)
    assert_problem(world.get("01NOSUCHSUBSCRIPTION000000"), 404)
    assert_problem(world.change(sid, {"status": "paused"}, who=world.other), 404)
    assert_problem(world.change(sid, {"status": "paused"}, who=world.owner), 403)
    assert world.get(sid).body["status"] == "active"


def test_pause_resume_interval_skip_and_cancel(world):
    sid = world.subscribed()["subscription_id"]
    paused = world.change(sid, {"status": "paused"})
    assert paused.status == 200 and paused.body["status"] == "paused"
    assert assert_problem(world.change(sid, {"skip_next": True}), 409)["code"] == "subscription_not_active"
    world.travel_to(T0 + 20 * DAY)  # the first period passed while paused
    resumed = world.change(sid, {"status": "active", "every_days": 21}).body
    assert (resumed["status"], resumed["every_days"], resumed["period"]) == ("active", 21, 2)
    assert resumed["next_order_at"] == "2026-12-22T00:00:00.000Z"  # the first period ahead, on the old cadence
    skipped = world.change(sid, {"skip_next": True}).body
    assert (skipped["period"], skipped["next_order_at"]) == (3, "2027-01-12T00:00:00.000Z")  # 21 days on
    assert [(h["period"], h["outcome"]) for h in skipped["history"]] == [(2, "skipped")]
    assert world.change(sid, {"skip_next": False}).body == skipped  # nothing to do
    cancelled = world.change(sid, {"status": "cancelled"})
    assert cancelled.status == 200 and cancelled.body["status"] == "cancelled"
    for body in ({"status": "active"}, {"every_days": 30}, {"skip_next": True}):
        assert assert_problem(world.change(sid, body), 409)["code"] == "subscription_cancelled"
    assert world.change(sid, {"status": "cancelled"}).status == 200  # already so


@pytest.mark.parametrize("body", [{"status": "gone"}, {"every_days": 5}, {"status": None}, {"skip_next": "yes"},
                                  {"period": 9}, {"next_order_at": "2030-01-01T00:00:00Z"}])
def test_bad_changes_are_422_and_change_nothing(world, body):
    sub = world.subscribed()
    assert_problem(world.change(sub["subscription_id"], body), 422)
    assert world.get(sub["subscription_id"]).body == sub


def test_the_shops_list_by_status_is_owner_only(world):
    first = world.subscribed()
    second = world.subscribed(who=world.other)
    world.change(second["subscription_id"], {"status": "paused"}, who=world.other)
    path = f"/shops/{world.shop_id}/subscriptions"
    everyone = world.api.get(path, token=world.owner["token"])
    assert everyone.status == 200
    assert {s["subscription_id"] for s in everyone.body["items"]} == {first["subscription_id"],
                                                                      second["subscription_id"]}
    paused = world.api.get(f"{path}?status=paused", token=world.owner["token"]).body["items"]
    assert [s["subscription_id"] for s in paused] == [second["subscription_id"]]
    assert_problem(world.api.get(path, token=world.subscriber["token"]), 403)
    assert_problem(world.api.get(f"{path}?status=gone", token=world.owner["token"]), 422)
    page = world.api.get(f"{path}?limit=1", token=world.owner["token"]).body
    assert len(page["items"]) == 1 and page["next_cursor"]
    assert_problem(world.api.get(f"/me/subscriptions?cursor={page['next_cursor']}",
                                 token=world.subscriber["token"]), 400)  # a cursor of another list


def test_the_shop_sets_its_subscription_discount(world):
    path = f"/shops/{world.shop_id}"
    for bad in (21, -1, "10", 10.5):
        assert_problem(world.api.patch(path, {"subscription_discount_percent": bad}, token=world.owner["token"]), 422)
    assert world.api.get(path).body["subscription_discount_percent"] == 10
    assert_problem(world.api.patch(path, {"subscription_discount_percent": 5}, token=world.other["token"]), 403)
    answer = world.api.patch(path, {"subscription_discount_percent": 0}, token=world.owner["token"])
    assert answer.status == 200 and answer.body["subscription_discount_percent"] == 0


def test_reads_and_writes_cost_one_call_each(world):
    sub = world.subscribed()
    sid = sub["subscription_id"]
    with dynamodb_calls() as calls:
        assert world.get(sid).status == 200
    assert calls.operations == TOKEN_CHECK + ["GetItem"]
    with dynamodb_calls() as calls:
        assert world.api.get("/me/subscriptions", token=world.subscriber["token"]).status == 200
    assert calls.operations == TOKEN_CHECK + ["Query"]
    with dynamodb_calls() as calls:
        assert world.change(sid, {"status": "paused"}).status == 200
    assert calls.operations == TOKEN_CHECK + ["GetItem", "PutItem"]
    with dynamodb_calls() as calls:
        world.subscribed()  # the shop, products and the subscriber's name fresh, then one transaction
    assert calls.operations == TOKEN_CHECK + ["UpdateItem", "BatchGetItem", "TransactWriteItems"]  # the limit first


def test_new_routes_are_in_the_openapi_document(api):
    from tests.openapi_refs import inline_shared

    doc = inline_shared(api.get("/openapi.json").body)
    paths = doc["paths"]
    assert set(paths["/subscriptions"]) == {"post"}
    assert {"get", "patch"} <= set(paths["/subscriptions/{subscription_id}"])
    for path in ("/me/subscriptions", "/shops/{shop_id}/subscriptions", "/me/reorders"):
        assert "get" in paths[path], path
    post = paths["/subscriptions"]["post"]
    assert {"400", "401", "403", "409", "422"} <= set(post["responses"])
    assert "application/problem+json" in post["responses"]["409"]["content"]
    assert any(p["name"] == "Idempotency-Key" and p["required"] for p in post["parameters"])
    assert {"401", "403", "404", "409", "422"} <= set(paths["/subscriptions/{subscription_id}"]["patch"]["responses"])
    assert "404" in paths["/subscriptions/{subscription_id}"]["get"]["responses"]
    codes = {status: set(answer.get("x-problem-codes", ())) for status, answer in post["responses"].items()}
    assert {"own_shop_subscription"} <= codes["403"] and {"idempotency_key_reused"} <= codes["409"]
    assert {"idempotency_key_missing", "idempotency_key_invalid"} <= codes["400"]
    patch = paths["/subscriptions/{subscription_id}"]["patch"]["responses"]
    assert {"subscription_cancelled", "subscription_not_active"} <= set(patch["409"]["x-problem-codes"])
    assert "subscription_discount_percent" in str(doc["components"]["schemas"])
