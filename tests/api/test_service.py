"""Service routes: health, OpenAPI, docs."""

from __future__ import annotations


def test_health(api):
    answer = api.get("/health")
    assert answer.status == 200 and answer.body["status"] == "ok" and answer.body["table"] == "dongne-test"


def test_openapi_is_valid_31_and_lists_every_route(api, chalice_app):
    from openapi_spec_validator import validate

    doc = api.get("/openapi.json").body
    validate(doc)
    assert doc["openapi"].startswith("3.1")
    served = {(method.lower(), path) for path, methods in chalice_app.routes.items() for method in methods}
    documented = {(m, p) for p, item in doc["paths"].items() for m in item if m in
                  {"get", "post", "put", "patch", "delete"}}
    assert served == documented
    assert doc["paths"]["/me"]["get"]["security"] == [{"bearerAuth": []}]
    assert "401" in doc["paths"]["/me"]["get"]["responses"]
    assert "409" in doc["paths"]["/shops"]["post"]["responses"]


def test_docs_page(api):
    answer = api.get("/docs")
    assert answer.status == 200 and b"/openapi.json" in answer.raw
