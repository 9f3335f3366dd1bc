"""Getting back in, and proving an address: six-digit codes sent by e-mail or SMS.

* **Password reset** (``request_reset`` / ``confirm_reset``). Asking answers the same, after
  the same work, whether or not an account has the address: both rate limits are taken (per
  network address at the edge, per e-mail/phone here), the address is looked up, a code is
  drawn and its HMAC computed, and its item written (for an unknown address too, without a
  user, so later tries behave alike). Only a known address gets the message queued — the
  one step that differs, a single SQS call, and the answer waits for a floor
  (``settings.reset_answer_floor_ms``, 250 ms from the view's start) so that call ends unseen.
  Confirming with the right code sets the new password through ``AccountsStore.change_password``, the same write ``PUT /me/password``
  makes: the token version moves on and every token issued before dies.
* **Verification** (``request_verification`` / ``confirm_verification``): a code to the
  account's e-mail or phone; the right one marks that address verified. Outbound e-mail and
  SMS (``services.notification_delivery.send``) go only to verified addresses; changing an
  address (``PATCH /me``) clears its mark. A password reset confirmed with a code sent to an
  address proves it too, and marks it.

Every code is valid ``CODE_SECONDS`` (15 minutes) and ``MAX_TRIES`` (5) tries: each try is
counted by one conditional write before the comparison, so a sixth try is refused
(``code_locked``) even with the right code; a new code (rate-limited) starts again. Codes
are stored as an HMAC keyed with a secret derived from the signing secret, so a copy of the
table alone cannot be searched for them; the message on its way (the SQS queue, then SES or
SNS) necessarily carries the code itself.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from dataclasses import asdict, dataclass
from typing import Protocol

from chalicelib.errors import (
    AlreadyVerified,
    CodeExpired,
    CodeInvalid,
    CodeLocked,
    NothingToVerify,
    Unavailable,
)
from chalicelib.ids import new_id
from chalicelib.records.accounts import User
from chalicelib.records.notifications import ChannelFailed
from chalicelib.records.rates import Ticket
from chalicelib.records.recovery import EXPIRED, LOCKED, RESET, VERIFY, Code
from chalicelib.services.accounts import AccountsStore, LoginLocks
from chalicelib.services.passwords import Passwords

log = logging.getLogger("dongne.recovery")

CODE_SECONDS = 15 * 60
MAX_TRIES = 5
CODE_DIGITS = 6
KINDS = ("email", "phone")
SAVE_ATTEMPTS = 3


class Codes(Protocol):
    def put(self, code: Code) -> None: ...
    def try_code(self, purpose: str, subject: str, now: float, max_tries: int) -> Code | str: ...
    def use(self, code: Code) -> bool: ...
    def mark_verified(self, user_id: str, kind: str, value: str, now: float) -> bool: ...


class Limits(Protocol):
    def take(self, ticket: Ticket, now: float) -> None: ...


class Queue(Protocol):
    def configured(self) -> bool: ...
    def enqueue(self, bodies: dict[str, str]) -> None: ...


class Marks(Protocol):
    def claim_send(self, user_id: str, key: str, target: str, now: float, lease: float, keep: float) -> bool: ...
    def mark_sent(self, user_id: str, key: str, target: str) -> None: ...
    def release_send(self, user_id: str, key: str, target: str, claimed_at: float) -> None: ...


class Sms(Protocol):
    def sms(self, phone: str, text: str) -> None: ...


class Mail(Protocol):
    def configured(self) -> bool: ...
    def email(self, to: str, subject: str, body: str) -> None: ...


@dataclass(frozen=True)
class Sent:
    """What the 202 says: which kind of address, and until when the code works."""

    channel: str
    expires_at: float


# --- codes ------------------------------------------------------------------------------------------


def new_code() -> str:
    return f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"


def code_hash(key: str, purpose: str, subject: str, code: str) -> str:
    """HMAC-SHA256 of the code, bound to its purpose and subject (a code for one never checks
    for another)."""
    return hmac.new(key.encode(), f"{purpose}|{subject}|{code}".encode(), hashlib.sha256).hexdigest()


def _subject(kind: str, value: str) -> str:
    from chalicelib.services.rates import identifier_subject

    return identifier_subject(kind, value)


def _issue(codes: Codes, key: str, purpose: str, subject: str, user_id: str | None, kind: str, value: str,
           now: float) -> tuple[str, Code]:
    code = new_code()
    record = Code(purpose=purpose, subject=subject, user_id=user_id, channel=kind, target=_subject(kind, value),
                  code_hash=code_hash(key, purpose, subject, code), issued_at=now, valid_until=now + CODE_SECONDS)
    codes.put(record)
    return code, record


def _try(codes: Codes, key: str, purpose: str, subject: str, code: str, now: float) -> Code:
    """Count a try of ``code``, then compare it: the live code, or the problem to answer."""
    found = codes.try_code(purpose, subject, now, MAX_TRIES)
    if found == LOCKED:
        raise CodeLocked("This code was tried too many times; ask for a new one.")
    if found == EXPIRED:
        raise CodeExpired("The code has expired; ask for a new one.")
    if not isinstance(found, Code):  # MISSING: never asked for, or used already
        raise CodeInvalid("The code is not right; check the latest message or ask for a new code.")
    if not hmac.compare_digest(found.code_hash, code_hash(key, purpose, subject, code)):
        raise CodeInvalid("The code is not right; check the latest message or ask for a new code.",
                          extra={"tries_left": max(0, MAX_TRIES - found.tries)})
    return found


# --- the message ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CodeMessage:
    """A code on its way: one message on the outbound queue (``events.outbound`` tells it from a
    notification's job by ``kind``), sent once per ``key``."""

    key: str
    user_id: str
    channel: str  # email | sms
    to: str
    subject: str
    body: str
    kind: str = "code"

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_fields(cls, fields: dict) -> CodeMessage:
        try:
            message = cls(**{name: str(fields[name]) for name in cls.__dataclass_fields__})
        except KeyError as error:
            raise ValueError(f"not a code message: {error}") from error
        if message.channel not in ("email", "sms"):
            raise ValueError(f"not a code channel: {message.channel!r}")
        return message


TEXTS = {
    RESET: ("동네 비밀번호 재설정 코드", ("비밀번호 재설정 코드는 {code} 입니다. 15분 안에 입력해 주세요. "
                                       "요청하지 않으셨다면 이 메시지를 무시해 주세요.")),
    VERIFY: ("동네 인증 코드", "인증 코드는 {code} 입니다. 15분 안에 입력해 주세요."),
}


def message_for(record: Code, code: str, kind: str, value: str) -> CodeMessage | None:
    """The message carrying ``code`` to ``value``; None for a number SNS cannot reach."""
    from chalicelib.services.notification_delivery import e164

    title, body = TEXTS[record.purpose]
    text = body.format(code=code)
    key = f"code:{record.purpose}:{new_id()}"
    if kind == "email":
        return CodeMessage(key=key, user_id=record.user_id or "", channel="email", to=value, subject=title, body=text)
    phone = e164(value)
    if phone is None:
        return None
    return CodeMessage(key=key, user_id=record.user_id or "", channel="sms", to=phone, subject=title,
                       body=f"[동네] {text}")


def _queue(queue: Queue, message: CodeMessage | None) -> None:
    if message is None:
        return
    if not queue.configured():
        log.warning("code not queued: no outbound queue is configured (DONGNE_OUTBOUND_QUEUE_URL)",
                    extra={"user_id": message.user_id, "channel": message.channel})
        return
    queue.enqueue({"code": message.to_json()})


def send_code(marks: Marks, sms: Sms, mail: Mail, message: CodeMessage, now: float) -> str:
    """Send one queued code, once (the notification sender's claim and mark): ``sent``,
    ``duplicate`` or ``skipped``; ``ChannelFailed`` when the provider refused (the queue retries)."""
    from chalicelib.services.notification_delivery import (
        CLAIM_LEASE_SECONDS,
        MARK_KEEP_SECONDS,
    )

    if message.channel == "email" and not mail.configured():
        return "skipped"
    if not marks.claim_send(message.user_id, message.key, message.channel, now, CLAIM_LEASE_SECONDS,
                            MARK_KEEP_SECONDS):
        return "duplicate"
    try:
        if message.channel == "email":
            mail.email(message.to, message.subject, message.body)
        else:
            sms.sms(message.to, message.body)
    except ChannelFailed:
        marks.release_send(message.user_id, message.key, message.channel, now)
        raise
    marks.mark_sent(message.user_id, message.key, message.channel)
    return "sent"


# --- password reset ---------------------------------------------------------------------------------


def wait_until(deadline: float) -> None:
    """Sleep until ``deadline`` (``time.perf_counter()``), if it is still ahead. A reset's answer
    waits for its floor: what only a known address does (one SQS call) ends inside it."""
    import time

    left = deadline - time.perf_counter()
    if left > 0:
        time.sleep(left)


def request_reset(codes: Codes, accounts: AccountsStore, limits: Limits, queue: Queue, key: str, *,
                  per_address: Ticket, kind: str, value: str, now: float) -> Sent:
    """A reset code to ``value`` if an account has it; the same answer and work if none does."""
    limits.take(per_address, now)
    user_id = accounts.find_user_id(kind, value)
    subject = _subject(kind, value)
    code, record = _issue(codes, key, RESET, subject, user_id, kind, value, now)
    if user_id is not None:
        _queue(queue, message_for(record, code, kind, value))
    return Sent(channel=kind, expires_at=record.valid_until)


def confirm_reset(codes: Codes, accounts: AccountsStore, passwords: Passwords, locks: LoginLocks, key: str, *,
                  kind: str, value: str, code: str, new_password: str, now: float) -> None:
    """The right code sets the new password and ends every token issued before."""
    found = _try(codes, key, RESET, _subject(kind, value), code, now)
    user = accounts.get_user(found.user_id, consistent=True) if found.user_id else None
    if user is None or getattr(user, kind) != value or not codes.use(found):
        # No account (an address nobody has), the address moved to another account since, or
        # a parallel confirm used the code first.
        raise CodeInvalid("The code is not right; check the latest message or ask for a new code.")
    password_hash = passwords.hash(new_password)
    for _ in range(SAVE_ATTEMPTS):
        if accounts.change_password(user, password_hash, now):  # the token version moves on
            break
        fresh = accounts.get_user(user.user_id, consistent=True)  # changed meanwhile: try on the fresh one
        if fresh is None:
            raise CodeInvalid("The code is not right; check the latest message or ask for a new code.")
        user = fresh
    else:
        raise Unavailable("The account is being changed concurrently; retry shortly.")
    codes.mark_verified(user.user_id, kind, value, now)  # the code reached the address: proven
    locks.succeeded(_subject(kind, value), now)  # the login lock on the address goes too


# --- verification -----------------------------------------------------------------------------------


def request_verification(codes: Codes, limits: Limits, queue: Queue, key: str, user: User, *,
                         channel: str | None, quota: Ticket | None, now: float) -> Sent:
    """A code to the account's e-mail or phone: ``channel`` if given, else the first of the two
    the account has and has not verified."""
    if channel is None:
        unverified = [k for k in KINDS if getattr(user, k) and not getattr(user, f"{k}_verified")]
        channel = unverified[0] if unverified else next((k for k in KINDS if getattr(user, k)), "email")
    value = getattr(user, channel)
    if not value:
        raise NothingToVerify(f"The account has no {'e-mail address' if channel == 'email' else 'phone number'}.",
                              extra={"channel": channel})
    if getattr(user, f"{channel}_verified"):
        raise AlreadyVerified(f"The account's {channel} is verified already.", extra={"channel": channel})
    if quota is not None:
        limits.take(quota, now)
    code, record = _issue(codes, key, VERIFY, user.user_id, user.user_id, channel, value, now)
    _queue(queue, message_for(record, code, channel, value))
    return Sent(channel=channel, expires_at=record.valid_until)


def confirm_verification(codes: Codes, key: str, user: User, *, code: str, now: float) -> str:
    """The right code marks the address it was sent to verified; returns which (email | phone)."""
    found = _try(codes, key, VERIFY, user.user_id, code, now)
    value = getattr(user, found.channel)
    if not value or _subject(found.channel, value) != found.target or not codes.use(found):
        # The address changed since the code was sent (or a parallel confirm used it).
        raise CodeInvalid("The code is not right; check the latest message or ask for a new code.")
    if not codes.mark_verified(user.user_id, found.channel, value, now):
        raise CodeInvalid("The address changed meanwhile; ask for a new code.")
    return found.channel
