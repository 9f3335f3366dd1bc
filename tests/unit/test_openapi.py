"""The generated OpenAPI document and the docs page that renders it."""

from __future__ import annotations

import json
import re
from typing import Any, Generic, Literal, TypeVar

import pytest
from openapi_spec_validator import validate
from pydantic import BaseModel, Field, computed_field

from chalicelib.api.openapi import Problem, ProblemField, build_openapi
from chalicelib.api.spec import Header, RouteSpec
from chalicelib.errors import Forbidden, HandleTaken, NotFound, OutOfStock
from tests.openapi_refs import inline_shared

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


class ShopCreate(BaseModel):
    name: str = Field(min_length=1, max_length=40, description="가게 이름")
    handle: str = Field(pattern=r"^[a-z0-9_]{3,20}$")
    bio: str = Field("", max_length=300)


class ShopPublic(BaseModel):
    shop_id: str
    name: str
    handle: str
    follower_count: int = Field(ge=0)


class ShopPatch(BaseModel):
    """Used as a request body and as a response, so both schema modes appear."""

    name: str | None = Field(None, min_length=1, max_length=40)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def display(self) -> str:
        return self.name or ""


class ListQuery(BaseModel):
    limit: int = Field(20, ge=1, le=100, description="Page size.")
    cursor: str | None = Field(None, description="Opaque cursor from the previous page.")


class FeedQuery(ListQuery):
    order: Literal["recent", "ranked"] = "recent"


class OrderLine(BaseModel):
    product_id: str
    quantity: int = Field(ge=1, le=99)


class OrderCreate(BaseModel):
    shop_id: str
    items: list[OrderLine] = Field(min_length=1)


class Order(BaseModel):
    order_id: str
    items: list[OrderLine]
    total: int


IDEMPOTENCY = Header("Idempotency-Key", True, "Retries with the same key return the first answer.",
                     {"type": "string", "minLength": 1, "maxLength": 255})

SPECS = (
    RouteSpec("POST", "/shops", "Open a shop", "shops", True, 201,
              body=ShopCreate, response=ShopPublic, errors=(HandleTaken,), operation_id="openShop"),
    RouteSpec("GET", "/shops/{shop_id}", "Get a shop", "shops", False, 200,
              response=ShopPublic, etag=True),
    RouteSpec("PATCH", "/shops/{shop_id}", "Edit a shop", "shops", True, 200,
              body=ShopPatch, response=ShopPatch, errors=(Forbidden,), etag=True),
    RouteSpec("GET", "/shops/{shop_id}/followers", "Followers", "shops", True, 200,
              query=ListQuery, response=Page[ShopPublic], errors=(Forbidden, NotFound)),
    RouteSpec("DELETE", "/shops/{shop_id}/follow", "Unfollow", "shops", True, 204),
    RouteSpec("GET", "/feed", "Feed", "feed", True, 200, query=FeedQuery, response=Page[ShopPublic]),
    RouteSpec("POST", "/orders", "Place an order", "orders", True, 201, body=OrderCreate,
              response=Order, errors=(OutOfStock,), headers=(IDEMPOTENCY,), operation_id="placeOrder",
              response_headers=(Header("Location", True),),
              description="Needs an `Idempotency-Key`; 주문 생성."),
    RouteSpec("GET", "/health", "Health", "service", False, 200),
    RouteSpec("GET", "/openapi.json", "The document", "service", False, 200, document=False),
)
DOCUMENTED = tuple(s for s in SPECS if s.document)


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return build_openapi(SPECS, title="Dongne API", version="1.0.0", description="동네 가게 API")


@pytest.fixture(scope="module")
def flat(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with its shared answers, parameters and headers put back where they are referenced."""
    return inline_shared(doc)


def op(doc: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    return doc["paths"][path][method.lower()]


def params(operation: dict[str, Any], where: str) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in operation.get("parameters", ()) if p["in"] == where}


def test_validates_as_openapi_31(doc: dict[str, Any]) -> None:
    assert doc["openapi"] == "3.1.0"
    validate(doc)
    json.dumps(doc)  # JSON-ready, no stray Python objects


def test_every_documented_spec_appears_once_with_its_method_and_path(doc: dict[str, Any]) -> None:
    found = {(m.upper(), p) for p, item in doc["paths"].items() for m in item}
    assert found == {(s.method, s.path) for s in DOCUMENTED}
    assert "/openapi.json" not in doc["paths"]  # a service route, not a client operation
    assert list(doc["paths"]) == sorted(doc["paths"])
    for spec in DOCUMENTED:
        operation = op(doc, spec.method, spec.path)
        assert operation["tags"] == [spec.tag]
        assert operation["summary"] == spec.summary
        assert str(spec.status) in operation["responses"]
    assert {t["name"] for t in doc["tags"]} == {s.tag for s in DOCUMENTED}


def test_operation_ids_are_unique_declared_or_derived(doc: dict[str, Any]) -> None:
    ids = [o["operationId"] for item in doc["paths"].values() for o in item.values()]
    assert len(ids) == len(set(ids)) == len(DOCUMENTED)
    assert op(doc, "POST", "/orders")["operationId"] == "placeOrder"
    assert op(doc, "DELETE", "/shops/{shop_id}/follow")["operationId"] == "deleteShopsFollow"
    # derived: the method's verb and the path's fixed words, never its parameters' names
    assert op(doc, "GET", "/shops/{shop_id}/followers")["operationId"] == "getShopsFollowers"
    with pytest.raises(ValueError, match="camelCase"):
        RouteSpec("GET", "/x", "x", "t", False, 200, operation_id="get_x")
    with pytest.raises(ValueError, match="verb"):
        RouteSpec("GET", "/x", "x", "t", False, 200, operation_id="shopOrders")


def test_path_parameters_are_required_ids(flat: dict[str, Any]) -> None:
    for spec in DOCUMENTED:
        path_params = params(op(flat, spec.method, spec.path), "path")
        assert sorted(path_params) == sorted(re.findall(r"\{(\w+)\}", spec.path))
        for p in path_params.values():
            assert p["required"] is True
            assert p["schema"] == {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[0-9A-Za-z_-]+$"}


def test_query_parameters_carry_constraints_defaults_and_descriptions(flat: dict[str, Any]) -> None:
    query = params(op(flat, "GET", "/shops/{shop_id}/followers"), "query")
    assert set(query) == {"limit", "cursor"}
    limit = query["limit"]
    assert limit["required"] is False
    assert limit["schema"]["type"] == "integer"
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 100)
    # a default is said, not declared: generators would make the parameter required
    assert "default" not in limit["schema"] and limit["description"] == "Page size. Default: `20`."
    # a query parameter is there or not; it is never null
    assert query["cursor"]["schema"] == {"type": "string"}

    feed = params(op(flat, "GET", "/feed"), "query")
    assert feed["order"]["schema"]["enum"] == ["recent", "ranked"]
    # query models are flattened into parameters, not published as components
    assert "ListQuery" not in flat["components"]["schemas"]
    assert "FeedQuery" not in flat["components"]["schemas"]


def test_auth_routes_declare_bearer_security_and_401(doc: dict[str, Any]) -> None:
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"}
    for spec in DOCUMENTED:
        operation = op(doc, spec.method, spec.path)
        if spec.auth:
            assert operation["security"] == [{"bearerAuth": []}]
            assert "401" in operation["responses"]
        else:
            assert "security" not in operation
            assert "401" not in operation["responses"]


def test_idempotency_header_is_a_required_header_parameter(flat: dict[str, Any]) -> None:
    header = params(op(flat, "POST", "/orders"), "header")["Idempotency-Key"]
    assert header["required"] is True
    assert header["schema"] == {"type": "string", "minLength": 1, "maxLength": 255}
    created = op(flat, "POST", "/orders")["responses"]["201"]
    assert created["headers"]["Location"]["required"] is True
    assert "same key" in header["description"]
    assert op(flat, "POST", "/orders")["description"].endswith("주문 생성.")


def test_errors_are_problem_json_with_their_codes(flat: dict[str, Any]) -> None:
    problem = {"$ref": "#/components/schemas/Problem"}
    create = op(flat, "POST", "/shops")["responses"]
    assert set(create) == {"201", "400", "401", "409", "413", "415", "422", "429", "503"}
    assert create["409"]["x-problem-codes"] == ["handle_taken"]
    assert create["400"]["x-problem-codes"] == ["json_too_deep", "malformed_json"]
    assert "`handle_taken`" in create["409"]["description"]
    followers = op(flat, "GET", "/shops/{shop_id}/followers")["responses"]
    # a query, no body: 400 for a foreign cursor, no 415
    assert set(followers) == {"200", "400", "401", "403", "404", "413", "422", "429", "503"}
    assert followers["400"]["x-problem-codes"] == ["invalid_cursor", "malformed_query"]
    assert set(op(flat, "GET", "/shops/{shop_id}")["responses"]) == {"200", "304", "404", "413", "429", "503"}
    for item in flat["paths"].values():
        for operation in item.values():
            for code, response in operation["responses"].items():
                if int(code) >= 400:
                    assert response["content"] == {"application/problem+json": {"schema": problem}}
                    assert response["headers"]["Content-Language"]["required"] is True
                    assert response["x-problem-codes"]
                if code in ("429", "503"):
                    assert response["headers"]["Retry-After"]["required"] is True

    schema = flat["components"]["schemas"]["Problem"]
    assert {"type", "code", "title", "status", "detail"} == set(schema["required"])
    assert {"errors", "shortages", "order_status"} <= set(schema["properties"])
    # optional members are absent when they do not apply, never null
    assert schema["properties"]["product_id"] == {**schema["properties"]["product_id"], "type": "string"}
    item_ref = schema["properties"]["errors"]["items"]["$ref"]
    field_schema = flat["components"]["schemas"][item_ref.rsplit("/", 1)[1]]
    assert set(field_schema["properties"]) == {"field", "code", "message"}


def test_single_resources_declare_etags_and_preconditions(flat: dict[str, Any]) -> None:
    get = op(flat, "GET", "/shops/{shop_id}")
    assert get["responses"]["200"]["headers"]["ETag"]["required"] is True
    assert "ETag" in get["responses"]["304"]["headers"]
    assert params(get, "header")["If-None-Match"]["required"] is False
    patch = op(flat, "PATCH", "/shops/{shop_id}")
    assert params(patch, "header")["If-Match"]["required"] is False
    assert patch["responses"]["412"]["x-problem-codes"] == ["precondition_failed"]


def test_success_bodies_reference_components(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    unfollow = op(doc, "DELETE", "/shops/{shop_id}/follow")["responses"]["204"]
    assert "content" not in unfollow
    assert "content" not in op(doc, "GET", "/health")["responses"]["200"]

    body = op(doc, "POST", "/shops")["requestBody"]
    assert body["required"] is True
    create = schemas[body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]]
    assert create["properties"]["name"]["maxLength"] == 40
    assert create["properties"]["handle"]["pattern"] == r"^[a-z0-9_]{3,20}$"
    # request schemas carry no defaults (generators would make those fields required)
    assert "default" not in create["properties"]["bio"] and "bio" not in create.get("required", [])
    assert "Default" not in create["properties"]["bio"].get("description", "")  # "" goes unsaid
    # a body the model accepts empty is not required
    assert op(doc, "PATCH", "/shops/{shop_id}")["requestBody"]["required"] is False

    ref = op(doc, "GET", "/feed")["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    page = schemas[ref.rsplit("/", 1)[1]]
    assert set(page["properties"]) == {"items", "next_cursor"}
    assert page["properties"]["items"]["items"] == {"$ref": "#/components/schemas/ShopPublic"}
    # a page's name is its item's (``Page.model_parametrized_name``), else pydantic's
    assert ref.rsplit("/", 1)[1] == "Page_ShopPublic_"
    # nested models are hoisted: the order line is its own component, not a nested $defs
    assert "OrderLine" in schemas
    assert "$defs" not in json.dumps(doc)


def test_component_names_are_valid_and_every_ref_resolves(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    for name in schemas:
        assert re.fullmatch(r"[a-zA-Z0-9._-]+", name), name
    refs = set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', json.dumps(doc)))
    assert refs <= set(schemas)
    assert set(schemas) <= refs  # nothing unreachable is published


def test_validation_and_serialization_variants_do_not_clash(doc: dict[str, Any]) -> None:
    patch = op(doc, "PATCH", "/shops/{shop_id}")
    body_ref = patch["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    out_ref = patch["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert body_ref != out_ref
    schemas = doc["components"]["schemas"]
    assert "display" not in schemas[body_ref.rsplit("/", 1)[1]]["properties"]
    assert "display" in schemas[out_ref.rsplit("/", 1)[1]]["properties"]


def test_output_is_deterministic() -> None:
    first = build_openapi(SPECS, title="t", version="1", servers=[{"url": "http://x"}])
    second = build_openapi(reversed(SPECS), title="t", version="1", servers=[{"url": "http://x"}])
    assert first["servers"] == [{"url": "http://x"}]
    assert json.dumps(first) == json.dumps(second)


def test_duplicate_routes_are_rejected() -> None:
    with pytest.raises(ValueError, match="duplicate route"):
        build_openapi([SPECS[0], SPECS[0]], title="t", version="1")


def test_route_spec_rejects_inconsistent_metadata() -> None:
    with pytest.raises(ValueError):
        RouteSpec("get", "/x", "lower-case method", "t", False, 200)
    with pytest.raises(ValueError):
        RouteSpec("DELETE", "/x", "204 with a body", "t", False, 204, response=ShopPublic)
    with pytest.raises(ValueError, match="not a kind of DomainError"):
        RouteSpec("POST", "/x", "status, not kind", "t", True, 201, errors=(409,))
    with pytest.raises(ValueError, match="ETags"):
        RouteSpec("POST", "/x", "etag on a POST", "t", True, 201, etag=True)
    spec = RouteSpec("POST", "/shops/{shop_id}/posts", "Post", "posts", True, 201, body=ShopCreate)
    assert spec.operation == "createShopsPosts"
    assert spec.path_params == ("shop_id",)
    assert spec.error_statuses == (400, 401, 404, 413, 415, 422, 429, 503)
    assert spec.problems[404] == ("not_found",) and spec.problems[401] == ("account_closed", "unauthorized")


def test_problem_models_round_trip() -> None:
    problem = Problem(type="https://dongne.app/problems/validation-failed", code="validation_failed",
                      title="Invalid", status=422, detail="Bad.",
                      errors=[ProblemField(field="body.price", code="too_small", message="too low")])
    assert problem.model_dump()["errors"] == [{"field": "body.price", "code": "too_small", "message": "too low"}]
    # problem types may carry their own members (RFC 9457 extensions)
    extended = Problem.model_validate({"type": "t", "code": "x", "title": "Out of stock", "status": 409,
                                       "detail": "d", "extension": "p1"})
    assert extended.model_dump()["extension"] == "p1"


def test_shared_parameters_headers_and_answers_are_referenced(doc: dict[str, Any]) -> None:
    components = doc["components"]
    # a path parameter and a query parameter several operations take, once each
    assert components["parameters"]["shop_id"]["in"] == "path"
    assert components["parameters"]["limit"]["description"] == "Page size. Default: `20`."
    followers = op(doc, "GET", "/shops/{shop_id}/followers")
    assert {"$ref": "#/components/parameters/limit"} in followers["parameters"]
    # every answer's headers are references; the 429 is one answer for all
    assert followers["responses"]["429"] == {"$ref": "#/components/responses/RateLimited"}
    assert components["responses"]["RateLimited"]["headers"]["Retry-After"] == {
        "$ref": "#/components/headers/Retry-After"}
    assert components["headers"]["X-Request-Id"]["schema"]["maxLength"] == 64
    assert "Idempotency-Key" not in components["parameters"]  # one operation takes it: written in place


def test_uses_that_differ_in_description_share_one_component() -> None:
    key = {"type": "string", "minLength": 1}
    specs = [RouteSpec("POST", f"/{thing}s", f"Make a {thing}", "t", True, 201,
                       headers=(Header("Idempotency-Key", True, f"One key per {thing}.", key),),
                       response_headers=(Header("Location", True, f"The new {thing}'s path."),))
             for thing in ("order", "subscription")]
    doc = build_openapi(specs, title="t", version="1")
    validate(doc)
    components = doc["components"]
    assert components["parameters"]["Idempotency-Key"] == {"name": "Idempotency-Key", "in": "header",
                                                           "required": True, "schema": key}
    assert components["headers"]["Location"] == {"required": True, "schema": {"type": "string"}}
    made = op(doc, "POST", "/orders")
    assert made["parameters"][0] == {"$ref": "#/components/parameters/Idempotency-Key",
                                     "description": "One key per order."}
    assert made["responses"]["201"]["headers"]["Location"] == {"$ref": "#/components/headers/Location",
                                                              "description": "The new order's path."}
    assert inline_shared(doc)["paths"]["/subscriptions"]["post"]["parameters"][0]["description"] == (
        "One key per subscription.")
