"""Login identifiers in one canonical form, so one person cannot hold two accounts by spelling.

The uniqueness guards (``UNIQUE#email#<value>``, ``UNIQUE#phone#<value>``) compare strings, so
every e-mail address and phone number is brought to one form before it reaches them — on
sign-up, on login and on a profile change alike:

* **E-mail**: format characters (zero-width spaces and joiners, Unicode category Cf) are
  dropped, then NFKC and case folding (``NFKC(casefold(NFKC(x)))``, Unicode's caseless match
  with compatibility forms): ``ｍｉｎｊｉ@Dongne.KR`` and ``minji@dongne.kr`` are one address.
  What is left must be ASCII: NFKC cannot fold mixed-script look-alikes (a Cyrillic ``а`` for
  a Latin ``a``), and Korean shoppers' addresses are ASCII in practice, so a non-ASCII address
  is refused (422) rather than allowed to shadow another. A dot ending the domain (the DNS
  root: ``minji@dongne.kr.`` reaches the same mailbox as ``minji@dongne.kr``) is dropped.
  Accounts stored before that fold (0.7) keep their spelling with the dot:
  ``earlier_spellings`` names it, so login finds them by either form and a new account cannot
  take the same mailbox without the dot.
* **Phone**: E.164 (``+821012345678``). Without a ``+`` the number is Korean and written with
  its trunk 0 (``010-1234-5678``, ``02-123-4567``); with ``+82`` a trunk 0 written after the
  country code (``+82 010 ...``, a common habit) is dropped; the national number after it never
  starts with 0 (``+82 00...`` is refused), so normalising a normalised number changes nothing.
  Other country codes are kept as given. 8 to 15 digits in all (E.164's maximum is 15).

Pure functions; ``ValueError`` with a short reason for what cannot be normalised.
"""

from __future__ import annotations

import re
import unicodedata

KOREA = "82"
_PHONE_CHARS = re.compile(r"^\+?[0-9 ()\-.]+$")


def normalize_email(value: str) -> str:
    text = "".join(ch for ch in value if unicodedata.category(ch) != "Cf")
    text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold()).strip()
    if not text.isascii():
        raise ValueError("use an e-mail address written in ASCII letters")
    rootless = text.rstrip(".")  # the DNS root: the same domain
    if "." in rootless.rpartition("@")[2]:
        text = rootless
    return text


def earlier_spellings(kind: str, value: str) -> tuple[str, ...]:
    """Other forms the same identifier may be stored under, written before a fold tightened:
    an e-mail address with the dot of the DNS root (stored before 0.7). Login looks them up when
    the canonical form is not found; sign-up and a profile change refuse an address one of them
    holds (``storage.accounts``)."""
    return (value + ".",) if kind == "email" else ()


def normalize_phone(value: str) -> str:
    text = unicodedata.normalize("NFKC", value).strip()
    if not _PHONE_CHARS.match(text):
        raise ValueError("use digits, spaces and hyphens, with an optional leading +")
    digits = "".join(ch for ch in text if ch.isdigit())
    if text.startswith("+"):
        if digits.startswith(KOREA + "0"):
            digits = KOREA + digits[len(KOREA) + 1:]
            if digits.startswith(KOREA + "0"):
                # Only one trunk 0 exists: "+82 0 0..." is no Korean number, and dropping a
                # second 0 would make the result normalise again to something else.
                raise ValueError("after +82, write the number without its leading 0, or with one 0")
        e164 = digits
    else:
        if not digits.startswith("0") or digits.startswith("00"):
            raise ValueError("write a Korean number with its leading 0 (010-1234-5678) or start with +country code")
        e164 = KOREA + digits[1:]
    if not 8 <= len(e164) <= 15:
        raise ValueError("a phone number has 8 to 15 digits with its country code")
    return "+" + e164
