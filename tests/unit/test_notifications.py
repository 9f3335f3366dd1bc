"""Notifications on plain data: texts, windows, groups, preferences, delivery and the translation
of stream images, with in-memory fakes for the stores."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from chalicelib.records.common import Page
from chalicelib.records.notifications import (
    Actor,
    ChannelFailed,
    Contact,
    Device,
    Grouped,
    Notice,
    Notification,
    Preferences,
    ReorderWatch,
)
from chalicelib.records.relationships import Essential, Pair, RelationshipState, ShopInfo, Tier
from chalicelib.services import notices, notification_delivery as delivery, notifications
from chalicelib.services.notification_texts import has_batchim, josa, render

NOW = 1795424400.0  # 2026-11-23 09:00 UTC = 18:00 KST
DAY = 86_400.0


# --- texts ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("word", "pair", "expected"), [
    ("망원동 두부가게", "을/를", "망원동 두부가게를"), ("손두부", "이/가", "손두부가"), ("콩물", "이/가", "콩물이"),
    ("김민지 외 3명", "이/가", "김민지 외 3명이"), ("손두부 (500g)", "을/를", "손두부 (500g)를"), ("3", "을/를", "3을"),
])
def test_particles_follow_the_last_syllable(word, pair, expected):
    assert josa(word, pair) == expected


def test_a_group_names_its_first_actor_and_counts_the_rest():
    actors = [{"user_id": "u1", "name": "김민지"}, {"user_id": "u2", "name": "최서연"}]
    assert render("like", {}, 4, actors)[0] == "김민지 외 3명이 좋아해요"
    assert render("like", {}, 1, actors[:1])[0] == "김민지님이 좋아해요"
    title, body = render("new_follower", {"shop_name": "망원동 두부가게"}, 2, actors)
    assert (title, body) == ("고객님이 팔로잉 하셨습니다", "김민지 외 1명이 망원동 두부가게를 팔로잉 하셨습니다.")


def test_every_type_has_korean_words_and_unknown_types_fall_back():
    data = {"shop_name": "두부가게", "customer_name": "김민지", "status": "shipped", "first_item": "손두부",
            "item_count": 2, "total": 9000, "product_name": "손두부", "reorder_days": 7, "text": "맛있어요",
            "rating": 5, "order_count": 3, "days_since_last_order": 61, "amount": 450}
    for type_ in notifications.TYPES:
        for milestone in (notifications.MILESTONES if type_ == "milestone" else (None,)):
            title, body = render(type_, {**data, "milestone": milestone})
            assert title and body and any("가" <= c <= "힣" for c in title), (type_, milestone)
    assert render("new_order", data)[1] == "김민지님이 손두부 외 1건을 주문했어요 · 9,000원"
    assert render("subscription_skipped", {"title": "직접 쓴 제목", "body": "본문"}) == ("직접 쓴 제목", "본문")
    assert render("something_new", {}) == ("새 알림", "")
    assert has_batchim("국") and not has_batchim("두부")


# --- windows and groups -------------------------------------------------------------------------------


def test_the_window_is_the_korean_calendar_day():
    assert notifications.window_of(NOW) == "2026-11-23"  # 18:00 KST
    assert notifications.window_of(NOW + 6 * 3600 - 1) == "2026-11-23"  # 23:59:59 KST
    assert notifications.window_of(NOW + 6 * 3600) == "2026-11-24"  # midnight KST
    assert notifications.window_end("2026-11-23") == NOW + 6 * 3600


def test_a_group_keeps_its_first_actors_and_counts_every_one():
    group = Notification("n1", "owner", "like", NOW, NOW, read=True, count=1, actors=(Actor("u1", "가"),))
    for n in range(2, 6):
        group = notifications.grow(group, Grouped("owner", "like", "post", Actor(f"u{n}", f"{n}"), NOW + n))
    assert group.count == 5 and [a.user_id for a in group.actors] == ["u1", "u2", "u3"]
    assert group.read is False and group.updated_at == NOW + 5


# --- the inbox with a fake store ---------------------------------------------------------------------


class FakeInbox:
    """Enough of the inbox store to check the service's rules (the real one is tested on moto and
    DynamoDB Local)."""

    def __init__(self):
        self.items: dict[str, Notification] = {}
        self.keys: set = set()
        self.groups: dict = {}
        self.members: set = set()
        self.regular_count: dict[str, int] = {}

    def add_once(self, entry, once):
        key = (once.scope, once.owner, once.key, once.user_id)
        if key in self.keys:
            return False
        self.keys.add(key)
        self.items[entry.notification_id] = entry
        return True

    def milestone_reached(self, shop_id, name, user_id=None):
        return ("milestone", shop_id, name, user_id) in self.keys

    def group(self, recipient_id, type_, subject, window):
        nid = self.groups.get((recipient_id, type_, subject, window))
        return self.items[nid] if nid else None

    def start_group(self, entry, subject, window, actor_id, expires_at):
        self.groups[(entry.recipient_id, entry.type, subject, window)] = entry.notification_id
        self.members.add((entry.recipient_id, entry.type, subject, window, actor_id))
        self.items[entry.notification_id] = entry
        return True

    def grow_group(self, current, grown, subject, window, actor_id, expires_at):
        member = (current.recipient_id, current.type, subject, window, actor_id)
        if member in self.members:
            return False
        self.members.add(member)
        self.items[current.notification_id] = grown
        return True

    def regulars(self, shop_id):
        return self.regular_count.get(shop_id, 0)

    def add_regular(self, shop_id, user_id, seen, entries):
        key = ("milestone", shop_id, "became_regular", user_id)
        if key in self.keys:
            return False
        self.keys.add(key)
        self.regular_count[shop_id] = seen + 1
        for entry in entries:
            self.items[entry.notification_id] = entry
        return True

    def unread_count(self, user_id):
        return sum(1 for n in self.items.values() if n.recipient_id == user_id and not n.read)

    def inbox(self, user_id: str, limit: int, start_key: dict | None) -> tuple[Page, int | None]:
        raise NotImplementedError('FakeInbox does not inbox')

    def unread(self, user_id: str, limit: int, start_key: dict | None) -> Page:
        raise NotImplementedError('FakeInbox does not unread')

    def notifications(self, user_id: str, ids: Sequence[str]) -> list[Notification]:
        raise NotImplementedError('FakeInbox does not notifications')

    def mark_read(self, user_id: str, ids: Sequence[str], now: float, expires_at: float) -> list[str]:
        raise NotImplementedError('FakeInbox does not mark_read')


def test_a_notice_is_added_once_per_recipient_type_and_source():
    store = FakeInbox()
    inbox = notifications.Inbox(store, lambda: NOW)
    notice = Notice("owner", "new_order", "order-1", NOW, {"order_id": "order-1"})
    assert inbox.add(notice) is True
    assert inbox.add(Notice("owner", "new_order", "order-1", NOW + 5, {})) is False  # another time: still a repeat
    assert inbox.add(Notice("owner", "order_status", "order-1", NOW, {})) is True
    assert inbox.add(Notice("buyer", "new_order", "order-1", NOW, {})) is True
    with pytest.raises(ValueError):
        inbox.add(Notice("owner", "new_order", "", NOW))
    with pytest.raises(ValueError):
        inbox.add(Notice("owner", "New Order!", "x", NOW))


def test_likes_in_one_day_are_one_group_and_the_next_day_starts_another():
    store = FakeInbox()
    inbox = notifications.Inbox(store, lambda: NOW)
    like = lambda user, at: Grouped("owner", "like", "post-1", Actor(user, user), at, {"post_id": "post-1"})
    assert [inbox.add_grouped(like(u, NOW + n)) for n, u in enumerate(["a", "b", "a", "c"])] == [
        True, True, False, True]
    [group] = store.items.values()
    assert group.count == 3 and store.unread_count("owner") == 1
    assert inbox.add_grouped(like("a", NOW + DAY)) is True
    assert sorted(n.count for n in store.items.values()) == [1, 3]


def test_the_tenth_regular_is_numbered_once():
    store = FakeInbox()
    inbox = notifications.Inbox(store, lambda: NOW)
    for n in range(12):
        assert inbox.add_regular("shop", "owner", Actor(f"u{n}", f"단골{n}"), NOW + n, {}) is True
    assert inbox.add_regular("shop", "owner", Actor("u3", "단골3"), NOW, {}) is False
    kinds = [n.data["milestone"] for n in store.items.values()]
    assert kinds.count("became_regular") == 12 and kinds.count("tenth_regular") == 1
    [tenth] = [n for n in store.items.values() if n.data["milestone"] == "tenth_regular"]
    assert tenth.data["customer_name"] == "단골9"


# --- preferences and delivery ----------------------------------------------------------------------


class FakePrefs:
    def __init__(self, prefs=None, devices=(), contact=None):
        self.prefs, self.devices_, self.contact_ = prefs, list(devices), contact

    def preferences(self, user_id):
        return self.prefs, self.devices_

    def unread_count(self, user_id):
        return 7

    def contact(self, user_id):
        return self.contact_

    def put_preferences(self, user_id: str, prefs: Preferences) -> None:
        raise NotImplementedError('FakePrefs does not put_preferences')

    def devices(self, user_id: str) -> list[Device]:
        raise NotImplementedError('FakePrefs does not devices')

    def token_owner(self, token: str) -> tuple[str, str] | None:
        raise NotImplementedError('FakePrefs does not token_owner')

    def put_device(self, device: Device, previous: tuple[str, str] | None) -> None:
        raise NotImplementedError('FakePrefs does not put_device')

    def delete_device(self, user_id: str, device_id: str) -> Device | None:
        raise NotImplementedError('FakePrefs does not delete_device')


class FakeChannels:
    def __init__(self, fail=()):
        self.sent, self.fail = [], set(fail)

    def configured(self, platform=None):
        return True

    def _send(self, kind, *args):
        if kind in self.fail:
            raise ChannelFailed("Throttling", "rate exceeded")
        self.sent.append((kind, *args))

    def push(self, arn, title, body, data, badge):
        self._send("push", arn, title, badge)

    def sms(self, phone, text):
        self._send("sms", phone, text)

    def email(self, to, subject, body):
        self._send("email", to, subject)

    def ensure_endpoint(self, platform: str, token: str, endpoint_arn: str | None, user_data: str) -> str | None:
        raise NotImplementedError('FakeChannels does not ensure_endpoint')

    def delete_endpoint(self, endpoint_arn: str) -> None:
        raise NotImplementedError('FakeChannels does not delete_endpoint')


NOTE = Notification("n1", "owner", "new_order", NOW, NOW, False,
                    {"customer_name": "김민지", "first_item": "손두부", "item_count": 1, "total": 4500})


def test_preferences_default_to_channels_off_and_every_type_on():
    prefs = delivery.effective(None)
    assert prefs.channels == {"push": False, "email": False, "sms": False}
    assert set(prefs.types) == set(notifications.TYPES) and all(prefs.types.values())
    merged = delivery.effective(Preferences({"push": True, "fax": True}, {"like": False, "spam": False}))
    assert merged.channels == {"push": True, "email": False, "sms": False}
    assert merged.types["like"] is False and "spam" not in merged.types


class FakeMarks:
    """The ``SENT#`` markers: a claim, sent, or given back."""

    def __init__(self):
        self.marks: dict[tuple[str, str, str], tuple[str, float]] = {}

    def claim_send(self, user_id: str, key: str, target: str, now: float, lease: float, keep: float) -> bool:
        current = self.marks.get((user_id, key, target))
        if current is not None and not (current[0] == "sending" and current[1] < now - lease):
            return False
        self.marks[(user_id, key, target)] = ("sending", now)
        return True

    def mark_sent(self, user_id: str, key: str, target: str) -> None:
        self.marks[(user_id, key, target)] = ("sent", self.marks[(user_id, key, target)][1])

    def release_send(self, user_id: str, key: str, target: str, claimed_at: float) -> None:
        if self.marks.get((user_id, key, target)) == ("sending", claimed_at):
            del self.marks[(user_id, key, target)]


def test_nothing_is_queued_until_a_channel_is_on():
    store = FakePrefs(None, [Device("owner", "d1", "ios", "t" * 64, "arn:1", NOW)], Contact("owner", "박", "a@b.kr", "010"))
    assert delivery.plan(store, NOTE) == []


def test_one_job_per_channel_that_is_on_each_message_sent_once():
    prefs = Preferences({"push": True, "email": True, "sms": True}, {})
    devices = [Device("owner", "d1", "ios", "t" * 64, "arn:1", NOW), Device("owner", "d2", "ios", "u" * 64, None, NOW)]
    store = FakePrefs(prefs, devices, Contact("owner", "박두부", "tofu@dongne.kr", "010-1234-5678",
                                              email_verified=True, phone_verified=True))
    jobs = delivery.plan(store, NOTE)
    assert [job.channel for job in jobs] == ["push", "email", "sms"]
    assert {job.key for job in jobs} == {f"n1:{int(NOW * 1000)}"} and jobs[0].title == "새 주문이 들어왔어요"
    assert [delivery.Job.from_json(job.to_json()) for job in jobs] == jobs  # what the queue carries
    marks, channels = FakeMarks(), FakeChannels()
    outcomes = [o for job in jobs for o in delivery.send(store, marks, channels, channels, channels, job, NOW)]
    assert [(o.channel, o.status) for o in outcomes] == [("push", "sent"), ("email", "sent"), ("sms", "sent")]
    assert channels.sent[0] == ("push", "arn:1", "새 주문이 들어왔어요", 7)
    assert channels.sent[2][1] == "+821012345678" and channels.sent[2][2].startswith("[동네] 새 주문")
    # the same jobs again (a replayed record, a duplicate message): nothing twice
    again = [o for job in jobs for o in delivery.send(store, marks, channels, channels, channels, job, NOW + 1)]
    assert {o.status for o in again} == {"duplicate"} and len(channels.sent) == 3
    store.prefs = Preferences({"push": True}, {"new_order": False})
    assert delivery.plan(store, NOTE) == []


def test_email_and_sms_go_only_to_verified_addresses():
    prefs = Preferences({"email": True, "sms": True}, {})
    store = FakePrefs(prefs, [], Contact("owner", "박두부", "tofu@dongne.kr", "010-1234-5678"))
    jobs = delivery.plan(store, NOTE)
    assert [job.channel for job in jobs] == ["email", "sms"]  # planned: the sender decides on the address
    marks, channels = FakeMarks(), FakeChannels()
    outcomes = [o for job in jobs for o in delivery.send(store, marks, channels, channels, channels, job, NOW)]
    assert [(o.channel, o.status, o.detail) for o in outcomes] == [
        ("email", "skipped", "address not verified"), ("sms", "skipped", "number not verified")]
    assert channels.sent == [] and marks.marks == {}
    store.contact_ = Contact("owner", "박두부", "tofu@dongne.kr", "010-1234-5678", email_verified=True)
    outcomes = [o for job in jobs for o in delivery.send(store, marks, channels, channels, channels, job, NOW)]
    assert [o.status for o in outcomes] == ["sent", "skipped"] and [s[0] for s in channels.sent] == ["email"]


def test_a_refused_message_is_given_back_for_the_retry_and_the_rest_is_not_sent_again():
    prefs = Preferences({"push": True, "email": True}, {})
    devices = [Device("owner", "d1", "ios", "t" * 64, "arn:1", NOW), Device("owner", "d2", "android", "u" * 64, "arn:2", NOW)]
    store = FakePrefs(prefs, devices, Contact("owner", "박두부", "tofu@dongne.kr", None, email_verified=True))
    push, email = delivery.plan(store, NOTE)
    marks, failing = FakeMarks(), FakeChannels(fail={"email"})
    assert [o.status for o in delivery.send(store, marks, failing, failing, failing, email, NOW)] == ["failed"]
    assert [o.status for o in delivery.send(store, marks, failing, failing, failing, push, NOW)] == ["sent", "sent"]
    working = FakeChannels()
    assert [o.status for o in delivery.send(store, marks, working, working, working, email, NOW + 1)] == ["sent"]
    assert [o.status for o in delivery.send(store, marks, working, working, working, push, NOW + 1)] == \
        ["duplicate", "duplicate"]
    assert [s[0] for s in working.sent] == ["email"]
    # a sender that stopped mid-send leaves a claim; past the lease the retry takes it over
    marks.marks[("owner", push.key, "push#d1")] = ("sending", NOW)
    del marks.marks[("owner", push.key, "push#d2")]
    marks.marks[("owner", push.key, "push#d2")] = ("sending", NOW + 100)
    later = NOW + 100 + delivery.CLAIM_LEASE_SECONDS / 2
    assert [o.status for o in delivery.send(store, marks, working, working, working, push, later)] == \
        ["sent", "duplicate"]
    # turned off while queued: nothing sent
    store.prefs = Preferences({"push": True, "email": False}, {})
    assert [o.status for o in delivery.send(store, FakeMarks(), working, working, working, email, NOW)] == ["skipped"]


def test_push_without_a_device_endpoint_is_not_queued_and_a_bad_message_is_refused():
    store = FakePrefs(Preferences({"push": True}, {}), [Device("owner", "d2", "ios", "u" * 64, None, NOW)], None)
    assert delivery.plan(store, NOTE) == []
    for bad in ("{", "[]", '{"key": "k"}', delivery.Job("k", "u", "n", "like", "fax", "t", "b").to_json()):
        with pytest.raises(ValueError):
            delivery.Job.from_json(bad)


@pytest.mark.parametrize(("phone", "expected"), [
    ("01012345678", "+821012345678"), ("010-1234-5678", "+821012345678"), ("+821012345678", "+821012345678"),
    ("0212345678", "+82212345678"), ("12345", None), ("+1", None)])
def test_phone_numbers_become_e164(phone, expected):
    assert delivery.e164(phone) == expected


class FakePush:
    def __init__(self):
        self.calls = []

    def ensure_endpoint(self, platform, token, arn, user_data):
        self.calls.append(("ensure", platform, token, arn))
        return arn or f"arn:{platform}:{token[:4]}"

    def delete_endpoint(self, arn):
        self.calls.append(("delete", arn))

    def configured(self, platform: str) -> bool:
        raise NotImplementedError('FakePush does not configured')

    def push(self, endpoint_arn: str, title: str, body: str, data: dict, badge: int) -> None:
        raise NotImplementedError('FakePush does not push')


class FakeDevices:
    def __init__(self):
        self.records: dict = {}
        self.tokens: dict = {}
        self.writes = 0

    def devices(self, user_id):
        return [d for (u, _), d in self.records.items() if u == user_id]

    def token_owner(self, token):
        return self.tokens.get(token)

    def put_device(self, device, previous):
        self.writes += 1
        if previous and previous != (device.user_id, device.device_id):
            self.records.pop(previous, None)
        self.records[(device.user_id, device.device_id)] = device
        self.tokens[device.token] = (device.user_id, device.device_id)

    def delete_device(self, user_id, device_id):
        return self.records.pop((user_id, device_id), None)

    def preferences(self, user_id: str) -> tuple[Preferences | None, list[Device]]:
        raise NotImplementedError('FakeDevices does not preferences')

    def put_preferences(self, user_id: str, prefs: Preferences) -> None:
        raise NotImplementedError('FakeDevices does not put_preferences')

    def unread_count(self, user_id: str) -> int:
        raise NotImplementedError('FakeDevices does not unread_count')

    def contact(self, user_id: str) -> Contact | None:
        raise NotImplementedError('FakeDevices does not contact')


def test_registering_is_idempotent_and_capped():
    store, push = FakeDevices(), FakePush()
    first = delivery.register_device(store, push, "u", "d1", "ios", "a" * 64, NOW)
    again = delivery.register_device(store, push, "u", "d1", "ios", "a" * 64, NOW + 1)
    assert again == first and store.writes == 1
    assert push.calls[1] == ("ensure", "ios", "a" * 64, first.endpoint_arn)  # the stored ARN is checked, not re-made
    for n in range(2, delivery.MAX_DEVICES + 1):
        delivery.register_device(store, push, "u", f"d{n}", "android", f"{n:064d}", NOW)
    from chalicelib.errors import Conflict

    with pytest.raises(Conflict):
        delivery.register_device(store, push, "u", "one-too-many", "ios", "z" * 64, NOW)
    delivery.remove_device(store, push, "u", "d1")
    assert ("delete", first.endpoint_arn) in push.calls


# --- stream images → notices -----------------------------------------------------------------------


class FakeDirectory:
    def __init__(self, pair=None):
        self.pair = pair

    def shop_info(self, shop_id):
        return ShopInfo(shop_id, "owner", "망원동 두부가게", "mangwon_tofu") if shop_id == "shop" else None

    def user_name(self, user_id):
        return {"minji": "김민지"}.get(user_id)

    def get_pair(self, shop_id, user_id):
        return self.pair


class Recorder:
    def __init__(self):
        self.calls = []

    def add(self, notice):
        self.calls.append(("add", notice))
        return True

    def add_grouped(self, grouped):
        self.calls.append(("group", grouped))
        return True

    def add_milestone(self, shop_id, name, recipient_id, at, data):
        self.calls.append(("milestone", name, recipient_id))
        return True

    def add_regular(self, shop_id, recipient_id, customer, at, data):
        self.calls.append(("regular", customer.user_id, recipient_id))
        return True


class FakeWatches:
    def __init__(self):
        self.watched = []

    def watch(self, watch):
        self.watched.append(watch)
        return True

    def due_reminders(self, day: str, until: float):
        raise NotImplementedError('FakeWatches does not due_reminders')

    def reminded(self, watch: ReorderWatch) -> None:
        raise NotImplementedError('FakeWatches does not reminded')

    def reminder_watermark(self) -> str | None:
        raise NotImplementedError('FakeWatches does not reminder_watermark')

    def set_reminder_watermark(self, day: str, now: float) -> None:
        raise NotImplementedError('FakeWatches does not set_reminder_watermark')


if TYPE_CHECKING:  # `make typecheck`: each fake keeps the contract of what it stands for
    _inbox_store: notifications.InboxStore = FakeInbox()
    _prefs: delivery.PreferencesStore = FakePrefs()
    _devices: delivery.PreferencesStore = FakeDevices()
    _channels: tuple[delivery.Push, delivery.Sms, delivery.Mail] = (FakeChannels(), FakeChannels(), FakeChannels())
    _marks: delivery.SendMarks = FakeMarks()
    _push: delivery.Push = FakePush()
    _directory: notices.Directory = FakeDirectory()
    _inbox: notices.Inbox = Recorder()
    _watches: notices.Watches = FakeWatches()


def context(pair=None):
    return notices.Context(inbox=Recorder(), directory=FakeDirectory(pair), threads=None, watches=FakeWatches())


ORDER = {"order_id": "o1", "shop_id": "shop", "shop_name": "망원동 두부가게", "owner_id": "owner", "buyer_id": "minji",
         "status": "pending_payment", "total": Decimal(13500), "created_at": Decimal(NOW),
         "items": [{"product_id": "tofu", "name": "손두부", "price": Decimal(4500), "quantity": Decimal(3),
                    "kind": "essential", "reorder_days": Decimal(7)},
                   {"product_id": "oil", "name": "들기름", "price": Decimal(0), "quantity": Decimal(1), "kind": "treat"}]}


PAID = {**ORDER, "status": "paid", "paid_at": Decimal(NOW + 60),
        "history": [{"status": "paid", "at": Decimal(NOW + 60), "by": "owner"}]}
CARD = {"method": "card", "payment_id": "o1", "amount": Decimal(13500), "deadline_at": Decimal(NOW + 1800)}


def test_a_paid_order_tells_the_owner_and_watches_its_essentials():
    ctx = context()
    assert notices.on_order(ctx, "MODIFY", PAID, ORDER) == ["new_order", "first_order", "reorder_watch", "order_status"]
    kind, notice = ctx.inbox.calls[0]
    assert notice.recipient_id == "owner" and notice.source_id == "o1" and notice.data["customer_name"] == "김민지"
    assert notice.data["first_item"] == "손두부" and notice.data["item_count"] == 2 and notice.data["total"] == 13500
    assert notice.at == NOW + 60 and "awaiting_payment" not in notice.data
    [watch] = ctx.watches.watched
    assert watch == ReorderWatch("minji", "shop", "tofu", "손두부", "o1", NOW + 60, 7, NOW + 60 + 6 * DAY)


def test_placing_tells_the_owner_to_watch_for_the_money_but_celebrates_nothing():
    ctx = context()
    assert notices.on_order(ctx, "INSERT", ORDER, None) == ["new_order"]  # the owner marks it paid
    (kind, notice), = ctx.inbox.calls
    assert notice.data["awaiting_payment"] is True and notice.at == NOW
    assert render("new_order", notice.data)[1].endswith("입금을 확인해 주세요")
    assert ctx.watches.watched == []
    bank = {**ORDER, "payment": {**CARD, "method": "bank_transfer"}}
    assert notices.on_order(context(), "INSERT", bank, None) == ["new_order"]
    card = {**ORDER, "payment": CARD}
    assert notices.on_order(context(), "INSERT", card, None) == []  # news once the provider says paid


def test_an_unpaid_order_that_expires_or_is_cancelled_fires_no_milestone():
    ctx = context()
    for status, by in (("expired", "system"), ("cancelled", "minji")):
        moved = {**ORDER, "status": status, "history": [{"status": status, "at": NOW + 9, "by": by}]}
        assert "first_order" not in notices.on_order(ctx, "MODIFY", moved, ORDER)
    assert [c for c in ctx.inbox.calls if c[0] == "milestone"] == [] and ctx.watches.watched == []


def test_an_order_placed_already_paid_is_news_and_a_purchase_at_once():
    ctx = context()
    assert notices.on_order(ctx, "INSERT", {**PAID, "payment": CARD}, None) == ["new_order", "first_order",
                                                                                 "reorder_watch"]
    shipped = {**PAID, "status": "shipped"}
    assert notices.on_order(context(), "MODIFY", shipped, PAID) == ["order_status"]  # counted already


def test_order_moves_tell_the_buyer_or_the_owner_once_per_status():
    ctx = context()
    paid = {**ORDER, "status": "paid", "history": [{"status": "paid", "at": Decimal(NOW + 60), "by": "owner"}]}
    assert notices.on_order(ctx, "MODIFY", paid, ORDER) == ["order_status"]
    notice = ctx.inbox.calls[-1][1]
    assert (notice.recipient_id, notice.source_id, notice.at) == ("minji", "o1#paid", NOW + 60)
    cancelled = {**ORDER, "status": "cancelled", "history": [{"status": "cancelled", "at": NOW + 9, "by": "minji"}]}
    notices.on_order(ctx, "MODIFY", cancelled, ORDER)
    notice = ctx.inbox.calls[-1][1]
    assert notice.recipient_id == "owner" and notice.data["to_owner"] is True
    assert notices.on_order(ctx, "MODIFY", {**ORDER, "review_id": "r1"}, ORDER) == []  # no status change


def test_an_expired_order_tells_both_sides_once_in_korean():
    from chalicelib.services.notification_texts import render

    ctx = context()
    expired = {**ORDER, "payment": CARD, "status": "expired",
               "history": [{"status": "expired", "at": Decimal(NOW + 1800), "by": "system"}]}
    assert notices.on_order(ctx, "MODIFY", expired, {**ORDER, "payment": CARD}) == ["order_status", "order_status"]
    buyer, owner = (call[1] for call in ctx.inbox.calls[-2:])
    assert (buyer.recipient_id, owner.recipient_id) == ("minji", "owner")
    assert render("order_status", buyer.data)[0] == "결제 기한이 지나 주문이 취소되었어요"
    assert "결제 기한을 넘겼어요" in render("order_status", owner.data)[0]
    assert "재고는 다시 판매 중" in render("order_status", owner.data)[1]


def test_follows_and_likes_group_for_the_owner_but_not_the_owners_own():
    ctx = context()
    follow = {"shop_id": "shop", "user_id": "minji", "created_at": Decimal(NOW)}
    assert notices.on_follow(ctx, "INSERT", follow, None) == ["new_follower", "first_follower"]
    assert notices.on_follow(ctx, "REMOVE", None, follow) == []
    assert notices.on_like(ctx, "INSERT", {"post_id": "p", "shop_id": "shop", "user_id": "owner",
                                           "created_at": NOW}, None) == []
    assert notices.on_like(ctx, "INSERT", {"post_id": "p", "shop_id": "nope", "user_id": "minji",
                                           "created_at": NOW}, None) == []
    with pytest.raises(notices.Malformed):
        notices.on_like(ctx, "INSERT", {"post_id": "p", "shop_id": "shop"}, None)


def test_a_regular_lapse_nudges_only_while_the_customer_is_still_away():
    away = Pair(shop_id="shop", user_id="minji", customer_name="김민지", shop_name="두부", shop_handle="h",
                state=RelationshipState(order_count=3, order_times=(NOW - 70 * DAY, NOW - 65 * DAY, NOW - 60 * DAY)),
                tier=Tier.LAPSED)
    change = {"shop_id": "shop", "user_id": "minji", "from_tier": "regular", "to_tier": "lapsed", "at": Decimal(NOW)}
    ctx = context(away)
    assert notices.on_tier_change(ctx, "INSERT", change, None) == ["regular_lapsed"]
    notice = ctx.inbox.calls[-1][1]
    assert notice.source_id == "minji#2026-11-23" and notice.data["days_since_last_order"] == 60
    from dataclasses import replace

    assert notices.on_tier_change(context(replace(away, tier=Tier.REGULAR)), "INSERT", change, None) == []
    regular = {**change, "from_tier": "first_time", "to_tier": "regular"}
    assert notices.on_tier_change(ctx, "INSERT", regular, None) == ["became_regular"]


def test_reminders_follow_the_pair_not_the_watch():
    bought = NOW - 6.5 * DAY
    pair = Pair(shop_id="shop", user_id="minji", customer_name="김민지", shop_name="망원동 두부가게", shop_handle="h",
                essentials=(Essential("tofu", "손두부", 7, (bought,)),))
    watch = ReorderWatch("minji", "shop", "tofu", "손두부", "o1", bought, 7, bought + 6 * DAY)

    class Watches(FakeWatches):
        def __init__(self):
            super().__init__()
            self.done, self.mark = [], None

        def due_reminders(self, day, until):
            return [watch] if day == "2026-11-23" else []

        def reminded(self, w):
            self.done.append(w)

        def reminder_watermark(self):
            return self.mark

        def set_reminder_watermark(self, day, now):
            self.mark = day

    ctx = context(pair)
    ctx.watches = Watches()
    report = notices.remind_reorders(ctx, NOW)
    assert (report.due, report.sent) == (1, 1) and ctx.watches.mark == "2026-11-23"
    notice = ctx.inbox.calls[-1][1]
    assert notice.type == "reorder_due" and notice.source_id == "shop#tofu#2026-11-23"
    assert notice.data["last_order_id"] == "o1" and notice.data["shop_name"] == "망원동 두부가게"
    # The purchase was cancelled since: the pair no longer has it, nothing is sent.
    from dataclasses import replace

    ctx.inbox.calls.clear()
    ctx.directory.pair = replace(pair, essentials=())
    assert notices.remind_reorders(ctx, NOW).sent == 0 and ctx.inbox.calls == []


def test_the_document_names_every_type_a_setting_may_switch():
    from typing import get_args

    from chalicelib.schemas.notifications import NotificationTypeName
    from chalicelib.services.notifications import TYPES

    assert set(get_args(NotificationTypeName.__value__)) == set(TYPES)  # a named type: its Literal
