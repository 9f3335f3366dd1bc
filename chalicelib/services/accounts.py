"""Accounts: sign-up, login, the profile, and the life of tokens until the account closes.

Tokens are checked by the edge in two steps. It checks the signature and expiry (no I/O),
then reads the account once per signed-in request (one strongly consistent GetItem
of the profile, ``check_token``): a token is dead when the account is gone (closed), when its
version is older than the account's (a password change moves the version on), or when its id
is on the account's short list of logged-out tokens. So logout, a password change and closing
the account take effect on the very next request, wherever it lands.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from chalicelib.errors import (
    AccountClosed, InvalidCredentials, ShopHasOpenOrders, Unauthorized, Unavailable, WrongPassword,
)
from chalicelib.ids import new_id
from chalicelib.records.accounts import User
from chalicelib.services.passwords import Passwords
from chalicelib.services.signing import Claims, TokenService


class AccountsStore(Protocol):
    def create_user(self, user: User) -> None: ...
    def get_user(self, user_id: str, consistent: bool = False) -> User | None: ...
    def find_user_id(self, kind: str, value: str) -> str | None: ...
    def update_user(self, current: User, *, name: str | None, email: str | None, phone: str | None,
                    now: float) -> User: ...
    def set_revoked(self, user: User, revoked: list[str]) -> bool: ...
    def end_all_tokens(self, user_id: str) -> None: ...
    def change_password(self, user: User, password_hash: str, now: float) -> bool: ...
    def close(self, user: User, now: float | None = None) -> bool: ...


class OpenOrders(Protocol):
    def open_statuses(self, shop_id: str) -> list[str]: ...


class LoginLocks(Protocol):
    def attempt(self, subject: str, now: float) -> int: ...
    def succeeded(self, subject: str, now: float) -> None: ...


@dataclass(frozen=True)
class Session:
    user: User
    token: str
    expires_at: float


def _session(user: User, tokens: TokenService, now: float) -> Session:
    return Session(user=user, token=tokens.issue(user.user_id, now, user.token_version),
                   expires_at=int(now) + tokens.ttl_seconds)


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
    from chalicelib.services.rates import identifier_subject

    subject = identifier_subject(kind, value)
    locks.attempt(subject, now)
    user_id = store.find_user_id(kind, value)
    if user_id is None:  # an account stored before a fold tightened (the e-mail's root dot)
        from chalicelib.services.identity import earlier_spellings

        user_id = next(filter(None, (store.find_user_id(kind, s) for s in earlier_spellings(kind, value))), None)
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
                   phone: str | None, now: float, current: User | None = None) -> User:
    """``current``: the account as already read (by the token check), saving a read."""
    current = current if current is not None and current.user_id == user_id else get_user(store, user_id)
    return store.update_user(current, name=name, email=email, phone=phone, now=now)


# --- the life of tokens ------------------------------------------------------------------------

# Tokens logged out one by one, kept on the profile until they expire. Twenty cover a week of
# logging out of many devices; past that, a logout ends every token of the account instead
# (the profile, read on every request, stays small).
MAX_REVOKED = 20
SAVE_ATTEMPTS = 3


def check_token(store: AccountsStore, claims: Claims) -> User:
    """The account a signed, unexpired token speaks for, if the token is still alive: one
    strongly consistent GetItem (the profile, which views of the profile use too)."""
    user = store.get_user(claims.user_id, consistent=True)
    if user is None:
        raise AccountClosed("This account is closed.")
    if claims.version != user.token_version:
        raise Unauthorized("This token was ended by a password change; log in again.")
    if (claims.token_id and user.revoked(claims.token_id)) or (claims.session_id and user.revoked(claims.session_id)):
        raise Unauthorized("This token was logged out; log in again.")
    return user


def logout(store: AccountsStore, user: User, claims: Claims, now: float) -> None:
    """This token dies (and only this one): its id joins the account's logged-out list, from
    which expired ones are dropped. One conditional write, on the profile as read by the
    token check. (A token of a login is logged out with its whole login: services.sessions.)"""
    if not claims.token_id:  # a token from before token ids cannot be named: end them all
        store.end_all_tokens(user.user_id)
        return
    revoke(store, user, claims.token_id, claims.expires_at, now)


def revoke(store: AccountsStore, user: User, name: str, until: float, now: float) -> None:
    """Every token carrying ``name`` (its own id, or its login's id) dies until ``until``,
    when the last of them expires anyway: the name joins the account's logged-out list,
    from which expired entries are dropped. Past ``MAX_REVOKED`` entries, every token of
    the account ends instead."""
    for _ in range(SAVE_ATTEMPTS):
        kept = [e for e in user.revoked_tokens if float(e.partition(":")[0]) > now]
        kept.append(f"{int(until)}:{name}")
        if len(kept) > MAX_REVOKED:
            store.end_all_tokens(user.user_id)
            return
        if store.set_revoked(user, kept):
            return
        fresh = store.get_user(user.user_id, consistent=True)  # another logout got there first
        if fresh is None or fresh.token_version != user.token_version:
            return  # closed, or every token ended meanwhile: this one is dead too
        user = fresh
    raise Unavailable("The account is being changed concurrently; retry shortly.")


def change_password(store: AccountsStore, passwords: Passwords, locks: LoginLocks, user: User, *,
                    current: str, new: str, now: float) -> None:
    """Set a new password and end every token issued before (the caller's included). The
    current password is guessed behind the same lock as a login (a stolen token cannot
    brute-force it)."""
    from chalicelib.services.rates import identifier_subject

    subject = identifier_subject("password", user.user_id)
    locks.attempt(subject, now)
    if not passwords.verify(user.password_hash, current):
        raise WrongPassword("The current password is not right.")
    locks.succeeded(subject, now)
    if not store.change_password(user, passwords.hash(new), now):
        # Changed by another request since the token check: this token is dead by now too.
        raise Unauthorized("The password was changed meanwhile; log in again.")


def close_account(store: AccountsStore, orders: OpenOrders, user: User,
                  forget_devices: Callable[[str], None] | None = None, now: float | None = None) -> None:
    """Close the account: the profile and its logins go at once, and every token with them.

    An owner whose shop still has open orders (pending payment, paid or shipped) is refused:
    those buyers are owed an answer. The phones registered for pushes are forgotten first
    (``forget_devices``: their records and push endpoints). What the account leaves elsewhere —
    follows, relationship pairs and notes, its inbox, the buyer's name on orders — is cleaned
    up from the profile's removal on the stream (``erase_closed_account``).
    """
    if user.shop_id:
        open_statuses = orders.open_statuses(user.shop_id)
        if open_statuses:
            raise ShopHasOpenOrders("Your shop has orders still open; ship or cancel them before closing the account.",
                                    extra={"open_order_statuses": open_statuses})
    if forget_devices is not None:
        forget_devices(user.user_id)
    store.close(user, now)  # an owner's shop closes in the same transaction (see services.closing)


class ClosingFollows(Protocol):
    def followed_shop_ids(self, user_id: str) -> Iterable[str]: ...
    def remove_follower(self, shop_id: str, user_id: str) -> bool: ...


class ClosingPairs(Protocol):
    def remove_customer(self, user_id: str) -> int: ...


class ClosingOrders(Protocol):
    def close_buyer(self, user_id: str) -> int: ...


class ClosingNotifications(Protocol):
    def forget(self, user_id: str) -> int: ...


class ClosingAddresses(Protocol):
    def forget(self, user_id: str) -> int: ...


class ClosingCards(Protocol):
    def forget(self, user_id: str) -> int: ...


class ClosingConsents(Protocol):
    def forget(self, user_id: str) -> int: ...


class ClosingCoupons(Protocol):
    def forget(self, user_id: str) -> int: ...


@dataclass(frozen=True)
class Erased:
    follows: int
    pairs: int
    orders: int
    notifications: int = 0
    addresses: int = 0
    cards: int = 0
    consents: int = 0
    coupons: int = 0


def erase_closed_account(follows: ClosingFollows, pairs: ClosingPairs, orders: ClosingOrders,
                         user_id: str, notifications: ClosingNotifications | None = None,
                         addresses: ClosingAddresses | None = None, cards: ClosingCards | None = None,
                         consents: ClosingConsents | None = None, coupons: ClosingCoupons | None = None) -> Erased:
    """What a closed account leaves behind, undone. Idempotent (a retry finds less to do):

    * its follows are undone, each with the shop's follower count in one transaction;
    * its relationship pairs with every shop, and the owners' notes about it, are deleted;
    * its orders stay in the shops' books, marked as bought by a closed account;
    * its inbox, notification preferences, devices and reorder reminders are deleted;
    * its address book is deleted (orders keep the copy of the address they were placed with);
    * its saved card (the PortOne billing key) is deleted: nothing can charge it any more;
    * its advertising consents and their records are deleted: no shop can advertise to it;
    * its coupons are deleted (an order that used one still gives the redemption back to its
      coupon if it is cancelled).
    """
    unfollowed = sum(1 for shop_id in list(follows.followed_shop_ids(user_id))
                     if follows.remove_follower(shop_id, user_id))
    return Erased(follows=unfollowed, pairs=pairs.remove_customer(user_id), orders=orders.close_buyer(user_id),
                  notifications=notifications.forget(user_id) if notifications is not None else 0,
                  addresses=addresses.forget(user_id) if addresses is not None else 0,
                  cards=cards.forget(user_id) if cards is not None else 0,
                  consents=consents.forget(user_id) if consents is not None else 0,
                  coupons=coupons.forget(user_id) if coupons is not None else 0)
