"""What reaches a person outside the app: preferences, push devices, and delivery.

Outbound channels (push through SNS, e-mail through SES, SMS through SNS) are off until the
person turns them on; each type can be turned off for all of them (the inbox keeps every
notification either way, so the unread count means the same on every device).

Delivery is two steps, so no provider ever holds up the stream: the notification's own stream
record, after the inbox write committed, reads the recipient's preferences and ``plan``s one
``Job`` per channel they turned on, which the stream puts on the outbound queue; the outbound
function then ``send``s each job. A job is sent once: each message (a device, the address, the
number) is claimed with a conditional write before SNS or SES is called and marked sent after,
so a replayed stream record, a message the queue delivers twice or a retry after a partial
failure sends nothing twice. A channel that fails (botocore's standard retries included) fails
the job, which the queue retries and finally keeps in its dead-letter queue. Devices follow AWS's
documented token-management sequence for SNS platform endpoints (``Push.ensure_endpoint``).
Nothing here knows boto3 or DynamoDB.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Protocol

from chalicelib.errors import TooManyDevices
from chalicelib.records.notifications import ChannelFailed, Contact, Device, Notification, Preferences
from chalicelib.services.notifications import TYPES, view

CHANNELS = ("push", "email", "sms")
PLATFORMS = ("ios", "android")
# A person signs in on a few phones and tablets; a cap keeps the preferences Query (which
# every delivery reads) one small read.
MAX_DEVICES = 10
# A claim on a message older than this is a sender that stopped mid-send (a crash or a timeout:
# longer than the outbound function's 30 s): the retry, which SQS makes visible only after the
# queue's visibility timeout (longer still), may take it over.
CLAIM_LEASE_SECONDS = 60.0
# How long a message's marker is kept: past any retry, a stay in the dead-letter queue (14 days)
# and a redrive.
MARK_KEEP_SECONDS = 21 * 86400.0


class PreferencesStore(Protocol):
    def preferences(self, user_id: str) -> tuple[Preferences | None, list[Device]]: ...
    def put_preferences(self, user_id: str, prefs: Preferences) -> None: ...
    def devices(self, user_id: str) -> list[Device]: ...
    def token_owner(self, token: str) -> tuple[str, str] | None: ...
    def put_device(self, device: Device, previous: tuple[str, str] | None) -> None: ...
    def delete_device(self, user_id: str, device_id: str) -> Device | None: ...
    def unread_count(self, user_id: str) -> int: ...
    def contact(self, user_id: str) -> Contact | None: ...


class SendMarks(Protocol):
    """Which outbound messages were sent (``SENT#`` markers, one conditional write each)."""

    def claim_send(self, user_id: str, key: str, target: str, now: float, lease: float, keep: float) -> bool: ...
    def mark_sent(self, user_id: str, key: str, target: str) -> None: ...
    def release_send(self, user_id: str, key: str, target: str, claimed_at: float) -> None: ...


class Push(Protocol):
    def configured(self, platform: str) -> bool: ...
    def ensure_endpoint(self, platform: str, token: str, endpoint_arn: str | None, user_data: str) -> str | None:
        """A working, enabled endpoint for ``token`` (created, re-enabled, updated or
        re-created as needed); None when push is not configured for the platform."""
    def delete_endpoint(self, endpoint_arn: str) -> None: ...
    def push(self, endpoint_arn: str, title: str, body: str, data: dict, badge: int) -> None: ...


class Sms(Protocol):
    def sms(self, phone: str, text: str) -> None: ...


class Mail(Protocol):
    def configured(self) -> bool: ...
    def email(self, to: str, subject: str, body: str) -> None: ...


# --- preferences -------------------------------------------------------------------------------


def defaults() -> Preferences:
    return Preferences(channels={c: False for c in CHANNELS}, types={t: True for t in TYPES})


def effective(stored: Preferences | None) -> Preferences:
    """Stored choices over the defaults (channels off, every type on)."""
    base = defaults()
    if stored is None:
        return base
    return Preferences(channels={**base.channels, **{k: bool(v) for k, v in stored.channels.items() if k in CHANNELS}},
                       types={**base.types, **{k: bool(v) for k, v in stored.types.items() if k in TYPES}},
                       updated_at=stored.updated_at)


def get_preferences(store: PreferencesStore, user_id: str) -> Preferences:
    return effective(store.preferences(user_id)[0])


def put_preferences(store: PreferencesStore, user_id: str, channels: dict[str, bool], types: dict[str, bool],
                    now: float) -> Preferences:
    """Replace the person's preferences; what is left out takes its default."""
    prefs = effective(Preferences(channels=channels, types=types, updated_at=now))
    store.put_preferences(user_id, prefs)
    return prefs


# --- devices -------------------------------------------------------------------------------------


def register_device(store: PreferencesStore, push: Push, user_id: str, device_id: str, platform: str, token: str,
                    now: float) -> Device:
    """Register (or refresh) a push token; idempotent. The SNS endpoint is created once and
    kept current (AWS's sequence); a token that was another device record's moves here."""
    devices = {d.device_id: d for d in store.devices(user_id)}
    current = devices.get(device_id)
    if current is None and len(devices) >= MAX_DEVICES:
        raise TooManyDevices(f"At most {MAX_DEVICES} devices can receive push notifications; remove one first.")
    previous = store.token_owner(token)
    arn = current.endpoint_arn if current is not None and current.platform == platform else None
    if arn is None and previous is not None and previous[0] == user_id and previous[1] in devices:
        arn = devices[previous[1]].endpoint_arn  # the same phone under another of my device ids
    # Another person's record with this token: SNS finds the endpoint by token
    # (CreatePlatformEndpoint is idempotent per token) and its user data is set to mine.
    endpoint = push.ensure_endpoint(platform, token, arn, user_id)
    device = Device(user_id=user_id, device_id=device_id, platform=platform, token=token, endpoint_arn=endpoint,
                    updated_at=now)
    unchanged = (current is not None and previous == (user_id, device_id)
                 and (current.platform, current.token, current.endpoint_arn) == (platform, token, endpoint))
    if unchanged:
        return current
    store.put_device(device, previous)
    if current is not None and current.endpoint_arn and current.endpoint_arn != endpoint:
        _forget(push, current.endpoint_arn)  # the device moved to another platform's app
    return device


def remove_device(store: PreferencesStore, push: Push, user_id: str, device_id: str) -> None:
    """Stop pushing to a device (idempotent: an unknown device id is fine)."""
    removed = store.delete_device(user_id, device_id)
    if removed is not None and removed.endpoint_arn:
        _forget(push, removed.endpoint_arn)


def _forget(push: Push, endpoint_arn: str) -> None:
    try:
        push.delete_endpoint(endpoint_arn)
    except ChannelFailed:
        pass  # an endpoint nobody stores is harmless; SNS disables it when the token dies


# --- delivery -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    channel: str
    target: str  # a device id, "email" or "sms"
    status: str  # sent | failed | skipped | duplicate (sent already, or being sent by another try)
    detail: str = ""


@dataclass(frozen=True)
class Job:
    """One notification's delivery on one channel: what the stream queues and the sender sends.

    ``key`` is the delivery's identity: the notification and the version of it that asked for
    delivery (a read group reopened by new activity is delivered again, under a new version), the
    same for every replay of its stream record."""

    key: str
    recipient_id: str
    notification_id: str
    type: str
    channel: str
    title: str
    body: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> "Job":
        """The job in a queued message; ValueError when it is not one."""
        try:
            fields = json.loads(text)
            job = cls(**{name: str(fields[name]) for name in cls.__dataclass_fields__})
        except (TypeError, KeyError, json.JSONDecodeError) as error:
            raise ValueError(f"not an outbound job: {error}") from error
        if job.channel not in CHANNELS:
            raise ValueError(f"not an outbound channel: {job.channel!r}")
        return job


def delivery_key(notification: Notification) -> str:
    """``<notification_id>:<updated_at in ms>``: each version that asks for delivery once."""
    return f"{notification.notification_id}:{int(round(notification.updated_at * 1000))}"


def plan(store: PreferencesStore, notification: Notification) -> list[Job]:
    """The jobs a notification asks for: one per channel its recipient turned on for its type
    (none when every channel is off: the common case, one Query and nothing queued)."""
    stored, devices = store.preferences(notification.recipient_id)
    prefs = effective(stored)
    if not prefs.types.get(notification.type, True):
        return []
    # Push without a device that has an endpoint has nowhere to go: not queued.
    wanted = [c for c in CHANNELS if prefs.channels.get(c)
              and (c != "push" or any(d.endpoint_arn for d in devices))]
    if not wanted:
        return []
    shown = view(notification)
    key = delivery_key(notification)
    return [Job(key=key, recipient_id=notification.recipient_id, notification_id=notification.notification_id,
                type=notification.type, channel=channel, title=shown.title, body=shown.body) for channel in wanted]


def send(store: PreferencesStore, marks: SendMarks, push: Push, sms: Sms, mail: Mail, job: Job,
         now: float) -> list[Outcome]:
    """Send one job: every device for push, the address for e-mail, the number for SMS.

    Preferences and devices are read again (a channel turned off meanwhile sends nothing, a
    device added meanwhile is reached). Each message is claimed before it is sent: one sent
    already is a ``duplicate`` outcome, one the provider refused a ``failed`` one (its claim
    given back, so the retry sends it). Returns what happened; never raises for a channel."""
    prefs_stored, devices = store.preferences(job.recipient_id)
    prefs = effective(prefs_stored)
    if not prefs.channels.get(job.channel) or not prefs.types.get(job.type, True):
        return [Outcome(job.channel, "-", "skipped", "turned off since it was queued")]
    if job.channel == "push":
        targets = [d for d in devices if d.endpoint_arn]
        if not targets:
            return [Outcome("push", "-", "skipped", "no registered device with an endpoint")]
        badge = store.unread_count(job.recipient_id)
        data = {"notification_id": job.notification_id, "type": job.type}
        return [_once(marks, job, device.device_id, now,
                      lambda d=device: push.push(d.endpoint_arn, job.title, job.body, data, badge))
                for device in targets]
    contact = store.contact(job.recipient_id)
    if job.channel == "email":
        if contact is None or not contact.email or not mail.configured():
            return [Outcome("email", "email", "skipped", "no address or no sender configured")]
        if not contact.email_verified:  # only to an address proven by a code (services.recovery)
            return [Outcome("email", "email", "skipped", "address not verified")]
        address = contact.email
        return [_once(marks, job, "email", now, lambda: mail.email(address, job.title, job.body))]
    phone = e164(contact.phone) if contact is not None and contact.phone else None
    if phone is None:
        return [Outcome("sms", "sms", "skipped", "no phone number SNS can reach")]
    if contact is not None and not contact.phone_verified:
        return [Outcome("sms", "sms", "skipped", "number not verified")]
    return [_once(marks, job, "sms", now, lambda: sms.sms(phone, sms_text(job.title, job.body)))]


def _once(marks: SendMarks, job: Job, target: str, now: float, send_it) -> Outcome:
    mark = job.channel if target == job.channel else f"{job.channel}#{target}"
    if not marks.claim_send(job.recipient_id, job.key, mark, now, CLAIM_LEASE_SECONDS, MARK_KEEP_SECONDS):
        return Outcome(job.channel, target, "duplicate", "sent already, or being sent")
    try:
        send_it()
    except ChannelFailed as failure:
        marks.release_send(job.recipient_id, job.key, mark, now)
        return Outcome(job.channel, target, "failed", str(failure))
    marks.mark_sent(job.recipient_id, job.key, mark)
    return Outcome(job.channel, target, "sent")


def e164(phone: str) -> str | None:
    """The number as SNS wants it: ``+8210...`` for a Korean ``010...`` number."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if phone.strip().startswith("+"):
        return "+" + digits if 8 <= len(digits) <= 15 else None
    if digits.startswith("0") and 9 <= len(digits) <= 11:
        return "+82" + digits[1:]
    return None


def sms_text(title: str, body: str) -> str:
    """One short message: SMS in Korean is UCS-2, 70 characters a part."""
    text = f"[동네] {title} {body}".strip()
    return text if len(text) <= 140 else text[:139] + "…"


__all__ = ["CHANNELS", "PLATFORMS", "Job", "Outcome", "defaults", "delivery_key", "effective", "get_preferences",
           "plan", "put_preferences", "register_device", "remove_device", "send"]
