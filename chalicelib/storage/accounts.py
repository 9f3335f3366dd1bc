"""Users and their login identifiers (e-mail, phone)."""

from __future__ import annotations

from dataclasses import replace

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.errors import Conflict, NotFound
from chalicelib.records import User
from chalicelib.storage.models.accounts import UniqueItem, UserItem, unique_pk, user_pk
from chalicelib.storage.retry import cancellation_codes, with_retries

PROFILE = "PROFILE"
UNIQUE = "UNIQUE"


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
    )


def guard(kind: str, value: str, owner_id: str) -> UniqueItem:
    return UniqueItem(unique_pk(kind, value), UNIQUE, kind=kind, owner_id=owner_id)


def _connection() -> Connection:
    return UserItem._get_connection().connection


class AccountsRepository:
    def create_user(self, user: User) -> None:
        """Write the user and its e-mail/phone guards in one transaction.

        A taken e-mail or phone cancels the whole transaction: ``Conflict`` names which.
        """
        item = UserItem(
            user_pk(user.user_id), PROFILE,
            user_id=user.user_id, name=user.name, email=user.email, phone=user.phone,
            password_hash=user.password_hash, created_at=user.created_at, updated_at=user.created_at,
        )
        guards = [(k, v) for k, v in (("email", user.email), ("phone", user.phone)) if v]

        def write() -> None:
            with TransactWrite(connection=_connection()) as tx:
                tx.save(item, condition=UserItem.pk.does_not_exist())
                for kind, value in guards:
                    tx.save(guard(kind, value, user.user_id), condition=UniqueItem.pk.does_not_exist())

        try:
            with_retries(write)
        except TransactWriteError as error:
            codes = cancellation_codes(error)
            for (kind, _), code in zip(guards, codes[1:]):
                if code == "ConditionalCheckFailed":
                    raise Conflict(f"An account with this {kind} already exists.") from error
            raise

    def get_user(self, user_id: str) -> User | None:
        try:
            return to_user(UserItem.get(user_pk(user_id), PROFILE))
        except UserItem.DoesNotExist:
            return None

    def find_user_id(self, kind: str, value: str) -> str | None:
        try:
            return UniqueItem.get(unique_pk(kind, value), UNIQUE, consistent_read=True).owner_id
        except UniqueItem.DoesNotExist:
            return None

    def update_user(self, current: User, *, name: str | None, email: str | None, phone: str | None,
                    now: float) -> User:
        """Change the profile; a new e-mail/phone swaps its guard in the same transaction."""
        actions = [UserItem.updated_at.set(now)]
        if name is not None:
            actions.append(UserItem.name.set(name))
        swaps = []
        for kind, new, old in (("email", email, current.email), ("phone", phone, current.phone)):
            if new is not None and new != old:
                actions.append(getattr(UserItem, kind).set(new))
                swaps.append((kind, new, old))
        item = UserItem(user_pk(current.user_id), PROFILE)

        new_guard_at: dict[int, str] = {}  # transaction position of each new guard -> its kind

        def write() -> None:
            with TransactWrite(connection=_connection()) as tx:
                tx.update(item, actions=actions, condition=UserItem.pk.exists())
                position = 1
                for kind, new, old in swaps:
                    tx.save(guard(kind, new, current.user_id), condition=UniqueItem.pk.does_not_exist())
                    new_guard_at[position] = kind
                    position += 1
                    if old:
                        tx.delete(guard(kind, old, current.user_id),
                                  condition=UniqueItem.owner_id == current.user_id)
                        position += 1

        try:
            with_retries(write)
        except TransactWriteError as error:
            codes = cancellation_codes(error)
            if codes and codes[0] == "ConditionalCheckFailed":
                raise NotFound("The account no longer exists.") from error
            for position, kind in new_guard_at.items():
                if position < len(codes) and codes[position] == "ConditionalCheckFailed":
                    raise Conflict(f"An account with this {kind} already exists.") from error
            raise
        changes = {kind: new for kind, new, _ in swaps}
        if name is not None:
            changes["name"] = name
        return replace(current, **changes)
