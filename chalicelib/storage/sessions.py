"""Logins: created at sign-in, rotated by one conditional transaction, deleted at logout."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from enum import Enum

from chalicelib.records.sessions import Login
from chalicelib.storage.accounts import PROFILE
from chalicelib.storage.models.accounts import UserItem, user_pk
from chalicelib.storage.models.sessions import SessionItem, session_sk
from chalicelib.storage.retry import with_retries
from chalicelib.storage.transactions import Cancelled, Transaction


class Rotation(Enum):
    ROTATED = "rotated"
    # The login's current token is another one (or the login is gone): the presented token was
    # used before, or lost a race with its twin.
    STALE = "stale"
    # The account moved on: closed, or every token ended (password change or reset).
    ACCOUNT_ENDED = "account_ended"


def to_login(item: SessionItem) -> Login:
    return Login(user_id=item.user_id, session_id=item.session_id, refresh_hash=item.refresh_hash,
                 rotation=int(item.rotation or 0), token_version=int(item.token_version or 0),
                 created_at=item.created_at, refreshed_at=item.refreshed_at,
                 expires_at=int(item.expires_at.timestamp()) if item.expires_at else 0)


def _expiry(epoch: int):
    from datetime import datetime, timezone

    return datetime.fromtimestamp(epoch, tz=timezone.utc)


class SessionsRepository:
    def create(self, login: Login) -> None:
        item = SessionItem(user_pk(login.user_id), session_sk(login.session_id), user_id=login.user_id,
                           session_id=login.session_id, refresh_hash=login.refresh_hash, rotation=login.rotation,
                           token_version=login.token_version, created_at=login.created_at,
                           refreshed_at=login.refreshed_at, expires_at=_expiry(login.expires_at))
        with_retries(lambda: item.save(condition=SessionItem.pk.does_not_exist()))

    def get(self, user_id: str, session_id: str) -> Login | None:
        try:
            return to_login(with_retries(lambda: SessionItem.get(user_pk(user_id), session_sk(session_id),
                                                                 consistent_read=True)))
        except SessionItem.DoesNotExist:
            return None

    def rotate(self, user_id: str, session_id: str, presented_hash: str, new_hash: str, version: int, now: float,
               expires_at: int) -> Rotation:
        """Swap the login's refresh token for the next one, if ``presented_hash`` is still its
        current token and the account's token version is still ``version`` — one transaction,
        so of two refreshes racing with the same token exactly one rotates."""
        tx = Transaction(UserItem._get_connection().connection)
        tx.check(UserItem, user_pk(user_id), PROFILE, label="account",
                 condition=UserItem.pk.exists() & (UserItem.token_version == version))
        tx.update(SessionItem(user_pk(user_id), session_sk(session_id)),
                  [SessionItem.refresh_hash.set(new_hash), SessionItem.rotation.add(1),
                   SessionItem.refreshed_at.set(now), SessionItem.expires_at.set(_expiry(expires_at))],
                  condition=SessionItem.pk.exists() & (SessionItem.refresh_hash == presented_hash), label="session")
        try:
            tx.commit()
        except Cancelled as cancelled:
            return Rotation.ACCOUNT_ENDED if "account" in cancelled else Rotation.STALE
        return Rotation.ROTATED

    def end(self, user_id: str, session_id: str) -> None:
        """Delete the login (idempotent): its refresh token refreshes nothing any more."""
        with_retries(lambda: SessionItem(user_pk(user_id), session_sk(session_id)).delete())

    def sending(self, event: threading.Event) -> AbstractContextManager[None]:
        """For the token check on a worker (``api.revocation``): while the block lasts, this
        thread's next GetItem sets ``event`` as it goes out."""
        announce_sends()
        return sending(event)


# --- telling a waiting thread that a read went out ----------------------------------------------

_sending = threading.local()
_announcing: set[int] = set()


def _announce(**_: object) -> None:
    event = getattr(_sending, "event", None)
    if event is not None:
        event.set()


def announce_sends() -> None:
    """Make the main table's client tell ``sending``'s event when the thread it was set on sends
    a GetItem (botocore's ``before-call``, after every other handler). Once per client."""
    client = UserItem._get_connection().connection.client
    if id(client) not in _announcing:
        client.meta.events.register_last("before-call.dynamodb.GetItem", _announce,
                                         unique_id="dongne-token-check-sent")
        _announcing.add(id(client))


@contextmanager
def sending(event: threading.Event) -> Iterator[None]:
    """While it lasts, this thread's next GetItem sets ``event`` as it is sent (and the end
    of the block sets it in any case, so a waiter never waits on a read that never went)."""
    _sending.event = event
    try:
        yield
    finally:
        _sending.event = None
        event.set()
