"""Logins (sessions), as services and storage pass them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Login:
    """One sign-in: ``refresh_hash`` is the digest of its current refresh token, ``rotation``
    how many times that token was exchanged, ``token_version`` the account's when it began."""

    user_id: str
    session_id: str
    refresh_hash: str
    rotation: int
    token_version: int
    created_at: float
    refreshed_at: float
    expires_at: int
