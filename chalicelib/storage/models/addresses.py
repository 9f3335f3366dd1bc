"""A customer's address book (배송지 목록)."""

from __future__ import annotations

from pynamodb.attributes import ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute

from chalicelib.storage.base import MainItem

ADDRESSES = "ADDRESSES"


class AddressMap(MapAttribute):
    """One saved address (an order copies these fields; it never points here)."""

    address_id = UnicodeAttribute()
    label = UnicodeAttribute(default="")
    recipient = UnicodeAttribute()
    phone = UnicodeAttribute()
    postal_code = UnicodeAttribute()
    address1 = UnicodeAttribute()
    address2 = UnicodeAttribute(default="")
    created_at = NumberAttribute()
    updated_at = NumberAttribute()


class AddressBookItem(MainItem, discriminator="address_book"):
    """All of one user's saved addresses, in one item.

    Key design: ``pk = USER#<user_id>``, ``sk = ADDRESSES`` (beside the profile, in the user's
    partition). Read whole with one GetItem — by its owner's list and by an order naming an
    ``address_id`` — and written whole with one conditional write on ``version`` (the version
    read), so the book's rules (at most 20 entries, exactly one default, named by
    ``default_id``) hold under concurrent edits. At most 20 entries of a few hundred bytes:
    well under the 400 KB item limit, typically under one 4 KB read unit. Absent until the
    first address is saved; deleted when the account is closed (``events.accounts``).
    """

    user_id = UnicodeAttribute()
    addresses = ListAttribute(of=AddressMap, default=list)
    default_id = UnicodeAttribute(null=True)
    version = NumberAttribute(default=0)
    updated_at = NumberAttribute()
