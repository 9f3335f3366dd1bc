"""The address book (배송지 목록): a user's saved delivery addresses, one of them the default.

The whole book is one record, read whole and written whole (``AddressBookStore``): the only
reader is its owner (the list, and an order naming an ``address_id``), it is small (at most
``MAX_ADDRESSES``), and keeping it in one item makes its rules hold by construction — at most
20 entries, exactly one default (the book names it) — with one conditional write per change.
A write is conditional on the version read; a racing change makes it read again and reapply,
so no change is lost and no rule is broken by a race.

Rules: the first address is the default; adding or editing one with ``is_default: true``
makes it the default (the old one stops being it, in the same write); the default cannot be
unset by itself (make another one the default); deleting the default makes the oldest
remaining address the default. Another user's address id names nothing here (404).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Protocol

from chalicelib.errors import FieldProblem, Invalid, NotFound, TooManyAddresses, Unavailable
from chalicelib.ids import new_id
from chalicelib.records.addresses import AddressBook, SavedAddress
from chalicelib.services.limits import MAX_ADDRESSES

SAVE_ATTEMPTS = 3
FIELDS = ("label", "recipient", "phone", "postal_code", "address1", "address2")


class AddressBookStore(Protocol):
    def get_book(self, user_id: str) -> AddressBook: ...
    def save_book(self, book: AddressBook, read_version: int, now: float) -> bool: ...
    def forget(self, user_id: str) -> int: ...


def entries(book: AddressBook) -> list[dict[str, Any]]:
    """The book as the API shows it: each address with ``is_default``, oldest first (by id: ids
    sort by creation time)."""
    return [{**{name: getattr(a, name) for name in ("address_id", *FIELDS, "created_at", "updated_at")},
             "is_default": a.address_id == book.default_id}
            for a in sorted(book.addresses, key=lambda a: a.address_id)]


def entry(book: AddressBook, address_id: str) -> dict[str, Any]:
    return next(e for e in entries(book) if e["address_id"] == address_id)


def list_addresses(store: AddressBookStore, user_id: str) -> AddressBook:
    return store.get_book(user_id)


def _save(store: AddressBookStore, user_id: str, change, now: float) -> AddressBook:
    """Read the book, apply ``change`` (book → new book), write it if nobody wrote meanwhile."""
    for _ in range(SAVE_ATTEMPTS):
        book = store.get_book(user_id)
        changed = change(book)
        if changed is book:
            return book
        if store.save_book(replace(changed, version=book.version + 1), book.version, now):
            return replace(changed, version=book.version + 1)
    raise Unavailable("The address book is being changed concurrently; retry shortly.")


def add_address(store: AddressBookStore, user_id: str, fields: dict[str, Any], *, is_default: bool,
                now: float) -> tuple[AddressBook, str]:
    """Save a new address; the book and the new id. The first one is the default whatever
    ``is_default`` says. A full book → ``TooManyAddresses`` (409 ``too_many_addresses``)."""
    address_id = new_id()
    saved = SavedAddress(address_id=address_id, created_at=now, updated_at=now,
                         **{name: fields.get(name, "") or "" for name in FIELDS})

    def add(book: AddressBook) -> AddressBook:
        if len(book.addresses) >= MAX_ADDRESSES:
            raise TooManyAddresses(f"An address book holds at most {MAX_ADDRESSES} addresses; delete one before "
                                   "adding another.", extra={"limit": MAX_ADDRESSES})
        default = address_id if is_default or book.default is None else book.default_id
        return replace(book, addresses=(*book.addresses, saved), default_id=default)

    return _save(store, user_id, add, now), address_id


def _not_found() -> NotFound:
    return NotFound("No such address in your address book.")


def edit_address(store: AddressBookStore, user_id: str, address_id: str, changes: dict[str, Any],
                 now: float) -> AddressBook:
    """Change some fields; ``is_default: true`` makes it the default, ``false`` on the default
    is refused (422: make another one the default instead)."""
    def edit(book: AddressBook) -> AddressBook:
        current = book.get(address_id)
        if current is None:
            raise _not_found()
        make_default = changes.get("is_default")
        if make_default is False and book.default_id == address_id:
            raise Invalid("The request body has invalid fields.", errors=[FieldProblem(
                "body.is_default", "One address is always the default; make another one the default instead.",
                code="default_required")])
        fields = {name: changes[name] for name in FIELDS if name in changes}
        default = address_id if make_default else book.default_id
        if not fields and default == book.default_id:
            return book
        edited = replace(current, **fields, updated_at=now) if fields else current
        return replace(book, default_id=default,
                       addresses=tuple(edited if a.address_id == address_id else a for a in book.addresses))

    return _save(store, user_id, edit, now)


def remove_address(store: AddressBookStore, user_id: str, address_id: str, now: float) -> AddressBook:
    """Delete one address (orders placed with it keep their copy). Deleting the default makes
    the oldest remaining address the default."""
    def remove(book: AddressBook) -> AddressBook:
        if book.get(address_id) is None:
            raise _not_found()
        rest = tuple(a for a in book.addresses if a.address_id != address_id)
        oldest = min((a.address_id for a in rest), default=None)
        default = book.default_id if book.default_id != address_id else oldest
        return replace(book, addresses=rest, default_id=default)

    return _save(store, user_id, remove, now)
