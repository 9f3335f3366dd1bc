"""Signed tokens and cursors: tampering, truncation, foreign scopes, non-ASCII input."""

from __future__ import annotations

import pytest

from chalicelib.errors import BadRequest, Unauthorized
from chalicelib.services.signing import CursorCodec, Signer, TokenService

SECRET = "s" * 40


def test_cursor_round_trip_and_scope_binding():
    codec = CursorCodec(SECRET)
    cursor = codec.encode({"pk": "FEED#1", "sk": "01X"}, "feed:u1")
    assert codec.decode(cursor, "feed:u1") == {"pk": "FEED#1", "sk": "01X"}
    with pytest.raises(BadRequest):
        codec.decode(cursor, "feed:u2")


@pytest.mark.parametrize("bad", ["", "x", "a.b", "Ωmega.sig", "é" * 10, ".", "a.b.c", "x" * 5000])
def test_garbage_cursors_are_bad_requests(bad):
    with pytest.raises(BadRequest):
        CursorCodec(SECRET).decode(bad, "feed:u1")


def test_truncated_and_forged_cursors_are_rejected():
    codec = CursorCodec(SECRET)
    cursor = codec.encode({"k": 1}, "s")
    for forged in (cursor[:-1], cursor[1:], CursorCodec("t" * 40).encode({"k": 1}, "s")):
        with pytest.raises(BadRequest):
            codec.decode(forged, "s")


def test_a_cursor_is_not_a_token_and_a_token_is_not_a_cursor():
    tokens = TokenService(SECRET, 3600)
    token = tokens.issue("u1", now=1000)
    with pytest.raises(BadRequest):
        CursorCodec(SECRET).decode(token, "s")
    with pytest.raises(Unauthorized):
        tokens.verify(Signer(SECRET, "list-cursor-v1").sign({"sub": "u1", "exp": 10**10}), now=1000)


def test_tokens_expire():
    tokens = TokenService(SECRET, 60)
    token = tokens.issue("u1", now=1000)
    claims = tokens.verify(token, now=1059)
    assert (claims.user_id, claims.expires_at, claims.version) == ("u1", 1060, 0) and claims.token_id
    with pytest.raises(Unauthorized):
        tokens.verify(token, now=1060)


def test_every_token_has_its_own_id_and_carries_the_account_token_version():
    tokens = TokenService(SECRET, 60)
    a, b = tokens.verify(tokens.issue("u1", 1000, version=3), 1001), tokens.verify(tokens.issue("u1", 1000, 3), 1001)
    assert a.version == b.version == 3 and a.token_id != b.token_id


def test_a_token_from_before_token_ids_is_version_zero_without_an_id():
    legacy = Signer(SECRET, "bearer-token-v1").sign({"sub": "u1", "iat": 1000, "exp": 2000})
    claims = TokenService(SECRET, 60).verify(legacy, 1001)
    assert (claims.version, claims.token_id) == (0, None)
    with pytest.raises(Unauthorized):
        TokenService(SECRET, 60).verify(Signer(SECRET, "bearer-token-v1").sign({"sub": "u1", "exp": 2000,
                                                                                "ver": "1"}), 1001)
