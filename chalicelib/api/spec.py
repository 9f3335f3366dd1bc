"""Route metadata shared by the HTTP edge and the OpenAPI generator.

Every route the edge registers is described once by a :class:`RouteSpec`. The
same record drives request parsing at the edge and the published
``/openapi.json``, so the document cannot drift from what is implemented.

This module sits on the Lambda cold-start path (the edge imports it for every
route at module load), so it deliberately imports nothing beyond the standard
library at runtime; pydantic is referenced in annotations only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = ["HTTP_METHODS", "RouteSpec"]

#: Methods a route may use, in the order OpenAPI lists them inside a path item.
HTTP_METHODS: tuple[str, ...] = ("GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE")

# Chalice path captures look like ``{shop_id}``; a trailing ``+`` marks a greedy
# proxy capture, which OpenAPI has no syntax for, so it is stripped from names.
_PATH_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\+?\}")
_NON_WORD = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class RouteSpec:
    """Everything the API contract says about one method + path.

    ``errors`` lists only the route-specific problem statuses; the statuses every
    route of a given shape can produce (401 for auth routes, 400/422 for routes
    that parse input, 413/415 for routes with a body) are added by
    :attr:`error_statuses`, so callers cannot forget them.

    ``response`` is a pydantic model class or any type ``pydantic.TypeAdapter``
    accepts, e.g. a parametrised generic such as ``Page[ShopPublic]``.
    """

    method: str
    path: str
    summary: str
    tag: str
    auth: bool
    status: int
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: Any = None
    errors: tuple[int, ...] = ()
    headers: tuple[tuple[str, bool, str], ...] = ()
    description: str = ""

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
        for code in self.errors:
            if not 400 <= code < 600:
                raise ValueError(f"{self.method} {self.path}: error status {code} is not 4xx/5xx")

    @property
    def path_params(self) -> tuple[str, ...]:
        """Names of the ``{name}`` captures in :attr:`path`, in path order."""
        return tuple(_PATH_PARAM.findall(self.path))

    @property
    def openapi_path(self) -> str:
        """:attr:`path` as an OpenAPI path template (greedy ``+`` markers removed)."""
        return _PATH_PARAM.sub(lambda m: "{" + m.group(1) + "}", self.path)

    @property
    def operation_id(self) -> str:
        """Stable id derived from method and path, e.g. ``post_shops_shop_id_posts``.

        Derived rather than hand-written so that it only changes when the
        contract itself (method or path) changes; client generators key on it.
        """
        words = _NON_WORD.sub("_", self.path.lower()).strip("_")
        return f"{self.method.lower()}_{words}" if words else f"{self.method.lower()}_root"

    @property
    def error_statuses(self) -> tuple[int, ...]:
        """Every problem+json status this route may answer with, sorted.

        Adds the statuses implied by the route's shape: 401 when it needs a
        token, 400 (malformed input) and 422 (validation) when it parses a body
        or query string, and 413 (too large) and 415 (not JSON) when it accepts
        a body.
        """
        codes = set(self.errors)
        if self.auth:
            codes.add(401)
        if self.body is not None or self.query is not None:
            codes.update((400, 422))
        if self.body is not None:
            codes.update((413, 415))
        return tuple(sorted(codes))
