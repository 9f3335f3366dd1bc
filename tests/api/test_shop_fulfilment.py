"""A shop's checkout settings through PATCH /shops/{id}: delivery, pickup, bank account, hours.

GIVEN a shop, WHEN its owner sets how orders are handed over and paid, THEN the public shop shows
what is offered (never the bank account), the owner's checkout settings show everything, a shop
that never set it offers pickup at the shop, and bad settings are 422 problems with stable codes.
"""

from __future__ import annotations

import pytest

from tests.api.conftest import assert_problem

DELIVERY = {"fee": 3000, "free_over": 30000}
PICKUP = {"address": "서울 마포구 망원로 12, 1층", "hours": "매일 10:00-19:00"}
ACCOUNT = {"bank": "신한은행", "number": "110-123-456789", "holder": "박두부"}


def patch(api, owner, body, **kw):
    return api.patch(f"/shops/{owner['shop']['shop_id']}", body, token=owner["token"], **kw)


def settings(api, owner, token=None):
    return api.get(f"/shops/{owner['shop']['shop_id']}/checkout-settings", token=token or owner["token"])


def test_a_shop_that_never_set_it_offers_pickup_at_the_shop_and_card_only(api, owner):
    shop = api.get(f"/shops/{owner['shop']['shop_id']}").body
    assert shop["fulfilment"] == {"delivery": None, "pickup": {"address": "망원동 두부가게 (서울 마포구)", "hours": ""}}
    assert shop["payment_methods"] == ["card"] and shop["bank_transfer_hours"] == 24
    assert "bank_account" not in shop
    mine = settings(api, owner).body
    assert mine["fulfilment_set"] is False and mine["bank_account"] is None and mine["fulfilment"] == shop["fulfilment"]


def test_owner_sets_delivery_pickup_and_a_bank_account(api, owner):
    answer = patch(api, owner, {"fulfilment": {"delivery": DELIVERY, "pickup": PICKUP}, "bank_account": ACCOUNT,
                                "bank_transfer_hours": 48})
    assert answer.status == 200, answer.body
    public = api.get(f"/shops/{owner['shop']['shop_id']}").body
    assert public == answer.body
    assert public["fulfilment"] == {"delivery": DELIVERY, "pickup": PICKUP}
    assert public["payment_methods"] == ["card", "bank_transfer"] and public["bank_transfer_hours"] == 48
    assert "110-123-456789" not in str(public)  # the account is on the order's payment, not the public shop
    mine = settings(api, owner).body
    assert mine == {"fulfilment": {"delivery": DELIVERY, "pickup": PICKUP}, "fulfilment_set": True,
                    "bank_account": ACCOUNT, "bank_transfer_hours": 48, "payment_methods": ["card", "bank_transfer"]}


def test_fulfilment_is_replaced_whole_and_the_bank_account_can_be_removed(api, owner):
    patch(api, owner, {"fulfilment": {"delivery": DELIVERY, "pickup": PICKUP}, "bank_account": ACCOUNT})
    answer = patch(api, owner, {"fulfilment": {"delivery": {"fee": 0}}, "bank_account": None})
    assert answer.status == 200, answer.body
    assert answer.body["fulfilment"] == {"delivery": {"fee": 0, "free_over": None}, "pickup": None}
    assert answer.body["payment_methods"] == ["card"]
    assert settings(api, owner).body["bank_account"] is None
    unrelated = patch(api, owner, {"bio": "새 소개"})  # other edits leave the settings as they are
    assert unrelated.body["fulfilment"] == answer.body["fulfilment"] and unrelated.body["bank_transfer_hours"] == 24


def test_only_the_owner_sets_or_reads_them(api, owner):
    stranger = api.signup()
    shop_id = owner["shop"]["shop_id"]
    assert_problem(api.patch(f"/shops/{shop_id}", {"bank_account": ACCOUNT}, token=stranger["token"]), 403)
    assert assert_problem(settings(api, owner, token=stranger["token"]), 403)["code"] == "forbidden"
    assert api.get(f"/shops/{shop_id}/checkout-settings").status == 401
    assert_problem(api.get("/shops/NOSUCHSHOP/checkout-settings", token=owner["token"]), 404)
    assert settings(api, owner).body["bank_account"] is None


@pytest.mark.parametrize("body, field, code", [
    ({"fulfilment": {}}, "body.fulfilment", "delivery_or_pickup"),
    ({"fulfilment": {"delivery": None, "pickup": None}}, "body.fulfilment", "delivery_or_pickup"),
    ({"fulfilment": None}, "body.fulfilment", "not_null"),
    ({"fulfilment": {"delivery": {"fee": -1}}}, "body.fulfilment.delivery.fee", "too_small"),
    ({"fulfilment": {"delivery": {"fee": 100_001}}}, "body.fulfilment.delivery.fee", "too_large"),
    ({"fulfilment": {"delivery": {"fee": "3000"}}}, "body.fulfilment.delivery.fee", "wrong_type"),
    ({"fulfilment": {"delivery": {"fee": 3000.5}}}, "body.fulfilment.delivery.fee", "wrong_type"),
    ({"fulfilment": {"delivery": {"fee": 3000, "free_over": 0}}}, "body.fulfilment.delivery.free_over", "too_small"),
    ({"fulfilment": {"delivery": {"fee": 3000, "free_over": 10_000_001}}}, "body.fulfilment.delivery.free_over",
     "too_large"),
    ({"fulfilment": {"delivery": {}}}, "body.fulfilment.delivery.fee", "required"),
    ({"fulfilment": {"pickup": {"address": "  "}}}, "body.fulfilment.pickup.address", "pattern"),
    ({"fulfilment": {"pickup": {"address": "가게", "hours": "가" * 101}}}, "body.fulfilment.pickup.hours",
     "too_long"),
    ({"fulfilment": {"courier": {"fee": 1}}}, "body.fulfilment.courier", "unknown_field"),
    ({"bank_account": {"bank": "신한", "number": "110-abc", "holder": "박"}}, "body.bank_account.number", "pattern"),
    ({"bank_account": {"bank": "신한", "number": "110-123-456789"}}, "body.bank_account.holder", "required"),
    ({"bank_transfer_hours": 0}, "body.bank_transfer_hours", "too_small"),
    ({"bank_transfer_hours": 73}, "body.bank_transfer_hours", "too_large"),
    ({"bank_transfer_hours": None}, "body.bank_transfer_hours", "not_null"),
])
def test_bad_settings_are_422_with_the_field_and_its_code(api, owner, body, field, code):
    answer = assert_problem(patch(api, owner, body), 422)
    assert answer["code"] == "validation_failed"
    assert (field, code) in [(e["field"], e["code"]) for e in answer["errors"]], answer["errors"]
    assert settings(api, owner).body["fulfilment_set"] is False


def test_bounds_are_inclusive(api, owner):
    answer = patch(api, owner, {"fulfilment": {"delivery": {"fee": 100_000, "free_over": 10_000_000}},
                                "bank_transfer_hours": 72})
    assert answer.status == 200, answer.body
    answer = patch(api, owner, {"fulfilment": {"delivery": {"fee": 0, "free_over": 1}}, "bank_transfer_hours": 1})
    assert answer.status == 200 and answer.body["bank_transfer_hours"] == 1


def test_the_korean_message_for_a_shop_offering_nothing(api, owner):
    answer = patch(api, owner, {"fulfilment": {}}, headers={"Accept-Language": "ko"})
    assert assert_problem(answer, 422)["errors"][0]["message"] == "배송과 방문 수령 중 하나 이상을 제공해야 해요."


def test_followed_shops_show_the_settings_too(api, owner, user):
    patch(api, owner, {"fulfilment": {"delivery": DELIVERY}})
    assert api.put(f"/shops/{owner['shop']['shop_id']}/follow", token=user["token"]).status == 200
    [shop] = api.get("/me/following", token=user["token"]).body["items"]
    assert shop["fulfilment"] == {"delivery": DELIVERY, "pickup": None} and "bank_account" not in shop
