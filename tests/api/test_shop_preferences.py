"""Consent to a shop's advertising messages (광고성 정보 수신 동의), per customer and shop.

GIVEN a shop and a customer, WHEN the customer reads and sets her consent, THEN it is off until
she turns it on, night-time advertising is a separate consent that needs the first, every
change is kept with its time (and setting the same again writes nothing), the shop's
consenting customers are listed from the index the consent keeps, and a closed account's
consents are gone. Runs on moto and on DynamoDB Local.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from chalicelib.wiring import container
from tests.api.conftest import assert_problem
from tests.clock import TestClock


def pref_path(shop_id: str) -> str:
    return f"/me/shop-preferences/{shop_id}"


def consenting(shop_id: str) -> list[str]:
    return container().consents.consenting(shop_id, None, 100).items


@pytest.fixture
def clock(monkeypatch):
    from chalicelib import clock as app_clock

    return TestClock(monkeypatch, app_clock.now())


def test_off_until_turned_on_and_each_change_recorded_with_its_time(api, owner, user, clock):
    shop_id, me = owner["shop"]["shop_id"], user["token"]
    assert api.get(pref_path(shop_id), token=me).body == {
        "shop_id": shop_id, "marketing": False, "marketing_at_night": False, "consented_at": None,
        "marketing_at_night_consented_at": None}
    assert consenting(shop_id) == []
    on = api.put(pref_path(shop_id), {"marketing": True}, token=me)
    assert on.status == 200 and on.body["marketing"] is True and on.body["marketing_at_night"] is False
    given = datetime.fromisoformat(on.body["consented_at"]).timestamp()
    assert abs(given - clock.now) < 0.01 and on.body["marketing_at_night_consented_at"] is None
    assert api.get(pref_path(shop_id), token=me).body == on.body
    assert consenting(shop_id) == [user["user"]["user_id"]]

    clock.now += 3600
    again = api.put(pref_path(shop_id), {"marketing": True}, token=me)  # the same: nothing written
    assert again.body == on.body
    clock.now += 3600
    night = api.put(pref_path(shop_id), {"marketing": True, "marketing_at_night": True}, token=me)
    assert night.body["consented_at"] == on.body["consented_at"]  # the first consent's time stays
    assert datetime.fromisoformat(night.body["marketing_at_night_consented_at"]).timestamp() == pytest.approx(
        clock.now, abs=0.01)
    clock.now += 3600
    off = api.put(pref_path(shop_id), {"marketing": False}, token=me)
    assert (off.body["marketing"], off.body["marketing_at_night"], off.body["consented_at"]) == (False, False, None)
    assert consenting(shop_id) == []
    records = container().consents.records(user["user"]["user_id"], shop_id)
    assert [(r.marketing, r.marketing_at_night) for r in records] == [(True, False), (True, True), (False, False)]
    assert [r.at for r in records] == sorted(r.at for r in records) and records[-1].at == pytest.approx(clock.now)


def test_night_time_needs_the_first_consent_and_bad_input_changes_nothing(api, owner, user):
    shop_id, me = owner["shop"]["shop_id"], user["token"]
    problem = assert_problem(api.put(pref_path(shop_id), {"marketing": False, "marketing_at_night": True},
                                     token=me), 422)
    assert problem["errors"][0]["code"] == "night_needs_marketing"
    for body in ({}, {"marketing": "yes"}, {"marketing": 1}, {"marketing": True, "extra": 1}, []):
        assert_problem(api.put(pref_path(shop_id), body, token=me), 422)
    assert api.get(pref_path(shop_id), token=me).body["marketing"] is False
    assert container().consents.records(user["user"]["user_id"], shop_id) == []


def test_an_unknown_shop_is_404_the_owner_is_refused_and_a_token_is_needed(api, owner, user):
    assert_problem(api.get(pref_path("01NOSUCHSHOP0000000000000A"), token=user["token"]), 404)
    assert_problem(api.put(pref_path("01NOSUCHSHOP0000000000000A"), {"marketing": True}, token=user["token"]), 404)
    shop_id = owner["shop"]["shop_id"]
    problem = assert_problem(api.put(pref_path(shop_id), {"marketing": True}, token=owner["token"]), 403)
    assert problem["code"] == "own_shop_consent"
    assert api.get(pref_path(shop_id)).status == 401


def test_consent_is_per_shop_and_a_closed_account_leaves_none(api, owner, user, drain_stream):
    other = api.signup(name="이꽃님")
    other_shop = api.open_shop(other["token"], name="연남 꽃집")["shop_id"]
    shop_id = owner["shop"]["shop_id"]
    assert api.put(pref_path(shop_id), {"marketing": True}, token=user["token"]).status == 200
    assert api.get(pref_path(other_shop), token=user["token"]).body["marketing"] is False
    assert consenting(other_shop) == []
    assert api.delete("/me", token=user["token"]).status == 204
    drain_stream()
    assert consenting(shop_id) == []
    assert container().consents.records(user["user"]["user_id"], shop_id) == []
