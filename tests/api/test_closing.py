"""Closing an account completely: subscriptions, store links, the shop, its conversations, comments.

GIVEN an account with subscriptions, a store link, a shop, conversations or comments, WHEN it is
closed (``DELETE /me``), THEN nothing is ordered for it or credited to it from the close on,
even before the stream has run; its shop refuses follows, orders and subscriptions (409
``shop_closed``); and once the stream has run, its subscriptions are cancelled, its links
retired, the shop's conversations told once, and replaying every record changes nothing more.
Runs on moto and DynamoDB Local.
"""

from __future__ import annotations

import pytest

from chalicelib.events.stream import dispatch
from chalicelib.wiring import container
from tests.api.commerce import buy, make_product, paid, pay, placed
from tests.api.conftest import assert_problem, create_post
from tests.api.essentials_kit import DAY, T0, make_world

MINUTE = 60.0


def close(api, person: dict) -> None:
    answer = api.delete("/me", token=person["token"])
    assert answer.status == 204, answer.body


def subscription(sid: str):
    return container().subscriptions.get(sid)


# --- subscriptions ---------------------------------------------------------------------------------


@pytest.fixture
def world(api, monkeypatch):
    w = make_world(api, monkeypatch, discount=10)
    w.run(T0 - DAY)  # other tests moved the clock around the shared table: settle what they left due
    return w


def test_a_subscriber_who_closes_a_minute_before_the_job_gets_no_order(world):
    sid = world.subscribed(first_order_at="2026-12-01T00:00:00Z")["subscription_id"]
    world.travel_to(T0 - MINUTE)
    close(world.api, world.subscriber)  # the stream has not run: only the order-time check stands in the way
    world.clock.now = T0
    world.run()
    assert world.stock(world.beans) == 50  # no order was placed
    orders = world.api.get(f"/shops/{world.shop_id}/orders", token=world.owner["token"]).body["items"]
    assert [o for o in orders if o.get("subscription_id") == sid] == []
    sub = subscription(sid)
    assert sub.status == "cancelled" and sub.last_order_id is None
    world.clock.now = T0 + 30 * DAY
    world.run()
    assert world.stock(world.beans) == 50


def test_the_stream_cancels_the_subscriptions_and_a_replay_changes_nothing(world, stream):
    sid = world.subscribed(first_order_at="2026-12-03T00:00:00Z")["subscription_id"]
    world.travel_to(T0)
    close(world.api, world.subscriber)
    stream()
    cancelled = subscription(sid)
    assert cancelled.status == "cancelled"
    dispatch(list(stream.seen))  # every record again, the profile's REMOVE and the steps
    assert subscription(sid) == cancelled
    world.clock.now = T0 + 3 * DAY
    world.run()
    assert world.stock(world.beans) == 50


# --- store links -----------------------------------------------------------------------------------


@pytest.fixture
def shop(api, owner):
    tofu = make_product(api, owner, name="손두부", price=4500, stock=50)
    answer = api.patch(f"/shops/{owner['shop']['shop_id']}", {"referral_reward": {"kind": "percent", "value": 10}},
                       token=owner["token"])
    assert answer.status == 200, answer.body
    return {**owner, "id": owner["shop"]["shop_id"], "tofu": tofu["product_id"]}


def test_a_closed_accounts_link_earns_nothing_afterwards_and_its_ledger_stays(api, shop, stream):
    alice = api.signup(name="김민지")
    alice_id = alice["user"]["user_id"]
    paid(api, shop, alice, shop["id"], (shop["tofu"], 1))
    stream()
    [link] = api.get("/me/store-links", token=alice["token"]).body["items"]
    code = link["code"]
    bob = api.signup(name="최서연")
    credited = placed(api, bob, shop["id"], (shop["tofu"], 2), via_store_link=code)
    pay(api, shop, credited["order_id"])
    ledger_before = container().store_links.ledger(alice_id, None, 10).items
    assert [(e.order_id, e.status) for e in ledger_before] == [(credited["order_id"], "pending")]

    close(api, alice)
    # before the stream has retired the link: the order's transaction finds its owner gone
    carol = api.signup(name="박지우")
    order = placed(api, carol, shop["id"], (shop["tofu"], 2), via_store_link=code)
    assert order.get("via_store_link") is None and order["discount"] == 0 and order["total"] == 9000
    pay(api, shop, order["order_id"])

    stream()
    stored = container().store_links.get_link(code)
    assert stored is not None and stored.retired_at is not None and stored.orders == 1  # counts stay
    assert api.get(f"/store-links/{code}").status == 404
    dave = api.signup(name="정하늘")
    assert api.post(f"/store-links/{code}/visits", {}, token=dave["token"]).status == 404
    order = placed(api, dave, shop["id"], (shop["tofu"], 1), via_store_link=code)
    assert order.get("via_store_link") is None and order["discount"] == 0
    pay(api, shop, order["order_id"])
    stream()

    assert container().store_links.ledger(alice_id, None, 10).items == ledger_before  # the ledger stays
    retired_at = stored.retired_at
    dispatch(list(stream.seen))
    assert container().store_links.get_link(code).retired_at == retired_at


# --- the shop ------------------------------------------------------------------------------------


def test_a_closed_owners_shop_refuses_follows_orders_and_subscriptions(api, owner, user, stream):
    shop_id = owner["shop"]["shop_id"]
    tofu = make_product(api, owner, name="손두부", price=4500, stock=50)
    beans = make_product(api, owner, name="원두 200g", price=14000, stock=50, reorder_days=14)
    assert api.put(f"/shops/{shop_id}/follow", token=user["token"]).status == 200
    close(api, owner)

    newcomer = api.signup(name="최서연")
    problem = assert_problem(api.put(f"/shops/{shop_id}/follow", token=newcomer["token"]), 409)
    assert problem["code"] == "shop_closed"
    ko = api.put(f"/shops/{shop_id}/follow", token=newcomer["token"], headers={"Accept-Language": "ko"}).body
    assert ko["code"] == "shop_closed" and ko["title"] == "문 닫은 가게"
    problem = assert_problem(buy(api, newcomer, shop_id, (tofu["product_id"], 1)), 409)
    assert problem["code"] == "shop_closed"
    problem = assert_problem(buy(api, user, shop_id, (tofu["product_id"], 1)), 409)  # a follower too
    assert problem["code"] == "shop_closed"
    answer = api.post("/subscriptions", {"shop_id": shop_id, "items": [{"product_id": beans["product_id"],
                                                                        "quantity": 1}], "every_days": 14},
                      token=user["token"], headers={"Idempotency-Key": "closed-shop-1"})
    assert assert_problem(answer, 409)["code"] == "shop_closed"
    assert api.get(f"/products/{tofu['product_id']}").body["stock"] == 50

    page = api.get(f"/shops/{shop_id}")
    assert page.status == 200 and page.body["closed_at"] is not None
    stream()
    assert assert_problem(api.put(f"/shops/{shop_id}/follow", token=newcomer["token"]), 409)["code"] == "shop_closed"


def test_a_closed_shops_conversations_are_told_once_and_its_customers_subscriptions_end(world, stream):
    api = world.api
    world.travel_to(T0)
    sid = world.subscribed(first_order_at="2026-12-03T00:00:00Z")["subscription_id"]
    for person, text in ((world.subscriber, "원두 언제 들어와요?"), (world.other, "주말에도 여나요?")):
        answer = api.post(f"/shops/{world.shop_id}/messages", {"text": text}, token=person["token"])
        assert answer.status == 201, answer.body
    close(api, world.owner)
    stream()

    def last_messages(person: dict) -> list[list[str]]:
        conversations = api.get("/me/conversations", token=person["token"]).body["items"]
        return [[m["text"] for m in api.get(f"/conversations/{c['conversation_id']}/messages",
                                            token=person["token"]).body["items"]]
                for c in conversations]

    for person in (world.subscriber, world.other):
        [texts] = last_messages(person)
        assert len(texts) == 2 and "문을 닫았어요" in texts[1]
    assert subscription(sid).status == "cancelled"

    dispatch(list(stream.seen))
    stream()
    for person in (world.subscriber, world.other):
        [texts] = last_messages(person)
        assert len(texts) == 2  # told once
    world.clock.now = T0 + 3 * DAY
    world.run()
    assert world.stock(world.beans) == 50


# --- comments -------------------------------------------------------------------------------------


def test_comments_show_a_closed_account_as_author(api, owner, user):
    post = create_post(api, owner)
    other = api.signup(name="최서연")
    for person, text in ((user, "맛있어요"), (other, "내일 가요"), (owner, "감사합니다")):
        answer = api.post(f"/posts/{post['post_id']}/comments", {"text": text}, token=person["token"])
        assert answer.status == 201, answer.body
    close(api, user)  # nothing rewritten: the page resolves its authors when read
    items = api.get(f"/posts/{post['post_id']}/comments").body["items"]
    assert [(c["text"], c["author_name"], c["author_closed"]) for c in items] == [
        ("맛있어요", "탈퇴한 회원", True), ("내일 가요", "최서연", False),
        ("감사합니다", owner["shop"]["name"], False)]
