"""Problem kinds, their words in English and Korean, and their answers at the edge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib import errors, messages
from chalicelib.api.edge import problem_from

ROOT = Path(__file__).resolve().parents[2]


def body(response) -> dict:
    return json.loads(response.body)


def test_every_kind_has_its_own_code_and_words():
    kinds = errors.DomainError.kinds()
    codes = [kind.code for kind in kinds]
    assert len(codes) == len(set(codes)), "two kinds share a code"
    for kind in kinds:
        text = messages.PROBLEMS[kind.code]
        assert text.status == kind.status, kind
        assert text.title_en != text.title_ko and text.detail_ko and text.when
    # nothing in the catalogue that no kind (or the edge's own 500) can answer
    assert set(messages.PROBLEMS) == set(codes) | {"internal_error"}
    assert set(messages.FIELD_WHEN) == set(messages.FIELD_CODES)
    for code, text in messages.PROBLEMS.items():  # the fallbacks need no values
        assert "{" not in text.generic_en + text.generic_ko, code


def test_docs_errors_md_is_the_catalogue():
    expected = messages.errors_markdown()
    assert (ROOT / "docs" / "errors.md").read_text(encoding="utf-8") == expected, (
        "regenerate: python -c \"from chalicelib.messages import errors_markdown; "
        "print(errors_markdown(), end='')\" > docs/errors.md")


@pytest.mark.parametrize("header, lang", [
    (None, "en"), ("", "en"), ("ko", "ko"), ("ko-KR", "ko"), ("KO-kr", "ko"), ("en-US,en;q=0.9", "en"),
    ("ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7", "ko"), ("en;q=0.8, ko;q=0.9", "ko"), ("ko;q=0", "en"),
    ("fr, ko;q=0.5", "ko"), ("*", "en"), ("ko;q=abc", "en"), (",,;;q=", "en"),
])
def test_language_negotiation(header, lang):
    assert messages.negotiate(header) == lang


def test_rate_limited_is_429_with_retry_after_in_both_languages():
    error = errors.RateLimited("Too many logins; retry in 30 seconds.", retry_after=30)
    en, ko = problem_from(error, "en"), problem_from(error, "ko")
    assert en.status_code == ko.status_code == 429
    assert en.headers["Retry-After"] == ko.headers["Retry-After"] == "30"
    assert body(en)["code"] == "rate_limited" and body(en)["type"] == "https://dongne.app/problems/rate-limited"
    assert body(en)["detail"] == "Too many logins; retry in 30 seconds."
    assert body(ko)["detail"] == "요청이 너무 많아요. 30초 뒤에 다시 시도해 주세요."
    assert ko.headers["Content-Language"] == "ko"


def test_unavailable_is_503_with_retry_after():
    response = problem_from(errors.Unavailable("The database is busy; retry shortly.", retry_after=2), "en")
    assert response.status_code == 503 and response.headers["Retry-After"] == "2"
    assert body(response)["code"] == "service_unavailable"
    assert errors.Unavailable("x", retry_after=0).retry_after == 1  # never "retry after 0 s"


def test_korean_details_fill_in_the_values_or_fall_back():
    error = errors.IllegalTransition("An order that is delivered cannot become paid.",
                                     extra={"order_status": "delivered", "requested_status": "paid"})
    assert body(problem_from(error, "ko"))["detail"] == "배송 완료 상태의 주문은 결제 완료 상태로 바꿀 수 없어요."
    assert body(problem_from(errors.IllegalTransition("x"), "ko"))["detail"] == "주문을 그 상태로 바꿀 수 없어요."
    short = [{"product_id": "p", "name": "두부", "requested": 3, "available": 1}]
    out = problem_from(errors.OutOfStock("Not enough", extra={**short[0], "shortages": short}), "ko")
    assert body(out)["detail"] == "'두부' 재고가 부족해요. 1개 남았는데 3개를 주문했어요."
    assert body(out)["shortages"] == short and body(out)["code"] == "out_of_stock"


def test_english_detail_from_the_raise_site_or_the_catalogue():
    assert body(problem_from(errors.NotFound("No such shop."), "en"))["detail"] == "No such shop."
    assert body(problem_from(errors.NotFound(), "en"))["detail"] == "No such resource."


@pytest.mark.parametrize("kind, ctx, code, en, ko", [
    ("missing", None, "required", "Required.", "필수 항목이에요."),
    ("string_type", None, "wrong_type", "Must be a string.", "문자열이어야 해요."),
    ("int_parsing", None, "wrong_type", "Must be an integer.", "정수여야 해요."),
    ("string_too_short", {"min_length": 1}, "empty", "Must not be empty.", "비워 둘 수 없어요."),
    ("string_too_long", {"max_length": 60}, "too_long", "At most 60 characters.", "60자 이하여야 해요."),
    ("greater_than_equal", {"ge": 1}, "too_small", "Must be at least 1.", "1 이상이어야 해요."),
    ("literal_error", {"expected": "'recent' or 'ranked'"}, "not_allowed",
     "Must be one of 'recent' or 'ranked'.", "'recent', 'ranked' 중 하나여야 해요."),
    ("string_pattern_mismatch", {"pattern": "^no-such-pattern$"}, "pattern",
     "Has characters or a form not allowed here.", "쓸 수 없는 문자나 형식이 들어 있어요."),
    ("some_new_pydantic_type", {}, "invalid", "Not a valid value.", "올바른 값이 아니에요."),
])
def test_field_messages(kind, ctx, code, en, ko):
    assert messages.field_problem(kind, ctx, "en") == (code, en)
    assert messages.field_problem(kind, ctx, "ko") == (code, ko)
