"""Aftercare in the owner's words: thanks, review requests and welcome backs, once each.

GIVEN a shop whose owner switched on and wrote an automation (``PUT /shops/{id}/automations``),
WHEN its moment comes through the API — a customer's first order paid, an order delivered and
``after_days`` gone by (the ``aftercare`` job), a lapsed regular's paid order — THEN the
customer finds the owner's words as the shop's message in their conversation with the shop,
once: replayed stream records, repeated job runs and a cancel-and-reorder loop send nothing
more; an unpaid order, a cancelled order or an automation switched off sends nothing, then or
later. Runs on moto and on DynamoDB Local.
"""

from __future__ import annotations

import pytest

from chalicelib.events.stream import dispatch
from tests.api.commerce import advance, make_product, paid, pay, placed
from tests.api.conftest import assert_problem
from tests.api.test_reorders import login
from tests.clock import TestClock

DAY = 86_400.0
THANKS, REVIEW, WELCOME = "첫 주문 고마워요, 민지님!", "두부 맛은 어떠셨어요? 후기 부탁드려요", "다시 와 주셔서 반가워요"


@pytest.fixture
def clock(monkeypatch):
    from chalicelib import clock as app_clock

    return TestClock(monkeypatch, (app_clock.now() // 60 + 1) * 60)


@pytest.fixture
def shop(api, owner, clock):
    return {**owner, "id": owner["shop"]["shop_id"], "tofu": make_product(api, owner)["product_id"]}


def settings(*, thanks: bool = False, review: bool = False, welcome: bool = False, after_days: int = 2,
             review_text: str = REVIEW) -> dict:
    return {"first_order_thanks": {"enabled": thanks, "text": THANKS},
            "review_request": {"enabled": review, "text": review_text, "after_days": after_days},
            "welcome_back": {"enabled": welcome, "text": WELCOME}}


def switch(api, shop: dict, **on) -> dict:
    answer = api.put(f"/shops/{shop['id']}/automations", settings(**on), token=login(api, shop))
    assert answer.status == 200, answer.body
    return answer.body


def shop_words(api, person: dict, shop_id: str) -> list[str]:
    """The shop's messages in ``person``'s conversation with the shop, oldest first."""
    token = login(api, person)
    mine = api.get("/me/conversations?limit=100", token=token).body["items"]
    found = [c for c in mine if c["shop_id"] == shop_id]
    if not found:
        return []
    answer = api.get(f"/conversations/{found[0]['conversation_id']}/messages?limit=100", token=token)
    assert answer.status == 200, answer.body
    return [m["text"] for m in answer.body["items"] if m["sender"] == "shop"]


def run_job(at: float):
    from chalicelib.events.schedules import run_aftercare

    return run_aftercare(now=at)


# --- the owner's settings -------------------------------------------------------------------------


def test_a_shop_that_never_set_them_sees_them_off_with_suggested_korean_words(api, shop):
    answer = api.get(f"/shops/{shop['id']}/automations", token=shop["token"])
    assert answer.status == 200, answer.body
    body = answer.body
    for name in ("first_order_thanks", "review_request", "welcome_back"):
        assert body[name]["enabled"] is False
        assert any("가" <= ch <= "힣" for ch in body[name]["text"])
    assert body["review_request"]["after_days"] == 3 and body["updated_at"] is None


def test_put_replaces_them_whole_trimmed_and_get_reads_them_back(api, shop):
    sent = settings(thanks=True, after_days=7)
    sent["welcome_back"]["text"] = f"  {WELCOME}\n"
    answer = api.put(f"/shops/{shop['id']}/automations", sent, token=shop["token"])
    assert answer.status == 200, answer.body
    read = api.get(f"/shops/{shop['id']}/automations", token=shop["token"]).body
    assert read == answer.body
    assert (read["first_order_thanks"], read["welcome_back"]["text"]) == ({"enabled": True, "text": THANKS}, WELCOME)
    assert read["review_request"] == {"enabled": False, "text": REVIEW, "after_days": 7}


BAD = [
    ("first_order_thanks", "text", "   "), ("first_order_thanks", "text", ""), ("welcome_back", "text", "가" * 501),
    ("review_request", "after_days", 0), ("review_request", "after_days", 31), ("review_request", "after_days", "3"),
    ("welcome_back", "enabled", "yes"), ("first_order_thanks", "after_days", 3), ("welcome_back", None, None),
]


def test_bad_input_is_422_validation_failed_and_writes_nothing(api, shop):
    for section, field, value in BAD:
        body = settings(thanks=True, review=True, welcome=True)
        if field is None:
            del body[section]
        else:
            body[section][field] = value
        problem = assert_problem(api.put(f"/shops/{shop['id']}/automations", body, token=shop["token"]), 422)
        assert problem["code"] == "validation_failed" and problem["errors"], (section, field, value)
    assert api.get(f"/shops/{shop['id']}/automations", token=shop["token"]).body["updated_at"] is None


def test_only_the_shops_owner_reads_or_writes_them(api, shop, user):
    path = f"/shops/{shop['id']}/automations"
    assert assert_problem(api.get(path, token=user["token"]), 403)["code"] == "forbidden"
    assert assert_problem(api.put(path, settings(thanks=True), token=user["token"]), 403)["code"] == "forbidden"
    assert_problem(api.get("/shops/01NOSUCHSHOP0000000000000/automations", token=shop["token"]), 404)
    assert api.get(path, token=shop["token"]).body["first_order_thanks"]["enabled"] is False


# --- first order thanks -----------------------------------------------------------------------------


def test_thanks_come_once_when_the_first_order_is_paid_not_when_it_is_placed(api, shop, user, stream, clock):
    switch(api, shop, thanks=True)
    order = placed(api, user, shop["id"], (shop["tofu"], 1))
    stream()
    assert shop_words(api, user, shop["id"]) == []  # placed, unpaid: nothing
    pay(api, shop, order["order_id"])
    stream()
    assert shop_words(api, user, shop["id"]) == [THANKS]
    stream()  # the message's record: the customer is told
    [told] = [n for n in api.get("/me/notifications", token=user["token"]).body["items"] if n["type"] == "message"]
    assert told["data"]["text"] == THANKS and told["data"]["sender"] == "shop"
    dispatch(stream.seen)  # every record delivered again
    advance(api, shop, order["order_id"], "cancelled")  # the first order cancelled ...
    stream()
    clock.now += 60
    paid(api, shop, user, shop["id"], (shop["tofu"], 1))  # ... and a new one paid: a first order again
    paid(api, shop, user, shop["id"], (shop["tofu"], 1))
    stream()
    dispatch(stream.seen)
    assert shop_words(api, user, shop["id"]) == [THANKS]


def test_an_automation_off_at_its_moment_sends_nothing_then_or_later(api, shop, user, stream, clock):
    paid(api, shop, user, shop["id"], (shop["tofu"], 1))  # the first paid order, while it is off
    stream()
    clock.now += 1
    switch(api, shop, thanks=True)
    dispatch(stream.seen)  # the first order's records again, now that it is on
    paid(api, shop, user, shop["id"], (shop["tofu"], 1))  # not a first order
    stream()
    assert shop_words(api, user, shop["id"]) == []


# --- review requests --------------------------------------------------------------------------------


def test_a_review_request_waits_its_days_goes_once_in_the_current_words(api, shop, user, stream, clock):
    from chalicelib.records.automations import ReviewDue
    from chalicelib.wiring import container

    switch(api, shop, review=True, after_days=2)
    order = paid(api, shop, user, shop["id"], (shop["tofu"], 1))
    advance(api, shop, order["order_id"], "shipped", "delivered")
    delivered_at = clock.now
    stream()
    dispatch(stream.seen)  # the delivery's record again: still one due request
    assert run_job(delivered_at + 2 * DAY - 60).seen == 0  # not yet
    assert shop_words(api, user, shop["id"]) == []
    switch(api, shop, review=True, after_days=5, review_text="후기 남겨 주시면 큰 힘이 돼요")  # new words
    assert run_job(delivered_at + 2 * DAY).outcomes == {"sent": 1}  # due when delivered, in today's words
    assert run_job(delivered_at + 2 * DAY + 900).seen == 0  # the next run: nothing left
    container().automations.add_due(ReviewDue(order_id=order["order_id"], at=delivered_at + 2 * DAY))
    assert run_job(delivered_at + 2 * DAY + 1800).outcomes == {"already": 1}  # a run that died before dropping it
    assert shop_words(api, user, shop["id"]) == ["후기 남겨 주시면 큰 힘이 돼요"]


def test_no_review_request_for_a_cancelled_order_or_while_it_is_off(api, shop, user, stream, clock):
    from chalicelib.records.automations import ReviewDue
    from chalicelib.wiring import container

    switch(api, shop, review=True, after_days=1)
    cancelled = paid(api, shop, user, shop["id"], (shop["tofu"], 1))
    advance(api, shop, cancelled["order_id"], "cancelled")
    # Even a due request left for it (as if delivered first) finds the order cancelled.
    container().automations.add_due(ReviewDue(order_id=cancelled["order_id"], at=clock.now + DAY))
    order = paid(api, shop, user, shop["id"], (shop["tofu"], 1))
    advance(api, shop, order["order_id"], "shipped", "delivered")
    stream()
    switch(api, shop, review=False)  # off when the day comes: not sent, then or later
    assert run_job(clock.now + DAY + 60).outcomes == {"cancelled": 1, "off": 1}
    switch(api, shop, review=True, after_days=1)
    assert run_job(clock.now + DAY + 120).seen == 0
    assert shop_words(api, user, shop["id"]) == []


# --- welcome back -------------------------------------------------------------------------------------


def test_a_lapsed_regular_who_comes_back_is_welcomed_once(api, shop, user, stream, clock):
    def later(seconds: float) -> None:
        clock.now += seconds
        login(api, user), login(api, shop)  # tokens live an hour

    switch(api, shop, welcome=True)
    paid(api, shop, user, shop["id"], (shop["tofu"], 1))
    later(3 * DAY)
    paid(api, shop, user, shop["id"], (shop["tofu"], 1))  # a regular now
    stream()
    assert shop_words(api, user, shop["id"]) == []
    later(70 * DAY)  # no order for longer than 60 days: lapsed
    back = paid(api, shop, user, shop["id"], (shop["tofu"], 1))
    stream()
    assert shop_words(api, user, shop["id"]) == [WELCOME]
    card = api.get(f"/shops/{shop['id']}/customers/{user['user']['user_id']}", token=shop["token"]).body
    assert card["tier"] == "regular"
    advance(api, shop, back["order_id"], "cancelled")  # lapsed again ...
    stream()
    later(60)
    paid(api, shop, user, shop["id"], (shop["tofu"], 1))  # ... and back again: the same return
    stream()
    dispatch(stream.seen)
    assert shop_words(api, user, shop["id"]) == [WELCOME]
