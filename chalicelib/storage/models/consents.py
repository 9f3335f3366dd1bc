"""Advertising consents: the one in force per (customer, shop), and every change with its time."""

from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute

from chalicelib.storage.base import MainItem

PREF_PREFIX = "SHOPPREF#"
RECORD_PREFIX = "CONSENT#"


def pref_sk(shop_id: str) -> str:
    return f"{PREF_PREFIX}{shop_id}"


def consenting_pk(shop_id: str) -> str:
    """gsi2 partition of the customers who consent to the shop's advertising (sparse)."""
    return f"ADCONSENT#{shop_id}"


class ShopPrefItem(MainItem, discriminator="shop_pref"):
    """Key design: ``pk = USER#<user_id>``, ``sk = SHOPPREF#<shop_id>`` — one GetItem for the
    customer's settings with a shop. While ``marketing`` is on, ``gsi2pk = ADCONSENT#<shop_id>``,
    ``gsi2sk = <user_id>``: a broadcast reads the shop's consenting customers as one Query per
    page of gsi2 (a customer who turns it off leaves the index)."""

    user_id = UnicodeAttribute()
    shop_id = UnicodeAttribute()
    marketing = BooleanAttribute()
    marketing_at_night = BooleanAttribute()
    consented_at = NumberAttribute(null=True)
    night_consented_at = NumberAttribute(null=True)
    updated_at = NumberAttribute()


class ConsentRecordItem(MainItem, discriminator="consent_record"):
    """Key design: ``pk = USER#<user_id>``, ``sk = CONSENT#<shop_id>#<iso time>`` — appended in
    the same transaction as the change it records, never rewritten; the proof of what the
    customer agreed to and when (a Query of the prefix lists a shop's history)."""

    user_id = UnicodeAttribute()
    shop_id = UnicodeAttribute()
    marketing = BooleanAttribute()
    marketing_at_night = BooleanAttribute()
    at = NumberAttribute()
