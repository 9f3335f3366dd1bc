"""Signing keys carry key ids: the newest key signs, every key of the ring verifies, an unknown
key id is refused, and tokens made before key ids verify until they expire."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from chalicelib.errors import Unauthorized
from chalicelib.services.signing import (
    CursorCodec, Keyring, RefreshTokenService, Signer, TokenService, key_id, token_kid,
)

OLD = "the-old-signing-secret-for-unit-tests-" + "o" * 10
NEW = "the-new-signing-secret-for-unit-tests-" + "n" * 10


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_the_newest_key_signs_and_every_key_verifies():
    old_token = TokenService(Keyring.of(OLD), 3600).issue("u1", 1000)
    ring = TokenService(Keyring.of(NEW, OLD), 3600)
    new_token = ring.issue("u1", 1000)
    assert token_kid(old_token) == key_id(OLD) and token_kid(new_token) == key_id(NEW)
    assert ring.verify(old_token, 1001).user_id == ring.verify(new_token, 1001).user_id == "u1"
    with pytest.raises(Unauthorized):
        TokenService(Keyring.of(NEW), 3600).verify(old_token, 1001)  # the old key retired


def test_a_key_id_the_ring_does_not_hold_is_refused_even_with_a_good_mac():
    header = b64(json.dumps({"alg": "HS256", "kid": "not-a-key"}).encode())
    body = b64(json.dumps({"sub": "u1", "exp": 10**10}).encode())
    key = hmac.new(NEW.encode(), b"bearer-token-v1", hashlib.sha256).digest()
    mac = b64(hmac.new(key, f"{header}.{body}".encode(), hashlib.sha256).digest())
    assert Signer(NEW, "bearer-token-v1").verify(f"{header}.{body}.{mac}") is None


def test_tokens_made_before_key_ids_verify_against_any_key_until_they_expire():
    key = hmac.new(OLD.encode(), b"bearer-token-v1", hashlib.sha256).digest()
    body = b64(json.dumps({"sub": "u1", "iat": 1000, "exp": 2000, "ver": 0, "jti": "j"}, separators=(",", ":"),
                          sort_keys=True).encode())
    legacy = f"{body}.{b64(hmac.new(key, body.encode(), hashlib.sha256).digest())}"
    tokens = TokenService(Keyring.of(NEW, OLD), 3600)
    assert tokens.verify(legacy, 1500).user_id == "u1"
    with pytest.raises(Unauthorized):
        tokens.verify(legacy, 2000)
    with pytest.raises(Unauthorized):
        TokenService(Keyring.of(NEW), 3600).verify(legacy, 1500)


def test_purposes_never_cross():
    ring = Keyring.of(NEW)
    refresh = RefreshTokenService(ring, 60).issue("u1", "s1", 0, 0, 1000)
    with pytest.raises(Unauthorized):
        TokenService(ring, 60).verify(refresh, 1001)
    with pytest.raises(Unauthorized):
        RefreshTokenService(ring, 60).verify(TokenService(ring, 60).issue("u1", 1000), 1001)
    assert RefreshTokenService(ring, 60).verify(refresh, 1001).session_id == "s1"
    cursor = CursorCodec(Keyring.of(NEW, OLD)).encode({"pk": "x"}, "s")
    assert CursorCodec(Keyring.of(OLD, NEW)).decode(cursor, "s") == {"pk": "x"}  # rotation keeps cursors too


def test_settings_take_a_list_of_keys_newest_first():
    from chalicelib.secrets import signing_keys
    from chalicelib.settings import Settings

    settings = Settings.from_env({"DONGNE_SECRET_KEYS": json.dumps([NEW, OLD]), "DONGNE_STAGE": "prod"})
    assert signing_keys(settings) == (NEW, OLD)
    with pytest.raises(ValueError):
        Settings.from_env({"DONGNE_SECRET_KEYS": json.dumps([NEW, "short"])})
    with pytest.raises(ValueError):
        Settings.from_env({"DONGNE_SECRET_KEYS": "not json"})
