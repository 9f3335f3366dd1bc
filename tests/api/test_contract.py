"""The conventions of API.md, as a mobile developer meets them: problems the app can switch on
(in Korean too), nothing but problem+json for anything a client sends, unknown query parameters
ignored, ETags and preconditions, CORS for the configured origins, UTF-8 bodies."""

from __future__ import annotations

import json

import pytest

from tests.api.conftest import assert_problem

DEEP = "[" * 10_000 + "]" * 10_000  # 20 KB: json.loads raises RecursionError on it


# --- bodies nested past any sane depth: 400, never a 500 --------------------------------------------


@pytest.mark.parametrize("method, path", [("POST", "/auth/login"), ("POST", "/auth/signup")])
def test_deeply_nested_body_without_logging_in_is_400(api, method, path):
    problem = assert_problem(api.call(method, path, raw=DEEP), 400)
    assert problem["code"] == "json_too_deep" and problem["type"].endswith("/json-too-deep")


def test_deeply_nested_body_on_orders_and_me_is_400(api, user):
    answer = api.call("POST", "/orders", raw=DEEP, token=user["token"], headers={"Idempotency-Key": "k-deep"})
    assert assert_problem(answer, 400)["code"] == "json_too_deep"
    assert assert_problem(api.call("PATCH", "/me", raw=DEEP, token=user["token"]), 400)["code"] == "json_too_deep"


def test_nesting_just_past_the_limit_is_400_and_within_it_is_validated(api):
    from chalicelib.api.edge import MAX_JSON_DEPTH

    too_deep = {"name": "x", "email": "a@b.co", "password": "correct horse 9", "extra": json.loads(
        "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH)}
    assert assert_problem(api.post("/auth/signup", too_deep), 400)["code"] == "json_too_deep"
    within = {**too_deep, "extra": [[["ok"]]]}
    assert assert_problem(api.post("/auth/signup", within), 422)["errors"][0]["code"] == "unknown_field"


# --- content types: 415 problem+json for a body that is not JSON; a GET never needs one ---------------


@pytest.mark.parametrize("content_type", ["text/csv", "", "application/xml", "multipart/form-data"])
def test_a_get_with_any_content_type_is_answered(api, content_type):
    answer = api.call("GET", "/health", headers={"Content-Type": content_type})
    assert answer.status == 200 and answer.body["status"] == "ok"


@pytest.mark.parametrize("content_type", ["text/csv", "application/xml", "text/plain; charset=utf-8"])
def test_a_body_that_is_not_json_is_415_problem(api, content_type):
    answer = api.call("POST", "/auth/login", raw="email=a@b.co", headers={"Content-Type": content_type})
    problem = assert_problem(answer, 415)
    assert problem["code"] == "unsupported_media_type" and "Code" not in problem


def test_json_with_a_charset_is_json(api):
    body = json.dumps({"name": "김민지", "email": "charset@example.kr", "password": "correct horse 9"})
    answer = api.call("POST", "/auth/signup", raw=body, headers={"Content-Type": "application/json; charset=utf-8"})
    assert answer.status == 201


# --- wrong method: 405 problem+json with Allow --------------------------------------------------------


@pytest.mark.parametrize("method, path, allow", [
    ("DELETE", "/feed", "GET, OPTIONS"),
    ("PUT", "/me", "GET, DELETE, PATCH, OPTIONS"),
    ("POST", "/shops/01JDQ7ZK3M8X2V5N4P6R9T0W1Y", "GET, PATCH, OPTIONS"),
    ("GET", "/orders", "POST, OPTIONS"),
])
def test_wrong_method_is_405_problem_with_allow(api, method, path, allow):
    answer = api.call(method, path, body={})
    problem = assert_problem(answer, 405)
    assert problem["code"] == "method_not_allowed"
    assert answer.headers["Allow"] == allow


def test_a_method_the_app_never_routes_is_405_problem_too(api):
    # HEAD reaches the framework's own method check: its answer is rewritten as a problem
    answer = api.call("HEAD", "/feed")
    assert answer.status == 405 and answer.content_type == "application/problem+json"
    assert answer.headers["Allow"] == "GET, OPTIONS"


def test_options_lists_the_methods(api):
    answer = api.call("OPTIONS", "/shops/01JDQ7ZK3M8X2V5N4P6R9T0W1Y")
    assert answer.status == 204 and answer.headers["Allow"] == "GET, PATCH, OPTIONS"
    assert "Access-Control-Allow-Origin" not in answer.headers  # no origin configured


# --- problems the app can switch on: a code and a type per kind -----------------------------------------


def test_each_conflict_has_its_own_code_and_type(api, user):
    from tests.api.commerce import make_product

    taken = api.post("/auth/signup", {"name": "x", "email": user["email"], "password": "correct horse 9"})
    owner = api.signup(name="박사장")
    shop = api.open_shop(owner["token"], handle="codes_shop")
    handle = api.post("/shops", {"name": "가게", "handle": "codes_shop"}, token=user["token"])
    product = make_product(api, {**owner, "shop": shop}, stock=1)
    line = {"shop_id": shop["shop_id"], "items": [{"product_id": product["product_id"], "quantity": 1}]}
    first = api.post("/orders", line, token=user["token"], headers={"Idempotency-Key": "codes-1"})
    reused = api.post("/orders", {**line, "items": [{**line["items"][0], "quantity": 2}]}, token=user["token"],
                      headers={"Idempotency-Key": "codes-1"})
    out = api.post("/orders", line, token=user["token"], headers={"Idempotency-Key": "codes-2"})
    illegal = api.post(f"/orders/{first.body['order_id']}/status", {"status": "delivered"}, token=owner["token"])
    problems = [assert_problem(taken, 409), assert_problem(handle, 409), assert_problem(reused, 409),
                assert_problem(out, 409), assert_problem(illegal, 409)]
    codes = [p["code"] for p in problems]
    assert codes == ["email_taken", "handle_taken", "idempotency_key_reused", "out_of_stock", "illegal_transition"]
    assert len({p["type"] for p in problems}) == 5
    assert (problems[4]["order_status"], problems[4]["requested_status"]) == ("pending_payment", "delivered")


def test_field_messages_are_ours_with_a_code_not_a_regex(api):
    problem = assert_problem(api.post("/auth/signup", {"name": "x", "email": "not-an-email", "password": "1"}), 422)
    fields = {e["field"]: e for e in problem["errors"]}
    assert fields["body.email"]["code"] == "pattern"
    assert fields["body.email"]["message"] == "Must be an e-mail address like minji@example.kr."
    assert fields["body.password"] == {"field": "body.password", "code": "too_short",
                                       "message": "At least 8 characters."}
    assert "^" not in json.dumps(problem) and "String should" not in json.dumps(problem)


def test_email_or_phone_is_a_field_problem_with_its_code(api):
    problem = assert_problem(api.post("/auth/signup", {"name": "x", "password": "correct horse 9"}), 422)
    assert problem["errors"] == [{"field": "body", "code": "email_or_phone",
                                  "message": "Give an e-mail address or a phone number."}]


# --- Accept-Language: ko -------------------------------------------------------------------------------


@pytest.mark.parametrize("header", ["ko", "ko-KR", "ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7", "en;q=0.5, ko"])
def test_korean_title_detail_and_field_messages(api, header):
    answer = api.post("/auth/signup", {"name": "x", "email": "nope", "password": "1"},
                      headers={"Accept-Language": header})
    problem = assert_problem(answer, 422)
    assert answer.headers["Content-Language"] == "ko"
    assert (problem["title"], problem["detail"]) == ("입력값 오류", "요청에 올바르지 않은 항목이 있어요.")
    fields = {e["field"]: e["message"] for e in problem["errors"]}
    assert fields == {"body.email": "minji@example.kr 같은 이메일 주소 형식이어야 해요.",
                      "body.password": "8자 이상이어야 해요."}
    assert problem["code"] == "validation_failed"  # the code never changes with the language


@pytest.mark.parametrize("header", [None, "en", "fr-FR", "ko;q=0.1, en;q=0.9", "*"])
def test_english_otherwise(api, header):
    headers = {"Accept-Language": header} if header else {}
    answer = api.get("/me", token="not-a-token", headers=headers)
    problem = assert_problem(answer, 401)
    assert answer.headers["Content-Language"] == "en" and problem["title"] == "Unauthorized"


def test_korean_conflict_detail_names_the_values(api, owner, user):
    answer = api.post("/shops", {"name": "가게", "handle": owner["shop"]["handle"]}, token=user["token"],
                      headers={"Accept-Language": "ko-KR"})
    problem = assert_problem(answer, 409)
    assert problem["title"] == "이미 쓰는 핸들"
    assert problem["detail"] == f"'{owner['shop']['handle']}' 핸들은 이미 다른 가게가 쓰고 있어요."


def test_korean_domain_field_messages(api, owner):
    answer = api.post(f"/shops/{owner['shop']['shop_id']}/products",
                      {"name": "두부", "price": 1000, "stock": 1, "kind": "essential"}, token=owner["token"],
                      headers={"Accept-Language": "ko"})
    problem = assert_problem(answer, 422)
    assert problem["errors"] == [{"field": "body.reorder_days", "code": "required_for_essential",
                                  "message": "생필품에는 reorder_days(재구매 주기)가 필요해요."}]


# --- unknown query parameters are ignored; declared ones given twice are not ----------------------------


def test_unknown_query_parameters_are_ignored(api, owner, user):
    shop_id = owner["shop"]["shop_id"]
    assert api.get(f"/shops/{shop_id}/posts?utm_source=kakao&_=123").status == 200
    assert api.get("/feed?utm_source=kakao&utm_campaign=%EB%8F%99%EB%84%A4&_=1", token=user["token"]).status == 200
    assert api.get(f"/shops/{shop_id}?_=123").status == 200  # a route without a query model too


def test_a_declared_query_parameter_twice_is_422(api, owner):
    problem = assert_problem(api.get(f"/shops/{owner['shop']['shop_id']}/posts?limit=1&limit=2"), 422)
    assert problem["errors"] == [{"field": "query.limit", "code": "repeated", "message": "Given more than once."}]


# --- ETag, If-None-Match → 304, If-Match → 412 ------------------------------------------------------------


def test_single_resources_carry_an_etag_and_answer_304(api, owner):
    path = f"/shops/{owner['shop']['shop_id']}"
    first = api.get(path)
    etag = first.headers["ETag"]
    assert first.status == 200 and etag.startswith('"')
    again = api.get(path, headers={"If-None-Match": etag})
    assert again.status == 304 and again.raw in (b"", None) and again.headers["ETag"] == etag
    assert api.get(path, headers={"If-None-Match": f'"other", W/{etag}'}).status == 304
    assert api.get(path, headers={"If-None-Match": '"other"'}).status == 200
    me = api.get("/me", token=owner["token"])
    assert api.get("/me", token=owner["token"], headers={"If-None-Match": me.headers["ETag"]}).status == 304


def test_patch_with_a_stale_if_match_is_412_and_changes_nothing(api, owner):
    path = f"/shops/{owner['shop']['shop_id']}"
    etag = api.get(path).headers["ETag"]
    edited = api.patch(path, {"bio": "새벽 두부"}, token=owner["token"], headers={"If-Match": etag})
    assert edited.status == 200 and edited.headers["ETag"] != etag
    assert edited.headers["ETag"] == api.get(path).headers["ETag"]
    stale = api.patch(path, {"bio": "다른 소개"}, token=owner["token"], headers={"If-Match": etag})
    assert assert_problem(stale, 412)["code"] == "precondition_failed"
    assert api.get(path).body["bio"] == "새벽 두부"
    assert api.patch(path, {"bio": "별표"}, token=owner["token"], headers={"If-Match": "*"}).status == 200


def test_if_match_on_me(api, user):
    etag = api.get("/me", token=user["token"]).headers["ETag"]
    assert api.patch("/me", {"name": "민지"}, token=user["token"], headers={"If-Match": etag}).status == 200
    stale = api.patch("/me", {"name": "지민"}, token=user["token"], headers={"If-Match": etag})
    assert assert_problem(stale, 412)["code"] == "precondition_failed"


# --- CORS for the configured origins ----------------------------------------------------------------------


@pytest.fixture
def cors(monkeypatch):
    from chalicelib import wiring

    deps = wiring.container()
    monkeypatch.setattr(deps, "settings", deps.settings.model_copy(
        update={"cors_origins": ("https://shop.dongne.app",)}))
    return "https://shop.dongne.app"


def test_cors_preflight_and_answers_for_a_configured_origin(api, cors, owner):
    path = f"/shops/{owner['shop']['shop_id']}"
    preflight = api.call("OPTIONS", path, headers={"Origin": cors, "Access-Control-Request-Method": "PATCH",
                                                   "Access-Control-Request-Headers": "authorization, if-match"})
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == cors
    assert "PATCH" in preflight.headers["Access-Control-Allow-Methods"]
    assert "If-Match" in preflight.headers["Access-Control-Allow-Headers"]
    answer = api.get(path, headers={"Origin": cors})
    assert answer.headers["Access-Control-Allow-Origin"] == cors and "ETag" in answer.headers[
        "Access-Control-Expose-Headers"]
    assert "Origin" in answer.headers["Vary"]
    problem = api.get("/me", token="not-a-token", headers={"Origin": cors})
    assert problem.status == 401 and problem.headers["Access-Control-Allow-Origin"] == cors


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Basic dXNlcjpwdw=="}, {"Authorization": "Bearer "},
                                     {"Authorization": "Bearer not-a-token"}])
def test_every_401_is_the_apps_problem_in_korean_with_cors(api, cors, headers):
    """No authorizer stands in front of the app: a request without a header, with another
    scheme or with a bad token gets the app's own 401, in the asked language, readable cross-origin."""
    answer = api.call("GET", "/me", headers={**headers, "Origin": cors, "Accept-Language": "ko"})
    problem = assert_problem(answer, 401)
    assert problem["code"] == "unauthorized" and problem["title"] == "로그인 필요"
    assert answer.headers["Content-Language"] == "ko" and answer.headers["Access-Control-Allow-Origin"] == cors
    english = assert_problem(api.call("GET", "/me", headers=headers), 401)
    assert english["title"] == "Unauthorized" and english["code"] == "unauthorized"


def test_no_cors_for_other_origins(api, cors):
    preflight = api.call("OPTIONS", "/feed", headers={"Origin": "https://evil.example",
                                                      "Access-Control-Request-Method": "GET"})
    assert preflight.status == 204 and "Access-Control-Allow-Origin" not in preflight.headers
    assert "Access-Control-Allow-Origin" not in api.get("/health", headers={"Origin": "https://evil.example"}).headers


# --- UTF-8, not \\u escapes ----------------------------------------------------------------------------------


def test_json_answers_send_korean_as_utf8(api):
    answer = api.post("/auth/signup", {"name": "김민지", "email": "utf8@example.kr", "password": "correct horse 9"})
    assert "김민지".encode() in answer.raw and b"\\u" not in answer.raw
    problem = api.post("/auth/signup", {"name": "김민지", "email": "utf8@example.kr", "password": "correct horse 9"},
                       headers={"Accept-Language": "ko"})
    assert "이미 가입된 이메일 주소예요".encode() in problem.raw and b"\\u" not in problem.raw
    wrong = api.call("DELETE", "/feed", headers={"Accept-Language": "ko"})
    assert "허용되지 않는 메서드".encode() in wrong.raw and b"\\u" not in wrong.raw
