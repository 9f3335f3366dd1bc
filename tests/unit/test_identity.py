"""Login identifiers: one canonical form per e-mail address and phone number."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from chalicelib.schemas.accounts import EMAIL_PATTERN, PHONE_PATTERN
from chalicelib.services.identity import normalize_email, normalize_phone


@pytest.mark.parametrize("spelling", [
    "minji@dongne.kr", "MINJI@Dongne.KR", " minji@dongne.kr ", "ｍｉｎｊｉ@dongne.kr", "ＭＩＮＪＩ＠ＤＯＮＧＮＥ.ＫＲ",
    "min\u200bji@dongne.kr", "\u200dminji@dongne.kr\ufeff", "minji@dongne.kr.", "MINJI@DONGNE.KR.",
    "minji@dongne.kr．",
])
def test_email_look_alikes_are_one_address(spelling):
    assert normalize_email(spelling) == "minji@dongne.kr"


def test_email_folds_case_beyond_ascii_lowercase():
    assert normalize_email("STRASSE@dongne.kr") == normalize_email("strasse@dongne.kr")
    assert normalize_email("ﬁnd@dongne.kr") == "find@dongne.kr"  # the ligature is two letters


@pytest.mark.parametrize("mixed", ["mіnji@dongne.kr", "민지@dongne.kr"])  # Cyrillic і; Hangul
def test_non_ascii_addresses_are_refused(mixed):
    with pytest.raises(ValueError):
        normalize_email(mixed)


@given(st.emails())
def test_email_normalisation_is_idempotent(email):
    try:
        once = normalize_email(email)
    except ValueError:
        return
    assert normalize_email(once) == once


@pytest.mark.parametrize("spelling", [
    "010-1234-5678", "01012345678", "010 1234 5678", "+821012345678", "+82 10-1234-5678", "+82 010-1234-5678",
    "+82-10-1234-5678", "(010) 1234-5678", "０１０-１２３４-５６７８",
])
def test_korean_mobile_spellings_are_one_number(spelling):
    assert normalize_phone(spelling) == "+821012345678"


@pytest.mark.parametrize("number, e164", [
    ("02-123-4567", "+8221234567"), ("031-123-4567", "+82311234567"), ("+1 415 555 0101", "+14155550101"),
])
def test_landlines_and_other_countries(number, e164):
    assert normalize_phone(number) == e164


@pytest.mark.parametrize("bad", ["1012345678", "0012345678", "+12", "+1234567890123456", "010-1234-567a", "0",
                                 "+82 0 0000000", "+82 00 1234 5678", "+82012345"])
def test_numbers_that_cannot_be_placed_are_refused(bad):
    with pytest.raises(ValueError):
        normalize_phone(bad)


@settings(max_examples=300, deadline=None)
@given(st.from_regex(EMAIL_PATTERN, fullmatch=True))
def test_every_address_the_document_admits_has_one_form(email):
    """The schema's pattern promises nothing the normaliser then refuses (and the reverse for
    the look-alikes it exists for)."""
    folded = normalize_email(email)
    assert folded.isascii() and folded.count("@") == 1 and normalize_email(folded) == folded


@settings(max_examples=300, deadline=None)
@given(st.from_regex(PHONE_PATTERN, fullmatch=True))
@example("+82 010 1234 5678")
@example("+8201234567")  # the shortest +82 0 the pattern admits: 8 digits once the 0 is dropped
@example("+82 1234 5678")
@example("+1 415 555 0101")
def test_every_number_the_document_admits_has_one_form(phone):
    e164 = normalize_phone(phone)
    assert e164.startswith("+") and 8 <= len(e164) - 1 <= 15 and normalize_phone(e164) == e164


@pytest.mark.parametrize("spelling", ["010-1234-5678", "+82 10-1234-5678", "+82 010-1234-5678", "02-123-4567",
                                      "+1 415 555 0101"])
def test_the_document_admits_the_usual_spellings(spelling):
    assert re.fullmatch(PHONE_PATTERN, spelling)


def test_the_document_admits_full_width_look_alikes_and_refuses_other_scripts():
    assert re.fullmatch(EMAIL_PATTERN, "ｍｉｎｊｉ＠ｄｏｎｇｎｅ．ｋｒ") and re.fullmatch(EMAIL_PATTERN, "minji@dongne.kr")
    assert not re.fullmatch(EMAIL_PATTERN, "mіnji@dongne.kr") and not re.fullmatch(EMAIL_PATTERN, "min ji@dongne.kr")


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="+0123456789 -().０８２", max_size=24))
@example("+82 0 0000000")  # once normalised to +820000000, which normalised again to +82000000
@example("+820 10 1234 5678")
def test_normalising_a_normalised_number_changes_nothing(spelling):
    try:
        once = normalize_phone(spelling)
    except ValueError:
        return
    assert normalize_phone(once) == once


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="+0123456789 -", min_size=1, max_size=20))
@example("+82 0 0000000")
@example("+82012345")
def test_what_the_document_admits_the_normaliser_takes(spelling):
    """Found by trying every short spelling, not only those made from the pattern."""
    if re.fullmatch(PHONE_PATTERN, spelling):
        once = normalize_phone(spelling)
        assert normalize_phone(once) == once
