"""HMAC-signed compact tokens: bearer tokens and list cursors.

Format: ``base64url(json payload) + "." + base64url(HMAC-SHA256(key, payload))``. The key
is derived per purpose from the one secret, so a cursor can never pass as a bearer token
(or the reverse). Tokens carry an expiry; cursors carry the scope they were issued for
(e.g. ``feed:<user_id>``) so one user's cursor cannot page through another's list.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any

from chalicelib.errors import InvalidCursor, Unauthorized


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """Signs and verifies JSON payloads for one purpose."""

    def __init__(self, secret: str, purpose: str) -> None:
        self._key = hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).digest()

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode("ascii"), hashlib.sha256).digest())

    def sign(self, payload: dict[str, Any]) -> str:
        body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
        return f"{body}.{self._mac(body)}"

    def verify(self, token: str) -> dict[str, Any] | None:
        """The payload, or ``None`` when the token is malformed or its signature is wrong."""
        if not isinstance(token, str) or not token.isascii() or token.count(".") != 1 or len(token) > 4096:
            return None
        body, mac = token.split(".")
        if not hmac.compare_digest(mac, self._mac(body)):
            return None
        try:
            payload = json.loads(_unb64(body))
        except ValueError:
            return None
        return payload if isinstance(payload, dict) else None


@dataclass(frozen=True)
class Claims:
    """What a verified bearer token says. ``version`` is the account's token version when it was
    issued (a password change moves it on, killing every older token); ``token_id`` names this
    token for logging it out alone (None on tokens issued before there were ids)."""

    user_id: str
    expires_at: int
    version: int = 0
    token_id: str | None = None


class TokenService:
    """Bearer tokens: ``{"sub": user_id, "iat", "exp", "ver": token version, "jti": token id}``.

    The signature and expiry are checked here, with no I/O; whether the token was revoked
    (logout, password change, account closed) is checked against the account at the edge.
    """

    def __init__(self, secret: str, ttl_seconds: int) -> None:
        self._signer = Signer(secret, "bearer-token-v1")
        self.ttl_seconds = ttl_seconds

    def issue(self, user_id: str, now: float, version: int = 0) -> str:
        return self._signer.sign({"sub": user_id, "iat": int(now), "exp": int(now) + self.ttl_seconds,
                                  "ver": version, "jti": secrets.token_urlsafe(9)})

    def verify(self, token: str, now: float) -> Claims:
        """The claims of a valid, unexpired token; else ``Unauthorized``."""
        payload = self._signer.verify(token)
        if payload is None or not isinstance(payload.get("sub"), str) or not isinstance(payload.get("exp"), int):
            raise Unauthorized("The bearer token is not valid.")
        if payload["exp"] <= now:
            raise Unauthorized("The bearer token has expired; log in again.")
        version, token_id = payload.get("ver", 0), payload.get("jti")
        if not isinstance(version, int) or not (token_id is None or isinstance(token_id, str)):
            raise Unauthorized("The bearer token is not valid.")
        return Claims(payload["sub"], payload["exp"], version, token_id)


class CursorCodec:
    """Opaque, tamper-proof pagination cursors wrapping a DynamoDB ``LastEvaluatedKey``."""

    def __init__(self, secret: str) -> None:
        self._signer = Signer(secret, "list-cursor-v1")

    def encode(self, last_key: dict[str, Any] | None, scope: str) -> str | None:
        if not last_key:
            return None
        return self._signer.sign({"k": last_key, "s": scope})

    def decode(self, cursor: str | None, scope: str) -> dict[str, Any] | None:
        if cursor is None:
            return None
        payload = self._signer.verify(cursor)
        if payload is None or payload.get("s") != scope or not isinstance(payload.get("k"), dict):
            raise InvalidCursor("The cursor is not valid for this list.")
        return payload["k"]
