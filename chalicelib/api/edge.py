"""The HTTP edge: one way to declare a route, parse and validate a request, answer, and fail.

Every view is declared with ``Router.route``, which

* registers the Chalice route (with the bearer authorizer when ``auth=True``),
* records a ``RouteSpec`` from which ``/openapi.json`` is generated, so the document
  describes exactly what is served,
* parses the body (size limit, malformed JSON → 400) and validates body and query
  against pydantic models (→ 422 listing the fields),
* calls the view with the validated objects and dumps its result through the response
  model,
* and is the one place where ``DomainError`` becomes ``application/problem+json``.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalice import Blueprint, Response
from chalice.app import Request
from pydantic import BaseModel, ValidationError

from chalicelib.wiring import Container, container
from chalicelib.api.spec import RouteSpec
from chalicelib.errors import BadRequest, DomainError, NotFound, PayloadTooLarge, Unauthorized, Unavailable
from chalicelib.ids import now as clock

log = logging.getLogger("dongne.http")

PROBLEM_JSON = "application/problem+json"
JSON = "application/json"
# Accepted so that a wrong Content-Type gets our own clear 415 instead of the framework's.
ACCEPTED_CONTENT_TYPES = [JSON, "application/problem+json", "text/plain", "application/x-www-form-urlencoded",
                          "multipart/form-data", "application/octet-stream"]
# Ids are ULIDs; anything else in a path segment cannot name a stored thing.
_PATH_PARAM = re.compile(r"^[0-9A-Za-z_-]{1,64}$")

ROUTES: list[RouteSpec] = []


def problem(status: int, title: str, detail: str, *, slug: str = "error", errors: list[dict] | None = None,
            extra: dict | None = None, headers: dict | None = None) -> Response:
    body = {"type": f"https://dongne.app/problems/{slug}", "title": title, "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    if extra:  # type-specific members; they never replace the standard ones
        body.update({key: value for key, value in extra.items() if key not in body})
    return Response(body=json.dumps(body, ensure_ascii=False), status_code=status,
                    headers={"Content-Type": PROBLEM_JSON, **(headers or {})})


def problem_from(error: DomainError) -> Response:
    headers = {"Retry-After": str(error.retry_after)} if isinstance(error, Unavailable) else None
    errors = [{"field": e.field, "message": e.message} for e in error.errors]
    return problem(error.status, error.title, error.detail, slug=error.slug, errors=errors,
                   extra=error.extra, headers=headers)


def _validation_problem(error: ValidationError, where: str) -> Response:
    fields = []
    for e in error.errors(include_url=False, include_input=False):
        loc = ".".join(str(p) for p in (where, *e["loc"]))
        fields.append({"field": loc, "message": e["msg"]})
    return problem(422, "Validation failed", f"The request {where} has invalid fields.",
                   slug="validation-failed", errors=fields)


@dataclass
class Ctx:
    """What a view gets besides its validated input."""

    request: Request
    user_id: str | None
    now: float
    deps: Container

    @property
    def user(self) -> str:
        if self.user_id is None:  # only reachable on a route declared auth=False
            raise Unauthorized("Log in to do this.")
        return self.user_id

    def header(self, name: str) -> str | None:
        return self.request.headers.get(name)


def _authenticated_user(request: Request, deps: Container, now: float) -> str:
    """The user the authorizer vouched for. Tokens are re-checked for expiry here because
    API Gateway caches an authorizer's answer for its TTL."""
    context = (request.context or {}).get("authorizer") or {}
    if context.get("error") or not context.get("principalId"):
        raise Unauthorized(context.get("error") or "A valid bearer token is required.")
    try:
        expires_at = int(context.get("exp", 0))
    except (TypeError, ValueError):
        expires_at = 0
    if expires_at <= now:
        raise Unauthorized("The bearer token has expired; log in again.")
    return context["principalId"]


def _json_body(request: Request, limit: int) -> Any:
    raw = request.raw_body or b""
    if len(raw) > limit:
        raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
    content_type = (request.headers.get("content-type") or JSON).split(";")[0].strip().lower()
    if raw.strip() and content_type not in (JSON, PROBLEM_JSON):
        raise _UnsupportedMediaType()
    if not raw.strip():
        return {}
    try:
        payload = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
        # JSON may escape lone UTF-16 surrogates ("\ud800") that no UTF-8 store accepts.
        json.dumps(payload, ensure_ascii=False).encode("utf-8")
    except (UnicodeError, ValueError) as error:
        raise BadRequest(f"The request body is not valid JSON text: {error}.") from None
    return payload


def _query(request: Request) -> dict[str, str]:
    params = dict(request.query_params or {})
    for value in params.values():
        try:
            value.encode("utf-8")
        except UnicodeError:
            raise BadRequest("The query string is not valid UTF-8.") from None
    return params


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


class _UnsupportedMediaType(DomainError):
    status, title, slug = 415, "Unsupported media type", "unsupported-media-type"

    def __init__(self) -> None:
        super().__init__("Send the request body as application/json (UTF-8).")


class Router:
    """Declares the routes of one blueprint."""

    def __init__(self, blueprint: Blueprint, tag: str, authorizer: Any = None) -> None:
        self.blueprint = blueprint
        self.tag = tag
        self.authorizer = authorizer

    def route(self, method: str, path: str, *, summary: str, status: int = 200, auth: bool = True,
              body: type[BaseModel] | None = None, query: type[BaseModel] | None = None,
              response: Any = None, errors: tuple[int, ...] = (), headers: tuple = (),
              description: str = "") -> Callable:
        path_errors = (404,) if "{" in path else ()
        spec = RouteSpec(method=method, path=path, summary=summary, tag=self.tag, auth=auth, status=status,
                         body=body, query=query, response=response,
                         errors=tuple(sorted({*errors, *path_errors, *((401,) if auth else ())})),
                         headers=headers, description=description)
        ROUTES.append(spec)
        authorizer = self.authorizer if auth else None

        def decorator(view: Callable) -> Callable:
            @functools.wraps(view)
            def handler(**path_params: str) -> Response:
                return _handle(self.blueprint.current_request, spec, view, path_params)

            self.blueprint.route(path, methods=[method], authorizer=authorizer,
                                 content_types=ACCEPTED_CONTENT_TYPES)(handler)
            return view

        return decorator


def _handle(request: Request, spec: RouteSpec, view: Callable, path_params: dict[str, str]) -> Response:
    started = time.perf_counter()
    now = clock()
    user_id = None
    try:
        deps = container()
        if spec.auth:
            user_id = _authenticated_user(request, deps, now)
        for value in path_params.values():
            if not _PATH_PARAM.match(value or ""):
                raise NotFound("No such resource.")
        kwargs: dict[str, Any] = dict(path_params)
        if spec.body is not None:
            payload = _json_body(request, deps.settings.max_body_bytes)
            try:
                kwargs["body"] = spec.body.model_validate(payload)
            except ValidationError as error:
                return _log(request, _validation_problem(error, "body"), started, user_id)
        elif request.raw_body and len(request.raw_body) > deps.settings.max_body_bytes:
            raise PayloadTooLarge(f"The request body is larger than {deps.settings.max_body_bytes} bytes.")
        if spec.query is not None:
            try:
                kwargs["query"] = spec.query.model_validate(_query(request))
            except ValidationError as error:
                return _log(request, _validation_problem(error, "query"), started, user_id)
        result = view(Ctx(request=request, user_id=user_id, now=now, deps=deps), **kwargs)
        response = _respond(spec, result)
    except DomainError as error:
        response = problem_from(error)
    except Exception as error:
        from chalicelib.transient import is_transient

        if is_transient(error):  # a timeout or throttling that escaped the storage retries: 503, not 500
            log.warning("dependency unavailable: %s", type(error).__name__, exc_info=True)
            response = problem_from(Unavailable("A service we depend on is busy or did not answer; retry shortly."))
        else:  # a bug, not a client error: log it, answer without internals
            log.exception("unhandled error", extra={"route": f"{spec.method} {spec.path}"})
            response = problem(500, "Internal error", "Something went wrong on our side; it has been logged.",
                               slug="internal")
    return _log(request, response, started, user_id)


def _respond(spec: RouteSpec, result: Any) -> Response:
    if isinstance(result, Response):
        return result
    if spec.status == 204 or spec.response is None:
        return Response(body="", status_code=spec.status)
    model = spec.response
    if not isinstance(result, model):
        result = model.model_validate(result)
    return Response(body=result.model_dump_json(), status_code=spec.status, headers={"Content-Type": JSON})


def _log(request: Request, response: Response, started: float, user_id: str | None) -> Response:
    # request id, route and user id are on every line of the request (chalicelib.observability)
    log.info("request", extra={"status": response.status_code, "ms": round((time.perf_counter() - started) * 1000, 2)})
    return response
