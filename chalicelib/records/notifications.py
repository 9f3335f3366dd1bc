"""Notifications as services hand them to the inbox (no framework types).

A ``Notice`` is one thing to tell one person. It names its source (``source_id``: the event
that caused it, e.g. an order id, or a subscription period), so the inbox adds it once
however often the source is replayed: one notice per (recipient, type, source_id).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Notice:
    recipient_id: str
    type: str  # one of the types in API.md "Notifications" (new_order, reorder_due, subscription_skipped...)
    source_id: str  # what caused it; with recipient and type, its idempotency key
    at: float  # epoch seconds
    data: dict[str, Any] = field(default_factory=dict)  # what the app shows and links to (ids, names, counts)


@dataclass(frozen=True)
class Actor:
    """Who did something a grouped notification counts (a liker, a new follower)."""

    user_id: str
    name: str


@dataclass(frozen=True)
class Grouped:
    """One more actor for a grouped notification: likes on one post, new followers of one shop.

    Notices with the same (recipient, type, subject) within one window become one
    notification; each actor counts once per group, however often the source is replayed.
    """

    recipient_id: str
    type: str  # like | new_follower
    subject: str  # what the group is about: the post id, the shop id
    actor: Actor
    at: float
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Once:
    """The fixed key that makes a write happen at most once.

    ``scope`` is ``"inbox"`` (per recipient: one notification per type and source) or
    ``"milestone"`` (per shop, or per pair with ``user_id``: whoever the recipient is).
    """

    scope: str
    owner: str  # the recipient (inbox) or the shop (milestone)
    key: str  # "<type>#<source_id>" (inbox) or the milestone's name (milestone)
    user_id: str | None = None  # per-pair milestones (became_regular)
    expires_at: float | None = None  # inbox keys may be forgotten after the replay horizon


@dataclass(frozen=True)
class Notification:
    """A notification as stored; ``count``/``actors`` only on grouped ones."""

    notification_id: str
    recipient_id: str
    type: str
    created_at: float
    updated_at: float
    read: bool
    data: dict[str, Any] = field(default_factory=dict)
    count: int | None = None
    actors: tuple[Actor, ...] = ()


@dataclass(frozen=True)
class Preferences:
    """Which outbound channels a person turned on, and which types they want outside the app."""

    channels: dict[str, bool]
    types: dict[str, bool]
    updated_at: float | None = None


@dataclass(frozen=True)
class Device:
    """A phone that registered for push: its token and the SNS platform endpoint made from it."""

    user_id: str
    device_id: str
    platform: str  # ios | android
    token: str
    endpoint_arn: str | None
    updated_at: float


@dataclass(frozen=True)
class Contact:
    """Where outbound messages can reach a person."""

    user_id: str
    name: str
    email: str | None
    phone: str | None
    # Outbound e-mail and SMS go only to an address proven by a code (services.recovery).
    email_verified: bool = False
    phone_verified: bool = False


@dataclass(frozen=True)
class ReorderWatch:
    """An essential a customer bought, indexed by when to remind them to buy it again."""

    user_id: str
    shop_id: str
    product_id: str
    name: str
    order_id: str
    bought_at: float
    reorder_days: int
    remind_at: float


class Stale(Exception):
    """What a conditional write assumed has changed since it was read: read again and retry."""


class ChannelFailed(Exception):
    """An outbound channel (SNS, SES) did not take a message: ``code`` says why (throttled after
    retries, endpoint disabled, not configured...)."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
