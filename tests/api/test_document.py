"""The served /openapi.json says what the server enforces, no more and no less."""

from __future__ import annotations

import json
import re

import pytest

from tests.api.conftest import assert_problem

TIERS = ["potential", "first_time", "regular", "lapsed"]
STATUSES = ["pending_payment", "paid", "shipped", "ready_for_pickup", "delivered", "cancelled", "expired"]


@pytest.fixture
def doc(api):
    return api.get("/openapi.json").body


def schema(doc, name):
    return doc["components"]["schemas"][name]


def operation(doc, method, path):
    return doc["paths"][path][method.lower()]


def walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def test_served_document_names_this_server(api):
    answer = api.get("/openapi.json", headers={"Host": "api.dongne.test", "X-Forwarded-Proto": "https"})
    assert answer.body["servers"] == [{"url": "https://api.dongne.test"}]
    assert api.get("/openapi.json", headers={"Host": "bad host/"}).body["servers"] == [{"url": "http://127.0.0.1:8000"}]


def test_service_routes_are_not_client_operations(doc):
    assert "/openapi.json" not in doc["paths"] and "/docs" not in doc["paths"]
    assert "/health" in doc["paths"]


def test_operation_ids_read_as_verbs(doc):
    ids = {f"{m.upper()} {p}": o["operationId"] for p, item in doc["paths"].items() for m, o in item.items()}
    assert ids["POST /orders"] == "placeOrder"
    assert ids["GET /shops/{shop_id}/customers/{user_id}"] == "getCustomerCard"
    assert ids["PUT /shops/{shop_id}/customers/{user_id}/note"] == "setCustomerNote"
    assert ids["POST /auth/signup"] == "signUp" and ids["GET /feed"] == "getFeed"
    verbs = ("get", "list", "create", "update", "delete", "place", "change", "reorder", "review", "sign", "log",
             "open", "follow", "unfollow", "like", "unlike", "add", "share", "set", "confirm", "mark", "receive",
             "save", "remove", "refresh")
    for name in ids.values():
        assert re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+)*", name) and name.startswith(verbs), name


def test_shared_enums_and_pages_are_named_once(doc):
    enums = [node for node in walk(doc) if isinstance(node.get("enum"), list)]
    assert [e for e in enums if sorted(e["enum"]) == sorted(TIERS)] == [schema(doc, "Tier")]
    assert [e for e in enums if sorted(e["enum"]) == sorted(STATUSES)] == [schema(doc, "OrderStatus")]
    assert schema(doc, "ProductKind")["enum"] == ["essential", "treat"]
    assert {"FeedPage", "OrderPage", "CustomerPage", "MyShopPage", "ReviewPage"} <= set(doc["components"]["schemas"])
    assert not [name for name in doc["components"]["schemas"] if name.startswith("Page")]


def test_request_schemas_carry_no_defaults(doc):
    bodies = [o["requestBody"] for item in doc["paths"].values() for o in item.values() if "requestBody" in o]
    refs = {ref.rsplit("/", 1)[1] for node in walk(bodies) for ref in [node.get("$ref")] if ref}
    for name in refs:
        for prop in schema(doc, name).get("properties", {}).values():
            assert "default" not in prop, name
    assert "Default: `\"KRW\"`" in schema(doc, "ProductCreate")["properties"]["currency"]["description"]
    params = [p for item in doc["paths"].values() for o in item.values() for p in o.get("parameters", [])]
    assert all("default" not in p["schema"] for p in params)


def test_handle_pattern_and_lengths_are_declared(doc):
    for name in ("ShopCreate", "ShopUpdate"):
        handle = json.dumps(schema(doc, name)["properties"]["handle"])
        assert "^[A-Za-z0-9][A-Za-z0-9_.]*[A-Za-z0-9]$" in handle.replace("\\\\", "\\") and '"maxLength": 30' in handle


def test_idempotency_key_limits_and_answer_headers_are_declared(doc):
    place = operation(doc, "POST", "/orders")
    header = {p["name"]: p for p in place["parameters"]}["Idempotency-Key"]
    assert header["required"] is True
    assert header["schema"] == {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]+$"}
    created = place["responses"]["201"]["headers"]
    assert created["Idempotent-Replayed"]["schema"] == {"type": "string", "enum": ["true"]}
    assert created["Location"]["required"] is True
    assert place["responses"]["400"]["x-problem-codes"] == [
        "idempotency_key_invalid", "idempotency_key_missing", "json_too_deep", "malformed_json"]
    assert "out_of_stock" in place["responses"]["409"]["x-problem-codes"]
    assert "shortages" in schema(doc, "Problem")["properties"]
    assert schema(doc, "Shortage")["required"] == ["product_id", "name", "requested", "available"]


def test_every_route_declares_413_429_503_and_body_routes_415(doc):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            responses = op["responses"]
            assert {"413", "429", "503"} <= set(responses), (method, path)
            assert responses["503"]["headers"]["Retry-After"]["required"] is True
            assert responses["429"]["headers"]["Retry-After"]["required"] is True
            if "requestBody" in op:
                assert responses["415"]["x-problem-codes"] == ["unsupported_media_type"]
            else:
                assert "415" not in responses


def test_unique_lists_are_declared_and_refused(doc, api, owner):
    for name in ("PostCreate", "PostUpdate"):
        props = schema(doc, name)["properties"]
        for field in ("photos", "product_ids"):
            declared = [n for n in walk(props[field]) if n.get("type") == "array"]
            assert declared and all(n.get("uniqueItems") is True for n in declared), (name, field)
    pid = "01JDQ7ZK3M8X2V5N4P6R9T0W1Y"
    answer = api.post(f"/shops/{owner['shop']['shop_id']}/posts", {"text": "x", "product_ids": [pid, pid]},
                      token=owner["token"])
    assert assert_problem(answer, 422)["errors"][0]["code"] == "duplicate"


def test_email_or_phone_is_declared(doc):
    assert "email" not in schema(doc, "SignupIn").get("required", []) and "not" in schema(doc, "SignupIn")
    assert "not" in schema(doc, "LoginIn")


def test_product_update_declares_what_may_be_null(doc, api, owner):
    props = schema(doc, "ProductUpdate")["properties"]
    for field in ("name", "description", "price", "stock", "kind", "photos"):
        assert "null" not in json.dumps(props[field]), field
    assert {"type": "null"} in props["reorder_days"]["anyOf"]
    from tests.api.commerce import make_product

    product = make_product(api, owner)
    answer = api.patch(f"/products/{product['product_id']}", {"price": None}, token=owner["token"])
    assert assert_problem(answer, 422)["errors"] == [
        {"field": "body.price", "code": "not_null", "message": "Cannot be null; leave the field out to keep it."}]


def test_a_body_is_required_exactly_when_an_empty_one_is_refused(doc, api, user):
    assert operation(doc, "PATCH", "/me")["requestBody"]["required"] is False
    assert api.call("PATCH", "/me", token=user["token"]).status == 200
    assert operation(doc, "POST", "/auth/signup")["requestBody"]["required"] is True
    assert api.call("POST", "/auth/signup").status == 422


def test_every_declared_code_has_its_words_in_both_languages(doc):
    from chalicelib.errors import DomainError
    from chalicelib.messages import PROBLEMS

    declared = {code for item in doc["paths"].values() for op in item.values()
                for response in op["responses"].values() for code in response.get("x-problem-codes", [])}
    kinds = {kind.code: kind.status for kind in DomainError.kinds()}
    assert declared <= set(kinds) <= set(PROBLEMS)
    for code, status in kinds.items():
        assert PROBLEMS[code].status == status, code
        assert PROBLEMS[code].title_ko and PROBLEMS[code].detail_ko and PROBLEMS[code].when, code
    for item in doc["paths"].values():
        for op in item.values():
            for status, response in op["responses"].items():
                for code in response.get("x-problem-codes", []):
                    assert kinds[code] == int(status), (code, status)


def test_constraints_are_json_schema_keywords(doc):
    # pydantic writes a constraint it cannot place as its own name ("ge": 1): a validator would
    # ignore it, so the document would promise less than the server enforces
    unknown = {"ge", "gt", "le", "lt", "min_length", "max_length", "strict", "multiple_of"}
    for node in walk(doc["components"]):
        assert not unknown & set(node), node
    rating = schema(doc, "ReviewCreate")["properties"]["rating"]
    assert (rating["minimum"], rating["maximum"]) == (1, 5)


def test_patterns_never_say_backslash_s(doc):
    # `\s` is not the same set in ECMA-262 (the document's dialect), Rust (the server's) and Python
    for node in walk(doc):
        pattern = node.get("pattern")
        if isinstance(pattern, str):
            assert "\\s" not in pattern and "\\S" not in pattern, pattern
