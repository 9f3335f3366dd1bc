"""The request schemas the document publishes and the server's validators agree: a body the
schema allows is accepted, one it excludes is refused (validated with ``jsonschema``, as a
client or a fuzzer reads the document)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from chalicelib.errors import Invalid
from chalicelib.schemas.posts import PostCreate, PostUpdate
from chalicelib.schemas.shops import ShopUpdate
from chalicelib.schemas.store_links import FIXED_MAX, FIXED_MIN, PERCENT_MAX, PERCENT_MIN, RewardSettingIn
from chalicelib.services.posts import _require_content

KEY = "uploads/u1/01JDQ7ZK3M8X2V5N4P6R9T0W1Y.jpg"
# White space in one dialect or another, and look-alikes that are not white space anywhere.
SPACES = ["", " ", "\t\n", "\u3000", "\xa0", "\u2028", "\u200a", "\u205f", "\ufeff", " \ufeff "]
NOT_SPACES = ["a", " 두부 ", "\u200b", "\u180e", "\u2060", "ㅤ"]


def validator(model: Any) -> Draft202012Validator:
    return Draft202012Validator(model.model_json_schema())


def accepted(model: Any, body: dict) -> bool:
    try:
        model.model_validate(body)
    except ValidationError:
        return False
    return True


SHOP_UPDATE = validator(ShopUpdate)


@given(st.sampled_from(["percent", "fixed", "gift"]), st.integers(-10, 60_000))
def test_a_reward_setting_is_in_the_document_exactly_when_it_is_accepted(kind, value):
    body = {"referral_reward": {"kind": kind, "value": value}}
    assert SHOP_UPDATE.is_valid(body) == accepted(ShopUpdate, body), body


@pytest.mark.parametrize(("kind", "low", "high"), [("percent", PERCENT_MIN, PERCENT_MAX), ("fixed", FIXED_MIN, FIXED_MAX)])
def test_each_kind_states_its_bounds(kind, low, high):
    for value, ok in ((low - 1, False), (low, True), (high, True), (high + 1, False)):
        body = {"referral_reward": {"kind": kind, "value": value}}
        assert SHOP_UPDATE.is_valid(body) is ok and accepted(ShopUpdate, body) is ok, body
    # the other fields the setting refuses, the schema refuses too
    for bad in ({"kind": kind}, {"kind": kind, "value": low, "x": 1}, {"kind": kind, "value": str(low)}):
        body = {"referral_reward": bad}
        assert not SHOP_UPDATE.is_valid(body) and not accepted(ShopUpdate, body), body
    schema = RewardSettingIn.model_json_schema()
    assert schema["discriminator"]["propertyName"] == "kind"
    assert {(d["properties"]["kind"]["const"], d["properties"]["value"]["minimum"], d["properties"]["value"]["maximum"])
            for d in schema["$defs"].values()} == {("percent", PERCENT_MIN, PERCENT_MAX), ("fixed", FIXED_MIN, FIXED_MAX)}


def post_accepted(body: dict) -> bool:
    """What ``POST /shops/{shop_id}/posts`` does with ``body`` before it looks at the uploads."""
    try:
        post = PostCreate.model_validate(body)
        _require_content(post.text, post.photos)
    except (ValidationError, Invalid):
        return False
    return True


@pytest.mark.parametrize("text", [*SPACES, *NOT_SPACES, None])
@pytest.mark.parametrize("photos", [None, [], [KEY]])
def test_a_post_is_in_the_document_exactly_when_it_has_text_or_a_photo(text, photos):
    body = {k: v for k, v in (("text", text), ("photos", photos)) if v is not None}
    expected = text in NOT_SPACES or bool(photos)
    assert validator(PostCreate).is_valid(body) is expected, body
    assert post_accepted(body) is expected, body


@pytest.mark.parametrize("text", [*SPACES, *NOT_SPACES])
def test_an_edit_to_blank_text_and_no_photos_is_excluded(text):
    body = {"text": text, "photos": []}
    expected = text in NOT_SPACES
    assert validator(PostUpdate).is_valid(body) is expected, body
    update = PostUpdate.model_validate(body)  # the shape is fine; what it leaves is not
    changes = update.model_dump(exclude_unset=True, exclude_none=True)
    if expected:
        _require_content(changes["text"], changes["photos"])
    else:
        with pytest.raises(Invalid) as refused:
            _require_content(changes["text"], changes["photos"])
        assert [(e.field, e.code) for e in refused.value.errors] == [("body.text", "text_or_photo")]
    # null (keep what is there) and one field alone are for the post to say
    assert validator(PostUpdate).is_valid({"text": None, "photos": None})
    assert validator(PostUpdate).is_valid({"text": text})
