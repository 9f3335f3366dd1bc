"""A customer's address book (배송지 목록), as services and storage pass it."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.records.commerce import Address


@dataclass(frozen=True)
class SavedAddress:
    """One entry of the book. An order copies its fields (``as_address``), so editing or
    deleting the entry later never changes an order placed with it."""

    address_id: str
    label: str  # "집", "회사"... ("" when none)
    recipient: str
    phone: str  # E.164, normalised like an account's
    postal_code: str  # 5 digits
    address1: str
    address2: str
    created_at: float
    updated_at: float

    def as_address(self) -> Address:
        return Address(recipient=self.recipient, phone=self.phone, postal_code=self.postal_code,
                       address1=self.address1, address2=self.address2)


@dataclass(frozen=True)
class AddressBook:
    """All of one user's addresses, oldest first, and which one is the default.

    ``version`` counts the saved changes: a write is conditional on the version it read, so
    two racing edits cannot lose one another (the loser reads again and reapplies). An empty
    book (never written, or erased) has version 0.
    """

    user_id: str
    addresses: tuple[SavedAddress, ...] = ()
    default_id: str | None = None
    version: int = 0

    def get(self, address_id: str) -> SavedAddress | None:
        return next((a for a in self.addresses if a.address_id == address_id), None)

    @property
    def default(self) -> SavedAddress | None:
        return self.get(self.default_id) if self.default_id else None
