"""Every name a client sends is checked: an e-mail address with the DNS root's dot is the same
mailbox (and accounts stored with it before the fold still log in), and a date-time or a day is
ISO 8601 text, never a number."""

from __future__ import annotations

import itertools
import uuid

import pytest

from chalicelib.wiring import container
from tests.api.commerce import make_product
from tests.api.conftest import assert_problem

_n = itertools.count()


def mailbox() -> str:
    return f"minji{next(_n)}-{uuid.uuid4().hex[:8]}@dongne.kr"


def test_a_trailing_dot_is_the_same_mailbox(api):
    email = mailbox()
    first = api.post("/auth/signup", {"name": "민지", "email": email, "password": "correct horse 1"})
    assert first.status == 201, first.body
    for spelling in (email + ".", email.upper() + "."):
        again = api.post("/auth/signup", {"name": "민지2", "email": spelling, "password": "correct horse 2"})
        assert assert_problem(again, 409)["code"] == "email_taken"
    for spelling in (email, email + "."):
        login = api.post("/auth/login", {"email": spelling, "password": "correct horse 1"})
        assert login.status == 200 and login.body["user"]["user_id"] == first.body["user"]["user_id"]
        assert login.body["user"]["email"] == email
    other = api.signup()
    taken = api.patch("/me", {"email": email + "."}, token=other["token"])
    assert assert_problem(taken, 409)["code"] == "email_taken"


def test_an_account_stored_with_the_dot_before_the_fold_still_logs_in_and_keeps_its_mailbox(api):
    """Tightening the fold must not lock existing accounts out: an address stored with the root
    dot (what sign-up wrote before 0.7) is found by either spelling, and nobody can sign up for
    the same mailbox without the dot."""
    from chalicelib.services import accounts

    d = container()
    email = mailbox()
    legacy = accounts.signup(d.accounts, d.passwords, d.tokens, name="예전 민지", email=email + ".", phone=None,
                             password="correct horse 1", now=1_700_000_000.0)
    assert legacy.user.email == email + "."  # as stored then: the guard is UNIQUE#email#<address>.
    for spelling in (email, email + ".", email.upper()):
        login = api.post("/auth/login", {"email": spelling, "password": "correct horse 1"})
        assert login.status == 200, (spelling, login.body)
        assert login.body["user"]["user_id"] == legacy.user.user_id
    assert_problem(api.post("/auth/login", {"email": email, "password": "wrong horse 1"}), 401)
    answer = api.post("/auth/signup", {"name": "새 민지", "email": email, "password": "correct horse 2"})
    assert assert_problem(answer, 409)["code"] == "email_taken"
    other = api.signup()
    assert assert_problem(api.patch("/me", {"email": email}, token=other["token"]), 409)["code"] == "email_taken"
    # the legacy owner may write their address in the new form: the dotless guard becomes theirs
    moved = api.patch("/me", {"email": email}, token=login.body["token"])
    assert moved.status == 200 and moved.body["email"] == email


@pytest.mark.parametrize("value", [1893456000, "1893456000", 1893456000.0, True, "2030-01-01"])
def test_first_order_at_is_a_date_time_never_a_number(api, owner, value):
    beans = make_product(api, owner, name="원두 200g", price=14000, reorder_days=14)
    buyer = api.signup()
    body = {"shop_id": owner["shop"]["shop_id"], "every_days": 14, "first_order_at": value,
            "items": [{"product_id": beans["product_id"], "quantity": 1}]}
    answer = api.post("/subscriptions", body, token=buyer["token"], headers={"Idempotency-Key": str(uuid.uuid4()),
                                                                              "Accept-Language": "ko"})
    problem = assert_problem(answer, 422)
    assert problem["code"] == "validation_failed"
    assert [(e["field"], e["code"]) for e in problem["errors"]] == [("body.first_order_at", "wrong_type")]
    assert "ISO 8601" in problem["errors"][0]["message"]
    assert api.get("/me/subscriptions", token=buyer["token"]).body["items"] == []


def test_coupon_dates_and_insight_days_are_text_too(api, owner):
    path = f"/shops/{owner['shop']['shop_id']}/coupons"
    answer = api.post(path, {"name": "단골 쿠폰", "kind": "percent", "value": 10, "ends_at": 1893456000,
                             "max_redemptions": 10}, token=owner["token"])
    assert [e["field"] for e in assert_problem(answer, 422)["errors"]] == ["body.ends_at"]
    days = api.get(f"/shops/{owner['shop']['shop_id']}/insights?from=1699920000", token=owner["token"])
    assert [(e["field"], e["code"]) for e in assert_problem(days, 422)["errors"]] == [("query.from", "wrong_type")]
