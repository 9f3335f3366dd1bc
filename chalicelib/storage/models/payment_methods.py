"""A customer's saved card (a PortOne billing key)."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from chalicelib.storage.base import MainItem

SAVED_CARD = "PAYMENT_METHOD#card"


class SavedCardItem(MainItem, discriminator="saved_card"):
    """Key design: ``pk = USER#<user_id>``, ``sk = PAYMENT_METHOD#card`` (beside the profile, in
    the user's partition): one GetItem when the subscription job places a period, one PutItem
    or DeleteItem when the customer changes it. At most one per user (saving again replaces it).
    Deleted when the account is closed (``events.accounts``)."""

    user_id = UnicodeAttribute()
    billing_key = UnicodeAttribute()
    issuer = UnicodeAttribute(null=True)
    last4 = UnicodeAttribute(null=True)
    saved_at = NumberAttribute()
