"""The bearer-token authorizer (a Chalice built-in authorizer; runs under ``chalice local`` too).

It never denies: a missing/garbage/expired token is passed on as ``error`` in the
authorizer context, and the edge answers 401 as problem+json. (A denied authorizer makes
API Gateway answer 403 with its own body; the contract says 401.) A request with no
Authorization header at all is answered 401 by API Gateway itself, before any code runs;
the deployment template gives that answer a problem+json body too.
"""

from __future__ import annotations

from chalice import AuthResponse, Blueprint

from chalicelib.wiring import container
from chalicelib.errors import Unauthorized
from chalicelib.ids import now

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
        user_id, expires_at = container().tokens.verify(value.strip(), now())
    except Unauthorized as error:
        return _anonymous(error.detail)
    return AuthResponse(routes=["*"], principal_id=user_id, context={"exp": str(expires_at)})


def _anonymous(reason: str) -> AuthResponse:
    return AuthResponse(routes=["*"], principal_id="anonymous", context={"error": reason})
