"""Service routes: health, the OpenAPI document and its HTML page (Swagger UI, ``api.swagger_ui``).

The document, its page and the page's files are not client operations: they are left out of
the document.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib.api.edge import ROUTES, Ctx, Router
from chalicelib.api.spec import lazy_models

if TYPE_CHECKING:
    from chalicelib.schemas.service import Health
else:  # pydantic models, imported on the first request that needs them
    (Health,) = lazy_models("chalicelib.schemas.service", "Health")

service_blueprint = Blueprint(__name__)
route = Router(service_blueprint, "service")

API_VERSION = "0.5.0"


@route.route("GET", "/health", auth=False, response=Health, summary="Liveness and the table in use")
def get_health(ctx: Ctx) -> Health:
    return Health(status="ok", table=ctx.deps.settings.table_name, stage=ctx.deps.settings.stage)


_SERVER = "https://server.invalid"
_HOST = re.compile(r"^[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?$")


@lru_cache(maxsize=1)
def _document() -> str:
    import json

    from chalicelib.api.openapi import build_openapi

    doc = build_openapi(ROUTES, title="Dongne API", version=API_VERSION,
                        description="Social commerce for neighbourhood shops. Errors are application/problem+json "
                                    "with a stable `code` (docs/errors.md); `Accept-Language: ko` answers in "
                                    "Korean.",
                        servers=[{"url": _SERVER}])
    return json.dumps(doc, ensure_ascii=False)


def server_url(request: Request, fallback: str) -> str:
    """Where this API is being reached: scheme and host as the client used them, and the
    stage prefix API Gateway puts before the route (``/api``); ``fallback`` without a usable Host."""
    host = request.headers.get("host") or ""
    if not _HOST.match(host):
        return fallback.rstrip("/")
    scheme = (request.headers.get("x-forwarded-proto") or "http").split(",")[0].strip().lower()
    context = request.context or {}
    path, resource = context.get("path") or "", context.get("resourcePath") or ""
    prefix = path[: -len(resource)] if resource and path.endswith(resource) else ""
    return f"{scheme if scheme in ('http', 'https') else 'http'}://{host}{prefix.rstrip('/')}"


def document(base_url: str) -> str:
    """The document with ``servers`` naming ``base_url`` (built once, the server spliced in)."""
    import json

    return _document().replace(json.dumps(_SERVER), json.dumps(base_url, ensure_ascii=False), 1)


@route.route("GET", "/openapi.json", auth=False, document=False, summary="This API's OpenAPI 3.1 document")
def get_openapi(ctx: Ctx) -> Response:
    base = server_url(ctx.request, ctx.deps.settings.public_base_url)
    return Response(body=document(base), status_code=200, headers={"Content-Type": "application/json"})


@route.route("GET", "/docs", auth=False, document=False, summary="Swagger UI over the OpenAPI document")
def get_docs(ctx: Ctx) -> Response:
    from chalicelib.api import swagger_ui

    return Response(body=swagger_ui.page(), status_code=200, headers=swagger_ui.page_headers())


def _asset(ctx: Ctx, name: str) -> Response:
    """One of Swagger UI's files, with its ETag (``If-None-Match`` → 304) and a year's caching:
    the page names it with its version in the query."""
    from chalicelib.api import swagger_ui
    from chalicelib.api.edge import not_modified

    asset = swagger_ui.asset(name)
    headers: dict[str, str | list[str]] = {"ETag": asset.etag, "Cache-Control": swagger_ui.ASSET_CACHE,
                                           "X-Content-Type-Options": "nosniff"}
    if not_modified(ctx.request, asset.etag):
        return Response(body="", status_code=304, headers=headers)
    return Response(body=asset.body, status_code=200, headers={"Content-Type": asset.content_type, **headers})


@route.route("GET", "/docs/swagger-ui.js", auth=False, document=False, summary="Swagger UI's script")
def get_docs_script(ctx: Ctx) -> Response:
    return _asset(ctx, "swagger-ui.js")


@route.route("GET", "/docs/swagger-ui.css", auth=False, document=False, summary="Swagger UI's stylesheet")
def get_docs_stylesheet(ctx: Ctx) -> Response:
    return _asset(ctx, "swagger-ui.css")
