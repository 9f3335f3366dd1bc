"""HTTP answers about the protocol rather than a route's work, the same on `chalice local` and on AWS.

* **405 with ``Allow``** for a method a path does not have. API Gateway answers an undeclared
  method itself (403 "Missing Authentication Token"), and no gateway response can list the
  path's methods, so every path gets the missing methods as routes of its own that answer
  ``method_not_allowed`` with ``Allow``.
* **OPTIONS** on every path: ``Allow``, and the CORS preflight for the browser origins in
  settings (``DONGNE_CORS_ORIGINS``; a shop owner's web dashboard). Answers to an allowed
  origin carry ``Access-Control-Allow-Origin`` (middleware below).
* **No answer outside problem+json**: the framework's own error bodies (``{"Code": ...}``:
  a method Chalice does not route, an unhandled error) are rewritten as problems.
* **One log line per answer**, as the edge logs its routes': ``request`` with the status (and
  the problem's code), so the ``X-Request-Id`` of a 405 or a preflight names a line too.

``method_routes_blueprint`` must be registered after every blueprint that declares routes
(it reads them all from ``edge.ROUTES``).
"""

from __future__ import annotations

import logging
from typing import Any

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib.api.edge import ROUTES, language, problem_response
from chalicelib.errors import MethodNotAllowed
from chalicelib.wiring import container

log = logging.getLogger("dongne.http")

# Methods a path can be asked for that are routed to the app (HEAD and TRACE are not routes
# on API Gateway; chalice answers them 405 itself, rewritten below).
ROUTED_METHODS = ("GET", "PUT", "POST", "DELETE", "PATCH")
# Request headers a browser may send cross-origin, and response headers it may read.
CORS_REQUEST_HEADERS = ("Authorization, Content-Type, Accept-Language, Idempotency-Key, If-Match, If-None-Match, "
                        "X-Request-Id")
CORS_EXPOSED_HEADERS = "ETag, Location, Retry-After, Idempotent-Replayed, Content-Language, X-Request-Id"
CORS_MAX_AGE = "600"


def allowed_methods(path: str) -> tuple[str, ...]:
    """The methods ``path`` (a route template) answers, OPTIONS included, in a stable order."""
    declared = {spec.method for spec in ROUTES if spec.path == path}
    return tuple(m for m in (*ROUTED_METHODS, "OPTIONS") if m in declared or m == "OPTIONS")


class _MethodRoutes(Blueprint):
    """Adds, when registered, the 405 and OPTIONS routes of every declared path."""

    def register(self, app: Any, options: dict[str, Any]) -> None:
        for path in sorted({spec.path for spec in ROUTES}):
            declared = {spec.method for spec in ROUTES if spec.path == path}
            missing = [m for m in ROUTED_METHODS if m not in declared]
            if missing:
                self.route(path, methods=missing, content_types=["*/*"])(_not_allowed(self, path))
            if "OPTIONS" not in declared:
                self.route(path, methods=["OPTIONS"], content_types=["*/*"])(_options(self, path))
        super().register(app, options)


def _not_allowed(blueprint: Blueprint, path: str):
    def method_not_allowed(**_: str) -> Response:
        request = blueprint.current_request
        allow = allowed_methods(path)
        error = MethodNotAllowed(f"This path does not accept {request.method}; it accepts {', '.join(allow)}.",
                                 allow=allow)
        return _logged(problem_response(error.code, error.status, language(request), detail=error.detail,
                                        params=error.params, headers={"Allow": ", ".join(allow)}), error.code)

    method_not_allowed.__name__ = f"method_not_allowed_{_name(path)}"
    return method_not_allowed


def _options(blueprint: Blueprint, path: str):
    def options(**_: str) -> Response:
        request = blueprint.current_request
        allow = allowed_methods(path)
        headers = {"Allow": ", ".join(allow)}
        origin = request.headers.get("origin")
        wanted = (request.headers.get("access-control-request-method") or "").upper()
        if origin and wanted and _origin_allowed(origin) and wanted in allow:
            headers.update({"Access-Control-Allow-Methods": ", ".join(allow),
                            "Access-Control-Allow-Headers": CORS_REQUEST_HEADERS,
                            "Access-Control-Max-Age": CORS_MAX_AGE})
        return _logged(Response(body="", status_code=204, headers=headers))

    options.__name__ = f"options_{_name(path)}"
    return options


def _name(path: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in path).strip("_") or "root"


def _origin_allowed(origin: str) -> bool:
    return origin.rstrip("/") in container().settings.cors_origins


method_routes_blueprint = _MethodRoutes(__name__)


@method_routes_blueprint.middleware("http")
def protocol(request: Request, get_response) -> Response:
    response = get_response(request)
    if isinstance(response.body, dict) and "Code" in response.body:
        response = _framework_problem(request, response)
    _cors(request, response)
    return response


# The framework's own answers, as the problems they are.
_FRAMEWORK_CODES = {405: "method_not_allowed", 415: "unsupported_media_type", 500: "internal_error"}


def _framework_problem(request: Request, response: Response) -> Response:
    status = response.status_code
    code = _FRAMEWORK_CODES.get(status, "bad_request" if status < 500 else "internal_error")
    status = status if code != "bad_request" else 400
    headers = {}
    params: dict[str, Any] = {}
    if code == "method_not_allowed":
        path = (request.context or {}).get("resourcePath") or ""
        allow = ", ".join(allowed_methods(path)) if path else response.headers.get("Allow", "")
        headers["Allow"] = params["allow"] = allow
    return _logged(problem_response(code, status, language(request), params=params, headers=headers), code)


def _logged(response: Response, code: str | None = None) -> Response:
    # request id and route are on the line (chalicelib.observability), as on the edge's
    log.info("request", extra={"status": response.status_code, "code": code})
    return response


def _cors(request: Request, response: Response) -> None:
    origins = container().settings.cors_origins
    if not origins:
        return
    vary = response.headers.get("Vary")
    response.headers["Vary"] = f"{vary}, Origin" if vary else "Origin"
    origin = (request.headers.get("origin") or "").rstrip("/")
    if origin and origin in origins:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = CORS_EXPOSED_HEADERS

