"""Logins: short access tokens, rotating refresh tokens with reuse detection, logout.

A sign-in begins a login (``begin``): an access token (an hour) and a refresh token (60 days),
both naming the login's id. ``refresh`` exchanges the refresh token for a new pair, and the
old refresh token is spent: the login keeps only the digest of the one current token, swapped
by one conditional transaction that also checks the account still has the token version the
login began with (a password change, a reset or closing the account end every login).

Reuse detection (the OAuth 2.0 Security BCP's refresh token rotation): a spent refresh token
presented again means two parties hold the login's tokens — the user and a thief, or a client
that raced itself. Nothing tells which one is honest, so the whole login ends: its record is
deleted (no refresh token of it works) and its id joins the account's logged-out list (no
access token of it works, from the next request on). Both parties log in again.

``end`` (logout) ends the caller's login the same way. Access tokens are checked against the
account on every signed-in request (``services.accounts.check_token``), so ending a login, a
password change and closing the account act at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from chalicelib.errors import RefreshTokenReused, Unauthorized
from chalicelib.ids import new_id
from chalicelib.records.accounts import User
from chalicelib.records.sessions import Login
from chalicelib.services.accounts import AccountsStore, logout, revoke
from chalicelib.services.signing import Claims, RefreshTokenService, TokenService


class SessionsStore(Protocol):
    def create(self, login: Login) -> None: ...
    def get(self, user_id: str, session_id: str) -> Login | None: ...
    def rotate(self, user_id: str, session_id: str, presented_hash: str, new_hash: str, version: int, now: float,
               expires_at: int) -> object: ...
    def end(self, user_id: str, session_id: str) -> None: ...


@dataclass(frozen=True)
class TokenPair:
    token: str
    expires_at: int
    refresh_token: str
    refresh_expires_at: int


@dataclass(frozen=True)
class SignedIn:
    """What signing up or logging in answers: the account and its new login's tokens."""

    user: User
    token: str
    expires_at: int
    refresh_token: str
    refresh_expires_at: int


def begin(store: SessionsStore, tokens: TokenService, refresh_tokens: RefreshTokenService, user: User,
          now: float) -> SignedIn:
    """A new login for ``user`` (one PutItem): its first access and refresh tokens."""
    session_id = new_id()
    refresh_token = refresh_tokens.issue(user.user_id, session_id, 0, user.token_version, now)
    refresh_expires_at = int(now) + refresh_tokens.ttl_seconds
    store.create(Login(user_id=user.user_id, session_id=session_id, refresh_hash=refresh_tokens.digest(refresh_token),
                       rotation=0, token_version=user.token_version, created_at=now, refreshed_at=now,
                       expires_at=refresh_expires_at))
    return SignedIn(user=user, token=tokens.issue(user.user_id, now, user.token_version, session_id),
                    expires_at=int(now) + tokens.ttl_seconds, refresh_token=refresh_token,
                    refresh_expires_at=refresh_expires_at)


def refresh(store: SessionsStore, accounts: AccountsStore, tokens: TokenService, refresh_tokens: RefreshTokenService,
            presented: str, now: float) -> TokenPair:
    """Exchange a refresh token for a new pair (one TransactWriteItems). A spent one ends the
    login it belongs to (``RefreshTokenReused``); an unknown, expired or ended one is 401."""
    from chalicelib.storage.sessions import Rotation

    claims = refresh_tokens.verify(presented, now)  # signature, key id and expiry: no I/O
    user_id, session_id = claims.user_id, claims.session_id
    next_token = refresh_tokens.issue(user_id, session_id, claims.rotation + 1, claims.version, now)
    refresh_expires_at = int(now) + refresh_tokens.ttl_seconds
    outcome = store.rotate(user_id, session_id, refresh_tokens.digest(presented), refresh_tokens.digest(next_token),
                           claims.version, now, refresh_expires_at)
    if outcome is Rotation.ACCOUNT_ENDED:
        raise Unauthorized("Every login of this account was ended (a password change, or the account "
                           "closed); log in again.")
    if outcome is not Rotation.ROTATED:
        if store.get(user_id, session_id) is None:
            raise Unauthorized("This login has ended; log in again.")
        end_login(store, accounts, tokens, user_id, session_id, now)
        raise RefreshTokenReused("This refresh token was used before, so its login was ended to be safe; "
                                 "log in again.")
    return TokenPair(token=tokens.issue(user_id, now, claims.version, session_id),
                     expires_at=int(now) + tokens.ttl_seconds, refresh_token=next_token,
                     refresh_expires_at=refresh_expires_at)


def end_login(store: SessionsStore, accounts: AccountsStore, tokens: TokenService, user_id: str, session_id: str,
              now: float, user: User | None = None) -> None:
    """The login ends: its record goes (no refresh), and its id is logged out on the account
    until the last access token it issued has expired (no access token works either)."""
    store.end(user_id, session_id)
    user = user if user is not None else accounts.get_user(user_id, consistent=True)
    if user is not None and not user.revoked(session_id):
        revoke(accounts, user, session_id, now + tokens.ttl_seconds, now)


def end(store: SessionsStore, accounts: AccountsStore, tokens: TokenService, user: User, claims: Claims,
        now: float) -> None:
    """``POST /auth/logout``: the caller's login ends, its refresh token with it. A token from
    before logins were kept is logged out alone, as it was."""
    if claims.session_id is None:
        logout(accounts, user, claims, now)
        return
    end_login(store, accounts, tokens, user.user_id, claims.session_id, now, user=user)
