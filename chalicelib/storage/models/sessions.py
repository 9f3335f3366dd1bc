"""Logins (sessions): one per sign-in, holding the digest of its current refresh token."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute

from chalicelib.storage.base import MainItem

SESSION_PREFIX = "SESSION#"


def session_sk(session_id: str) -> str:
    return f"{SESSION_PREFIX}{session_id}"


class SessionItem(MainItem, discriminator="session"):
    """One login of a user (a phone, a browser): what its refresh token may do.

    Key design: ``pk = USER#<user_id>``, ``sk = SESSION#<session_id>`` — in the user's own
    partition, next to the profile, found by GetItem from the refresh token (which names both
    ids). It holds the SHA-256 digest of the one refresh token that is current (never the
    token), how many times it was rotated, and the account's token version when the login
    began: a refresh is one transaction that swaps the digest on ``refresh_hash = <presented>``
    and checks the profile still has that version (a password change, a reset or closing the
    account end every login). A logout or a detected reuse deletes the item. ``expires_at``
    (TTL) is the current refresh token's expiry, so abandoned logins leave by themselves. No
    stream handler takes it (the stream's filter drops its records).
    """

    user_id = UnicodeAttribute()
    session_id = UnicodeAttribute()
    refresh_hash = UnicodeAttribute()
    rotation = NumberAttribute(default=0)
    token_version = NumberAttribute(default=0)
    created_at = NumberAttribute()
    refreshed_at = NumberAttribute()
    expires_at = TTLAttribute()
