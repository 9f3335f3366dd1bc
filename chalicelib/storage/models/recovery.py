"""One-time codes: password reset and e-mail/phone verification (services.recovery)."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute

from chalicelib.storage.base import MainItem


def code_pk(purpose: str, subject: str) -> str:
    return f"CODE#{purpose}#{subject}"


class CodeItem(MainItem, discriminator="code"):
    """The one live code of one purpose for one subject.

    Key design: ``pk = CODE#reset#<kind>:<hash of the e-mail/phone>`` (written for known and
    unknown addresses alike, ``user_id`` absent for an unknown one) or ``CODE#verify#<user_id>``;
    ``sk = CODE``. A new code replaces the item (one PutItem); each try is one conditional
    ``ADD tries 1`` (``tries < limit`` and unexpired), so parallel guesses cannot exceed the
    limit; the right code deletes the item (conditional on its hash, so it is used once).
    Holds an HMAC of the code, never the code. ``expires_at`` (TTL) removes it a day after
    ``valid_until``.
    Nothing on the stream reacts to it.
    """

    user_id = UnicodeAttribute(null=True)
    channel = UnicodeAttribute()  # email | phone
    # Which address the code was sent to (``services.rates.identifier_subject``): a verification
    # proves only that address.
    target = UnicodeAttribute()
    code_hash = UnicodeAttribute()
    tries = NumberAttribute(default=0)
    issued_at = NumberAttribute()
    valid_until = NumberAttribute()
    expires_at = TTLAttribute(null=True)
