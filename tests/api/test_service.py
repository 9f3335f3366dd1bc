"""Service routes: health, OpenAPI, docs."""

from __future__ import annotations


def test_health(api):
    answer = api.get("/health")
    assert answer.status == 200 and answer.body["status"] == "ok" and answer.body["table"] == "dongne-test"


def test_openapi_is_valid_31_and_lists_every_client_route(api, chalice_app):
    from openapi_spec_validator import validate

    from chalicelib.api.edge import ROUTES

    doc = api.get("/openapi.json").body
    validate(doc)
    assert doc["openapi"].startswith("3.1")
    declared = {(spec.method.lower(), spec.path) for spec in ROUTES if spec.document}
    documented = {(m, p) for p, item in doc["paths"].items() for m in item}
    assert declared == documented
    # the document and its page are served, not documented
    assert {"/openapi.json", "/docs"} <= set(chalice_app.routes) and not {"/openapi.json", "/docs"} & set(doc["paths"])
    # every served path answers every routed method: the ones it lacks with a 405
    for path, methods in chalice_app.routes.items():
        assert {"GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS"} <= set(methods), path
    assert doc["paths"]["/me"]["get"]["security"] == [{"bearerAuth": []}]
    assert "401" in doc["paths"]["/me"]["get"]["responses"]
    assert "409" in doc["paths"]["/shops"]["post"]["responses"]


def test_docs_page(api):
    answer = api.get("/docs")
    assert answer.status == 200 and b"/openapi.json" in answer.raw
