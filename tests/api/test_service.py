"""Service routes: health, OpenAPI, docs."""

from __future__ import annotations

import re
from pathlib import Path

import aws_lambda_powertools
import pytest


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


POWERTOOLS_SWAGGER = Path(aws_lambda_powertools.__file__).parent / "event_handler" / "openapi" / "swagger_ui"


def test_docs_page_is_swagger_ui_over_the_document_with_local_assets(api):
    answer = api.get("/docs")
    assert answer.status == 200 and answer.content_type == "text/html; charset=utf-8"
    page = answer.raw.decode("utf-8")
    sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', page)
    assert [source.split("?")[0] for source in sources] == ["docs/swagger-ui.css", "docs/swagger-ui.js"]
    assert '"openapi.json"' in page and "SwaggerUIBundle(" in page
    assert "//" not in "".join(sources) and "cdn" not in page.lower()
    # its one inline script runs by its hash; nothing outside this API may load
    policy = answer.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self' 'sha256-" in policy and "http" not in policy
    assert answer.headers["Cache-Control"] == "no-cache"


@pytest.mark.parametrize("name, file, content_type", [
    ("swagger-ui.js", "swagger-ui-bundle.min.js", "text/javascript; charset=utf-8"),
    ("swagger-ui.css", "swagger-ui.min.css", "text/css; charset=utf-8"),
])
def test_swagger_uis_files_are_powertools_own_with_etag_and_long_caching(api, name, file, content_type):
    page = api.get("/docs").raw.decode("utf-8")
    (versioned,) = re.findall(rf'"(docs/{re.escape(name)}\?v=[0-9a-f]+)"', page)
    answer = api.get("/" + versioned)
    assert answer.status == 200 and answer.content_type == content_type
    assert answer.raw == (POWERTOOLS_SWAGGER / file).read_bytes()
    if name == "swagger-ui.js":
        assert answer.raw.startswith(b"/*! For license information please see swagger-ui-bundle.js.LICENSE.txt */")
    assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    etag = answer.headers["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag) and versioned.endswith("?v=" + etag.strip('"')[:16])
    again = api.get("/docs/" + name, headers={"If-None-Match": etag})
    assert again.status == 304 and again.raw == b"" and again.headers["ETag"] == etag
    assert api.get("/docs/" + name, headers={"If-None-Match": '"stale"'}).status == 200


def test_the_docs_files_are_not_in_the_document(api, chalice_app):
    doc = api.get("/openapi.json").body
    served = {"/docs", "/docs/swagger-ui.js", "/docs/swagger-ui.css"}
    assert served <= set(chalice_app.routes) and not served & set(doc["paths"])
