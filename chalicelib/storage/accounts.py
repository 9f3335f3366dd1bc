"""Users and their login identifiers (e-mail, phone)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import UpdateError

from chalicelib.errors import AccountClosed, EmailTaken, PhoneTaken
from chalicelib.records.accounts import User
from chalicelib.services.identity import earlier_spellings
from chalicelib.storage.models.accounts import UniqueItem, UserItem, unique_pk, user_pk
from chalicelib.storage.retry import with_retries
from chalicelib.storage.transactions import Cancelled, Transaction

PROFILE = "PROFILE"
UNIQUE = "UNIQUE"
CONDITION_FAILED = "ConditionalCheckFailedException"


def to_user(item: UserItem) -> User:
    return User(
        user_id=item.user_id,
        name=item.name,
        email=item.email,
        phone=item.phone,
        shop_id=item.shop_id,
        created_at=item.created_at,
        password_hash=item.password_hash,
        following_count=int(item.following_count or 0),
        token_version=int(item.token_version or 0),
        revoked_tokens=tuple(item.revoked_tokens or ()),
        email_verified=item.email_verified_at is not None,
        phone_verified=item.phone_verified_at is not None,
    )


def guard(kind: str, value: str, owner_id: str) -> UniqueItem:
    return UniqueItem(unique_pk(kind, value), UNIQUE, kind=kind, owner_id=owner_id)


def _connection() -> Connection:
    return UserItem._get_connection().connection


class AccountsRepository:
    def create_user(self, user: User) -> None:
        """Write the user and its e-mail/phone guards in one transaction.

        A taken e-mail or phone cancels the whole transaction: ``EmailTaken`` or ``PhoneTaken``.
        """
        item = UserItem(
            user_pk(user.user_id), PROFILE,
            user_id=user.user_id, name=user.name, email=user.email, phone=user.phone,
            password_hash=user.password_hash, created_at=user.created_at, updated_at=user.created_at,
        )
        tx = Transaction(_connection()).put(item, condition=UserItem.pk.does_not_exist(), label="user")
        for kind, value in (("email", user.email), ("phone", user.phone)):
            if value:
                tx.put(guard(kind, value, user.user_id), condition=UniqueItem.pk.does_not_exist(), label=kind)
                _no_earlier_owner(tx, kind, value, None)
        try:
            tx.commit()
        except Cancelled as cancelled:
            raise _taken(cancelled) from None

    def get_user(self, user_id: str, consistent: bool = False) -> User | None:
        try:
            return to_user(UserItem.get(user_pk(user_id), PROFILE, consistent_read=consistent))
        except UserItem.DoesNotExist:
            return None

    # --- token state -----------------------------------------------------------------------

    def set_revoked(self, user: User, revoked: list[str]) -> bool:
        """Replace the logged-out tokens with ``revoked`` if they are still what ``user`` holds
        (one conditional write); ``False`` when they changed meanwhile (read again, retry)."""
        held = UserItem.revoked_tokens
        unchanged = (held == list(user.revoked_tokens)) if user.revoked_tokens else (held.does_not_exist() | (held == []))
        condition = UserItem.pk.exists() & (UserItem.token_version == user.token_version) & unchanged
        try:
            with_retries(lambda: UserItem(user_pk(user.user_id), PROFILE).update(
                actions=[held.set(revoked)], condition=condition))
        except UpdateError as error:
            if error.cause_response_code == CONDITION_FAILED:
                return False
            raise
        return True

    def end_all_tokens(self, user_id: str) -> None:
        """Every token issued so far dies: the version moves on, the revoked list goes."""
        try:
            with_retries(lambda: UserItem(user_pk(user_id), PROFILE).update(
                actions=[UserItem.token_version.add(1), UserItem.revoked_tokens.remove()],
                condition=UserItem.pk.exists()))
        except UpdateError as error:
            if error.cause_response_code != CONDITION_FAILED:
                raise  # else: the account is gone, and its tokens with it

    def change_password(self, user: User, password_hash: str, now: float) -> bool:
        """Set the new hash and end every token, if the password is still the one checked
        (one conditional write); ``False`` when it changed meanwhile."""
        try:
            with_retries(lambda: UserItem(user_pk(user.user_id), PROFILE).update(
                actions=[UserItem.password_hash.set(password_hash), UserItem.token_version.add(1),
                         UserItem.revoked_tokens.remove(), UserItem.updated_at.set(now)],
                condition=UserItem.pk.exists() & (UserItem.password_hash == user.password_hash)))
        except UpdateError as error:
            if error.cause_response_code == CONDITION_FAILED:
                return False
            raise
        return True

    def close(self, user: User, now: float | None = None) -> bool:
        """Erase the profile and its e-mail/phone guards in one transaction: the logins are
        gone and every token dies with the profile. An owner's shop is closed in the same
        transaction (``closed_at``, and ``updated_at``, which orders check at commit), so no
        order or follow lands after the commit. ``False`` if it was gone already."""
        tx = Transaction(_connection()).delete(UserItem(user_pk(user.user_id), PROFILE),
                                               condition=UserItem.pk.exists(), label="user")
        if user.shop_id:
            from chalicelib import clock
            from chalicelib.storage.models.accounts import ShopItem, shop_pk

            at = clock.now() if now is None else now
            tx.update(ShopItem(shop_pk(user.shop_id), PROFILE),
                      [ShopItem.closed_at.set(ShopItem.closed_at | at), ShopItem.updated_at.set(at)],
                      condition=ShopItem.owner_id == user.user_id, label="shop")
        for kind, value in (("email", user.email), ("phone", user.phone)):
            if value:
                tx.delete(guard(kind, value, user.user_id), label=kind,
                          condition=UniqueItem.pk.does_not_exist() | (UniqueItem.owner_id == user.user_id))
        try:
            tx.commit()
        except Cancelled:
            return False
        return True

    def find_user_id(self, kind: str, value: str) -> str | None:
        try:
            return UniqueItem.get(unique_pk(kind, value), UNIQUE, consistent_read=True).owner_id
        except UniqueItem.DoesNotExist:
            return None

    def update_user(self, current: User, *, name: str | None, email: str | None, phone: str | None,
                    now: float) -> User:
        """Change the profile; a new e-mail/phone swaps its guard in the same transaction."""
        actions = [UserItem.updated_at.set(now)]
        changes: dict[str, Any] = {}
        if name is not None:
            actions.append(UserItem.name.set(name))
            changes["name"] = name
        tx = Transaction(_connection())
        for kind, new, old in (("email", email, current.email), ("phone", phone, current.phone)):
            if new is None or new == old:
                continue
            actions.append(getattr(UserItem, kind).set(new))
            actions.append(getattr(UserItem, f"{kind}_verified_at").remove())  # a new address starts unverified
            changes[kind] = new
            changes[f"{kind}_verified"] = False
            tx.put(guard(kind, new, current.user_id), condition=UniqueItem.pk.does_not_exist(), label=kind)
            _no_earlier_owner(tx, kind, new, current.user_id, releasing=old)
            if old:
                tx.delete(guard(kind, old, current.user_id), condition=UniqueItem.owner_id == current.user_id,
                          label=f"old-{kind}")
        tx.update(UserItem(user_pk(current.user_id), PROFILE), actions, condition=UserItem.pk.exists(),
                  label="user")
        try:
            tx.commit()
        except Cancelled as cancelled:
            if "user" in cancelled:
                raise AccountClosed("The account no longer exists.") from None
            raise _taken(cancelled) from None
        return replace(current, **changes)


def _no_earlier_owner(tx: Transaction, kind: str, value: str, user_id: str | None,
                      releasing: str | None = None) -> None:
    """The identifier's earlier spellings (``services.identity.earlier_spellings``) must not be
    another account's guard: a ConditionCheck each, in the same transaction (no extra call).
    ``releasing``: the guard this transaction deletes (the account's own, checked there)."""
    for n, spelling in enumerate(earlier_spellings(kind, value)):
        if spelling == releasing:
            continue
        condition = UniqueItem.pk.does_not_exist()
        if user_id is not None:
            condition = condition | (UniqueItem.owner_id == user_id)
        tx.check(UniqueItem, unique_pk(kind, spelling), UNIQUE, condition=condition, label=f"{kind}-earlier-{n}")


def _taken(cancelled: Cancelled) -> EmailTaken | PhoneTaken:
    """Which login identifier is taken (the e-mail first when both are)."""
    taken = " and ".join(k for k in ("email", "phone")
                         if k in cancelled or any(label.startswith(f"{k}-earlier-") for label in cancelled.failed)
                         ) or "login"
    kind = PhoneTaken if taken == "phone" else EmailTaken
    return kind(f"An account with this {taken} already exists.")
