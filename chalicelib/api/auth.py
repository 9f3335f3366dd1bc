"""The bearer-token authorizer (a Chalice built-in authorizer; runs under ``chalice local`` too).

It never denies: a missing/garbage/expired token is passed on as ``error`` in the
authorizer context, and the edge answers 401 as problem+json. It reads nothing: whether a
well-signed token was revoked is the edge's one read per request (``api.edge``), which also
makes revocation immediate despite this answer being cached per token. (A denied authorizer makes
API Gateway answer 403 with its own body; the contract says 401.) A request with no
Authorization header at all is answered 401 by API Gateway itself, before any code runs;
the deployment template gives that answer a problem+json body too.
"""

from __future__ import annotations

from chalice import AuthResponse, Blueprint

from chalicelib.wiring import container
from chalicelib.errors import Unauthorized
from chalicelib import clock

auth_blueprint = Blueprint(__name__)

# API Gateway caches the answer per token for this long; the edge re-checks expiry.
AUTHORIZER_CACHE_SECONDS = 300


@auth_blueprint.authorizer(ttl_seconds=AUTHORIZER_CACHE_SECONDS, name="bearer")
def bearer(auth_request):
    token = (auth_request.token or "").strip()
    scheme, _, value = token.partition(" ")
    if scheme.lower() != "bearer" or not value:
        return _anonymous("Use 'Authorization: Bearer <token>'.")
    try:
        claims = container().tokens.verify(value.strip(), clock.now())
    except Unauthorized as error:
        return _anonymous(error.detail)
    # Signature and expiry only: no I/O here. Revocation (logout, password change, account
    # closed) is checked by the edge on every request, against the account's token state.
    context = {"exp": str(claims.expires_at), "ver": str(claims.version), "jti": claims.token_id or ""}
    return AuthResponse(routes=["*"], principal_id=claims.user_id, context=context)


def _anonymous(reason: str) -> AuthResponse:
    return AuthResponse(routes=["*"], principal_id="anonymous", context={"error": reason})
