"""The HTTP edge: one way to declare a route, parse and validate a request, answer, and fail.

Every view is declared with ``Router.route``, which

* registers the Chalice route (``auth=True``: the edge checks the bearer token itself),
* records a ``RouteSpec`` from which ``/openapi.json`` is generated, so the document
  describes exactly what is served (the operationId is the view's name, a verb),
* parses the body (size limit, malformed or too deeply nested JSON → 400, a body that is
  not JSON → 415) and validates body and query against pydantic models (→ 422 listing the
  fields; unknown query parameters are ignored, unknown body fields are not),
* calls the view with the validated objects and dumps its result through the response
  model, with an ``ETag`` on single resources (``If-None-Match`` → 304, ``If-Match`` → 412),
* and is the one place where ``DomainError`` becomes ``application/problem+json``, in
  English or Korean (``Accept-Language``), with the problem's stable ``code``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib import messages
from chalicelib.api.spec import Header, LazyModel, RouteSpec
from chalicelib.errors import (
    DomainError,
    FieldProblem,
    Invalid,
    JsonTooDeep,
    MalformedJson,
    MalformedQuery,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    RetryLater,
    Unauthorized,
    Unavailable,
    UnsupportedMediaType,
)
from chalicelib import clock, observability
from chalicelib.wiring import Container, container

if TYPE_CHECKING:  # imported where used: off the cold start of every route
    from pydantic import BaseModel, ValidationError

    from chalicelib.api.revocation import TokenCheck
    from chalicelib.records.accounts import User
    from chalicelib.records.rates import Ticket
    from chalicelib.services.signing import Claims

log = logging.getLogger("dongne.http")

PROBLEM_JSON = "application/problem+json"
JSON = "application/json"
PROBLEM_BASE = "https://dongne.app/problems/"
# Every Content-Type reaches the edge, which answers 415 itself (as problem+json) for a body
# that is not JSON; a request without a body never needs one.
ANY_CONTENT_TYPE = ["*/*"]
# Real request bodies nest 3 levels; 32 is generous and keeps every walk over them shallow.
MAX_JSON_DEPTH = 32
# Ids are ULIDs; anything else in a path segment cannot name a stored thing.
_PATH_PARAM = re.compile(r"^[0-9A-Za-z_-]{1,64}$")
MAX_TEXT_PARAM = 200
# What a decoder puts in place of bytes that are not UTF-8 (API Gateway's, urllib's).
_REPLACEMENT = "\ufffd"

ROUTES: list[RouteSpec] = []
# view function -> its spec, so a PATCH can read the current representation through its GET.
_VIEW_SPECS: dict[Callable, RouteSpec] = {}


# --- problem answers ------------------------------------------------------------------------------------


def language(request: Request | None) -> str:
    headers = getattr(request, "headers", None) or {}
    return messages.negotiate(headers.get("accept-language"))


def problem_response(code: str, status: int, lang: str, *, detail: str | None = None, params: dict | None = None,
                     errors: list[dict] | None = None, extra: dict | None = None,
                     headers: dict | None = None) -> Response:
    """The one builder of ``application/problem+json`` answers."""
    title, text = messages.problem_text(code, lang, params or {}, detail)
    body: dict[str, Any] = {"type": PROBLEM_BASE + code.replace("_", "-"), "code": code, "title": title,
                            "status": status, "detail": text}
    if errors:
        body["errors"] = errors
    if extra:  # type-specific members; they never replace the standard ones
        body.update({key: value for key, value in extra.items() if key not in body})
    return Response(body=json.dumps(body, ensure_ascii=False), status_code=status,
                    headers={"Content-Type": PROBLEM_JSON, "Content-Language": lang, "Vary": "Accept-Language",
                             **(headers or {})})


def problem_from(error: DomainError, lang: str) -> Response:
    headers = {"Retry-After": str(error.retry_after)} if isinstance(error, RetryLater) else None
    if getattr(error, "allow", None):
        headers = {"Allow": ", ".join(error.allow)}
    errors = [_field(e, lang) for e in error.errors]
    return problem_response(error.code, error.status, lang, detail=error.detail, params=error.params,
                            errors=errors, extra=error.extra, headers=headers)


def _field(problem: FieldProblem, lang: str) -> dict:
    message = problem.message if lang == "en" else messages.field_message(problem.code, lang, problem.params)
    return {"field": problem.field, "code": problem.code, "message": message}


def _validation_problem(error: ValidationError, where: str, lang: str) -> Response:
    fields = []
    for e in error.errors(include_url=False, include_input=False):
        loc = ".".join(str(p) for p in (where, *e["loc"]))
        code, message = messages.field_problem(e["type"], e.get("ctx"), lang)
        fields.append({"field": loc, "code": code, "message": message})
    return problem_response(Invalid.code, Invalid.status, lang,
                            detail=f"The request {where} has invalid fields.", errors=fields)


# --- requests ------------------------------------------------------------------------------------------


@dataclass
class Ctx:
    """What a view gets besides its validated input."""

    request: Request
    user_id: str | None
    now: float
    deps: Container
    # The request's claim on its route's per-user limit (``Router.route(limit=...)``): the view
    # passes it to the store, which counts it inside the request's own transaction.
    quota: Ticket | None = None
    # On signed-in routes: the token's claims, and the token check (api.revocation), whose
    # read of the account ``account`` waits for.
    claims: Claims | None = None
    check: TokenCheck | None = None

    @property
    def account(self) -> User | None:
        """The account as the token check read it (on a safe request, waits for that read)."""
        return self.check.account() if self.check is not None else None

    @property
    def user(self) -> str:
        if self.user_id is None:  # only reachable on a route declared auth=False
            raise Unauthorized("Log in to do this.")
        return self.user_id

    def header(self, name: str) -> str | None:
        return self.request.headers.get(name)


def _claims(request: Request, deps: Container, now: float) -> Claims:
    """The bearer token's claims: its signature and expiry, checked here with no I/O. There is
    no authorizer in front of the app, so every 401 is this edge's problem+json (in the
    request's language, with CORS headers for an allowed origin)."""
    header = (request.headers.get("authorization") or "").strip()
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthorized("Use 'Authorization: Bearer <token>'.")
    return deps.tokens.verify(value.strip(), now)


def _authenticated(request: Request, deps: Container, now: float,
                   writes: bool = False) -> tuple[Claims, TokenCheck]:
    """The token's claims, and the check that the token is still alive: the one read of the
    token check (``services.accounts.check_token``), finished before a write's route runs (and
    a GET's declared ``writes``) and overlapped with a safe request's route (``api.revocation``)."""
    from chalicelib.api import revocation
    from chalicelib.services.accounts import check_token

    claims = _claims(request, deps, now)
    accounts = deps.accounts  # built (and the tables bound) here, not on the worker
    return claims, revocation.start(request.method, lambda: check_token(accounts, claims), deps.sessions,
                                    writes=writes)


def _settled(check: TokenCheck | None, response: Response, lang: str,
             error_page: Callable[[DomainError, str], Response] | None) -> Response:
    """The answer, once the token check has passed; a dead token's 401 in its place otherwise
    (the computed answer never leaves)."""
    if check is None or not check.pending:
        return response
    try:
        check.account()
    except DomainError as error:
        return error_page(error, lang) if error_page is not None else problem_from(error, lang)
    return response


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The request body is larger than {limit} bytes.", params={"limit": limit})


def _json_body(request: Request, limit: int) -> Any:
    raw = request.raw_body or b""
    if len(raw) > limit:
        raise _too_large(limit)
    if not raw.strip():
        return {}
    content_type = (request.headers.get("content-type") or JSON).split(";")[0].strip().lower()
    if content_type not in (JSON, PROBLEM_JSON):
        raise UnsupportedMediaType("Send the request body as application/json (UTF-8).")
    try:
        payload = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
        # JSON may escape lone UTF-16 surrogates ("\ud800") that no UTF-8 store accepts.
        json.dumps(payload, ensure_ascii=False).encode("utf-8")
    except RecursionError:  # nested far past any limit: the parser gave up before we could count
        raise JsonTooDeep(params={"max_depth": MAX_JSON_DEPTH}) from None
    except (UnicodeError, ValueError) as error:
        raise MalformedJson(f"The request body is not valid JSON text: {error}.") from None
    if _depth(payload) > MAX_JSON_DEPTH:
        raise JsonTooDeep(params={"max_depth": MAX_JSON_DEPTH})
    return payload


def _depth(value: Any) -> int:
    """How deeply arrays and objects nest in ``value`` (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _query(request: Request, model: type[BaseModel]) -> dict[str, str]:
    """The query parameters the model declares; any other (``utm_*``, cache-busters) is ignored.
    A declared one given twice is refused rather than guessed at.

    A query that was not UTF-8 once percent-decoded (``?cursor=%ff``), in any parameter, known
    or not, is 400 ``malformed_query``: API Gateway (and `chalice local`) hand each byte that is
    not UTF-8 over as U+FFFD, the replacement character, which no value of ours holds."""
    params = request.query_params
    if not params:
        return {}
    for name in params:
        for value in params.getlist(name) if hasattr(params, "getlist") else [params[name]]:
            if _REPLACEMENT in name or _REPLACEMENT in value:
                raise MalformedQuery("The query string is not valid UTF-8.")
            try:
                (name + value).encode("utf-8")  # no lone surrogates
            except UnicodeError:
                raise MalformedQuery("The query string is not valid UTF-8.") from None
    values: dict[str, str] = {}
    repeated: list[FieldProblem] = []
    for field_name, field in model.model_fields.items():
        name = field.alias or field_name  # ``from`` is a keyword: the model says ``from_`` (alias "from")
        given = (params.getlist(name) if hasattr(params, "getlist") else [params[name]]) if name in params else []
        if len(given) > 1:
            repeated.append(FieldProblem(f"query.{name}", "Given more than once.", code="repeated"))
        elif given:
            values[name] = given[0]
    if repeated:
        raise Invalid("The request query has invalid fields.", errors=repeated)
    return values


# --- ETags -----------------------------------------------------------------------------------------------


def etag_of(body: str | bytes) -> str:
    data = body.encode("utf-8") if isinstance(body, str) else body
    return '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


def _tags(header: str) -> list[str]:
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def _none_match(header: str | None, etag: str) -> bool:
    """``If-None-Match`` names the current representation (weak comparison)."""
    if header is None:
        return False
    return any(tag == "*" or tag.removeprefix("W/") == etag for tag in _tags(header))


def not_modified(request: Request, etag: str) -> bool:
    """``If-None-Match`` of ``request`` names ``etag``: a GET may answer 304."""
    return _none_match(request.headers.get("if-none-match"), etag)


def _match(header: str, etag: str) -> bool:
    """``If-Match`` names the current representation (strong comparison)."""
    return any(tag == "*" or tag == etag for tag in _tags(header))


# --- routes ----------------------------------------------------------------------------------------------


def operation_id(name: str) -> str:
    """``place_order`` → ``placeOrder``."""
    head, *rest = name.strip("_").split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


class Router:
    """Declares the routes of one blueprint."""

    def __init__(self, blueprint: Blueprint, tag: str) -> None:
        self.blueprint = blueprint
        self.tag = tag

    def route(self, method: str, path: str, *, summary: str, status: int = 200, auth: bool = True,
              body: type[BaseModel] | LazyModel | None = None, query: type[BaseModel] | LazyModel | None = None,
              response: Any = None, errors: tuple[type[DomainError], ...] = (), headers: tuple[Header, ...] = (),
              response_headers: tuple[Header, ...] = (), description: str = "", etag: bool = False,
              current: Callable | None = None, document: bool = True, limit: str | None = None,
              produces: str | None = None, error_page: Callable[[DomainError, str], Response] | None = None,
              path_param: re.Pattern[str] | None = None, text_params: tuple[str, ...] = (),
              writes: bool = False) -> Callable:
        """Declare a route; the view's name is its operationId, so name views as verbs
        (``place_order`` → ``placeOrder``). ``etag`` on a GET of a single resource, and on its
        PATCH with ``current`` = that GET's view (read to check ``If-Match``).

        ``limit`` names a rule of ``services.rates``: a route with a user passes ``ctx.quota``
        into its transaction; a route without one is counted per network address here, after
        validation and before the view (so before any argon2 work). Either way: 429.

        ``error_page`` answers a route's problems in its own format (the HTML pages answer an
        HTML page, not problem+json); ``path_param`` widens what a path segment may hold (a
        shop's handle may hold a dot); ``text_params`` names captures that are free text (a region,
        a hashtag), handed to the view URL-decoded for it to validate.

        ``writes`` on a GET whose view writes on the caller's behalf (marks something seen,
        builds something lazily): its token check then finishes before the view runs, as a
        write's does, instead of beside it (``api.revocation``). No GET route needs it today
        (``tests/api/test_safe_reads.py`` checks that none writes without it)."""
        def decorator(view: Callable) -> Callable:
            spec = RouteSpec(method=method, path=path, summary=summary, tag=self.tag, auth=auth, status=status,
                             body=body, query=query, response=response, errors=errors, headers=headers,
                             description=description, operation_id=operation_id(view.__name__),
                             response_headers=response_headers, etag=etag, current=current, document=document,
                             produces=produces, text_params=text_params)
            ROUTES.append(spec)
            _VIEW_SPECS[view] = spec

            @functools.wraps(view)
            def handler(**path_params: str) -> Response:
                return _handle(self.blueprint.current_request, spec, view, path_params, rate_rule=limit,
                               error_page=error_page, path_param=path_param or _PATH_PARAM, writes=writes)

            self.blueprint.route(path, methods=[method], content_types=ANY_CONTENT_TYPE)(handler)
            return view

        return decorator


def _quota(request: Request, deps: Container, rate_rule: str | None, user_id: str | None,
           now: float) -> Ticket | None:
    """The request's ticket for its route's rate limit: the user's, or (no user) the address's,
    which is taken right here."""
    if rate_rule is None:
        return None
    from chalicelib.services.rates import address_subject, ticket

    rule = deps.rate_rules[rate_rule]
    if user_id is not None:
        return ticket(rule, f"user:{user_id}", now)
    source = ((request.context or {}).get("identity") or {}).get("sourceIp")
    deps.rates.take(ticket(rule, address_subject(source), now), now)
    return None


def take_quota(ctx: Ctx) -> None:
    """Count the request against its route's per-user limit now, as a write of its own (one
    UpdateItem): for views whose work has no transaction to carry the quota (a presigned form,
    an SNS call) or where one more item would cost more than it saves. 429 past the limit."""
    if ctx.quota is not None:
        ctx.deps.rates.take(ctx.quota, ctx.now)


def _handle(request: Request, spec: RouteSpec, view: Callable, path_params: dict[str, str],
            rate_rule: str | None = None, error_page: Callable[[DomainError, str], Response] | None = None,
            path_param: re.Pattern[str] = _PATH_PARAM, writes: bool = False) -> Response:
    started = time.perf_counter()
    now = clock.now()
    lang = language(request)
    user_id = claims = check = None
    deps = None
    try:
        deps = container()
        if spec.auth:
            claims, check = _authenticated(request, deps, now, writes)
            user_id = claims.user_id
            observability.signed_in(user_id)
        for name, value in path_params.items():
            if name in spec.text_params:
                path_params = {**path_params, name: _text_param(value)}
            elif not path_param.match(value or ""):
                raise NotFound("No such resource.")
        kwargs: dict[str, Any] = dict(path_params)
        limit = deps.settings.max_body_bytes
        body_model, query_model = spec.body_model, spec.query_model  # imported on a route's first request
        if body_model is not None:
            from pydantic import ValidationError

            payload = _json_body(request, limit)
            try:
                kwargs["body"] = body_model.model_validate(payload)
            except ValidationError as error:
                return _log(request, spec, _settled(check, _validation_problem(error, "body", lang), lang, error_page),
                            started, user_id, deps)
        elif request.raw_body and len(request.raw_body) > limit:
            raise _too_large(limit)
        if query_model is not None:
            from pydantic import ValidationError

            try:
                kwargs["query"] = query_model.model_validate(_query(request, query_model))
            except ValidationError as error:
                return _log(request, spec, _settled(check, _validation_problem(error, "query", lang), lang, error_page),
                            started, user_id, deps)
        quota = _quota(request, deps, rate_rule, user_id, now)
        ctx = Ctx(request=request, user_id=user_id, now=now, deps=deps, quota=quota, claims=claims, check=check)
        if spec.if_match and request.headers.get("if-match") is not None:
            _check_if_match(ctx, spec, path_params, request.headers["if-match"])
        response = _respond(spec, view(ctx, **kwargs))
        if spec.etag and response.status_code == spec.status:
            response = _with_etag(request, spec, response)
    except DomainError as error:
        response = error_page(error, lang) if error_page is not None else problem_from(error, lang)
    except Exception as error:
        from chalicelib.transient import is_transient

        if is_transient(error):  # a timeout or throttling that escaped the storage retries: 503, not 500
            log.warning("dependency unavailable: %s", type(error).__name__, exc_info=True)
            busy = Unavailable("A service we depend on is busy or did not answer; retry shortly.")
            response = error_page(busy, lang) if error_page is not None else problem_from(busy, lang)
        else:  # a bug, not a client error: log it, answer without internals
            log.exception("unhandled error", extra={"route": f"{spec.method} {spec.path}"})
            response = problem_response("internal_error", 500, lang)
    try:
        response = _settled(check, response, lang, error_page)
    except Exception as error:  # the check's own read failed: as any dependency failing
        from chalicelib.transient import is_transient

        log.warning("token check failed: %s", type(error).__name__, exc_info=True)
        busy = Unavailable("A service we depend on is busy or did not answer; retry shortly.")
        response = (error_page(busy, lang) if error_page is not None else problem_from(busy, lang)) \
            if is_transient(error) else problem_response("internal_error", 500, lang)
    return _log(request, spec, response, started, user_id, deps)


def _text_param(value: str | None) -> str:
    """A free-text path capture, URL-decoded (API Gateway may hand it over encoded or not: a
    region or hashtag never contains '%'); 1 to 200 characters, else 404."""
    from urllib.parse import unquote

    text = value or ""
    try:
        if "%" in text:
            text = unquote(text, errors="strict")
        text.encode("utf-8")  # no lone surrogates
    except UnicodeError:
        raise NotFound("No such resource.") from None
    if not 1 <= len(text) <= MAX_TEXT_PARAM:
        raise NotFound("No such resource.")
    return text


def _check_if_match(ctx: Ctx, spec: RouteSpec, path_params: dict[str, str], header: str) -> None:
    """412 unless ``If-Match`` names the representation its GET would answer now."""
    assert spec.current is not None, f"{spec.method} {spec.path}: etag=True needs current="
    current_spec = _VIEW_SPECS[spec.current]
    current = _respond(current_spec, spec.current(ctx, **path_params))
    if not _match(header, etag_of(current.body)):
        raise PreconditionFailed("The resource changed since you read it (If-Match does not match its ETag); "
                                 "reload it and try again.")


def _with_etag(request: Request, spec: RouteSpec, response: Response) -> Response:
    etag = etag_of(response.body)
    response.headers["ETag"] = etag
    if spec.if_none_match and _none_match(request.headers.get("if-none-match"), etag):
        return Response(body="", status_code=304, headers={"ETag": etag})
    return response


def _respond(spec: RouteSpec, result: Any) -> Response:
    if isinstance(result, Response):
        return result
    if spec.status == 204 or spec.response is None:
        return Response(body="", status_code=spec.status)
    model = spec.response_model
    if not isinstance(result, model):
        result = model.model_validate(result)
    return Response(body=result.model_dump_json(), status_code=spec.status, headers={"Content-Type": JSON})


def _problem_code(response: Response) -> str | None:
    if (response.headers or {}).get("Content-Type") != PROBLEM_JSON:
        return None
    try:
        return json.loads(response.body).get("code")
    except (TypeError, ValueError):
        return None


def _log(request: Request, spec: RouteSpec, response: Response, started: float, user_id: str | None,
         deps: Container | None) -> Response:
    code = _problem_code(response) if response.status_code >= 400 else None
    if code is not None and code != "internal_error" and code not in spec.codes:
        # The document promises which codes each route answers; this one is missing from it.
        log.error("undeclared problem code", extra={"code": code})
        if deps is not None and deps.settings.stage == "test":
            response = problem_response("internal_error", 500, "en",
                                        detail=f"{spec.method} {spec.path} answered the undeclared code {code!r}.")
    # request id, route and user id are on every line of the request (chalicelib.observability)
    log.info("request", extra={"status": response.status_code, "code": code,
                               "ms": round((time.perf_counter() - started) * 1000, 2)})
    return response
