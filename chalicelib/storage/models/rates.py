"""Abuse limits: fixed-window counters and the per-account login lock."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, TTLAttribute

from chalicelib.storage.base import MainItem


def rate_pk(rule: str, subject: str) -> str:
    return f"RATE#{rule}#{subject}"


def window_sk(window_start: int) -> str:
    return f"W#{window_start}"


def login_pk(subject: str) -> str:
    return f"LOGINLOCK#{subject}"


def day_sk(day: int) -> str:
    return f"D#{day}"


class RateWindowItem(MainItem, discriminator="rate_window"):
    """How many requests one subject made under one rule in one fixed window.

    Key design: ``pk = RATE#<rule>#<subject>`` (``user:<id>`` or a hashed address), ``sk =
    W#<window start, epoch s>``. Written only by one conditional ``ADD hits 1`` (``hits <
    limit``), alone or inside the request's transaction; never read. ``expires_at`` (TTL)
    removes it a minute after its window. Nothing on the stream reacts to it.
    """

    hits = NumberAttribute(default=0)
    expires_at = TTLAttribute(null=True)


class LoginLockItem(MainItem, discriminator="login_lock"):
    """Login attempts on one account identifier today, and until when it is locked.

    Key design: ``pk = LOGINLOCK#<kind>:<hash of the e-mail/phone>`` (known or unknown alike),
    ``sk = D#<UTC day number>``. ``tries`` counts attempts since the last success (a success
    deletes the item); ``locked_until`` is claimed by one conditional write per attempt beyond
    the free ones. ``expires_at`` (TTL) two days on.
    """

    tries = NumberAttribute(default=0)
    locked_until = NumberAttribute(null=True)
    expires_at = TTLAttribute(null=True)
