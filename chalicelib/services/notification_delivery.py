"""What reaches a person outside the app: preferences, push devices, and delivery.

Outbound channels (push through SNS, e-mail through SES, SMS through SNS) are off until the
person turns them on; each type can be turned off for all of them (the inbox keeps every
notification either way, so the unread count means the same on every device).

Delivery runs from the notification's own stream record, after the inbox write committed:
a channel that fails or throttles is retried by its client (botocore's standard retries)
and then dropped with a log line — it never fails the inbox write, an order, or the stream
batch. Devices follow AWS's documented token-management sequence for SNS platform
endpoints (``Push.ensure_endpoint``). Nothing here knows boto3 or DynamoDB.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from chalicelib.errors import TooManyDevices
from chalicelib.records.notifications import ChannelFailed, Contact, Device, Notification, Preferences
from chalicelib.services.notifications import TYPES, view

CHANNELS = ("push", "email", "sms")
PLATFORMS = ("ios", "android")
# A person signs in on a few phones and tablets; a cap keeps the preferences Query (which
# every delivery reads) one small read.
MAX_DEVICES = 10


class PreferencesStore(Protocol):
    def preferences(self, user_id: str) -> tuple[Preferences | None, list[Device]]: ...
    def put_preferences(self, user_id: str, prefs: Preferences) -> None: ...
    def devices(self, user_id: str) -> list[Device]: ...
    def token_owner(self, token: str) -> tuple[str, str] | None: ...
    def put_device(self, device: Device, previous: tuple[str, str] | None) -> None: ...
    def delete_device(self, user_id: str, device_id: str) -> Device | None: ...
    def unread_count(self, user_id: str) -> int: ...
    def contact(self, user_id: str) -> Contact | None: ...


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
    status: str  # sent | failed | skipped
    detail: str = ""


def deliver(store: PreferencesStore, push: Push, sms: Sms, mail: Mail, notification: Notification) -> list[Outcome]:
    """Send one notification through the channels its recipient turned on for its type.

    Returns what happened per channel; a failure is an outcome, never an exception."""
    prefs_stored, devices = store.preferences(notification.recipient_id)
    prefs = effective(prefs_stored)
    wanted = [c for c in CHANNELS if prefs.channels.get(c)]
    if not wanted or not prefs.types.get(notification.type, True):
        return []
    shown = view(notification)
    title, body = shown.title, shown.body
    # Everything is read before anything is sent: a read that fails (and retries the stream
    # record) never follows a message already sent.
    targets = [d for d in devices if d.endpoint_arn] if "push" in wanted else []
    badge = store.unread_count(notification.recipient_id) if targets else 0
    contact = store.contact(notification.recipient_id) if ("email" in wanted or "sms" in wanted) else None
    outcomes: list[Outcome] = []
    if "push" in wanted and not targets:
        outcomes.append(Outcome("push", "-", "skipped", "no registered device with an endpoint"))
    for device in targets:
        data = {"notification_id": notification.notification_id, "type": notification.type}
        outcomes.append(_attempt("push", device.device_id,
                                 lambda d=device: push.push(d.endpoint_arn, title, body, data, badge)))
    if "email" in wanted:
        if contact is None or not contact.email or not mail.configured():
            outcomes.append(Outcome("email", "email", "skipped", "no address or no sender configured"))
        else:
            outcomes.append(_attempt("email", "email", lambda: mail.email(contact.email, title, body)))
    if "sms" in wanted:
        phone = e164(contact.phone) if contact is not None and contact.phone else None
        if phone is None:
            outcomes.append(Outcome("sms", "sms", "skipped", "no phone number SNS can reach"))
        else:
            outcomes.append(_attempt("sms", "sms", lambda: sms.sms(phone, sms_text(title, body))))
    return outcomes


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


def _attempt(channel: str, target: str, send) -> Outcome:
    try:
        send()
    except ChannelFailed as failure:
        return Outcome(channel, target, "failed", str(failure))
    return Outcome(channel, target, "sent")


__all__ = ["CHANNELS", "PLATFORMS", "Outcome", "defaults", "deliver", "effective", "get_preferences",
           "put_preferences", "register_device", "remove_device"]
