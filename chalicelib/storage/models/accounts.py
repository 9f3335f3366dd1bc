"""Users, shops and the uniqueness guards of e-mail, phone and shop handle."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute

from chalicelib.storage.base import MainItem
from chalicelib.storage.quiet import QuietWrites


def user_pk(user_id: str) -> str:
    return f"USER#{user_id}"


def shop_pk(shop_id: str) -> str:
    return f"SHOP#{shop_id}"


def unique_pk(kind: str, value: str) -> str:
    return f"UNIQUE#{kind}#{value}"


class UserItem(MainItem, discriminator="user"):
    """A person with an account.

    Key design: ``pk = USER#<user_id>``, ``sk = PROFILE``. Found by e-mail or phone through
    the ``UniqueItem`` guards (GetItem, strongly consistent), never through an index.
    Deleted (with its guards) when the account is closed; its REMOVE on the stream starts the
    clean-up (``events.accounts``).
    """

    user_id = UnicodeAttribute()
    name = UnicodeAttribute()
    email = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)
    password_hash = UnicodeAttribute()
    shop_id = UnicodeAttribute(null=True)
    created_at = NumberAttribute()
    updated_at = NumberAttribute()
    # How many shops the user follows: changes only in the follow/unfollow transaction.
    following_count = NumberAttribute(default=0)
    # Token state, read (strongly consistent) by the edge on every signed-in request: tokens
    # of an older version are dead (a password change adds 1); tokens logged out one by one
    # are listed as "<expires_at>:<token id>" until they expire (expired entries are pruned
    # by the next logout).
    token_version = NumberAttribute(default=0)
    revoked_tokens: ListAttribute[Any] = ListAttribute(of=UnicodeAttribute, null=True)
    # When the e-mail / phone was proven by a code sent to it (services.recovery); removed in
    # the update that changes the address. Absent: unverified (outbound e-mail/SMS skip it).
    email_verified_at = NumberAttribute(null=True)
    phone_verified_at = NumberAttribute(null=True)


class UniqueItem(MainItem, discriminator="unique"):
    """A uniqueness guard: exists while its value (e-mail, phone, shop handle) is taken.

    Key design: ``pk = UNIQUE#<kind>#<value>``, ``sk = UNIQUE``; written in the same
    transaction as its owner with ``attribute_not_exists(pk)``, so two racing sign-ups
    (or two racing shops with one handle) cannot both win.
    """

    kind = UnicodeAttribute()
    owner_id = UnicodeAttribute()


class DeliveryMap(MapAttribute):
    fee = NumberAttribute()
    free_over = NumberAttribute(null=True)


class PickupMap(MapAttribute):
    address = UnicodeAttribute()
    hours = UnicodeAttribute(default="")


class FulfilmentMap(MapAttribute):
    """A shop's fulfilment settings: ``delivery`` and/or ``pickup`` (absent: not offered)."""

    delivery = DeliveryMap(null=True)
    pickup = PickupMap(null=True)


class BankAccountMap(MapAttribute):
    bank = UnicodeAttribute()
    number = UnicodeAttribute()
    holder = UnicodeAttribute()


class ShopItem(QuietWrites, MainItem, discriminator="shop"):
    """A shop, owned by exactly one user.

    Key design: ``pk = SHOP#<shop_id>``, ``sk = PROFILE``. The shop's partition also holds
    its follower edges (``FOLLOWER#<user_id>``), so fan-out reads them with one Query.
    Counters (``follower_count``, ``post_count``) change only inside the transaction that
    writes the edge or the post, so they stay exact.
    """

    QUIET = frozenset({"post_count"})  # discovery reads the name, handle, region and follower_count

    shop_id = UnicodeAttribute()
    owner_id = UnicodeAttribute()
    name = UnicodeAttribute()
    handle = UnicodeAttribute()
    bio = UnicodeAttribute(default="")
    region = UnicodeAttribute(default="")
    follower_count = NumberAttribute(default=0)
    post_count = NumberAttribute(default=0)
    created_at = NumberAttribute()
    updated_at = NumberAttribute()
    # Percent off every subscription order (정기배송 할인), 0-20; set by the owner.
    subscription_discount_percent = NumberAttribute(default=0)
    # The store-link reward (``percent`` 1-30 or ``fixed`` won), both absent for none. Orders
    # credited to a link check these in their transaction, so a change applies at once.
    referral_kind = UnicodeAttribute(null=True)
    referral_value = NumberAttribute(null=True)
    # Checkout, set by the owner (absent on shops that never set them: see
    # services.fulfilment for the defaults). The order copies what it needs when placed.
    fulfilment = FulfilmentMap(null=True)
    bank_account = BankAccountMap(null=True)
    bank_transfer_hours = NumberAttribute(null=True)
    # 단골 우대: ``percent`` (1-50) or ``free_shipping`` (value 0) for customers whose tier is
    # regular, both absent for none; orders check the shop's ``updated_at``, so a change applies at once.
    perk_kind = UnicodeAttribute(null=True)
    perk_value = NumberAttribute(null=True)
    posting_nudge_days = NumberAttribute(null=True)  # absent: the default (7)
    # Set (with ``updated_at``) in the transaction that closes the owner's account: follows check
    # it is absent, and orders check ``updated_at``, so the shop is closed from that commit on.
    closed_at = NumberAttribute(null=True)
