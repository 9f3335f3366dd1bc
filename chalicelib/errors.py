"""Domain errors: what went wrong, in the domain's words.

Services raise these; the HTTP edge (``chalicelib.api.edge``) is the one place that turns
them into ``application/problem+json`` answers. No HTTP framework is imported here.

Every kind has a stable ``code`` the app switches on (``email_taken``, ``out_of_stock``...)
and one HTTP ``status``. Two different causes never share a code: a new cause is a new
subclass with its own code, and its titles (English and Korean) in ``chalicelib.messages``.
The ``detail`` a raise site passes is the English explanation of this occurrence;
``params`` fill the Korean one (``chalicelib.messages``); ``extra`` members are published
in the problem document (which product ran out, the order's status...).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any, ClassVar


@dataclass(frozen=True)
class FieldProblem:
    """One field-level complaint: where (``body.price``), a stable ``code`` and the English
    message. ``params`` fill the Korean message of that code."""

    field: str
    message: str
    code: str = "invalid"
    params: dict[str, Any] = dataclass_field(default_factory=dict)


class DomainError(Exception):
    """Base class. ``status`` is the HTTP status the edge answers with; ``code`` names the
    kind of problem. Kinds below the base are the only ones raised."""

    status = 400
    code = "bad_request"
    # A base that is never raised itself: it names no kind of problem of its own.
    abstract: ClassVar[bool] = True

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[FieldProblem] | None = None,
        extra: dict | None = None,
        params: dict | None = None,
    ) -> None:
        super().__init__(detail or self.code)
        self.detail = detail
        self.errors = errors or []
        # Extra members of the problem document (e.g. which product ran out).
        self.extra = extra or {}
        # Values for the localized detail (never published as such).
        self.params = {**self.extra, **(params or {})}

    @classmethod
    def kinds(cls) -> list[type[DomainError]]:
        """Every kind that can be raised (this class and its subclasses, bases left out)."""
        found: list[type[DomainError]] = []
        stack: list[type[DomainError]] = [cls]
        while stack:
            kind = stack.pop(0)
            if not kind.__dict__.get("abstract", False):
                found.append(kind)
            stack.extend(kind.__subclasses__())
        return found


# --- 400: the request cannot be read ------------------------------------------------------------
class BadRequest(DomainError):
    """A request that cannot be processed as sent, when no more specific kind says why."""

    status, code = 400, "bad_request"
    abstract = False


class MalformedJson(BadRequest):
    code = "malformed_json"


class JsonTooDeep(BadRequest):
    code = "json_too_deep"


class MalformedQuery(BadRequest):
    code = "malformed_query"


class InvalidCursor(BadRequest):
    code = "invalid_cursor"


class IdempotencyKeyMissing(BadRequest):
    code = "idempotency_key_missing"


class IdempotencyKeyInvalid(BadRequest):
    code = "idempotency_key_invalid"


class CodeInvalid(BadRequest):
    """A reset or verification code that is wrong, or was never asked for."""

    code = "code_invalid"


class CodeExpired(BadRequest):
    """A reset or verification code past its 15 minutes."""

    code = "code_expired"


# --- 401 ----------------------------------------------------------------------------------------
class Unauthorized(DomainError):
    """No valid bearer token: missing, malformed, expired or revoked."""

    status, code = 401, "unauthorized"


class InvalidCredentials(Unauthorized):
    """Login failed (the same answer whether the account exists or not)."""

    code = "invalid_credentials"


class AccountClosed(Unauthorized):
    """The token is genuine but its account no longer exists."""

    code = "account_closed"


class RefreshTokenReused(Unauthorized):
    """A refresh token was presented after it had been exchanged: its login is ended."""

    code = "refresh_token_reused"


# --- 403 / 404 / 405 ----------------------------------------------------------------------------
class Forbidden(DomainError):
    """Authenticated, but not the one allowed to do this (the owner, the buyer, the author)."""

    status, code = 403, "forbidden"


class WrongPassword(Forbidden):
    """A password change named a wrong current password."""

    code = "wrong_password"


class CodeLocked(Forbidden):
    """A reset or verification code tried too many times: only a new code can be used."""

    code = "code_locked"


class OwnShopOrder(Forbidden):
    code = "own_shop_order"


class OwnShopSubscription(Forbidden):
    code = "own_shop_subscription"


class OwnShopConsent(Forbidden):
    code = "own_shop_consent"


class OwnShopMessage(Forbidden):
    code = "own_shop_message"


class Blocked(Forbidden):
    """The shop has blocked this customer: no messages, comments on its posts or orders."""

    code = "blocked"


class NotFound(DomainError):
    """The thing the path names does not exist (or is not yours to know about)."""

    status, code = 404, "not_found"


class RouteNotFound(NotFound):
    """No route has this path."""

    code = "route_not_found"


class MethodNotAllowed(DomainError):
    status, code = 405, "method_not_allowed"

    def __init__(self, detail: str | None = None, *, allow: tuple[str, ...] = ()) -> None:
        super().__init__(detail, params={"allow": ", ".join(allow)})
        self.allow = allow


# --- 409: the request conflicts with the current state ------------------------------------------
class Conflict(DomainError):
    status, code = 409, "conflict"
    abstract = True


class EmailTaken(Conflict):
    code = "email_taken"


class PhoneTaken(Conflict):
    code = "phone_taken"


class HandleTaken(Conflict):
    code = "handle_taken"


class ShopAlreadyOpen(Conflict):
    code = "shop_already_open"


class OwnShopFollow(Conflict):
    code = "own_shop_follow"


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"


class IllegalTransition(Conflict):
    """No one may move an order from its status to the requested one."""

    code = "illegal_transition"


class OrderChanged(Conflict):
    """The order's status changed between reading and writing it (a racing move won)."""

    code = "order_changed"


class PriceChanged(Conflict):
    """``expected_total`` is not what the order would cost now; ``extra`` has the current prices."""

    code = "price_changed"


class PaymentIncomplete(Conflict):
    """The payment provider does not (yet) report the payment as paid."""

    code = "payment_incomplete"


class PaymentMismatch(Conflict):
    """The provider reports a payment of another amount or currency (it is cancelled)."""

    code = "payment_mismatch"


class PaymentExpired(Conflict):
    """The payment came after the order expired or was cancelled (it is refunded)."""

    code = "payment_expired"


class OutOfStock(Conflict):
    """An order asked for more than is left; ``extra`` names the products and what is left."""

    code = "out_of_stock"


class StaleCatalog(Conflict):
    """Products changed between reading them and ordering them (the order path re-prices and
    retries; this reaches a client only if they keep changing)."""

    code = "catalog_changed"


class StockChanged(Conflict):
    """A stock edit raced an order: the stock is no longer what the edit was based on."""

    code = "stock_changed"


class PostChanged(Conflict):
    code = "post_changed"


class OrderNotDelivered(Conflict):
    code = "order_not_delivered"


class ShopHasOpenOrders(Conflict):
    """An owner closing their account while their shop still owes buyers their orders."""

    code = "shop_has_open_orders"


class ShopClosed(Conflict):
    """Following or ordering from a shop whose owner closed their account: the shop stays readable,
    but nobody is there to fulfil an order."""

    code = "shop_closed"


class AlreadyReviewed(Conflict):
    code = "already_reviewed"


class AlreadyVerified(Conflict):
    """Asking to verify an e-mail address or phone number that is verified already."""

    code = "already_verified"


class NothingToVerify(Conflict):
    """Asking to verify an e-mail address or phone number the account does not have."""

    code = "nothing_to_verify"


class TooManyDevices(Conflict):
    """A user already has as many push devices as one account may register."""

    code = "too_many_devices"


class TooManyAddresses(Conflict):
    """A user already has as many saved addresses as one address book holds."""

    code = "too_many_addresses"


class SubscriptionCancelled(Conflict):
    """A change to a cancelled subscription (cancelling is final; subscribe again)."""

    code = "subscription_cancelled"


class SubscriptionNotActive(Conflict):
    """Skipping the next order of a subscription that is not active (a paused one places none)."""

    code = "subscription_not_active"


class SubscriptionPeriodPassed(Conflict):
    """A skip for a period that is no longer ahead and that no skip settled: it was ordered
    (``order_id``), or it passed unrecorded. ``next_period`` is the one now ahead."""

    code = "subscription_period_passed"


class CouponExhausted(Conflict):
    """The coupon's redemptions are all taken (``max_redemptions``): another order got the last one."""

    code = "coupon_exhausted"


class CouponEnded(Conflict):
    """Giving out a coupon whose end (``ends_at``) has passed."""

    code = "coupon_ended"


# --- 412 / 413 / 415 / 422 ----------------------------------------------------------------------
class PreconditionFailed(DomainError):
    """``If-Match`` names a version that is no longer current."""

    status, code = 412, "precondition_failed"


class PayloadTooLarge(DomainError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaType(DomainError):
    status, code = 415, "unsupported_media_type"


class Invalid(DomainError):
    """Well-formed but semantically invalid input (field-level problems)."""

    status, code = 422, "validation_failed"


class FulfilmentUnavailable(Invalid):
    """An order asks for delivery or pickup from a shop that does not offer it; ``offered``
    lists what it does offer."""

    code = "fulfilment_unavailable"


class AddressRequired(Invalid):
    """An order for delivery names neither a saved address (``address_id``) nor an address."""

    code = "address_required"


class BillingKeyInvalid(Invalid):
    """A billing key the payment provider does not know or has deleted: no card is saved."""

    code = "billing_key_invalid"


class CouponNotApplicable(Invalid):
    """An order names a coupon it cannot use: not the buyer's, used, not started or ended, the
    subtotal below its minimum, or another shop's; ``reason`` says which."""

    code = "coupon_not_applicable"


class AudienceNotSupported(Invalid):
    """A coupon grant to an audience given by tier or by essentials due: such a coupon goes with a broadcast."""

    code = "audience_not_supported"


class UnknownRegion(Invalid):
    """A shop's region, or a region asked for, that is not in the shipped list (``chalicelib/data/regions.txt``)."""

    code = "unknown_region"


class InvalidSearchQuery(Invalid):
    """A search query with no letter or digit, or longer than a name can match."""

    code = "invalid_search_query"


class InvalidHashtag(Invalid):
    """A hashtag page asked for with a tag no post can carry (not word characters, or too long)."""

    code = "invalid_hashtag"


# --- 429 / 503: come back later ------------------------------------------------------------------
class RetryLater(DomainError):
    """Base of the answers that carry ``Retry-After`` (seconds)."""

    abstract = True

    def __init__(self, detail: str | None = None, *, retry_after: int = 1, params: dict | None = None) -> None:
        super().__init__(detail, params={"retry_after": retry_after, **(params or {})})
        self.retry_after = max(1, int(retry_after))


class RateLimited(RetryLater):
    """Too many requests from this user or address for this action; retry after ``retry_after`` s."""

    status, code = 429, "rate_limited"


class Unavailable(RetryLater):
    """A dependency is overloaded (throttling, transaction conflicts) after retries."""

    status, code = 503, "service_unavailable"


class GatewayTimeout(DomainError):
    """API Gateway stopped waiting for the app (its integration timeout). Only the gateway
    answers it (deploy/template.py): the request may still have been carried out, so it is not
    ``service_unavailable`` (which promises it was not) and carries no ``Retry-After``."""

    status, code = 504, "gateway_timeout"
