"""Accounts: sign-up, login and the profile."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from chalicelib.errors import AccountClosed, InvalidCredentials
from chalicelib.ids import new_id
from chalicelib.records.accounts import User
from chalicelib.services.passwords import Passwords
from chalicelib.services.rates import identifier_subject
from chalicelib.services.signing import TokenService


class AccountsStore(Protocol):
    def create_user(self, user: User) -> None: ...
    def get_user(self, user_id: str) -> User | None: ...
    def find_user_id(self, kind: str, value: str) -> str | None: ...
    def update_user(self, current: User, *, name: str | None, email: str | None, phone: str | None,
                    now: float) -> User: ...


class LoginLocks(Protocol):
    def attempt(self, subject: str, now: float) -> int: ...
    def succeeded(self, subject: str, now: float) -> None: ...


@dataclass(frozen=True)
class Session:
    user: User
    token: str
    expires_at: float


def _session(user: User, tokens: TokenService, now: float) -> Session:
    return Session(user=user, token=tokens.issue(user.user_id, now), expires_at=int(now) + tokens.ttl_seconds)


def signup(store: AccountsStore, passwords: Passwords, tokens: TokenService, *, name: str,
           email: str | None, phone: str | None, password: str, now: float) -> Session:
    user = User(user_id=new_id(), name=name, email=email, phone=phone, shop_id=None,
                created_at=now, password_hash=passwords.hash(password))
    store.create_user(user)  # Conflict when the e-mail or phone is taken
    return _session(user, tokens, now)


WRONG_CREDENTIALS = "Wrong e-mail/phone or password."


def login(store: AccountsStore, passwords: Passwords, tokens: TokenService, locks: LoginLocks, *, kind: str,
          value: str, password: str, now: float) -> Session:
    """Unknown account and wrong password give the same answer, after the same work.

    Before any of it, the attempt is claimed on the identifier's lock (known or not, so the
    lock tells nothing either): beyond the free attempts, one guess per lock period, and a
    locked identifier is refused (429) without a lookup or a hash. A success resets the lock.
    """
    subject = identifier_subject(kind, value)
    locks.attempt(subject, now)
    user_id = store.find_user_id(kind, value)
    user = store.get_user(user_id) if user_id else None
    if not passwords.verify(user.password_hash if user else None, password) or user is None:
        raise InvalidCredentials(WRONG_CREDENTIALS)
    locks.succeeded(subject, now)
    return _session(user, tokens, now)


def get_user(store: AccountsStore, user_id: str) -> User:
    user = store.get_user(user_id)
    if user is None:
        raise AccountClosed("The account no longer exists.")
    return user


def update_profile(store: AccountsStore, user_id: str, *, name: str | None, email: str | None,
                   phone: str | None, now: float) -> User:
    current = get_user(store, user_id)
    return store.update_user(current, name=name, email=email, phone=phone, now=now)
