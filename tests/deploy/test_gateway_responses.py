"""API Gateway's own answers in the deployed API are the app's problems: same codes, same shape,
the gateway's request id as ``X-Request-Id``, and the app's CORS headers."""

from __future__ import annotations

import json
import re

import pytest

from deploy.template import GATEWAY_PROBLEMS, build, gateway_responses
from chalicelib.api.openapi import Problem
from chalicelib.api.protocol import CORS_EXPOSED_HEADERS
from chalicelib.messages import PROBLEMS

REQUEST_ID = "c0ffee00-1234-4abc-8def-0123456789ab"
# What API Gateway substitutes in a gateway response's body template: $context variables only.
CONTEXT = {"$context.requestId": REQUEST_ID}


def substituted(template: str) -> dict:
    """The body a client receives: the template with its $context variables filled in."""
    for variable, value in CONTEXT.items():
        template = template.replace(variable, value)
    assert "$" not in template, f"a variable this test does not know: {template}"
    return json.loads(template)


@pytest.fixture(scope="module")
def responses():
    return build("prod")["Resources"]["RestAPI"]["Properties"]["GatewayResponses"]


def test_every_gateway_answer_is_a_problem_with_its_code(responses):
    assert set(responses) == set(GATEWAY_PROBLEMS)
    for kind, response in responses.items():
        status, code = GATEWAY_PROBLEMS[kind]
        body = substituted(response["ResponseTemplates"]["application/json"])
        Problem.model_validate(body)
        assert body["request_id"] == REQUEST_ID
        assert (body["status"], body["code"], int(response["StatusCode"])) == (status, code, status), kind
        assert PROBLEMS[code].status == status and body["title"] == PROBLEMS[code].title_en
        headers = response["ResponseParameters"]["Headers"]
        assert headers["Content-Type"] == "'application/problem+json'" and headers["Content-Language"] == "'en'"
        assert ("Retry-After" in headers) == (status in (429, 503)), kind
        assert headers["X-Request-Id"] == "context.requestId", kind  # a context variable, not a 'literal'
        # the prod stage names no browser origin: no CORS, as the app answers it
        assert not any(name.startswith("Access-Control-") for name in headers), kind


def test_the_gateway_answers_route_misses_and_throttling_as_the_app_does(responses):
    assert GATEWAY_PROBLEMS["MISSING_AUTHENTICATION_TOKEN"] == (404, "route_not_found")
    assert GATEWAY_PROBLEMS["THROTTLED"] == (429, "rate_limited")


def test_no_authorizer_answers_are_configured_the_app_answers_every_401(responses):
    """Without an authorizer API Gateway never answers 401 or an authorizer failure itself."""
    assert not {"UNAUTHORIZED", "AUTHORIZER_FAILURE", "AUTHORIZER_CONFIGURATION_ERROR"} & set(responses)
    assert all(status != 401 for status, _ in GATEWAY_PROBLEMS.values())
    assert responses["THROTTLED"]["ResponseParameters"]["Headers"]["Retry-After"] == "'1'"


def test_the_answers_worth_their_own_code_are_configured(responses):
    assert {kind: GATEWAY_PROBLEMS[kind] for kind in (
        "DEFAULT_4XX", "DEFAULT_5XX", "THROTTLED", "REQUEST_TOO_LARGE", "MISSING_AUTHENTICATION_TOKEN",
        "ACCESS_DENIED", "INTEGRATION_TIMEOUT")} == {
        "DEFAULT_4XX": (400, "bad_request"), "DEFAULT_5XX": (503, "service_unavailable"),
        "THROTTLED": (429, "rate_limited"), "REQUEST_TOO_LARGE": (413, "payload_too_large"),
        "MISSING_AUTHENTICATION_TOKEN": (404, "route_not_found"), "ACCESS_DENIED": (403, "forbidden"),
        # the app may still be carrying it out: its own code, not service_unavailable's promise
        "INTEGRATION_TIMEOUT": (504, "gateway_timeout")}
    assert set(responses) == set(GATEWAY_PROBLEMS)


def test_one_origin_is_named_as_the_app_names_it():
    origin = "https://shop.dongne.app"
    for kind, response in gateway_responses((origin,)).items():
        headers = response["ResponseParameters"]["Headers"]
        assert headers["Access-Control-Allow-Origin"] == f"'{origin}'", kind
        assert headers["Vary"] == "'Origin'"
        exposed = re.fullmatch(r"'(.*)'", headers["Access-Control-Expose-Headers"]).group(1)
        assert exposed == CORS_EXPOSED_HEADERS and "X-Request-Id" in exposed.split(", ")


def test_several_origins_are_answered_with_the_requests_origin():
    """A gateway response's headers take no condition: with several origins it can only name the
    request's (documented as looser than the app's in docs/errors.md)."""
    responses = gateway_responses(("https://shop.dongne.app", "http://localhost:5173"))
    for response in responses.values():
        assert response["ResponseParameters"]["Headers"]["Access-Control-Allow-Origin"] == (
            "method.request.header.Origin")


def test_the_stage_origins_reach_the_template(monkeypatch):
    from deploy import template

    real = template.stage_env
    monkeypatch.setattr(template, "stage_env", lambda stage: {
        **real(stage), "DONGNE_CORS_ORIGINS": "https://shop.dongne.app/, "})
    assert template.cors_origins("prod") == ("https://shop.dongne.app",)
    api = template.build("prod")["Resources"]["RestAPI"]["Properties"]
    headers = api["GatewayResponses"]["DEFAULT_4XX"]["ResponseParameters"]["Headers"]
    assert headers["Access-Control-Allow-Origin"] == "'https://shop.dongne.app'"
