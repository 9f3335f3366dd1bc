"""The one-person store through the HTTP API: links, landing, visits, attribution, the ledger.

A buys and gets a link (issued from the stream record where her order is paid); B opens the landing and buys
through it; A's reward is pending until the shop delivers. Runs on moto and DynamoDB Local;
the races are in tests/integration/test_store_link_races.py.
"""

from __future__ import annotations

import json

import pytest

from tests.api.commerce import advance, buy, make_product, paid, pay, placed, stock
from tests.api.conftest import TOKEN_CHECK, assert_problem, create_post
from tests.clock import hold


@pytest.fixture
def shop(api, owner):
    """A shop paying 10% per referred order, with tofu (4,500) and oil (18,000)."""
    tofu = make_product(api, owner, name="손두부", price=4500, stock=50)
    oil = make_product(api, owner, name="들기름", price=18000, stock=20, kind="treat", reorder_days=None)
    reward(api, owner, {"kind": "percent", "value": 10})
    return {**owner, "id": owner["shop"]["shop_id"], "tofu": tofu["product_id"], "oil": oil["product_id"]}


def reward(api, owner: dict, setting: dict | None) -> dict:
    answer = api.patch(f"/shops/{owner['shop']['shop_id']}", {"referral_reward": setting}, token=owner["token"])
    assert answer.status == 200, answer.body
    return answer.body


def links_of(api, person: dict) -> list[dict]:
    answer = api.get("/me/store-links", token=person["token"])
    assert answer.status == 200, answer.body
    return answer.body["items"]


def link_of(api, person: dict, shop_id: str) -> dict:
    return next(link for link in links_of(api, person) if link["shop_id"] == shop_id)


def rewards_of(api, person: dict) -> dict:
    answer = api.get("/me/rewards", token=person["token"])
    assert answer.status == 200, answer.body
    return answer.body


@pytest.fixture
def alice(api, shop, drain_stream):
    """A customer who bought tofu and paid, and so has her store link for the shop."""
    person = api.signup(name="김민지")
    paid(api, shop, person, shop["id"], (shop["tofu"], 2))
    drain_stream()
    return {**person, "code": link_of(api, person, shop["id"])["code"]}


def test_a_first_paid_order_issues_one_link_per_shop(api, shop, user, drain_stream):
    assert links_of(api, user) == []
    first = placed(api, user, shop["id"], (shop["tofu"], 1))
    second = placed(api, user, shop["id"], (shop["tofu"], 1))
    drain_stream()
    assert links_of(api, user) == []  # two orders, neither paid: no link
    advance(api, user, second["order_id"], "cancelled")
    drain_stream()
    assert links_of(api, user) == []  # cancelled unpaid: still nothing
    pay(api, shop, first["order_id"])
    drain_stream()
    [link] = links_of(api, user)
    assert len(link["code"]) == 10 and link["url"].endswith(f"/l/{link['code']}")
    assert (link["shop_id"], link["shop_name"], link["visits"], link["orders"], link["rewards"],
            link["pending_rewards"], link["give_reward_to_friend"]) == (shop["id"], shop["shop"]["name"], 0, 0, 0,
                                                                        0, False)
    paid(api, shop, user, shop["id"], (shop["oil"], 1))  # a second order from the shop: the same link
    drain_stream()
    drain_stream()  # and replays change nothing
    assert [x["code"] for x in links_of(api, user)] == [link["code"]]
    other = api.signup(name="박사장2")
    other_shop = api.open_shop(other["token"], name="연남 꽃집")
    flowers = make_product(api, {**other, "shop": other_shop}, name="꽃다발", price=25000)
    paid(api, {**other, "shop": other_shop}, user, other_shop["shop_id"], (flowers["product_id"], 1))
    drain_stream()
    assert sorted(x["shop_id"] for x in links_of(api, user)) == sorted([shop["id"], other_shop["shop_id"]])


def test_the_landing_shows_whose_store_and_what_they_bought_never_private_data(api, shop, alice, drain_stream):
    order = placed(api, alice, shop["id"], (shop["oil"], 1))
    advance(api, shop, order["order_id"], "paid", "shipped", "delivered")
    assert api.post(f"/orders/{order['order_id']}/review", {"rating": 5, "text": "향이 정말 좋아요"},
                    token=alice["token"]).status == 201
    drain_stream()
    answer = api.get(f"/store-links/{alice['code']}")  # no token: anyone
    assert answer.status == 200, answer.body
    page = answer.body
    assert page["owner_name"] == "김민지" and page["shop"]["name"] == shop["shop"]["name"]
    assert page["shop"]["shop_id"] == shop["id"] and page["code"] == alice["code"]
    products = {p["product_id"]: p for p in page["products"]}
    assert set(products) == {shop["tofu"], shop["oil"]}
    assert products[shop["oil"]]["recommended"] and products[shop["oil"]]["note"] == "향이 정말 좋아요"
    assert not products[shop["tofu"]]["recommended"] and products[shop["tofu"]]["bought"]
    assert page["products"][0]["product_id"] == shop["oil"]  # recommended first
    raw = answer.raw.decode()
    for private in (alice["email"], alice["user"]["user_id"], "password", "email", "phone"):
        assert private not in raw
    assert page["friend_discount"] is None  # she keeps her reward
    assert_problem(api.get("/store-links/nosuchcode1"), 404)


def test_a_friends_order_earns_a_pending_reward_confirmed_on_delivery(api, shop, alice):
    bob = api.signup(name="최서연")
    assert api.get(f"/store-links/{alice['code']}").status == 200
    order = placed(api, bob, shop["id"], (shop["tofu"], 2), (shop["oil"], 1), via_store_link=alice["code"])
    subtotal = 2 * 4500 + 18000
    assert (order["via_store_link"], order["subtotal"], order["discount"], order["total"]) == (
        alice["code"], subtotal, 0, subtotal)
    earned = subtotal * 10 // 100
    assert rewards_of(api, alice)["items"] == []  # placed, not paid: nothing credited yet
    assert link_of(api, alice, shop["id"])["orders"] == 0
    pay(api, shop, order["order_id"])
    mine = rewards_of(api, alice)
    assert (mine["balance"], mine["pending"]) == (0, earned)
    [entry] = mine["items"]
    assert (entry["code"], entry["order_id"], entry["amount"], entry["status"], entry["reason"]) == (
        alice["code"], order["order_id"], earned, "pending", "referral")
    link = link_of(api, alice, shop["id"])
    assert (link["orders"], link["pending_rewards"], link["rewards"]) == (1, earned, 0)
    referrals = api.get(f"/shops/{shop['id']}/referrals", token=shop["token"]).body["items"]
    assert [(r["order_id"], r["code"], r["referrer_name"], r["reward"], r["reward_status"]) for r in referrals] == [
        (order["order_id"], alice["code"], "김민지", earned, "pending")]

    advance(api, shop, order["order_id"], "shipped")
    assert rewards_of(api, alice)["pending"] == earned  # still waiting for delivery
    advance(api, shop, order["order_id"], "delivered")
    mine = rewards_of(api, alice)
    assert (mine["balance"], mine["pending"]) == (earned, 0)
    assert [(e["status"], e["amount"], e["reason"]) for e in mine["items"]] == [
        ("confirmed", earned, "delivered"), ("pending", earned, "referral")]
    assert mine["items"][0]["entry_id"] != mine["items"][1]["entry_id"]  # appended, never rewritten
    link = link_of(api, alice, shop["id"])
    assert (link["orders"], link["pending_rewards"], link["rewards"]) == (1, 0, earned)
    referral = api.get(f"/shops/{shop['id']}/referrals", token=shop["token"]).body["items"][0]
    assert (referral["reward_status"], referral["order_status"]) == ("confirmed", "delivered")


def test_given_to_a_friend_the_reward_is_their_discount_and_a_zero_entry(api, shop, alice):
    answer = api.patch(f"/me/store-links/{alice['code']}", {"give_reward_to_friend": True}, token=alice["token"])
    assert answer.status == 200 and answer.body["give_reward_to_friend"] is True
    assert api.get(f"/store-links/{alice['code']}").body["friend_discount"] == {"kind": "percent", "value": 10}
    carol = api.signup(name="한지호")
    order = placed(api, carol, shop["id"], (shop["oil"], 1), via_store_link=alice["code"])
    assert (order["subtotal"], order["discount"], order["total"]) == (18000, 1800, 16200)
    assert rewards_of(api, alice)["items"] == []  # nothing until the friend pays
    pay(api, shop, order["order_id"])
    mine = rewards_of(api, alice)
    assert (mine["balance"], mine["pending"]) == (0, 0)
    assert [(e["amount"], e["status"], e["reason"]) for e in mine["items"]] == [(0, "pending", "given_to_friend")]
    advance(api, shop, order["order_id"], "shipped", "delivered")
    mine = rewards_of(api, alice)
    assert (mine["balance"], mine["pending"]) == (0, 0)
    assert [(e["amount"], e["status"], e["reason"]) for e in mine["items"]] == [
        (0, "confirmed", "given_to_friend"), (0, "pending", "given_to_friend")]
    referral = api.get(f"/shops/{shop['id']}/referrals", token=shop["token"]).body["items"][0]
    assert (referral["discount"], referral["reward"], referral["given_to_friend"]) == (1800, 0, True)
    link = link_of(api, alice, shop["id"])
    assert (link["orders"], link["rewards"], link["give_reward_to_friend"]) == (1, 0, True)


def test_a_fixed_reward_is_never_more_than_half_the_subtotal(api, shop, alice):
    """The floor: a reward or discount is at most MAX_REWARD_PERCENT (50%) of the subtotal, so a
    fixed reward set above a product's price never makes it free."""
    from chalicelib.services.store_links import MAX_REWARD_PERCENT

    assert MAX_REWARD_PERCENT == 50
    reward(api, shop, {"kind": "fixed", "value": 50000})
    api.patch(f"/me/store-links/{alice['code']}", {"give_reward_to_friend": True}, token=alice["token"])
    friend = api.signup()
    order = placed(api, friend, shop["id"], (shop["tofu"], 1), via_store_link=alice["code"])
    assert (order["subtotal"], order["discount"], order["total"]) == (4500, 2250, 2250)
    api.patch(f"/me/store-links/{alice['code']}", {"give_reward_to_friend": False}, token=alice["token"])
    other = api.signup()  # the first friend's slot is held by their order: a new friend
    order = placed(api, other, shop["id"], (shop["oil"], 2), via_store_link=alice["code"])
    assert (order["discount"], order["total"]) == (0, 36000)
    pay(api, shop, order["order_id"])
    assert rewards_of(api, alice)["pending"] == 18000  # half the subtotal, not the setting's 50,000


def test_one_level_only_a_chain_credits_the_last_link(api, shop, alice, drain_stream):
    bob = api.signup(name="최서연")
    paid(api, shop, bob, shop["id"], (shop["tofu"], 1), via_store_link=alice["code"])
    drain_stream()
    bob_code = link_of(api, bob, shop["id"])["code"]
    carol = api.signup(name="한지호")
    order = paid(api, shop, carol, shop["id"], (shop["oil"], 1), via_store_link=bob_code)
    assert order["via_store_link"] == bob_code
    assert [e["order_id"] for e in rewards_of(api, bob)["items"]] == [order["order_id"]]
    assert rewards_of(api, bob)["pending"] == 1800
    assert rewards_of(api, alice)["pending"] == 450  # Bob's own order only; nothing from Carol's
    assert link_of(api, alice, shop["id"])["orders"] == 1


def test_a_link_owner_earns_nothing_from_their_own_orders(api, shop, alice):
    order = placed(api, alice, shop["id"], (shop["oil"], 1), via_store_link=alice["code"])
    assert (order["via_store_link"], order["discount"], order["total"]) == (None, 0, 18000)
    assert rewards_of(api, alice)["items"] == []
    assert link_of(api, alice, shop["id"])["orders"] == 0
    assert api.get(f"/shops/{shop['id']}/referrals", token=shop["token"]).body["items"] == []


def test_an_unknown_code_or_another_shops_link_is_a_422_that_changes_nothing(api, shop, alice, drain_stream):
    other = api.signup(name="이꽃님")
    other_shop = api.open_shop(other["token"], name="연남 꽃집")
    flowers = make_product(api, {**other, "shop": other_shop}, name="꽃다발", price=25000)
    paid(api, {**other, "shop": other_shop}, alice, other_shop["shop_id"], (flowers["product_id"], 1))
    drain_stream()
    foreign = link_of(api, alice, other_shop["shop_id"])["code"]
    friend = api.signup()
    for code, why, message in ((foreign, "foreign_store_link", "a store link of another shop"),
                               ("madeupcode", "no_such_store_link", "no such store link")):
        problem = assert_problem(buy(api, friend, shop["id"], (shop["tofu"], 3), via_store_link=code), 422)
        assert problem["errors"] == [{"field": "body.via_store_link", "code": why, "message": message}]
    problem = assert_problem(buy(api, friend, shop["id"], (shop["tofu"], 3), via_store_link="no spaces!"), 422)
    assert [e["field"] for e in problem["errors"]] == ["body.via_store_link"]
    assert stock(api, shop["tofu"]) == 48  # alice's two only
    assert api.get("/me/orders", token=friend["token"]).body["items"] == []
    assert rewards_of(api, alice)["items"] == []


def test_a_cancelled_order_earns_nothing_and_the_ledger_says_so(api, shop, alice):
    friend = api.signup()
    order = placed(api, friend, shop["id"], (shop["oil"], 1), via_store_link=alice["code"])
    advance(api, shop, order["order_id"], "paid", "cancelled")
    mine = rewards_of(api, alice)
    assert (mine["balance"], mine["pending"]) == (0, 0)
    assert [(e["status"], e["amount"], e["reason"]) for e in mine["items"]] == [
        ("cancelled", 1800, "order_cancelled"), ("pending", 1800, "referral")]
    link = link_of(api, alice, shop["id"])
    assert (link["orders"], link["pending_rewards"], link["rewards"]) == (0, 0, 0)
    referral = api.get(f"/shops/{shop['id']}/referrals", token=shop["token"]).body["items"][0]
    assert referral["reward_status"] == "cancelled"
    assert stock(api, shop["oil"]) == 20
    # A move after the end changes nothing: no second entry.
    assert_problem(api.post(f"/orders/{order['order_id']}/status", {"status": "delivered"}, token=shop["token"]), 409)
    assert len(rewards_of(api, alice)["items"]) == 2


def test_a_visit_signed_in_on_one_device_credits_the_order_on_another(api, shop, alice, drain_stream):
    bob = api.signup(name="최서연")
    assert api.post(f"/store-links/{alice['code']}/visits", token=bob["token"]).status == 200
    # Bob logs in on his laptop and orders without the code.
    laptop = {**bob, "token": api.post("/auth/login", {"email": bob["email"], "password": bob["password"]}).body["token"]}
    order = placed(api, laptop, shop["id"], (shop["oil"], 1))
    assert order["via_store_link"] == alice["code"]
    assert rewards_of(api, alice)["pending"] == 0  # credited when paid
    # One visit credits one order: the next one is his own.
    again = placed(api, laptop, shop["id"], (shop["oil"], 1))
    assert again["via_store_link"] is None and rewards_of(api, alice)["pending"] == 0
    drain_stream()
    card = api.get(f"/shops/{shop['id']}/customers/{alice['user']['user_id']}", token=shop["token"]).body
    assert card["breakdown"]["referrals"] == 0  # Bob has not paid yet
    pay(api, shop, order["order_id"])
    assert rewards_of(api, alice)["pending"] == 1800
    drain_stream()
    card = api.get(f"/shops/{shop['id']}/customers/{alice['user']['user_id']}", token=shop["token"]).body
    assert card["breakdown"]["referrals"] > 0  # the referral is a signal of Alice's relationship


def test_the_first_remembered_link_wins(api, shop, alice, drain_stream):
    bob = api.signup(name="최서연")
    paid(api, shop, bob, shop["id"], (shop["tofu"], 1))
    drain_stream()
    bob_code = link_of(api, bob, shop["id"])["code"]
    carol = api.signup(name="한지호")
    for code in (alice["code"], bob_code, alice["code"]):
        assert api.post(f"/store-links/{code}/visits", token=carol["token"]).status == 200
    order = paid(api, shop, carol, shop["id"], (shop["oil"], 1))
    assert order["via_store_link"] == alice["code"]
    assert rewards_of(api, bob)["items"] == []
    # An order naming a link is credited to it, and uses the remembered visit up (a new friend:
    # Carol's first purchase at the shop is made, so no link credits her again).
    dave = api.signup(name="정하늘")
    api.post(f"/store-links/{bob_code}/visits", token=dave["token"])
    order = placed(api, dave, shop["id"], (shop["oil"], 1), via_store_link=alice["code"])
    assert order["via_store_link"] == alice["code"]
    assert placed(api, dave, shop["id"], (shop["oil"], 1))["via_store_link"] is None


def test_an_expired_visit_credits_nothing(api, shop, alice, monkeypatch):
    from chalicelib import clock

    bob = api.signup()
    real = clock.now()
    hold(monkeypatch, lambda: real - 15 * 24 * 3600)
    assert api.post(f"/store-links/{alice['code']}/visits", token=bob["token"]).status == 200
    hold(monkeypatch, lambda: real)
    assert placed(api, bob, shop["id"], (shop["oil"], 1))["via_store_link"] is None


def test_visits_count_distinct_visitors_per_day(api, shop, alice):
    path = f"/store-links/{alice['code']}/visits"
    for _ in range(30):  # one browser reloading the page
        assert api.post(path, headers={"User-Agent": "Safari"}).status == 200
    assert link_of(api, alice, shop["id"])["visits"] == 1
    api.post(path, headers={"User-Agent": "Chrome"})  # another User-Agent at the same address: the same visitor
    assert link_of(api, alice, shop["id"])["visits"] == 1
    bob, carol = api.signup(), api.signup()
    for person in (bob, carol, bob, carol):
        assert api.post(path, token=person["token"]).status == 200
    api.post(path, token=alice["token"])  # her own visits do not count
    assert link_of(api, alice, shop["id"])["visits"] == 3
    assert_problem(api.post("/store-links/nosuchcode1/visits"), 404)
    assert_problem(api.post(path, token="forged.token"), 401)
    assert link_of(api, alice, shop["id"])["visits"] == 3


def test_the_reward_setting_is_validated_and_can_be_removed(api, shop):
    path = f"/shops/{shop['id']}"
    for bad in ({"kind": "percent", "value": 31}, {"kind": "percent", "value": 0}, {"kind": "fixed", "value": 99},
                {"kind": "fixed", "value": 50001}, {"kind": "gift", "value": 5}, {"kind": "percent", "value": 5.5},
                {"kind": "percent", "value": "5"}, {"kind": "percent"}, {"kind": "percent", "value": 5, "x": 1}):
        problem = assert_problem(api.patch(path, {"referral_reward": bad}, token=shop["token"]), 422)
        assert {e["field"].split(".")[1] for e in problem["errors"]} == {"referral_reward"}, problem
    assert api.get(path).body["referral_reward"] == {"kind": "percent", "value": 10}
    assert reward(api, shop, {"kind": "fixed", "value": 50000})["referral_reward"] == {"kind": "fixed", "value": 50000}
    assert api.patch(path, {"bio": "새 소개"}, token=shop["token"]).body["referral_reward"]["value"] == 50000
    assert reward(api, shop, None)["referral_reward"] is None
    assert api.get(path).body["referral_reward"] is None
    other = api.signup()
    assert_problem(api.patch(path, {"referral_reward": {"kind": "percent", "value": 5}}, token=other["token"]), 403)


def test_no_setting_no_reward_but_the_link_counts_the_order(api, shop, alice):
    reward(api, shop, None)
    friend = api.signup()
    order = placed(api, friend, shop["id"], (shop["oil"], 1), via_store_link=alice["code"])
    assert (order["via_store_link"], order["discount"]) == (alice["code"], 0)
    assert link_of(api, alice, shop["id"])["orders"] == 0  # counted when paid
    pay(api, shop, order["order_id"])
    assert rewards_of(api, alice) == {"balance": 0, "pending": 0, "currency": "KRW", "items": [], "next_cursor": None}
    assert link_of(api, alice, shop["id"])["orders"] == 1
    referral = api.get(f"/shops/{shop['id']}/referrals", token=shop["token"]).body["items"][0]
    assert (referral["reward"], referral["reward_status"]) == (None, "none")
    advance(api, shop, order["order_id"], "shipped", "delivered")
    assert rewards_of(api, alice)["items"] == []


def test_a_changed_setting_or_flag_applies_at_once_even_on_a_warm_container(api, shop, alice):
    placed(api, api.signup(), shop["id"], (shop["oil"], 1), via_store_link=alice["code"])  # caches shop and link
    reward(api, shop, {"kind": "fixed", "value": 1000})
    order = paid(api, shop, api.signup(), shop["id"], (shop["oil"], 1), via_store_link=alice["code"])
    assert rewards_of(api, alice)["items"][0]["amount"] == 1000 and order["discount"] == 0
    api.patch(f"/me/store-links/{alice['code']}", {"give_reward_to_friend": True}, token=alice["token"])
    order = placed(api, api.signup(), shop["id"], (shop["oil"], 1), via_store_link=alice["code"])
    assert (order["discount"], order["total"]) == (1000, 17000)


def test_a_retried_order_through_a_link_is_credited_once(api, shop, alice):
    friend = api.signup()
    first = buy(api, friend, shop["id"], (shop["oil"], 1), key="retry-link", via_store_link=alice["code"])
    again = buy(api, friend, shop["id"], (shop["oil"], 1), key="retry-link", via_store_link=alice["code"])
    assert first.status == again.status == 201 and again.body == first.body
    assert first.body["via_store_link"] == alice["code"]
    pay(api, shop, first.body["order_id"])
    assert len(rewards_of(api, alice)["items"]) == 1 and link_of(api, alice, shop["id"])["orders"] == 1
    assert_problem(buy(api, friend, shop["id"], (shop["oil"], 1), key="retry-link"), 409)  # another request


def test_only_the_owner_changes_a_link_and_only_the_shop_sees_its_referrals(api, shop, alice):
    other = api.signup()
    path = f"/me/store-links/{alice['code']}"
    assert_problem(api.patch(path, {"give_reward_to_friend": True}, token=other["token"]), 403)
    assert_problem(api.patch("/me/store-links/nosuchcode1", {"give_reward_to_friend": True},
                             token=alice["token"]), 404)
    for bad in ({}, {"give_reward_to_friend": "yes"}, {"give_reward_to_friend": True, "code": "x"}):
        assert_problem(api.patch(path, bad, token=alice["token"]), 422)
    assert api.patch(path, {"give_reward_to_friend": True}).status == 401
    assert link_of(api, alice, shop["id"])["give_reward_to_friend"] is False
    assert_problem(api.get(f"/shops/{shop['id']}/referrals", token=alice["token"]), 403)
    assert api.get("/me/rewards").status == 401
    assert_problem(api.get("/me/store-links?limit=0", token=alice["token"]), 422)
    assert_problem(api.get("/me/rewards?cursor=forged", token=alice["token"]), 400)


def test_a_share_answers_the_sharers_own_link(api, shop, alice, user):
    post = create_post(api, shop, "들기름 새로 짰어요")
    answer = api.post(f"/posts/{post['post_id']}/shares", token=alice["token"])
    assert answer.status == 201 and answer.body["share_url"].endswith(f"/l/{alice['code']}")
    answer = api.post(f"/posts/{post['post_id']}/shares", token=user["token"])  # never bought there
    assert answer.body["share_url"].endswith(f"/p/{post['post_id']}")


def test_lists_page_with_cursors(api, shop, alice):
    for _ in range(3):  # three friends, each a first paid order
        paid(api, shop, api.signup(), shop["id"], (shop["tofu"], 1), via_store_link=alice["code"])
    first = api.get("/me/rewards?limit=2", token=alice["token"]).body
    second = api.get(f"/me/rewards?limit=2&cursor={first['next_cursor']}", token=alice["token"]).body
    assert len(first["items"]) == 2 and len(second["items"]) == 1 and second["next_cursor"] is None
    assert first["pending"] == second["pending"] == 3 * 450
    referrals = api.get(f"/shops/{shop['id']}/referrals?limit=2", token=shop["token"]).body
    more = api.get(f"/shops/{shop['id']}/referrals?limit=2&cursor={referrals['next_cursor']}",
                   token=shop["token"]).body
    assert len(referrals["items"]) + len(more["items"]) == 3
    assert_problem(api.get(f"/me/rewards?cursor={referrals['next_cursor']}", token=alice["token"]), 400)


def test_routes_are_in_the_served_document_with_their_problems(api):
    doc = api.get("/openapi.json").body
    expected = {
        ("get", "/me/store-links"): {"401", "400", "422"},
        ("patch", "/me/store-links/{code}"): {"401", "403", "404", "422"},
        ("get", "/store-links/{code}"): {"404"},
        ("post", "/store-links/{code}/visits"): {"401", "404"},
        ("get", "/me/rewards"): {"401", "400", "422"},
        ("get", "/shops/{shop_id}/referrals"): {"401", "403", "404"},
    }
    for (method, path), statuses in expected.items():
        operation = doc["paths"][path][method]
        assert statuses <= set(operation["responses"]), (method, path, sorted(operation["responses"]))
    order = doc["components"]["schemas"]
    assert "via_store_link" in json.dumps(doc["paths"]["/orders"]["post"]["requestBody"]) or any(
        "via_store_link" in json.dumps(schema) for name, schema in order.items() if name.startswith("OrderCreate"))


def test_call_budgets(api, shop, alice):
    """An order, through a link or not, is one BatchGetItem (the shop, products and link when the
    container is cold; always the buyer's remembered link and first-purchase slot) and one
    TransactWriteItems; every store-link read is a GetItem, a BatchGetItem or a Query."""
    from chalicelib.wiring import container
    from devtools.callcount import dynamodb_calls

    friend = api.signup()
    container().orders.cache.clear()
    with dynamodb_calls() as calls:
        placed(api, friend, shop["id"], (shop["oil"], 1), via_store_link=alice["code"])
    assert calls.operations == TOKEN_CHECK + ["BatchGetItem", "TransactWriteItems"]  # shop, product, link, buyer
    with dynamodb_calls() as calls:  # warm; the slot is held by the first order, read: placed uncredited at once
        again = placed(api, friend, shop["id"], (shop["oil"], 1), via_store_link=alice["code"])
    assert calls.operations == TOKEN_CHECK + ["BatchGetItem", "TransactWriteItems"] and again["via_store_link"] is None
    newcomer = api.signup()
    api.post(f"/store-links/{alice['code']}/visits", token=newcomer["token"])
    with dynamodb_calls() as calls:  # the remembered link is read with the catalogue: no cancelled transaction
        through = placed(api, newcomer, shop["id"], (shop["oil"], 1))
    assert calls.operations == TOKEN_CHECK + ["BatchGetItem", "TransactWriteItems"]
    assert through["via_store_link"] == alice["code"]
    with dynamodb_calls() as calls:  # the visit is used up: a plain order
        assert placed(api, newcomer, shop["id"], (shop["oil"], 1))["via_store_link"] is None
    assert calls.operations == TOKEN_CHECK + ["BatchGetItem", "TransactWriteItems"]
    api.post(f"/store-links/{alice['code']}/visits", token=friend["token"])
    budgets = [
        (lambda: api.get(f"/store-links/{alice['code']}"), ["GetItem", "BatchGetItem"]),
        # a visit first counts against its address's limit (UpdateItem), token or not
        (lambda: api.post(f"/store-links/{alice['code']}/visits"),
         ["UpdateItem", "GetItem", "TransactWriteItems", "PutItem"]),
        (lambda: api.post(f"/store-links/{alice['code']}/visits", token=friend["token"]),
         ["UpdateItem"] + TOKEN_CHECK + ["GetItem", "TransactWriteItems", "PutItem"]),
        (lambda: api.get("/me/store-links", token=alice["token"]), TOKEN_CHECK + ["Query"]),
        (lambda: api.get("/me/rewards", token=alice["token"]), TOKEN_CHECK + ["GetItem", "Query"]),
        (lambda: api.get(f"/shops/{shop['id']}/referrals", token=shop["token"]), TOKEN_CHECK + ["GetItem", "Query"]),
        (lambda: api.patch(f"/me/store-links/{alice['code']}", {"give_reward_to_friend": True},
                           token=alice["token"]), TOKEN_CHECK + ["GetItem", "UpdateItem"]),
    ]
    for call, operations in budgets:
        with dynamodb_calls() as calls:
            assert call().status in (200, 204)
        assert calls.operations == operations
    order = placed(api, api.signup(), shop["id"], (shop["oil"], 1), via_store_link=alice["code"])
    assert order["via_store_link"] == alice["code"]
    advance(api, shop, order["order_id"], "paid", "shipped")
    with dynamodb_calls() as calls:  # the status and the ledger entry together
        advance(api, shop, order["order_id"], "delivered")
    assert calls.operations == TOKEN_CHECK + ["GetItem", "TransactWriteItems"]


def test_a_give_to_friend_link_discounts_each_new_customer_once_on_their_first_paid_order(api, shop, alice):
    """The measured farm (issue 18): one public give-to-friend link used by 6 new accounts, and
    by one account 5 times. Each new customer gets the discount once, on their first paid
    order; their second order is at full price; an existing customer gets nothing."""
    api.patch(f"/me/store-links/{alice['code']}", {"give_reward_to_friend": True}, token=alice["token"])
    friends = [api.signup() for _ in range(6)]
    for friend in friends:
        first = paid(api, shop, friend, shop["id"], (shop["tofu"], 1), via_store_link=alice["code"])
        assert (first["via_store_link"], first["discount"], first["total"]) == (alice["code"], 450, 4050)
        second = placed(api, friend, shop["id"], (shop["tofu"], 1), via_store_link=alice["code"])
        assert (second["via_store_link"], second["discount"], second["total"]) == (None, 0, 4500)
        pay(api, shop, second["order_id"])
    # one account, five tries before paying: the first holds the slot, the other four pay in full
    greedy = api.signup()
    tries = [placed(api, greedy, shop["id"], (shop["tofu"], 1), via_store_link=alice["code"]) for _ in range(5)]
    assert [t["discount"] for t in tries] == [450, 0, 0, 0, 0]
    assert [t["via_store_link"] for t in tries] == [alice["code"], None, None, None, None]
    for t in tries:
        pay(api, shop, t["order_id"])
    # a customer who paid before, without a link, gets nothing through one
    regular = api.signup()
    paid(api, shop, regular, shop["id"], (shop["tofu"], 1))
    late = placed(api, regular, shop["id"], (shop["tofu"], 1), via_store_link=alice["code"])
    assert (late["via_store_link"], late["discount"]) == (None, 0)

    mine = rewards_of(api, alice)
    assert [(e["amount"], e["status"], e["reason"]) for e in mine["items"]] == [(0, "pending", "given_to_friend")] * 7
    link = link_of(api, alice, shop["id"])
    assert (link["orders"], link["pending_rewards"]) == (7, 0)
    referrals = api.get(f"/shops/{shop['id']}/referrals?limit=50", token=shop["token"]).body["items"]
    assert len(referrals) == 7 and {r["discount"] for r in referrals} == {450}


def test_an_unpaid_credited_order_holds_the_slot_until_it_expires(api, shop, alice, monkeypatch):
    """A credited order that is never paid keeps the discount from a second order only until its
    deadline: the deadline job expires it, leaves no trace in the link, and the slot is free."""
    from chalicelib import clock
    from chalicelib.events.schedules import run_order_deadlines
    from tests.clock import TestClock

    time = TestClock(monkeypatch, clock.now())
    api.patch(f"/me/store-links/{alice['code']}", {"give_reward_to_friend": True}, token=alice["token"])
    friend = api.signup()
    held = placed(api, friend, shop["id"], (shop["tofu"], 1), via_store_link=alice["code"])
    assert held["discount"] == 450
    assert placed(api, friend, shop["id"], (shop["oil"], 1), via_store_link=alice["code"])["discount"] == 0
    time.now += 24 * 3600 + 1  # past the bank transfer's deadline (the shop's default 24 hours)
    assert run_order_deadlines(now=time.now).expired >= 2  # on DynamoDB Local, other tests' orders too
    assert api.get(f"/orders/{held['order_id']}", token=friend["token"]).body["status"] == "expired"
    assert rewards_of(api, alice)["items"] == [] and link_of(api, alice, shop["id"])["orders"] == 0
    again = paid(api, shop, friend, shop["id"], (shop["oil"], 1), via_store_link=alice["code"])
    assert (again["via_store_link"], again["discount"]) == (alice["code"], 1800)
    assert placed(api, friend, shop["id"], (shop["oil"], 1), via_store_link=alice["code"])["discount"] == 0
    assert [(e["amount"], e["order_id"]) for e in rewards_of(api, alice)["items"]] == [(0, again["order_id"])]
    assert link_of(api, alice, shop["id"])["orders"] == 1
