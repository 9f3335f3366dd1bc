"""Service routes: health, the OpenAPI document and its HTML page."""

from __future__ import annotations

from functools import lru_cache

from chalice import Blueprint, Response
from pydantic import Field

from chalicelib.api.edge import ROUTES, Ctx, Router
from chalicelib.schemas.common import Out

service_blueprint = Blueprint(__name__)
route = Router(service_blueprint, "service")

API_VERSION = "0.5.0"


class Health(Out):
    status: str = Field(examples=["ok"])
    table: str
    stage: str


@route.route("GET", "/health", auth=False, response=Health, summary="Liveness and the table in use")
def health(ctx: Ctx) -> Health:
    return Health(status="ok", table=ctx.deps.settings.table_name, stage=ctx.deps.settings.stage)


@lru_cache(maxsize=1)
def _document() -> str:
    import json

    from chalicelib.api.openapi import build_openapi

    doc = build_openapi(ROUTES, title="Dongne API", version=API_VERSION,
                        description="Social commerce for neighbourhood shops. Errors are application/problem+json.")
    return json.dumps(doc, ensure_ascii=False)


@route.route("GET", "/openapi.json", auth=False, summary="This API's OpenAPI 3.1 document")
def openapi(ctx: Ctx) -> Response:
    return Response(body=_document(), status_code=200, headers={"Content-Type": "application/json"})


@route.route("GET", "/docs", auth=False, summary="HTML page rendering the OpenAPI document")
def docs(ctx: Ctx) -> Response:
    from chalicelib.api.docs_page import render_docs_html

    return Response(body=render_docs_html("/openapi.json"), status_code=200,
                    headers={"Content-Type": "text/html; charset=utf-8"})
