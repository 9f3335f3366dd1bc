"""The inbox: typed notifications, added once, grouped, with an exact unread count.

Every way into the inbox is one conditional transaction that writes the notification, the
fixed key that makes it happen once, and the unread count together:

* ``add`` — one notification per (recipient, type, source): the key ``<type>#<source_id>``
  is put with ``attribute_not_exists``, so a replayed or duplicated source adds nothing.
* ``add_grouped`` — likes on one post, new followers of one shop: one notification per
  (recipient, type, subject) and window (a Korean calendar day), updated in place. Each
  actor is a member key of the group, so an actor counts once; the count goes up by one
  only when the group was read (it is reopened), so a group is counted once.
* ``add_milestone`` — a shop's first follower, order, review: the key is the milestone
  itself (``MILESTONE#<shop_id>`` / ``<name>``), whoever sends it and however often.
* ``add_regular`` — a customer became the shop's regular (once per pair) and is numbered,
  so the tenth of them also fires ``tenth_regular`` — in the same transaction.

Reading changes ``read`` and the count in one transaction conditional on ``read`` being
false, so the count is exactly the number of unread notifications: never recomputed by
listing, never capped. Nothing here knows DynamoDB; the store is passed in.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from chalicelib.errors import Unavailable
from chalicelib.ids import id_at
from chalicelib.records.common import Page
from chalicelib.records.notifications import Actor, Grouped, Notice, Notification, Once, Stale
from chalicelib.services.notification_texts import render

# The types of API.md "Notifications", and those other domains hand in.
TYPES = ("new_follower", "new_order", "order_status", "comment", "shop_reply", "review", "reward", "reorder_due",
         "regular_lapsed", "like", "milestone", "subscription_skipped", "subscription_upcoming", "store_link",
         "message", "coupon", "insights_weekly", "posting_nudge")
MILESTONES = ("first_follower", "first_order", "first_review", "tenth_regular", "became_regular")
GROUPED_TYPES = ("like", "new_follower")
_TYPE = re.compile(r"^[a-z][a-z_]{0,39}$")

# A group collects one Korean calendar day (UTC+9): "민지 외 3명이 좋아해요" is about today.
# A fixed window, not a sliding one, so racing writers agree on the group's key.
WINDOW_OFFSET_SECONDS = 9 * 3600
# The app shows "김민지 외 3명": the group remembers the first few actors and counts the rest.
ACTORS_KEPT = 3
# A stream keeps records for 24 hours and Lambda retries within that; scheduled jobs and
# other domains retry within hours. Keys are kept well past that, then expire (TTL).
KEY_KEPT_SECONDS = 30 * 86_400.0
# A read notification stays in the inbox this long; unread ones never expire.
READ_KEPT_SECONDS = 90 * 86_400.0
TENTH = 10
# Optimistic writes (a group, the regulars' numbering) re-read and retry after a short
# jittered pause when they lose a race; a burst of likes on one post settles within these.
MAX_ATTEMPTS = 12
RETRY_BASE_SECONDS = 0.01
# POST /me/notifications/read {all: true} flips at most this many per request (99 per
# transaction); the count stays exact either way, and what remains is reported unread.
READ_ALL_MAX = 5_000


class InboxStore(Protocol):
    def add_once(self, entry: Notification, once: Once) -> bool:
        """Write ``entry`` (+1 unread) unless ``once`` exists; False when it did."""
    def milestone_reached(self, shop_id: str, name: str, user_id: str | None = None) -> bool: ...
    def group(self, recipient_id: str, type_: str, subject: str, window: str) -> Notification | None: ...
    def start_group(self, entry: Notification, subject: str, window: str, actor_id: str, expires_at: float) -> bool:
        """Create the group with its first member; False when the member was counted already,
        ``Stale`` when another writer created the group first."""
    def grow_group(self, current: Notification, grown: Notification, subject: str, window: str, actor_id: str,
                   expires_at: float) -> bool:
        """Write ``grown`` if the group is still ``current`` (``Stale`` otherwise); False when
        the member was counted already."""
    def regulars(self, shop_id: str) -> int: ...
    def add_regular(self, shop_id: str, user_id: str, seen: int, entries: Sequence[Notification]) -> bool:
        """Number the pair ``seen + 1`` and write ``entries`` (the last may be the tenth
        regular's milestone); False when the pair was counted already, ``Stale`` when the
        count moved on."""
    def inbox(self, user_id: str, limit: int, start_key: dict | None) -> tuple[Page, int | None]:
        """A page newest first, and the unread count when the same read returned it."""
    def unread(self, user_id: str, limit: int, start_key: dict | None) -> Page: ...
    def unread_count(self, user_id: str) -> int: ...
    def notifications(self, user_id: str, ids: Sequence[str]) -> list[Notification]: ...
    def mark_read(self, user_id: str, ids: Sequence[str], now: float, expires_at: float) -> list[str]:
        """Flip these unread notifications to read, one transaction with the count; returns
        the ids that were no longer unread (nothing was written then: retry without them)."""


# --- writing ---------------------------------------------------------------------------------


def window_of(at: float) -> str:
    """The grouping window an event falls in: its Korean calendar day, ``2026-11-23``."""
    return datetime.fromtimestamp(at + WINDOW_OFFSET_SECONDS, tz=UTC).date().isoformat()


def window_end(window: str) -> float:
    start = datetime.fromisoformat(window).replace(tzinfo=UTC) + timedelta(days=1)
    return start.timestamp() - WINDOW_OFFSET_SECONDS


def check_type(type_: str) -> None:
    if not _TYPE.match(type_ or ""):
        raise ValueError(f"notification type must be lower_snake_case, got {type_!r}")


def new_entry(recipient_id: str, type_: str, at: float, data: dict[str, Any], *, count: int | None = None,
              actors: tuple[Actor, ...] = ()) -> Notification:
    check_type(type_)
    return Notification(notification_id=id_at(at), recipient_id=recipient_id, type=type_, created_at=at,
                        updated_at=at, read=False, data=dict(data), count=count, actors=actors)


def add(store: InboxStore, notice: Notice, now: float) -> bool:
    """Write ``notice`` once per (recipient, type, source_id); False on a repeat."""
    if not notice.source_id:
        raise ValueError("a notice needs a source_id: it is what makes it happen once")
    entry = new_entry(notice.recipient_id, notice.type, notice.at, notice.data)
    once = Once("inbox", notice.recipient_id, f"{notice.type}#{notice.source_id}",
                expires_at=max(now, notice.at) + KEY_KEPT_SECONDS)
    return store.add_once(entry, once)


def add_milestone(store: InboxStore, shop_id: str, name: str, recipient_id: str, at: float,
                  data: dict[str, Any]) -> bool:
    """The shop's milestone ``name``, once ever, whatever replays or races; False on a repeat."""
    if name not in MILESTONES:
        raise ValueError(f"unknown milestone {name!r}")
    if store.milestone_reached(shop_id, name):
        return False
    entry = new_entry(recipient_id, "milestone", at, {**data, "milestone": name, "shop_id": shop_id})
    return store.add_once(entry, Once("milestone", shop_id, name))


def add_regular(store: InboxStore, shop_id: str, recipient_id: str, customer: Actor, at: float,
                data: dict[str, Any]) -> bool:
    """``customer`` became a regular of the shop: ``became_regular`` once per pair, and the
    tenth such customer also ``tenth_regular``, in one transaction with the numbering."""
    if store.milestone_reached(shop_id, "became_regular", customer.user_id):
        return False
    common = {**data, "shop_id": shop_id, "customer_id": customer.user_id, "customer_name": customer.name}
    for attempt in range(MAX_ATTEMPTS):
        _pause(attempt)
        seen = store.regulars(shop_id)
        entries = [new_entry(recipient_id, "milestone", at, {**common, "milestone": "became_regular"})]
        if seen + 1 == TENTH:  # a millisecond later, so it lists above the customer's own milestone
            entries.append(new_entry(recipient_id, "milestone", at + 0.001,
                                     {**common, "milestone": "tenth_regular", "regulars": TENTH}))
        try:
            return store.add_regular(shop_id, customer.user_id, seen, entries)
        except Stale:
            continue
    raise Unavailable("The shop's regulars are being counted concurrently; retry shortly.")


def add_grouped(store: InboxStore, grouped: Grouped, now: float) -> bool:
    """Count ``grouped.actor`` in the recipient's group for this subject and window; False
    when the actor was counted there already."""
    if grouped.type not in GROUPED_TYPES:
        raise ValueError(f"{grouped.type!r} is not a grouped type")
    window = window_of(grouped.at)
    expires_at = max(now, window_end(window)) + KEY_KEPT_SECONDS
    for attempt in range(MAX_ATTEMPTS):
        _pause(attempt)
        current = store.group(grouped.recipient_id, grouped.type, grouped.subject, window)
        try:
            if current is None:
                entry = new_entry(grouped.recipient_id, grouped.type, grouped.at, grouped.data, count=1,
                                  actors=(grouped.actor,))
                return store.start_group(entry, grouped.subject, window, grouped.actor.user_id, expires_at)
            return store.grow_group(current, grow(current, grouped), grouped.subject, window,
                                    grouped.actor.user_id, expires_at)
        except Stale:
            continue
    raise Unavailable("This notification is being updated concurrently; retry shortly.")


def grow(current: Notification, grouped: Grouped) -> Notification:
    """The group with one more actor, unread again (pure)."""
    actors = current.actors if len(current.actors) >= ACTORS_KEPT else (*current.actors, grouped.actor)
    return replace(current, count=(current.count or len(current.actors)) + 1, actors=actors, read=False,
                   updated_at=max(current.updated_at, grouped.at))


def _pause(attempt: int) -> None:
    if attempt:
        time.sleep(random.uniform(0, RETRY_BASE_SECONDS * 2 ** min(attempt - 1, 6)))


class Inbox:
    """The entry point other domains use: ``container().inbox.add(notice) -> bool``."""

    def __init__(self, store: InboxStore, clock: Callable[[], float]) -> None:
        self.store = store
        self.clock = clock

    def add(self, notice: Notice) -> bool:
        """Write ``notice`` once per (recipient, type, source_id); False on a repeat."""
        return add(self.store, notice, self.clock())

    def add_grouped(self, grouped: Grouped) -> bool:
        return add_grouped(self.store, grouped, self.clock())

    def add_milestone(self, shop_id: str, name: str, recipient_id: str, at: float, data: dict[str, Any]) -> bool:
        return add_milestone(self.store, shop_id, name, recipient_id, at, data)

    def add_regular(self, shop_id: str, recipient_id: str, customer: Actor, at: float, data: dict[str, Any]) -> bool:
        return add_regular(self.store, shop_id, recipient_id, customer, at, data)


# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class NotificationView:
    notification_id: str
    type: str
    title: str
    body: str
    created_at: float
    updated_at: float
    read: bool
    data: dict[str, Any]


@dataclass(frozen=True)
class InboxPage:
    items: list[NotificationView]
    last_key: dict | None
    unread_count: int


def view(n: Notification) -> NotificationView:
    actors = [asdict(a) for a in n.actors]
    data = dict(n.data)
    if n.count is not None:
        data.update(count=n.count, actors=actors)
    title, body = render(n.type, data, n.count, actors)
    return NotificationView(notification_id=n.notification_id, type=n.type, title=title, body=body,
                            created_at=n.created_at, updated_at=n.updated_at, read=n.read, data=data)


def inbox_page(store: InboxStore, user_id: str, *, unread_only: bool, limit: int,
               start_key: dict | None) -> InboxPage:
    """A page of the person's own inbox, newest first, with the exact unread count. The first
    page of the whole inbox is one Query (the count comes with it); other pages add a GetItem."""
    if unread_only:
        page, count = store.unread(user_id, limit, start_key), None
    else:
        page, count = store.inbox(user_id, limit, start_key)
    if count is None:
        count = store.unread_count(user_id)
    return InboxPage(items=[view(n) for n in page.items], last_key=page.last_key, unread_count=count)


def mark_read(store: InboxStore, user_id: str, ids: Iterable[str], now: float) -> int:
    """Mark the person's own notifications read (ids that are not theirs, unknown or already
    read are ignored); returns the unread count after."""
    unread = [n.notification_id for n in store.notifications(user_id, list(dict.fromkeys(ids))) if not n.read]
    if unread:
        _flip(store, user_id, unread, now)
    return store.unread_count(user_id)


def mark_all_read(store: InboxStore, user_id: str, now: float, limit: int = READ_ALL_MAX) -> int:
    """Mark every unread notification read, page by page of the unread index; returns the
    unread count after (notifications that arrive meanwhile stay unread and counted)."""
    start_key, flipped = None, 0
    while flipped < limit:
        page = store.unread(user_id, min(99, limit - flipped), start_key)
        ids = [n.notification_id for n in page.items if not n.read]
        if ids:
            _flip(store, user_id, ids, now)
            flipped += len(ids)
        if page.last_key is None:
            break
        start_key = page.last_key
    return store.unread_count(user_id)


def _flip(store: InboxStore, user_id: str, ids: list[str], now: float) -> None:
    """Flip ``ids`` in transactions of 99 (+ the count). Ids read meanwhile by another request
    cancel a transaction; they are dropped and the rest sent again."""
    for start in range(0, len(ids), 99):
        batch = ids[start:start + 99]
        while batch:
            already = set(store.mark_read(user_id, batch, now, now + READ_KEPT_SECONDS))
            if not already:
                break
            batch = [i for i in batch if i not in already]
