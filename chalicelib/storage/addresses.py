"""The address book: one item per user, written whole and conditionally."""

from __future__ import annotations

from pynamodb.exceptions import DeleteError

from chalicelib.errors import AccountClosed
from chalicelib.records.addresses import AddressBook, SavedAddress
from chalicelib.storage.accounts import PROFILE, _connection
from chalicelib.storage.models.accounts import UserItem, user_pk
from chalicelib.storage.models.addresses import ADDRESSES, AddressBookItem, AddressMap
from chalicelib.storage.retry import with_retries
from chalicelib.storage.transactions import Cancelled, Transaction


def to_book(item: AddressBookItem) -> AddressBook:
    return AddressBook(
        user_id=item.user_id, default_id=item.default_id, version=int(item.version or 0),
        addresses=tuple(SavedAddress(address_id=a.address_id, label=a.label or "", recipient=a.recipient,
                                     phone=a.phone, postal_code=a.postal_code, address1=a.address1,
                                     address2=a.address2 or "", created_at=float(a.created_at),
                                     updated_at=float(a.updated_at))
                        for a in item.addresses or ()))


class AddressesRepository:
    def get_book(self, user_id: str) -> AddressBook:
        """One strongly consistent GetItem (a change is read back at once); an empty book when
        the user has saved nothing."""
        try:
            item = with_retries(lambda: AddressBookItem.get(user_pk(user_id), ADDRESSES, consistent_read=True))
        except AddressBookItem.DoesNotExist:
            return AddressBook(user_id=user_id)
        return to_book(item)

    def save_book(self, book: AddressBook, read_version: int, now: float) -> bool:
        """Write the whole book if it is still at ``read_version`` (absent for 0) and the account
        still exists: one TransactWriteItems (the book, a check of the profile), so nothing is
        saved for an account closed meanwhile. ``False`` when another change got there first."""
        item = AddressBookItem(
            user_pk(book.user_id), ADDRESSES, user_id=book.user_id, default_id=book.default_id,
            version=book.version, updated_at=now,
            addresses=[AddressMap(address_id=a.address_id, label=a.label, recipient=a.recipient, phone=a.phone,
                                  postal_code=a.postal_code, address1=a.address1, address2=a.address2,
                                  created_at=a.created_at, updated_at=a.updated_at) for a in book.addresses])
        unchanged = (AddressBookItem.pk.does_not_exist() if read_version == 0
                     else AddressBookItem.version == read_version)
        tx = (Transaction(_connection())
              .put(item, condition=unchanged, label="book")
              .check(UserItem, user_pk(book.user_id), PROFILE, condition=UserItem.pk.exists(), label="profile"))
        try:
            tx.commit()
        except Cancelled as cancelled:
            if "profile" in cancelled:
                raise AccountClosed("The account no longer exists.") from None
            return False
        return True

    def forget(self, user_id: str) -> int:
        """Delete a closed account's address book (idempotent): 1 if there was one, else 0."""
        try:
            with_retries(lambda: AddressBookItem(user_pk(user_id), ADDRESSES).delete(
                condition=AddressBookItem.pk.exists()))
        except DeleteError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return 0
            raise
        return 1
