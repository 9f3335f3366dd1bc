"""Logins: /auth/refresh (a new token pair for a refresh token). Signing in and logging out are
in ``api.accounts``; both call ``services.sessions``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint

from chalicelib.api.edge import Ctx, Router
from chalicelib.api.spec import lazy_models
from chalicelib.errors import AccountClosed, RefreshTokenReused, Unauthorized

if TYPE_CHECKING:
    from chalicelib.schemas.sessions import RefreshIn, TokensOut
else:  # pydantic models, imported on the first request that needs them
    RefreshIn, TokensOut = lazy_models("chalicelib.schemas.sessions", "RefreshIn", "TokensOut")

sessions_blueprint = Blueprint(__name__)
route = Router(sessions_blueprint, "accounts")


@route.route("POST", "/auth/refresh", auth=False, body=RefreshIn, response=TokensOut,
             errors=(Unauthorized, RefreshTokenReused, AccountClosed),
             summary="Exchange a refresh token for a new access token and the login's next refresh token",
             description="Access tokens live an hour, refresh tokens 60 days; each refresh token works once. "
                         "One presented again (a copy used by someone else, or a retry that raced its first try) "
                         "ends its whole login: 401 `refresh_token_reused`, and every token of that login, old "
                         "and new, stops working. A logged-out login, a password change or a closed account: 401.")
def refresh_tokens(ctx: Ctx, body: RefreshIn) -> TokensOut:
    from chalicelib.services import sessions

    d = ctx.deps
    pair = sessions.refresh(d.sessions, d.accounts, d.tokens, d.refresh_tokens, body.refresh_token, ctx.now)
    return TokensOut.model_validate(pair)
