"""The served /openapi.json says what the server enforces, no more and no less."""

from __future__ import annotations

import json
import re

import pytest

from tests.api.conftest import assert_problem
from tests.openapi_refs import inline_shared, validator

TIERS = ["potential", "first_time", "regular", "lapsed"]
STATUSES = ["pending_payment", "paid", "shipped", "ready_for_pickup", "delivered", "cancelled", "expired"]


@pytest.fixture
def served(api):
    """The document as served: shared answers, parameters and headers referenced."""
    return api.get("/openapi.json").body


@pytest.fixture
def doc(served):
    """The document with its shared answers, parameters and headers put back in place."""
    return inline_shared(served)


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
    assert len(set(ids.values())) == len(ids)
    assert ids["POST /orders"] == "placeOrder"
    assert ids["GET /shops/{shop_id}/customers/{user_id}"] == "getCustomerCard"
    assert ids["PUT /shops/{shop_id}/customers/{user_id}/note"] == "setCustomerNote"
    assert ids["POST /auth/signup"] == "signUp" and ids["GET /feed"] == "getFeed"
    # a shop's lists are listShop*, mine listMy*; a two-way toggle is a verb and its un-verb
    assert ids["GET /shops/{shop_id}/orders"] == "listShopOrders"
    assert ids["GET /shops/{shop_id}/customers"] == "listShopCustomers"
    assert ids["GET /me/following"] == "listMyFollowedShops" and ids["GET /me/rewards"] == "listMyRewards"
    assert (ids["PUT /shops/{shop_id}/follow"], ids["DELETE /shops/{shop_id}/follow"]) == ("followShop", "unfollowShop")
    assert (ids["PUT /shops/{shop_id}/blocks/{user_id}"], ids["DELETE /shops/{shop_id}/blocks/{user_id}"]) == (
        "blockCustomer", "unblockCustomer")
    assert ids["GET /search/shops"] == "searchShops" and ids["POST /orders/{order_id}/reorder"] == "placeReorder"
    verbs = {"get", "list", "create", "update", "delete", "place", "change", "review", "sign", "log", "open",
             "follow", "unfollow", "like", "unlike", "add", "share", "set", "confirm", "mark", "receive", "grant",
             "search", "block", "unblock", "refresh"}
    for name in ids.values():
        words = re.fullmatch(r"([a-z]+)((?:[A-Z][a-z0-9]*)*)", name)
        assert words and words.group(1) in verbs and words.group(2), name


def test_shared_enums_and_pages_are_named_once(doc):
    enums = [node for node in walk(doc) if isinstance(node.get("enum"), list)]
    assert [e for e in enums if sorted(e["enum"]) == sorted(TIERS)] == [schema(doc, "Tier")]
    assert [e for e in enums if sorted(e["enum"]) == sorted(STATUSES)] == [schema(doc, "OrderStatus")]
    assert schema(doc, "ProductKind")["enum"] == ["essential", "treat"]
    assert {"FeedPage", "OrderPage", "CustomerPage", "MyShopPage", "ReviewPage"} <= set(doc["components"]["schemas"])
    assert not [name for name in doc["components"]["schemas"] if name.startswith("Page")]


def test_every_enum_is_one_named_component(served):
    schemas = served["components"]["schemas"]
    named = {name: tuple(sorted(s["enum"])) for name, s in schemas.items() if "enum" in s}
    # no value-set twice: a coupon's kind and a reward's are one AmountKind, not CouponCreateKind and ...
    assert len(set(named.values())) == len(named), named
    assert schemas["AmountKind"]["enum"] == ["percent", "fixed"] and schemas["DevicePlatform"]["enum"] == ["ios",
                                                                                                          "android"]
    # ... and nowhere else: every other enum of the schemas and parameters is a reference to one
    inner = [node for s in schemas.values() for node in list(walk(s))[1:]]
    inline = [node for node in [*walk(served["paths"]), *walk(served["components"]["parameters"]), *inner]
              if "enum" in node]
    assert not inline, inline
    for name in ("DeviceIn", "DeviceOut"):
        assert schemas[name]["properties"]["platform"] == {"$ref": "#/components/schemas/DevicePlatform"}
    for name in ("CouponCreate", "CouponPublic", "RewardSettingOut"):
        assert schemas[name]["properties"]["kind"] == {"$ref": "#/components/schemas/AmountKind"}
    granularity = {p["name"]: p for p in inline_shared(served)["paths"]["/shops/{shop_id}/insights"]["get"]["parameters"]}
    assert granularity["granularity"]["schema"] == {"$ref": "#/components/schemas/Granularity"}


def test_headers_and_repeated_parameters_are_shared_components(served):
    from openapi_spec_validator import validate

    validate(served)
    components = served["components"]
    answers = [*components["responses"].values(),
               *(r for item in served["paths"].values() for op in item.values() for r in op["responses"].values())]
    for answer in answers:
        for name, header in answer.get("headers", {}).items():
            # a header is a reference, never a schema written out again
            assert set(header) <= {"$ref", "description"}, (name, header)
            assert header["$ref"].startswith("#/components/headers/") and "schema" in components["headers"][
                header["$ref"].rsplit("/", 1)[1]]
    assert {"Content-Language", "Retry-After", "ETag", "X-Request-Id"} <= set(components["headers"])
    for item in served["paths"].values():
        for op in item.values():
            for status, answer in op["responses"].items():
                answer = answer if "$ref" not in answer else components["responses"][answer["$ref"].rsplit("/", 1)[1]]
                assert answer["headers"]["X-Request-Id"] == {"$ref": "#/components/headers/X-Request-Id"}, status
            assert {"$ref": "#/components/parameters/Accept-Language"} in op["parameters"]
    assert components["headers"]["Content-Disposition"]["required"] is True  # one use is a component too
    # a parameter written out in full is one no other operation has
    written = [json.dumps(p, sort_keys=True) for item in served["paths"].values() for op in item.values()
               for p in op.get("parameters", []) if "$ref" not in p]
    assert len(written) == len(set(written))
    stripped = [json.dumps({k: v for k, v in json.loads(p).items() if k != "description"}, sort_keys=True)
                for p in written]
    assert len(stripped) == len(set(stripped))
    assert {"shop_id", "limit", "cursor", "Idempotency-Key", "If-Match", "If-None-Match"} <= set(
        components["parameters"])
    # one 429 answer, one 503, one 413 for every operation
    for status, name in (("429", "RateLimited"), ("503", "ServiceUnavailable"), ("413", "PayloadTooLarge")):
        refs = {op["responses"][status]["$ref"] for item in served["paths"].values() for op in item.values()}
        assert refs == {f"#/components/responses/{name}"}, status
        assert components["responses"][name]["x-problem-codes"]



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


def test_a_reward_out_of_its_kinds_bounds_is_refused_and_excluded(served, doc, api, owner):
    # the document used to say `{kind: percent | fixed, value: integer}`: 31 percent fitted it
    setting = {"kind": "percent", "value": 31}
    assert setting["kind"] in ("percent", "fixed") and isinstance(setting["value"], int)
    path = f"/shops/{owner['shop']['shop_id']}"
    refused = assert_problem(api.patch(path, {"referral_reward": setting}, token=owner["token"]), 422)
    assert refused["code"] in operation(doc, "PATCH", "/shops/{shop_id}")["responses"]["422"]["x-problem-codes"]
    assert [(e["field"], e["code"]) for e in refused["errors"]] == [("body.referral_reward", "invalid")]
    shop_update = validator(served, "ShopUpdate")
    assert not shop_update.is_valid({"referral_reward": setting})
    assert not shop_update.is_valid({"referral_reward": {"kind": "fixed", "value": 99}})
    for kind, value in (("percent", 30), ("fixed", 100)):
        assert shop_update.is_valid({"referral_reward": {"kind": kind, "value": value}})
        answer = api.patch(path, {"referral_reward": {"kind": kind, "value": value}}, token=owner["token"])
        assert answer.status == 200 and answer.body["referral_reward"] == {"kind": kind, "value": value}
    assert schema(served, "RewardSettingIn")["discriminator"]["mapping"] == {
        "percent": "#/components/schemas/PercentReward", "fixed": "#/components/schemas/FixedReward"}


def test_a_post_of_only_white_space_is_refused_as_the_document_says(served, doc, api, owner):
    path = f"/shops/{owner['shop']['shop_id']}/posts"
    post_create = validator(served, "PostCreate")
    # U+FEFF is white space to the document's pattern, not to Python's str.strip: both say blank now
    for text in ("\ufeff", " \u3000\ufeff ", ""):
        assert not post_create.is_valid({"text": text}), text
        refused = assert_problem(api.post(path, {"text": text}, token=owner["token"]), 422)
        assert refused["code"] in operation(doc, "POST", "/shops/{shop_id}/posts")["responses"]["422"][
            "x-problem-codes"]
        assert [(e["field"], e["code"]) for e in refused["errors"]] == [("body.text", "text_or_photo")]
    assert post_create.is_valid({"text": "\u200b두부"})
    assert api.post(path, {"text": "\u200b두부"}, token=owner["token"]).status == 201
    post = api.post(path, {"text": "손두부"}, token=owner["token"]).body
    # an edit to blank text and no photos is refused whatever the post holds, and excluded
    assert not validator(served, "PostUpdate").is_valid({"text": " ", "photos": []})
    refused = assert_problem(api.patch(f"/posts/{post['post_id']}", {"text": " ", "photos": []},
                                       token=owner["token"]), 422)
    assert refused["errors"][0]["code"] == "text_or_photo"
