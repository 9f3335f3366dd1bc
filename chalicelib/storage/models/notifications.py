"""Notifications: the inbox, its unread count, once-only keys, milestones, preferences, push
devices and the essentials waiting for a reorder reminder.

Key design (main table; see docs/notifications.md for the access patterns):

* ``INBOX#<user_id>`` — one partition per person:
  ``N#<notification_id>`` the notifications (ULIDs: a descending Query is newest first);
  ``N~UNREAD`` the unread count, which sorts after every ``N#`` key, so the first page of the
  inbox and the count are one descending Query; ``KEY#<type>#<source_id>`` /
  ``GROUP#...`` / ``MEMBER#...`` the keys that make a notification (or a group member)
  happen once; ``PREF#SETTINGS`` and ``PREF#DEVICE#<device_id>`` what reaches the person
  outside the app (one Query on ``begins_with PREF#``).
* ``MILESTONE#<shop_id>`` — ``<name>`` (or ``became_regular#<user_id>``): the shop's
  milestones, each a fixed key written once with ``attribute_not_exists``; ``COUNT#regulars``
  numbers the customers who became regulars, so exactly one of them is the tenth.
  ``SENT#<delivery key>#<target>`` the marker that lets one outbound message (a notification's
  delivery, on one channel, to one device or address) be sent once, whatever the retries.
* ``PUSHTOKEN#<sha256(token)>`` — which person's device a push token currently belongs to.
* ``REORDER#<user_id>`` — ``<shop_id>#<product_id>``: the latest purchase of each essential;
  gsi4 ``REMIND#<yyyy-mm-dd>#<shard>`` / ``<ISO time>#...`` while a reminder is pending, so
  the hourly job reads each day bucket's shards (``storage.buckets``) instead of scanning.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
)

from chalicelib.storage.base import MainItem
from chalicelib.storage.buckets import bucket_key, bucket_keys

UNREAD_COUNT_SK = "N~UNREAD"  # '~' sorts after '#': first in a descending Query of the inbox
NOTIFICATION_PREFIX = "N#"
SETTINGS_SK = "PREF#SETTINGS"
PREF_PREFIX = "PREF#"
DEVICE_PREFIX = "PREF#DEVICE#"
REGULARS_SK = "COUNT#regulars"
TOKEN_SK = "TOKEN"


def inbox_pk(user_id: str) -> str:
    return f"INBOX#{user_id}"


def unread_pk(user_id: str) -> str:
    return f"INBOX#{user_id}#UNREAD"


def notification_sk(notification_id: str) -> str:
    return f"{NOTIFICATION_PREFIX}{notification_id}"


def key_sk(key: str) -> str:
    return f"KEY#{key}"


def group_sk(type_: str, subject: str, window: str) -> str:
    return f"GROUP#{type_}#{subject}#{window}"


def member_sk(type_: str, subject: str, window: str, user_id: str) -> str:
    return f"MEMBER#{type_}#{subject}#{window}#{user_id}"


def sent_sk(key: str, target: str) -> str:
    return f"SENT#{key}#{target}"


def device_sk(device_id: str) -> str:
    return f"{DEVICE_PREFIX}{device_id}"


def milestone_pk(shop_id: str) -> str:
    return f"MILESTONE#{shop_id}"


def milestone_sk(name: str, user_id: str | None = None) -> str:
    return f"{name}#{user_id}" if user_id else name


def token_pk(digest: str) -> str:
    return f"PUSHTOKEN#{digest}"


def reorder_pk(user_id: str) -> str:
    return f"REORDER#{user_id}"


def reorder_sk(shop_id: str, product_id: str) -> str:
    return f"{shop_id}#{product_id}"


def remind_pk(day: str, user_id: str, shop_id: str, product_id: str) -> str:
    """The watch's shard of the day bucket (``storage.buckets``)."""
    return bucket_key(f"REMIND#{day}", f"{user_id}#{shop_id}#{product_id}")


def remind_pks(day: str) -> list[str]:
    """Every key of ``day``'s bucket: its shards, then the legacy ``REMIND#<day>``."""
    return bucket_keys(f"REMIND#{day}")


class ActorMap(MapAttribute):
    user_id = UnicodeAttribute()
    name = UnicodeAttribute(default="")


class InboxEntry(MainItem):
    """Abstract base of what a page of the inbox reads: notifications and the unread count."""


class NotificationItem(InboxEntry, discriminator="notification"):
    """One notification to one person.

    Key design: ``pk = INBOX#<recipient_id>``, ``sk = N#<notification_id>`` (a ULID of the
    moment it is about: the inbox is one descending Query). While unread it is also in the
    sparse gsi1 ``INBOX#<recipient_id>#UNREAD`` / ``<notification_id>`` (``?unread=true``).
    ``read`` only changes in a transaction that also moves the unread count, conditional on
    the value read, so the count is exactly the number of unread items. Read notifications
    expire (TTL) after a while; unread ones never do, so TTL never moves the count.
    Grouped notifications keep ``count`` and the first ``actors``.
    """

    notification_id = UnicodeAttribute()
    recipient_id = UnicodeAttribute()
    type = UnicodeAttribute()
    data: MapAttribute[str, Any] = MapAttribute(default=dict)
    count = NumberAttribute(null=True)  # type: ignore[assignment]  # shadows Model.count(), unused
    actors = ListAttribute(of=ActorMap, null=True)
    read = BooleanAttribute(default=False)
    created_at = NumberAttribute()
    updated_at = NumberAttribute()
    expires_at = TTLAttribute(null=True)


class UnreadCountItem(InboxEntry, discriminator="unread_count"):
    """Key design: ``pk = INBOX#<user_id>``, ``sk = N~UNREAD``. Changed only by ``ADD`` in
    the transactions that add, reopen or read notifications."""

    unread = NumberAttribute(default=0)


class InboxKeyItem(MainItem, discriminator="inbox_key"):
    """A key that lets something into the inbox once.

    Key design: ``pk = INBOX#<user_id>``; ``sk = KEY#<type>#<source_id>`` (one notification
    per source event), ``GROUP#<type>#<subject>#<window>`` (the group's notification) or
    ``MEMBER#<type>#<subject>#<window>#<actor_id>`` (an actor counted in a group). Put with
    ``attribute_not_exists`` in the same transaction as what it guards; expires (TTL) once
    no replay can come any more.
    """

    notification_id = UnicodeAttribute()
    expires_at = TTLAttribute(null=True)


class MilestoneItem(MainItem, discriminator="milestone"):
    """A milestone that happened: ``pk = MILESTONE#<shop_id>``, ``sk = <name>`` (per shop) or
    ``<name>#<user_id>`` (per pair). Never expires: it is what keeps the milestone once."""

    shop_id = UnicodeAttribute()
    name = UnicodeAttribute()
    user_id = UnicodeAttribute(null=True)
    notification_id = UnicodeAttribute()
    created_at = NumberAttribute()


class MilestoneCountItem(MainItem, discriminator="milestone_count"):
    """``pk = MILESTONE#<shop_id>``, ``sk = COUNT#regulars``: how many customers became
    regulars. Set to n + 1 on the condition that it is still n, so each new regular gets
    its own number and exactly one gets 10."""

    count = NumberAttribute(default=0)  # type: ignore[assignment]  # shadows Model.count(), unused


class PrefEntry(MainItem):
    """Abstract base of what outbound delivery reads with one Query: preferences and devices."""


class PreferencesItem(PrefEntry, discriminator="notification_prefs"):
    """``pk = INBOX#<user_id>``, ``sk = PREF#SETTINGS``: outbound channels and types."""

    channels: MapAttribute[str, Any] = MapAttribute(default=dict)
    types: MapAttribute[str, Any] = MapAttribute(default=dict)
    updated_at = NumberAttribute()


class DeviceItem(PrefEntry, discriminator="device"):
    """``pk = INBOX#<user_id>``, ``sk = PREF#DEVICE#<device_id>``: a registered phone and
    its SNS platform endpoint (null when push is not configured)."""

    user_id = UnicodeAttribute()
    device_id = UnicodeAttribute()
    platform = UnicodeAttribute()
    token = UnicodeAttribute()
    endpoint_arn = UnicodeAttribute(null=True)
    updated_at = NumberAttribute()


class SendMarkItem(MainItem, discriminator="send_mark"):
    """``pk = INBOX#<user_id>``, ``sk = SENT#<notification_id>:<version>#<channel>#<target>``: one
    outbound message claimed (``status = sending``, with ``claimed_at``) or sent (``sent``).

    The outbound sender puts it with ``attribute_not_exists`` (or over a ``sending`` claim older
    than its lease: a sender that crashed mid-send) before it calls SNS or SES, marks it ``sent``
    after, and deletes its own claim when the provider refused — so a replayed stream record, a
    message SQS delivers twice or a retry after a partial failure never sends the same message
    twice. Expires (TTL) once no retry or replay can come any more.
    """

    status = UnicodeAttribute()
    claimed_at = NumberAttribute()
    expires_at = TTLAttribute(null=True)


class PushTokenItem(MainItem, discriminator="push_token"):
    """``pk = PUSHTOKEN#<sha256(token)>``, ``sk = TOKEN``: the one device record a push token
    belongs to. A phone that changes hands (another account logs in) takes its token along,
    so the previous account stops receiving pushes on it."""

    user_id = UnicodeAttribute()
    device_id = UnicodeAttribute()


class ReorderWatchItem(MainItem, discriminator="reorder_watch"):
    """The latest purchase of one essential by one customer.

    Key design: ``pk = REORDER#<user_id>``, ``sk = <shop_id>#<product_id>``; written from
    the order's stream record, conditional on being newer than what is stored. gsi4
    ``REMIND#<yyyy-mm-dd of remind_at>#<shard>`` / ``<ISO remind_at>#<user_id>#<shop_id>#<product_id>``
    (the shard a hash of user, shop and product; before the sharding ``REMIND#<yyyy-mm-dd>``)
    is set while a reminder is pending and removed once it is sent.
    """

    user_id = UnicodeAttribute()
    shop_id = UnicodeAttribute()
    product_id = UnicodeAttribute()
    name = UnicodeAttribute(default="")
    order_id = UnicodeAttribute()
    bought_at = NumberAttribute()
    reorder_days = NumberAttribute()
    remind_at = NumberAttribute()
