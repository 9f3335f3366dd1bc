"""API Gateway's own answers in the deployed API are the app's problems: same codes, same shape."""

from __future__ import annotations

import json

import pytest

from deploy.template import GATEWAY_PROBLEMS, build
from chalicelib.api.openapi import Problem
from chalicelib.messages import PROBLEMS


@pytest.fixture(scope="module")
def responses():
    return build("prod")["Resources"]["RestAPI"]["Properties"]["GatewayResponses"]


def test_every_gateway_answer_is_a_problem_with_its_code(responses):
    assert set(responses) == set(GATEWAY_PROBLEMS)
    for kind, response in responses.items():
        status, code = GATEWAY_PROBLEMS[kind]
        body = json.loads(response["ResponseTemplates"]["application/json"])
        Problem.model_validate(body)
        assert (body["status"], body["code"], int(response["StatusCode"])) == (status, code, status), kind
        assert PROBLEMS[code].status == status and body["title"] == PROBLEMS[code].title_en
        headers = response["ResponseParameters"]["Headers"]
        assert headers["Content-Type"] == "'application/problem+json'" and headers["Content-Language"] == "'en'"
        assert ("Retry-After" in headers) == (status in (429, 503)), kind


def test_the_gateway_answers_route_misses_and_throttling_as_the_app_does(responses):
    assert GATEWAY_PROBLEMS["MISSING_AUTHENTICATION_TOKEN"] == (404, "route_not_found")
    assert GATEWAY_PROBLEMS["THROTTLED"] == (429, "rate_limited")


def test_no_authorizer_answers_are_configured_the_app_answers_every_401(responses):
    """Without an authorizer API Gateway never answers 401 or an authorizer failure itself."""
    assert not {"UNAUTHORIZED", "AUTHORIZER_FAILURE", "AUTHORIZER_CONFIGURATION_ERROR"} & set(responses)
    assert all(status != 401 for status, _ in GATEWAY_PROBLEMS.values())
    assert responses["THROTTLED"]["ResponseParameters"]["Headers"]["Retry-After"] == "'1'"
