"""The edge on the event API Gateway hands Lambda: a query that was not UTF-8 is 400 ``malformed_query``.

API Gateway percent-decodes the query string as UTF-8 before it builds the event, and puts
U+FFFD (the replacement character) in place of each byte that is not UTF-8: ``?cursor=%ff``
reaches Lambda as ``{"cursor": ["\\ufffd"]}``. These tests invoke the app itself with such events
(REST API, Lambda proxy integration), as Lambda does.
"""

from __future__ import annotations

import json
import uuid
from types import SimpleNamespace

import pytest

SHOP = "01JDQ7ZK3M8X2V5N4P6R9T0W1Y"  # well-formed, no such shop


def gateway_event(resource: str, path: str, query: dict[str, list[str]], path_params: dict | None = None) -> dict:
    """A REST API proxy event as API Gateway builds it (payload format 1.0)."""
    headers = {"Host": "api.dongne.app", "Accept": "application/json", "User-Agent": "curl/8.5.0"}
    return {
        "resource": resource, "path": path, "httpMethod": "GET",
        "headers": headers, "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": path_params, "stageVariables": None,
        "requestContext": {"resourcePath": resource, "httpMethod": "GET", "path": "/api" + path, "stage": "api",
                           "requestId": str(uuid.uuid4()), "identity": {"sourceIp": "203.0.113.9"}},
        "body": None, "isBase64Encoded": False,
    }


def invoke(event: dict) -> tuple[int, dict]:
    from app import app

    context = SimpleNamespace(aws_request_id=str(uuid.uuid4()), function_name="dongne-test-api_handler",
                              memory_limit_in_mb=512, get_remaining_time_in_millis=lambda: 29_000)
    answer = app(event, context)
    return answer["statusCode"], json.loads(answer["body"]) if answer.get("body") else {}


POSTS = ("/shops/{shop_id}/posts", f"/shops/{SHOP}/posts", {"shop_id": SHOP})
SEARCH = ("/search/shops", "/search/shops", None)


@pytest.mark.parametrize("route, query", [
    (POSTS, {"cursor": ["\ufffd"]}),                        # ?cursor=%ff
    (POSTS, {"limit": ["\ufffd("]}),                        # ?limit=%C3%28
    (POSTS, {"utm_source": ["\ufffd"]}),                    # an unknown parameter: ?utm_source=%ff
    (POSTS, {"limit": ["5"], "x\ufffd": ["1"]}),            # a name that was not UTF-8: ?x%ff=1
    (SEARCH, {"q": ["두부\ufffd"]}),                         # ?q=%EB%91%90%EB%B6%80%ff
    (SEARCH, {"q": ["\udc80"]}),                             # a lone surrogate, as some decoders leave it
], ids=["cursor", "limit", "unknown", "name", "text", "surrogate"])
def test_a_query_that_was_not_utf8_is_400_malformed_query(aws_backend, route, query):
    resource, path, path_params = route
    status, body = invoke(gateway_event(resource, path, query, path_params))
    assert (status, body.get("code")) == (400, "malformed_query"), body
    assert body["type"].endswith("/malformed-query")


def test_the_same_routes_answer_utf8_queries(aws_backend):
    status, body = invoke(gateway_event(*SEARCH[:2], {"q": ["두부"], "utm_source": ["카톡"]}))
    assert status == 200 and isinstance(body["items"], list), body  # (other tests' shops may match)
    status, body = invoke(gateway_event(*POSTS[:2], {"limit": ["5"], "utm_source": ["x"]}, POSTS[2]))
    assert body.get("code") != "malformed_query", body
