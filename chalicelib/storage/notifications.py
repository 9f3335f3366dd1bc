"""The inbox, milestones, preferences, push devices and reorder watches in the main table.

Every access is a GetItem, a Query, a BatchGetItem or one conditional transaction
(key design in ``storage.models.notifications``):

* a notification: one TransactWriteItems — the once-key (``attribute_not_exists``), the
  notification, ``ADD unread 1`` — so a repeat adds nothing and the count moves with it;
* a grouped notification: GetItem group key + GetItem notification, then one transaction —
  the member key, the notification conditional on the count and read flag read, and
  ``ADD unread 1`` only when it reopens a read group;
* a milestone: one transaction with the milestone's fixed key; a new regular: GetItem of the
  shop's regulars count, then one transaction numbering the pair (and the tenth milestone);
* the inbox's first page: one Query (the count sorts next to the notifications); other
  pages: Query + GetItem; unread only: Query on gsi1 + GetItem;
* reading: BatchGetItem (the caller's own ids) + one transaction per 99 + GetItem of the count;
* delivery: one Query (``PREF#`` preferences and devices) per notification; each outbound
  message a conditional PutItem (its claim) before it is sent and an UpdateItem after;
* reorder reminders: a conditional PutItem per essential bought; one Query per day bucket.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from pynamodb.exceptions import DeleteError, PutError, UpdateError

from chalicelib.ids import iso
from chalicelib.records.common import Page
from chalicelib.records.notifications import (
    Actor,
    Contact,
    Device,
    Notification,
    Once,
    Preferences,
    ReorderWatch,
    Stale,
)
from chalicelib.storage.accounts import PROFILE, _connection
from chalicelib.storage.base import MainItem
from chalicelib.storage.buckets import read_items
from chalicelib.storage.models.accounts import UserItem, user_pk
from chalicelib.storage.models.notifications import (
    DEVICE_PREFIX,
    NOTIFICATION_PREFIX,
    PREF_PREFIX,
    REGULARS_SK,
    SETTINGS_SK,
    TOKEN_SK,
    UNREAD_COUNT_SK,
    ActorMap,
    DeviceItem,
    InboxEntry,
    InboxKeyItem,
    MilestoneCountItem,
    MilestoneItem,
    NotificationItem,
    PreferencesItem,
    PrefEntry,
    PushTokenItem,
    ReorderWatchItem,
    SendMarkItem,
    UnreadCountItem,
    device_sk,
    group_sk,
    inbox_pk,
    key_sk,
    member_sk,
    milestone_pk,
    milestone_sk,
    notification_sk,
    remind_pk,
    remind_pks,
    reorder_pk,
    reorder_sk,
    sent_sk,
    token_pk,
    unread_pk,
)
from chalicelib.storage.models.relationships import JobStateItem
from chalicelib.storage.models.social import COMMENT_PREFIX, CommentItem, comment_sk, post_pk
from chalicelib.storage.retry import with_retries
from chalicelib.storage.transactions import Cancelled, Transaction

log = logging.getLogger("dongne.notifications")

CONDITION_FAILED = "ConditionalCheckFailedException"
REMINDER_JOB = "JOB#reorder-reminders"
REMIND_PAGE = 100  # due watches read per Query of one shard of a reminder bucket
# Busy groups (a popular post's likes) conflict on one item; conflicts are retried here
# before the service re-reads.
TX_ATTEMPTS = 6


def _ttl(epoch: float | None) -> datetime | None:
    return None if epoch is None else _expiry(epoch)


def _expiry(epoch: float) -> datetime:
    return datetime.fromtimestamp(int(epoch), tz=UTC)


def _plain(value: Any) -> Any:
    if hasattr(value, "as_dict"):
        value = value.as_dict()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def to_notification(item: NotificationItem) -> Notification:
    return Notification(
        notification_id=item.notification_id, recipient_id=item.recipient_id, type=item.type,
        created_at=float(item.created_at), updated_at=float(item.updated_at), read=bool(item.read),
        data=_plain(item.data) or {}, count=None if item.count is None else int(item.count),
        actors=tuple(Actor(a.user_id, a.name) for a in item.actors or ()))


def to_item(entry: Notification) -> NotificationItem:
    item = NotificationItem(
        inbox_pk(entry.recipient_id), notification_sk(entry.notification_id),
        notification_id=entry.notification_id, recipient_id=entry.recipient_id, type=entry.type,
        data=entry.data, read=entry.read, created_at=entry.created_at, updated_at=entry.updated_at)
    if entry.count is not None:
        item.count = entry.count
        item.actors = [ActorMap(user_id=a.user_id, name=a.name) for a in entry.actors]
    if not entry.read:
        item.gsi1pk, item.gsi1sk = unread_pk(entry.recipient_id), entry.notification_id
    return item


def _count_change(user_id: str, delta: int) -> tuple[UnreadCountItem, list]:
    # ADD creates the item on first use; the discriminator is set with it so it reads back.
    return (UnreadCountItem(inbox_pk(user_id), UNREAD_COUNT_SK),
            [UnreadCountItem.unread.add(delta), UnreadCountItem.entity.set(UnreadCountItem)])


def to_watch(item: ReorderWatchItem) -> ReorderWatch:
    return ReorderWatch(user_id=item.user_id, shop_id=item.shop_id, product_id=item.product_id, name=item.name,
                        order_id=item.order_id, bought_at=float(item.bought_at),
                        reorder_days=int(item.reorder_days), remind_at=float(item.remind_at))


def to_device(item: DeviceItem) -> Device:
    return Device(user_id=item.user_id, device_id=item.device_id, platform=item.platform, token=item.token,
                  endpoint_arn=item.endpoint_arn, updated_at=float(item.updated_at))


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class NotificationsRepository:
    def __init__(self) -> None:
        # Milestones known to have happened: a warm container asks DynamoDB once per shop.
        self._reached: set[tuple[str, str, str | None]] = set()

    # --- writing the inbox ---------------------------------------------------------------------

    def add_once(self, entry: Notification, once: Once) -> bool:
        guard: MilestoneItem | InboxKeyItem
        if once.scope == "milestone":
            guard = MilestoneItem(milestone_pk(once.owner), milestone_sk(once.key, once.user_id), shop_id=once.owner,
                                  name=once.key, user_id=once.user_id, notification_id=entry.notification_id,
                                  created_at=entry.created_at)
            condition = MilestoneItem.pk.does_not_exist()
        else:
            guard = InboxKeyItem(inbox_pk(once.owner), key_sk(once.key), notification_id=entry.notification_id,
                                 expires_at=_ttl(once.expires_at))
            condition = InboxKeyItem.pk.does_not_exist()
        counter, actions = _count_change(entry.recipient_id, 1)
        tx = (Transaction(_connection())
              .put(guard, condition=condition, label="once")
              .put(to_item(entry), condition=NotificationItem.pk.does_not_exist(), label="entry")
              .update(counter, actions, label="count"))
        try:
            tx.commit(TX_ATTEMPTS)
        except Cancelled as cancelled:
            if "once" in cancelled:
                self._remember(once)
                return False
            raise
        self._remember(once)
        return True

    def _remember(self, once: Once) -> None:
        if once.scope == "milestone":
            self._reached.add((once.owner, once.key, once.user_id))

    def milestone_reached(self, shop_id: str, name: str, user_id: str | None = None) -> bool:
        """Whether the milestone has happened (an eventually consistent hint: the conditional
        write is the guard; a stale "no" costs one cancelled transaction)."""
        key = (shop_id, name, user_id)
        if key in self._reached:
            return True
        try:
            MilestoneItem.get(milestone_pk(shop_id), milestone_sk(name, user_id), attributes_to_get=["pk"])
        except MilestoneItem.DoesNotExist:
            return False
        self._reached.add(key)
        return True

    def group(self, recipient_id: str, type_: str, subject: str, window: str) -> Notification | None:
        sk = group_sk(type_, subject, window)
        try:
            key = InboxKeyItem.get(inbox_pk(recipient_id), sk, consistent_read=True)
        except InboxKeyItem.DoesNotExist:
            return None
        try:
            item = NotificationItem.get(inbox_pk(recipient_id), notification_sk(key.notification_id),
                                        consistent_read=True)
        except NotificationItem.DoesNotExist:
            # Its notification expired (read long ago): start the window's group again.
            try:
                key.delete(condition=InboxKeyItem.notification_id == key.notification_id)
            except DeleteError:
                pass
            return None
        return to_notification(item)

    def start_group(self, entry: Notification, subject: str, window: str, actor_id: str, expires_at: float) -> bool:
        owner = inbox_pk(entry.recipient_id)
        counter, actions = _count_change(entry.recipient_id, 1)
        tx = (Transaction(_connection())
              .put(InboxKeyItem(owner, group_sk(entry.type, subject, window), notification_id=entry.notification_id,
                                expires_at=_ttl(expires_at)), condition=InboxKeyItem.pk.does_not_exist(), label="group")
              .put(InboxKeyItem(owner, member_sk(entry.type, subject, window, actor_id),
                                notification_id=entry.notification_id, expires_at=_ttl(expires_at)),
                   condition=InboxKeyItem.pk.does_not_exist(), label="member")
              .put(to_item(entry), condition=NotificationItem.pk.does_not_exist(), label="entry")
              .update(counter, actions, label="count"))
        try:
            tx.commit(TX_ATTEMPTS)
        except Cancelled as cancelled:
            if "group" in cancelled:
                raise Stale from cancelled
            if "member" in cancelled:
                return False
            raise
        return True

    def grow_group(self, current: Notification, grown: Notification, subject: str, window: str, actor_id: str,
                   expires_at: float) -> bool:
        owner = inbox_pk(current.recipient_id)
        if grown.count is None:
            raise ValueError("a grown group has a count")
        actions = [NotificationItem.count.set(grown.count),
                   NotificationItem.actors.set([ActorMap(user_id=a.user_id, name=a.name) for a in grown.actors]),
                   NotificationItem.updated_at.set(grown.updated_at), NotificationItem.read.set(False),
                   NotificationItem.gsi1pk.set(unread_pk(current.recipient_id)),
                   NotificationItem.gsi1sk.set(current.notification_id), NotificationItem.expires_at.remove()]
        condition = (NotificationItem.count == current.count) & (NotificationItem.read == current.read)
        tx = (Transaction(_connection())
              .put(InboxKeyItem(owner, member_sk(current.type, subject, window, actor_id),
                                notification_id=current.notification_id, expires_at=_ttl(expires_at)),
                   condition=InboxKeyItem.pk.does_not_exist(), label="member")
              .update(NotificationItem(owner, notification_sk(current.notification_id)), actions,
                      condition=condition, label="entry"))
        if current.read:  # reopened: counted again, once
            counter, count_actions = _count_change(current.recipient_id, 1)
            tx.update(counter, count_actions, label="count")
        try:
            tx.commit(TX_ATTEMPTS)
        except Cancelled as cancelled:
            if "member" in cancelled:
                return False
            raise Stale from cancelled
        return True

    def regulars(self, shop_id: str) -> int:
        try:
            return int(MilestoneCountItem.get(milestone_pk(shop_id), REGULARS_SK, consistent_read=True).count)
        except MilestoneCountItem.DoesNotExist:
            return 0

    def add_regular(self, shop_id: str, user_id: str, seen: int, entries: Sequence[Notification]) -> bool:
        first = entries[0]
        tx = Transaction(_connection()).put(
            MilestoneItem(milestone_pk(shop_id), milestone_sk("became_regular", user_id), shop_id=shop_id,
                          name="became_regular", user_id=user_id, notification_id=first.notification_id,
                          created_at=first.created_at),
            condition=MilestoneItem.pk.does_not_exist(), label="pair")
        counter = MilestoneCountItem(milestone_pk(shop_id), REGULARS_SK, count=seen + 1)
        if seen == 0:
            tx.put(counter, condition=MilestoneCountItem.pk.does_not_exist(), label="regulars")
        else:
            tx.put(counter, condition=MilestoneCountItem.count == seen, label="regulars")
        for n, entry in enumerate(entries):
            tx.put(to_item(entry), condition=NotificationItem.pk.does_not_exist(), label=f"entry{n}")
        for entry in entries[1:]:
            tx.put(MilestoneItem(milestone_pk(shop_id), entry.data["milestone"], shop_id=shop_id,
                                 name=entry.data["milestone"], notification_id=entry.notification_id,
                                 created_at=entry.created_at),
                   condition=MilestoneItem.pk.does_not_exist(), label="tenth")
        count, actions = _count_change(first.recipient_id, len(entries))
        tx.update(count, actions, label="count")
        try:
            tx.commit(TX_ATTEMPTS)
        except Cancelled as cancelled:
            if "pair" in cancelled:
                self._reached.add((shop_id, "became_regular", user_id))
                return False
            raise Stale from cancelled
        self._reached.add((shop_id, "became_regular", user_id))
        return True

    # --- reading the inbox ---------------------------------------------------------------------

    def inbox(self, user_id: str, limit: int, start_key: dict | None) -> tuple[Page, int | None]:
        """Newest first. On the first page the unread count (``N~UNREAD``, which sorts after
        every ``N#`` key) comes first in the same Query."""
        first = start_key is None
        results = InboxEntry.query(inbox_pk(user_id), InboxEntry.sk.between(NOTIFICATION_PREFIX, UNREAD_COUNT_SK),
                                   scan_index_forward=False, consistent_read=True,
                                   limit=limit + (1 if first else 0), last_evaluated_key=start_key)
        count = 0 if first else None  # no count item yet: nothing was ever unread
        items: list[Notification] = []
        for item in results:
            if isinstance(item, UnreadCountItem):
                count = int(item.unread or 0)
            elif isinstance(item, NotificationItem):
                items.append(to_notification(item))
            if len(items) == limit:
                break
        last_key = None
        if len(items) == limit:
            last = items[-1]
            last_key = {"pk": {"S": inbox_pk(user_id)}, "sk": {"S": notification_sk(last.notification_id)}}
        return Page(items=items, last_key=last_key), count

    def unread(self, user_id: str, limit: int, start_key: dict | None) -> Page:
        results = NotificationItem.gsi1.query(unread_pk(user_id), scan_index_forward=False, limit=limit,
                                              last_evaluated_key=start_key)
        items = [to_notification(item) for item in islice(results, limit)]
        return Page(items=items, last_key=results.last_evaluated_key if len(items) == limit else None)

    def unread_count(self, user_id: str) -> int:
        try:
            return int(UnreadCountItem.get(inbox_pk(user_id), UNREAD_COUNT_SK, consistent_read=True).unread or 0)
        except UnreadCountItem.DoesNotExist:
            return 0

    def notifications(self, user_id: str, ids: Sequence[str]) -> list[Notification]:
        keys = [(inbox_pk(user_id), notification_sk(i)) for i in dict.fromkeys(ids)]
        return [to_notification(item) for item in NotificationItem.batch_get(keys, consistent_read=True)] if keys else []

    def mark_read(self, user_id: str, ids: Sequence[str], now: float, expires_at: float) -> list[str]:
        owner = inbox_pk(user_id)
        tx = Transaction(_connection())
        for notification_id in ids:
            tx.update(NotificationItem(owner, notification_sk(notification_id)),
                      [NotificationItem.read.set(True), NotificationItem.expires_at.set(_expiry(expires_at)),
                       NotificationItem.gsi1pk.remove(), NotificationItem.gsi1sk.remove()],
                      condition=NotificationItem.read == False, label=f"n:{notification_id}")  # noqa: E712
        counter, actions = _count_change(user_id, -len(ids))
        tx.update(counter, actions, label="count#")
        try:
            tx.commit(TX_ATTEMPTS)
        except Cancelled as cancelled:
            return [label[2:] for label in cancelled.failed if label.startswith("n:")]
        return []

    # --- preferences and devices -----------------------------------------------------------------

    def preferences(self, user_id: str) -> tuple[Preferences | None, list[Device]]:
        """The person's settings and devices: one Query (``begins_with PREF#``, ≤ 11 items)."""
        prefs, devices = None, []
        for item in PrefEntry.query(inbox_pk(user_id), PrefEntry.sk.startswith(PREF_PREFIX), consistent_read=True):
            if isinstance(item, PreferencesItem):
                prefs = Preferences(channels=_plain(item.channels) or {}, types=_plain(item.types) or {},
                                    updated_at=float(item.updated_at))
            elif isinstance(item, DeviceItem):
                devices.append(to_device(item))
        return prefs, devices

    def put_preferences(self, user_id: str, prefs: Preferences) -> None:
        PreferencesItem(inbox_pk(user_id), SETTINGS_SK, channels=prefs.channels, types=prefs.types,
                        updated_at=prefs.updated_at).save()

    def devices(self, user_id: str) -> list[Device]:
        results = DeviceItem.query(inbox_pk(user_id), DeviceItem.sk.startswith(DEVICE_PREFIX), consistent_read=True)
        return [to_device(item) for item in results]

    def token_owner(self, token: str) -> tuple[str, str] | None:
        try:
            item = PushTokenItem.get(token_pk(token_digest(token)), TOKEN_SK, consistent_read=True)
        except PushTokenItem.DoesNotExist:
            return None
        return item.user_id, item.device_id

    def put_device(self, device: Device, previous: tuple[str, str] | None) -> None:
        """The device and its token's owner in one transaction; a device record of another
        person (or another device id) holding the same token is deleted with it."""
        tx = (Transaction(_connection())
              .put(DeviceItem(inbox_pk(device.user_id), device_sk(device.device_id), user_id=device.user_id,
                              device_id=device.device_id, platform=device.platform, token=device.token,
                              endpoint_arn=device.endpoint_arn, updated_at=device.updated_at), label="device")
              .put(PushTokenItem(token_pk(token_digest(device.token)), TOKEN_SK, user_id=device.user_id,
                                 device_id=device.device_id), label="token"))
        if previous is not None and previous != (device.user_id, device.device_id):
            tx.delete(DeviceItem(inbox_pk(previous[0]), device_sk(previous[1])),
                      condition=DeviceItem.token == device.token, label="previous")
        try:
            tx.commit(TX_ATTEMPTS)
        except Cancelled as cancelled:
            if cancelled.failed == ["previous"]:  # it had moved on to another token already
                self.put_device(device, None)
                return
            raise

    def delete_device(self, user_id: str, device_id: str) -> Device | None:
        try:
            item = DeviceItem.get(inbox_pk(user_id), device_sk(device_id), consistent_read=True)
        except DeviceItem.DoesNotExist:
            return None
        device = to_device(item)
        tx = (Transaction(_connection())
              .delete(item, label="device")
              .delete(PushTokenItem(token_pk(token_digest(device.token)), TOKEN_SK),
                      condition=(PushTokenItem.user_id == user_id) & (PushTokenItem.device_id == device_id),
                      label="token"))
        try:
            tx.commit(TX_ATTEMPTS)
        except Cancelled as cancelled:
            if cancelled.failed != ["token"]:
                raise
            item.delete()  # the token belongs to another device record now: leave its guard
        return device

    def forget(self, user_id: str) -> int:
        """A closed account's inbox (notifications, unread count, keys), preferences, devices
        (with their push-token records) and reorder watches, deleted: one Query per partition,
        then BatchWriteItem deletes. Returns how many items went. The request that closed the
        account removed the devices and their SNS endpoints already; one registered meanwhile
        is removed here (its endpoint, if any, is left to SNS to disable)."""
        for device in self.devices(user_id):
            self.delete_device(user_id, device.device_id)
        items = [item for pk in (inbox_pk(user_id), reorder_pk(user_id))
                 for item in MainItem.query(pk, attributes_to_get=["pk", "sk", "entity"])]
        with MainItem.batch_write() as batch:
            for item in items:
                batch.delete(item)
        return len(items)

    def contact(self, user_id: str) -> Contact | None:
        try:
            item = UserItem.get(user_pk(user_id), PROFILE, attributes_to_get=[
                "user_id", "name", "email", "phone", "email_verified_at", "phone_verified_at"])
        except UserItem.DoesNotExist:
            return None
        return Contact(user_id=item.user_id, name=item.name, email=item.email, phone=item.phone,
                       email_verified=item.email_verified_at is not None,
                       phone_verified=item.phone_verified_at is not None)

    # --- outbound messages sent once -------------------------------------------------------------

    def claim_send(self, user_id: str, key: str, target: str, now: float, lease: float, keep: float) -> bool:
        """Claim one outbound message before sending it; False when it was sent, or another
        sender holds a claim younger than ``lease`` seconds."""
        item = SendMarkItem(inbox_pk(user_id), sent_sk(key, target), status="sending", claimed_at=now,
                            expires_at=_expiry(now + keep))
        try:
            item.save(condition=SendMarkItem.pk.does_not_exist()
                      | ((SendMarkItem.status == "sending") & (SendMarkItem.claimed_at < now - lease)))
        except PutError as error:
            if error.cause_response_code == CONDITION_FAILED:
                return False
            raise
        return True

    def mark_sent(self, user_id: str, key: str, target: str) -> None:
        SendMarkItem(inbox_pk(user_id), sent_sk(key, target)).update(actions=[SendMarkItem.status.set("sent")])

    def release_send(self, user_id: str, key: str, target: str, claimed_at: float) -> None:
        """Give a claim back after the provider refused the message: the retry may send it."""
        try:
            SendMarkItem(inbox_pk(user_id), sent_sk(key, target)).delete(
                condition=(SendMarkItem.status == "sending") & (SendMarkItem.claimed_at == claimed_at))
        except DeleteError as error:
            if error.cause_response_code != CONDITION_FAILED:
                raise

    # --- reorder reminders ---------------------------------------------------------------------

    def watch(self, watch: ReorderWatch) -> bool:
        """Remember a purchase of an essential unless a later one is stored; True when written."""
        item = ReorderWatchItem(reorder_pk(watch.user_id), reorder_sk(watch.shop_id, watch.product_id),
                                user_id=watch.user_id, shop_id=watch.shop_id, product_id=watch.product_id,
                                name=watch.name, order_id=watch.order_id, bought_at=watch.bought_at,
                                reorder_days=watch.reorder_days, remind_at=watch.remind_at,
                                gsi4pk=remind_pk(iso(watch.remind_at)[:10], watch.user_id, watch.shop_id,
                                                 watch.product_id),
                                gsi4sk=f"{iso(watch.remind_at)}#{watch.user_id}#{watch.shop_id}#{watch.product_id}")
        try:
            with_retries(lambda: item.save(condition=ReorderWatchItem.pk.does_not_exist()
                                           | (ReorderWatchItem.bought_at < watch.bought_at)))
        except PutError as error:
            if error.cause_response_code == CONDITION_FAILED:
                return False
            raise
        return True

    def due_reminders(self, day: str, until: float) -> Iterator[ReorderWatch]:
        """Watches in ``day``'s bucket whose reminder time is at or before ``until``: every shard
        and the legacy key, a page (``REMIND_PAGE``) of each at a time, read in parallel
        (``storage.buckets.read_items``). Close the iterator to stop early."""
        bound = f"{iso(until)}~"

        def page(pk: str, start: dict | None) -> tuple[list[ReorderWatch], dict | None]:
            def read() -> tuple[list[ReorderWatch], dict | None]:
                results = ReorderWatchItem.gsi4.query(pk, ReorderWatchItem.gsi4sk <= bound, limit=REMIND_PAGE,
                                                      page_size=REMIND_PAGE, last_evaluated_key=start)
                return ([to_watch(item) for item in results if isinstance(item, ReorderWatchItem)],
                        results.last_evaluated_key)

            return with_retries(read)

        yield from read_items(remind_pks(day), page)

    def reminded(self, watch: ReorderWatch) -> None:
        """Take the watch out of the reminder index, unless a newer purchase re-armed it."""
        item = ReorderWatchItem(reorder_pk(watch.user_id), reorder_sk(watch.shop_id, watch.product_id))
        try:
            item.update(actions=[ReorderWatchItem.gsi4pk.remove(), ReorderWatchItem.gsi4sk.remove()],
                        condition=ReorderWatchItem.remind_at == watch.remind_at)
        except UpdateError as error:
            if error.cause_response_code != CONDITION_FAILED:
                raise

    def reminder_watermark(self) -> str | None:
        try:
            return JobStateItem.get(REMINDER_JOB, "STATE").day
        except JobStateItem.DoesNotExist:
            return None

    def set_reminder_watermark(self, day: str, now: float) -> None:
        JobStateItem(REMINDER_JOB, "STATE", day=day, updated_at=now).save()

    # --- what a shop's reply answers -------------------------------------------------------------

    def asked_before(self, post_id: str, reply_id: str, limit: int) -> list[str]:
        """Authors of the customers' comments just before the shop's reply ``reply_id``, back to
        the shop's previous reply (at most ``limit`` comments; one Query, newest first)."""
        results = CommentItem.query(post_pk(post_id), CommentItem.sk.between(COMMENT_PREFIX, comment_sk(reply_id)),
                                    scan_index_forward=False, limit=limit + 1)
        authors: list[str] = []
        for item in results:
            if item.comment_id == reply_id:
                continue
            if item.is_shop_reply:
                break
            if item.author_id not in authors:
                authors.append(item.author_id)
        return authors
