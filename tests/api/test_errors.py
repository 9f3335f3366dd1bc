"""Bad input: clear problem+json 4xx, nothing written, never a 500."""

from __future__ import annotations

import pytest

from tests.api.conftest import assert_problem


def test_malformed_json_is_400(api):
    answer = api.call("POST", "/auth/signup", raw='{"name": "x", "email": ')
    assert_problem(answer, 400)


def test_nan_is_not_json(api):
    answer = api.call("POST", "/auth/signup", raw='{"name": NaN}')
    assert_problem(answer, 400)


def test_wrong_types_are_422_listing_fields(api):
    answer = api.post("/auth/signup", {"name": 123, "email": ["a"], "password": True})
    problem = assert_problem(answer, 422)
    fields = {e["field"] for e in problem["errors"]}
    assert {"body.name", "body.email", "body.password"} <= fields


def test_json_array_body_is_422(api):
    assert_problem(api.call("POST", "/auth/signup", raw="[1, 2]"), 422)


def test_huge_name_is_rejected_and_nothing_written(api, user):
    big = "가" * 200_000
    answer = api.post("/shops", {"name": big, "handle": "bigname_shop"}, token=user["token"])
    assert answer.status in (413, 422) and answer.content_type.startswith("application/problem+json")
    assert api.get("/me", token=user["token"]).body["shop_id"] is None


def test_string_over_limit_is_422(api, user):
    answer = api.post("/shops", {"name": "가" * 61, "handle": "longname_shop"}, token=user["token"])
    problem = assert_problem(answer, 422)
    assert problem["errors"][0]["field"] == "body.name"
    assert api.get("/me", token=user["token"]).body["shop_id"] is None


def test_korean_counts_characters_not_bytes(api, user):
    answer = api.post("/shops", {"name": "가" * 60, "handle": "sixty_chars"}, token=user["token"])
    assert answer.status == 201 and answer.body["name"] == "가" * 60


@pytest.mark.parametrize("handle", ["ab", "has space", "-dash", "x" * 31, "한글핸들"])
def test_bad_handles_are_422(api, user, handle):
    assert_problem(api.post("/shops", {"name": "가게", "handle": handle}, token=user["token"]), 422)


def test_wrong_content_type_is_415(api):
    answer = api.call("POST", "/auth/signup", raw="name=x", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_problem(answer, 415)


def test_missing_email_and_phone_is_422(api):
    assert_problem(api.post("/auth/signup", {"name": "x", "password": "correct horse 9"}), 422)


def test_unknown_route_is_not_a_500(api):
    assert api.get("/no/such/route").status in (403, 404)


def test_overlong_path_param_is_404_not_500(api):
    assert_problem(api.get("/shops/" + "A" * 3000), 404)
    assert_problem(api.get("/shops/%F0%9F%98%80"), 404)


def test_lone_surrogates_are_400_not_500(api, user):
    answer = api.call("PATCH", "/me", raw='{"name": "\\ud981abc"}', token=user["token"])
    assert_problem(answer, 400)
    assert api.get("/me", token=user["token"]).body["name"] == user["user"]["name"]
