"""HMAC-signed compact tokens: bearer tokens, refresh tokens and list cursors.

Format: ``base64url(json header) + "." + base64url(json payload) + "." + base64url(mac)``,
the mac an HMAC-SHA256 over header and payload, the header ``{"kid": <key id>}`` (JWS's
compact shape, HS256). The key is derived per purpose from the signing secret the key id
names, so a cursor can never pass as a bearer token (or the reverse). Several secrets verify
at once (``Keyring``): the newest signs, older ones still verify until their tokens expire,
and a key id the keyring does not hold is refused. Tokens made before key ids
(``payload + "." + mac``, no header) verify against any key of the ring until they expire.
Tokens carry an expiry; cursors carry the scope they were issued for (e.g. ``feed:<user_id>``)
so one user's cursor cannot page through another's list.
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


def key_id(secret: str) -> str:
    """A signing secret's key id: a short digest of it, so naming keys needs no configuration
    and the id tells nothing about the secret."""
    return hashlib.sha256(b"dongne-signing-key:" + secret.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Keyring:
    """The signing secrets in force, newest first: the first signs, every one verifies."""

    secrets: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.secrets:
            raise ValueError("a keyring needs at least one secret")

    @classmethod
    def of(cls, *secrets: str) -> "Keyring":
        return cls(tuple(dict.fromkeys(secrets)))

    @property
    def current(self) -> str:
        return self.secrets[0]


def _json_b64(value: dict[str, Any]) -> str:
    return _b64(json.dumps(value, separators=(",", ":"), sort_keys=True).encode())


class Signer:
    """Signs and verifies JSON payloads for one purpose, with the keys of a keyring."""

    def __init__(self, keys: Keyring | str, purpose: str) -> None:
        ring = keys if isinstance(keys, Keyring) else Keyring.of(keys)
        self._keys = {key_id(secret): hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).digest()
                      for secret in ring.secrets}
        self.kid = key_id(ring.current)
        self._header = _json_b64({"alg": "HS256", "kid": self.kid})

    def _mac(self, key: bytes, signed: str) -> str:
        return _b64(hmac.new(key, signed.encode("ascii"), hashlib.sha256).digest())

    def sign(self, payload: dict[str, Any]) -> str:
        signed = f"{self._header}.{_json_b64(payload)}"
        return f"{signed}.{self._mac(self._keys[self.kid], signed)}"

    def verify(self, token: str) -> dict[str, Any] | None:
        """The payload, or ``None`` when the token is malformed, its key id unknown or its
        signature wrong."""
        if not isinstance(token, str) or not token.isascii() or len(token) > 4096 or token.count(".") not in (1, 2):
            return None
        parts = token.split(".")
        if len(parts) == 1 + 1:  # made before key ids: any key of the ring may have signed it
            body, mac = parts
            if not any(hmac.compare_digest(mac, self._mac(key, body)) for key in self._keys.values()):
                return None
        else:
            header, body, mac = parts
            kid = _decode(header).get("kid")
            key = self._keys.get(kid) if isinstance(kid, str) else None
            if key is None or not hmac.compare_digest(mac, self._mac(key, f"{header}.{body}")):
                return None
        payload = _decode(body)
        return payload or None


def _decode(part: str) -> dict[str, Any]:
    try:
        value = json.loads(_unb64(part))
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def token_kid(token: str) -> str | None:
    """The key id in a token's header (None for tokens made before key ids); unverified."""
    parts = token.split(".")
    kid = _decode(parts[0]).get("kid") if len(parts) == 3 else None
    return kid if isinstance(kid, str) else None


@dataclass(frozen=True)
class Claims:
    """What a verified bearer token says. ``version`` is the account's token version when it was
    issued (a password change moves it on, killing every older token); ``token_id`` names this
    token (None on tokens issued before there were ids); ``session_id`` names the login it
    belongs to (None on tokens issued before logins were kept), which a logout ends whole."""

    user_id: str
    expires_at: int
    version: int = 0
    token_id: str | None = None
    session_id: str | None = None


class TokenService:
    """Bearer (access) tokens: ``{"sub": user_id, "iat", "exp", "ver": token version, "jti":
    token id, "sid": login id}``.

    The signature and expiry are checked here, with no I/O; whether the token was revoked
    (logout, password change, account closed) is checked against the account at the edge.
    """

    def __init__(self, keys: Keyring | str, ttl_seconds: int) -> None:
        self._signer = Signer(keys, "bearer-token-v1")
        self.ttl_seconds = ttl_seconds

    def issue(self, user_id: str, now: float, version: int = 0, session_id: str | None = None) -> str:
        payload: dict[str, Any] = {"sub": user_id, "iat": int(now), "exp": int(now) + self.ttl_seconds,
                                   "ver": version, "jti": secrets.token_urlsafe(9)}
        if session_id is not None:
            payload["sid"] = session_id
        return self._signer.sign(payload)

    def verify(self, token: str, now: float) -> Claims:
        """The claims of a valid, unexpired token; else ``Unauthorized``."""
        payload = self._signer.verify(token)
        if payload is None or not isinstance(payload.get("sub"), str) or not isinstance(payload.get("exp"), int):
            raise Unauthorized("The bearer token is not valid.")
        if payload["exp"] <= now:
            raise Unauthorized("The bearer token has expired; log in again.")
        version, token_id, session_id = payload.get("ver", 0), payload.get("jti"), payload.get("sid")
        if not isinstance(version, int) or not all(v is None or isinstance(v, str) for v in (token_id, session_id)):
            raise Unauthorized("The bearer token is not valid.")
        return Claims(payload["sub"], payload["exp"], version, token_id, session_id)


@dataclass(frozen=True)
class RefreshClaims:
    """What a verified refresh token says: whose login (``session_id``), which rotation of it
    (``rotation``, 0 for the token the login began with) and the account's token version when
    the login began (``version``)."""

    user_id: str
    session_id: str
    rotation: int
    expires_at: int
    version: int = 0


class RefreshTokenService:
    """Refresh tokens: ``{"sub", "sid": login id, "n": rotation, "ver", "exp", "r": random}``, signed
    for their own purpose (never accepted as a bearer token). The login keeps only a digest
    of the one current token (``digest``), so a leaked table holds no usable token."""

    def __init__(self, keys: Keyring | str, ttl_seconds: int) -> None:
        self._signer = Signer(keys, "refresh-token-v1")
        self.ttl_seconds = ttl_seconds

    def issue(self, user_id: str, session_id: str, rotation: int, version: int, now: float) -> str:
        return self._signer.sign({"sub": user_id, "sid": session_id, "n": rotation, "ver": version,
                                  "exp": int(now) + self.ttl_seconds, "r": secrets.token_urlsafe(16)})

    @staticmethod
    def digest(token: str) -> str:
        return hashlib.sha256(token.encode("ascii")).hexdigest()

    def verify(self, token: str, now: float) -> RefreshClaims:
        """The claims of a genuine, unexpired refresh token; else ``Unauthorized``."""
        payload = self._signer.verify(token) or {}
        kinds = {"sub": str, "sid": str, "n": int, "ver": int, "exp": int}
        if not all(type(payload.get(name)) is kind for name, kind in kinds.items()):
            raise Unauthorized("The refresh token is not valid.")
        if payload["exp"] <= now:
            raise Unauthorized("The refresh token has expired; log in again.")
        return RefreshClaims(payload["sub"], payload["sid"], payload["n"], payload["exp"], payload["ver"])


class CursorCodec:
    """Opaque, tamper-proof pagination cursors wrapping a DynamoDB ``LastEvaluatedKey``."""

    def __init__(self, keys: Keyring | str) -> None:
        self._signer = Signer(keys, "list-cursor-v1")

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
