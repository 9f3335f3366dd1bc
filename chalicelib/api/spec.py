"""Route metadata shared by the HTTP edge and the OpenAPI generator.

Every route the edge registers is described once by a :class:`RouteSpec`. The
same record drives request parsing at the edge and the published
``/openapi.json``, so the document cannot drift from what is implemented:
which problem ``code`` each status can carry, which headers go in and out.

This module sits on the Lambda cold-start path (the edge imports it for every
route at module load), so it deliberately imports nothing beyond the standard
library and ``chalicelib.errors`` at runtime; pydantic is referenced in
annotations only. Routes name their models with :func:`lazy_models`, so the
models (and pydantic) load on the first request that needs them, not at import.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chalicelib.errors import (
    AccountClosed,
    DomainError,
    InvalidCursor,
    JsonTooDeep,
    Invalid,
    MalformedJson,
    MalformedQuery,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    RateLimited,
    Unauthorized,
    Unavailable,
    UnsupportedMediaType,
)

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = ["HTTP_METHODS", "OPERATION_VERBS", "Header", "LazyModel", "RouteSpec", "lazy_models", "resolve_model"]

#: Methods a route may use, in the order OpenAPI lists them inside a path item.
HTTP_METHODS: tuple[str, ...] = ("GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE")

# Chalice path captures look like ``{shop_id}``; a trailing ``+`` marks a greedy
# proxy capture, which OpenAPI has no syntax for, so it is stripped from names.
_PATH_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\+?\}")
_NON_WORD = re.compile(r"[^A-Za-z0-9]+")
_OPERATION_ID = re.compile(r"^([a-z]+)(?:[A-Z][a-z0-9]*)*$")
#: What an operationId may start with: it reads as what the call does (``placeOrder``,
#: ``listShopOrders``, ``followShop``), the name a generated client gives the function.
OPERATION_VERBS = frozenset({
    "add", "block", "change", "confirm", "create", "delete", "follow", "get", "grant", "like", "list", "log",
    "mark", "open", "place", "receive", "refresh", "review", "search", "set", "share", "sign", "unblock", "unfollow",
    "unlike", "update",
})
# A route that names no operationId gets one from its method and the fixed words of its path.
_METHOD_VERBS = {"GET": "get", "PUT": "set", "POST": "create", "PATCH": "update", "DELETE": "delete"}


@dataclass(frozen=True)
class LazyModel:
    """A pydantic model named by its module and name, imported on first use.

    ``import app`` registers every route, and every route names its models; importing them
    there would load pydantic and every schema module on each cold start (about half of
    ``import app``). A ``LazyModel`` stands in for the class: the edge and the OpenAPI
    generator resolve it (:func:`resolve_model`), ``Page[X]`` parametrises lazily, and any
    other use (``X.model_validate(...)``, ``X(...)``) imports the module and forwards to the
    class. Views import the real names under ``TYPE_CHECKING`` so mypy sees the classes.
    """

    module: str
    name: str
    args: tuple[Any, ...] = ()

    def resolve(self) -> Any:
        return _resolve(self)

    def __getitem__(self, item: Any) -> LazyModel:
        return LazyModel(self.module, self.name, item if isinstance(item, tuple) else (item,))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(_resolve(self), name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _resolve(self)(*args, **kwargs)


_RESOLVED: dict[LazyModel, Any] = {}


def _resolve(ref: LazyModel) -> Any:
    found = _RESOLVED.get(ref)
    if found is None:
        found = getattr(importlib.import_module(ref.module), ref.name)
        if ref.args:
            found = found[tuple(resolve_model(arg) for arg in ref.args) if len(ref.args) > 1
                          else resolve_model(ref.args[0])]
        _RESOLVED[ref] = found
    return found


def resolve_model(model: Any) -> Any:
    """The class a route names: a :class:`LazyModel` imported, anything else as it is."""
    return _resolve(model) if isinstance(model, LazyModel) else model


def lazy_models(module: str, *names: str) -> tuple[LazyModel, ...]:
    """``lazy_models("chalicelib.schemas.orders", "OrderCreate", ...)``: stand-ins for those
    classes, in order, importing nothing now."""
    return tuple(LazyModel(module, name) for name in names)


@dataclass(frozen=True)
class Header:
    """A request or response header: its name, whether it is always there, what it means,
    and its JSON schema."""

    name: str
    required: bool = False
    description: str = ""
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "string"})

    def __hash__(self) -> int:
        return hash((self.name, self.required, self.description))


# Headers every route of a shape answers with; declared once here.
RETRY_AFTER = Header("Retry-After", True, "Seconds to wait before retrying.",
                     {"type": "string", "pattern": "^[0-9]+$"})
ETAG = Header("ETag", True, "This representation's version: send it back as `If-None-Match` (→ 304) or "
                            "`If-Match` on PATCH (→ 412 when stale).", {"type": "string"})
IF_NONE_MATCH = Header("If-None-Match", False, "An `ETag` you have: 304 with no body when it is still current.")
IF_MATCH = Header("If-Match", False, "The `ETag` you edited from: 412 `precondition_failed` when the resource "
                                     "changed since.")
# Documented on every answer (API.md, Conventions). Not `required` until every answer carries it,
# so that the document does not promise more than the server sends.
X_REQUEST_ID = Header("X-Request-Id", True, "The id this request's log lines carry (quote it when reporting a "
                                             "problem); the client's own `X-Request-Id` when it sent one.",
                      {"type": "string", "minLength": 1, "maxLength": 64})
ACCEPT_LANGUAGE = Header("Accept-Language", False, "`ko` (or `ko-KR`, by q-value) for a Korean `title`, `detail` "
                                                   "and field messages in problems; English otherwise.",
                         {"type": "string", "examples": ["ko-KR"]})


@dataclass(frozen=True)
class RouteSpec:
    """Everything the API contract says about one method + path.

    ``errors`` lists the route-specific kinds of problem (``chalicelib.errors``);
    the kinds every route of a given shape can produce (401 for auth routes,
    400/415/422 for routes that parse a body, 404 for a path naming something...)
    are added by :attr:`problems`, so callers cannot forget them.

    ``response`` is a pydantic model class or any type ``pydantic.TypeAdapter``
    accepts, e.g. a parametrised generic such as ``Page[ShopPublic]``.

    ``etag``: the success answer carries an ``ETag`` and honours ``If-None-Match``
    (GET) or ``If-Match`` (PATCH, with ``current`` reading what is there now).
    ``document``: false for service routes that are not client operations.
    ``produces``: the media type of a success body that is not JSON (a CSV export).
    """

    method: str
    path: str
    summary: str
    tag: str
    auth: bool
    status: int
    body: type[BaseModel] | LazyModel | None = None
    query: type[BaseModel] | LazyModel | None = None
    response: Any = None
    errors: tuple[type[DomainError], ...] = ()
    headers: tuple[Header, ...] = ()
    description: str = ""
    operation_id: str = ""
    response_headers: tuple[Header, ...] = ()
    etag: bool = False
    current: Callable[..., Any] | None = field(default=None, compare=False, hash=False)
    document: bool = True
    # A success body that is not JSON (``text/csv; charset=utf-8``): the view returns a Response.
    produces: str | None = None
    # Path captures that are free text (a region, a hashtag: Korean), not ids: the edge hands
    # them to the view URL-decoded, and the view validates them.
    text_params: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Registration mistakes should fail at import time, not as a wrong
        # document discovered by a client later.
        if self.method not in HTTP_METHODS:
            raise ValueError(f"{self.method!r} is not an upper-case HTTP method")
        if not self.path.startswith("/"):
            raise ValueError(f"path {self.path!r} must start with '/'")
        if not 200 <= self.status < 300:
            raise ValueError(f"success status {self.status} is not 2xx")
        if self.status == 204 and self.response is not None:
            raise ValueError(f"{self.method} {self.path}: a 204 route cannot have a response model")
        for kind in self.errors:
            if not (isinstance(kind, type) and issubclass(kind, DomainError)) or kind.__dict__.get("abstract"):
                raise ValueError(f"{self.method} {self.path}: {kind!r} is not a kind of DomainError")
        if self.operation_id:
            match = _OPERATION_ID.match(self.operation_id)
            if not match:
                raise ValueError(f"{self.method} {self.path}: operationId {self.operation_id!r} is not camelCase")
            if match.group(1) not in OPERATION_VERBS:
                raise ValueError(f"{self.method} {self.path}: operationId {self.operation_id!r} does not start "
                                 f"with a verb of spec.OPERATION_VERBS")
        if self.etag and self.method not in ("GET", "PATCH"):
            raise ValueError(f"{self.method} {self.path}: ETags are for GET and PATCH")

    @property
    def body_model(self) -> type[BaseModel] | None:
        """:attr:`body` as a class (a lazily named model is imported now)."""
        return resolve_model(self.body)

    @property
    def query_model(self) -> type[BaseModel] | None:
        return resolve_model(self.query)

    @property
    def response_model(self) -> Any:
        return resolve_model(self.response)

    @property
    def path_params(self) -> tuple[str, ...]:
        """Names of the ``{name}`` captures in :attr:`path`, in path order."""
        return tuple(_PATH_PARAM.findall(self.path))

    @property
    def openapi_path(self) -> str:
        """:attr:`path` as an OpenAPI path template (greedy ``+`` markers removed)."""
        return _PATH_PARAM.sub(lambda m: "{" + m.group(1) + "}", self.path)

    @property
    def operation(self) -> str:
        """The operationId: as declared (a verb: ``placeOrder``), else the method's verb and the
        path's fixed words (``DELETE /shops/{shop_id}/follow`` → ``deleteShopsFollow``)."""
        if self.operation_id:
            return self.operation_id
        fixed = _PATH_PARAM.sub("", self.path)
        words = [w for w in _NON_WORD.split(fixed) if w]
        verb = _METHOD_VERBS.get(self.method, self.method.lower())
        return verb + "".join(w[:1].upper() + w[1:].lower() for w in words)

    @property
    def if_none_match(self) -> bool:
        return self.etag and self.method == "GET"

    @property
    def if_match(self) -> bool:
        return self.etag and self.method == "PATCH"

    @property
    def problems(self) -> dict[int, tuple[str, ...]]:
        """Every problem+json status this route may answer with, and the ``code``s each can
        carry, sorted.

        Adds the kinds implied by the route's shape: 401 when it needs a token, 404 when
        its path names something, 400/415/422 when it parses a body, 400/422 when it reads
        a query (400 ``invalid_cursor`` when it pages), 412 on a PATCH honouring
        ``If-Match``; and on every route 413 (bodies are capped everywhere), 429 (throttling)
        and 503 (a busy dependency, or the gateway's own 5xx).
        """
        kinds: set[type[DomainError]] = {*self.errors, PayloadTooLarge, RateLimited, Unavailable}
        if self.auth:  # no valid token; a genuine token of a closed account (the edge's token check)
            kinds.update((Unauthorized, AccountClosed))
        if self.path_params:
            kinds.add(NotFound)
        if self.body is not None:
            kinds.update((MalformedJson, JsonTooDeep, UnsupportedMediaType, Invalid))
        if self.query is not None:
            kinds.update((MalformedQuery, Invalid))
            if "cursor" in getattr(self.query_model, "model_fields", {}):
                kinds.add(InvalidCursor)
        if self.if_match:
            kinds.add(PreconditionFailed)
        by_status: dict[int, set[str]] = {}
        for kind in kinds:
            by_status.setdefault(kind.status, set()).add(kind.code)
        return {status: tuple(sorted(codes)) for status, codes in sorted(by_status.items())}

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(code for codes in self.problems.values() for code in codes)

    @property
    def error_statuses(self) -> tuple[int, ...]:
        """Every problem+json status this route may answer with, sorted."""
        return tuple(self.problems)
