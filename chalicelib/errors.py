"""Domain errors: what went wrong, in the domain's words.

Services raise these; the HTTP edge (``chalicelib.api.edge``) is the one place that turns
them into ``application/problem+json`` answers. No HTTP framework is imported here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldProblem:
    field: str
    message: str


class DomainError(Exception):
    """Base class. ``status`` is the HTTP status the edge answers with."""

    status = 400
    title = "Bad request"
    slug = "bad-request"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[FieldProblem] | None = None,
        extra: dict | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        # Extra members of the problem document (e.g. which product ran out).
        self.extra = extra or {}


class BadRequest(DomainError):
    status, title, slug = 400, "Bad request", "bad-request"


class Unauthorized(DomainError):
    status, title, slug = 401, "Unauthorized", "unauthorized"


class Forbidden(DomainError):
    status, title, slug = 403, "Forbidden", "forbidden"


class NotFound(DomainError):
    status, title, slug = 404, "Not found", "not-found"


class Conflict(DomainError):
    status, title, slug = 409, "Conflict", "conflict"


class PayloadTooLarge(DomainError):
    status, title, slug = 413, "Payload too large", "payload-too-large"


class Invalid(DomainError):
    """Well-formed but semantically invalid input (field-level problems)."""

    status, title, slug = 422, "Validation failed", "validation-failed"


class Unavailable(DomainError):
    """A dependency is overloaded (throttling, transaction conflicts) after retries."""

    status, title, slug = 503, "Service unavailable", "unavailable"

    def __init__(self, detail: str, *, retry_after: int = 1) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class OutOfStock(Conflict):
    """An order asked for more than is left; ``extra`` names the product and what is left."""

    status, title, slug = 409, "Out of stock", "out-of-stock"


class StaleCatalog(Conflict):
    """Products changed between reading them and ordering them (the order path re-prices and
    retries; this reaches a client only if they keep changing)."""

    status, title, slug = 409, "Products changed", "catalog-changed"
