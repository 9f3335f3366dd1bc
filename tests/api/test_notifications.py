"""Notifications through the real API and stream handler: typed, once, grouped, counted exactly.

GIVEN accounts and shops made through the API, WHEN people follow, like, comment, order and
review (and the stream handler runs, as Lambda would), THEN each person's inbox says so — once,
grouped where it should be, with an unread count that is exact.
"""

from __future__ import annotations

import pytest

from chalicelib.wiring import container
from tests.api.commerce import advance, make_product, paid, pay, placed
from tests.api.conftest import assert_problem, create_post
from tests.api.relationships_kit import DAY, NOW, make_world


def inbox(api, token, query=""):
    answer = api.get(f"/me/notifications{query}", token=token)
    assert answer.status == 200, answer.body
    return answer.body


def of_type(body, type_, milestone=None):
    return [n for n in body["items"] if n["type"] == type_
            and (milestone is None or n["data"].get("milestone") == milestone)]


def read_all(api, token) -> int:
    answer = api.post("/me/notifications/read", {"all": True}, token=token)
    assert answer.status == 200, answer.body
    return answer.body["unread_count"]


def customer_of(api, owner, product, drain_stream, orders=1):
    """A new customer who follows nothing and places ``orders`` orders of ``product``."""
    buyer = api.signup(name="최서연")
    for _ in range(orders):
        placed(api, buyer, owner["shop"]["shop_id"], (product["product_id"], 1))
    return buyer


# --- the inbox ---------------------------------------------------------------------------------


def test_a_fresh_shop_gets_new_follower_and_first_follower_once_even_after_unfollow_and_follow(api, owner, user,
                                                                                             drain_stream):
    shop_id = owner["shop"]["shop_id"]
    assert inbox(api, owner["token"]) == {"items": [], "next_cursor": None, "unread_count": 0}
    assert api.put(f"/shops/{shop_id}/follow", token=user["token"]).status == 200
    drain_stream()
    assert api.delete(f"/shops/{shop_id}/follow", token=user["token"]).status == 204
    assert api.put(f"/shops/{shop_id}/follow", token=user["token"]).status == 200
    drain_stream()

    body = inbox(api, owner["token"])
    [follower] = of_type(body, "new_follower")
    assert follower["title"] == "고객님이 팔로잉 하셨습니다"
    assert follower["body"] == "김민지님이 망원동 두부가게를 팔로잉 하셨습니다."
    assert follower["data"]["count"] == 1 and follower["data"]["actors"] == [
        {"user_id": user["user"]["user_id"], "name": "김민지"}]
    [milestone] = of_type(body, "milestone", "first_follower")
    assert milestone["title"] == "첫 팔로워가 생겼어요!" and "김민지" in milestone["body"]
    assert body["unread_count"] == 2 and all(not n["read"] for n in body["items"])
    assert set(body["items"][0]) == {"notification_id", "type", "title", "body", "created_at", "updated_at",
                                     "read", "data"}
    # A second follower joins the same group; the milestone stays the first follower's.
    second = api.signup(name="박하늘")
    api.put(f"/shops/{shop_id}/follow", token=second["token"])
    drain_stream()
    body = inbox(api, owner["token"])
    assert [n["data"]["count"] for n in of_type(body, "new_follower")] == [2]
    assert of_type(body, "new_follower")[0]["body"] == "김민지 외 1명이 망원동 두부가게를 팔로잉 하셨습니다."
    assert len(of_type(body, "milestone", "first_follower")) == 1 and body["unread_count"] == 2
    # The follower's own inbox has nothing of the shop's.
    assert inbox(api, user["token"])["unread_count"] == 0


def test_five_likes_on_a_post_are_one_grouped_notification_counted_once(api, owner, drain_stream):
    post = create_post(api, owner)
    likers = [api.signup(name=name) for name in ("김민지", "최서연", "한지호", "박하늘", "오영수")]
    for liker in likers:
        assert api.put(f"/posts/{post['post_id']}/like", token=liker["token"]).status == 200
    # The owner's own like is not news to the owner; a like toggled off and on counts once.
    api.put(f"/posts/{post['post_id']}/like", token=owner["token"])
    api.delete(f"/posts/{post['post_id']}/like", token=likers[0]["token"])
    api.put(f"/posts/{post['post_id']}/like", token=likers[0]["token"])
    drain_stream()

    body = inbox(api, owner["token"])
    [like] = of_type(body, "like")
    assert like["data"]["count"] == 5 and like["data"]["post_id"] == post["post_id"]
    assert [a["name"] for a in like["data"]["actors"]] == ["김민지", "최서연", "한지호"]
    assert like["title"] == "김민지 외 4명이 좋아해요"
    assert body["unread_count"] == 1 == len(body["items"])


def test_read_all_then_one_new_event_leaves_exactly_one_unread(api, owner, drain_stream):
    post = create_post(api, owner)
    for name in ("김민지", "최서연"):
        api.put(f"/posts/{post['post_id']}/like", token=api.signup(name=name)["token"])
    follower = api.signup(name="박하늘")
    api.put(f"/shops/{owner['shop']['shop_id']}/follow", token=follower["token"])
    drain_stream()
    assert inbox(api, owner["token"])["unread_count"] == 3  # likes, new follower, first follower

    assert read_all(api, owner["token"]) == 0
    body = inbox(api, owner["token"])
    assert body["unread_count"] == 0 and all(n["read"] for n in body["items"])
    assert inbox(api, owner["token"], "?unread=true")["items"] == []

    # One more like on the same post: the read group grows in place and is unread again, once.
    api.put(f"/posts/{post['post_id']}/like", token=api.signup(name="한지호")["token"])
    drain_stream()
    body = inbox(api, owner["token"])
    assert body["unread_count"] == 1 and len(body["items"]) == 3
    [like] = of_type(body, "like")
    assert like["read"] is False and like["data"]["count"] == 3
    unread = inbox(api, owner["token"], "?unread=true")
    assert [n["notification_id"] for n in unread["items"]] == [like["notification_id"]]
    assert unread["unread_count"] == 1
    # A fourth like while it is unread changes nothing in the count.
    api.put(f"/posts/{post['post_id']}/like", token=api.signup(name="오영수")["token"])
    drain_stream()
    assert inbox(api, owner["token"])["unread_count"] == 1


def test_marking_by_id_is_exact_and_ignores_what_is_not_mine_or_already_read(api, owner, user, drain_stream):
    shop_id = owner["shop"]["shop_id"]
    api.put(f"/shops/{shop_id}/follow", token=user["token"])
    comment = create_post(api, owner)
    api.post(f"/posts/{comment['post_id']}/comments", {"text": "몇 시까지 하세요?"}, token=user["token"])
    drain_stream()
    body = inbox(api, owner["token"])
    assert body["unread_count"] == 3
    first, second = body["items"][0]["notification_id"], body["items"][1]["notification_id"]
    answer = api.post("/me/notifications/read", {"ids": [first, first, "01NOTMINE0000000000000000X"]},
                      token=owner["token"])
    assert answer.status == 200 and answer.body == {"unread_count": 2}
    # Again: already read, nothing changes.
    assert api.post("/me/notifications/read", {"ids": [first]}, token=owner["token"]).body == {"unread_count": 2}
    assert api.post("/me/notifications/read", {"ids": [second]}, token=owner["token"]).body == {"unread_count": 1}
    states = {n["notification_id"]: n["read"] for n in inbox(api, owner["token"])["items"]}
    assert states[first] and states[second] and list(states.values()).count(False) == 1


def test_the_read_body_takes_ids_or_all(api, user):
    for body in ({}, {"ids": []}, {"all": False}, {"ids": ["x"], "all": True}, {"ids": ["bad id!"]},
                 {"ids": ["a"] * 101}, {"everything": True}):
        assert_problem(api.post("/me/notifications/read", body, token=user["token"]), 422)
    assert api.post("/me/notifications/read", {"all": True}, token=user["token"]).body == {"unread_count": 0}
    assert api.get("/me/notifications").status == 401


def test_pages_newest_first_with_cursor_and_the_count_on_every_page(api, owner, drain_stream):
    shop_id = owner["shop"]["shop_id"]
    post = create_post(api, owner)
    people = [api.signup(name=f"손님{i}") for i in range(4)]
    for person in people:
        api.post(f"/posts/{post['post_id']}/comments", {"text": f"{person['user']['name']} 왔어요"},
                 token=person["token"])
    drain_stream()
    first = inbox(api, owner["token"], "?limit=3")
    assert len(first["items"]) == 3 and first["next_cursor"] and first["unread_count"] == 4
    second = inbox(api, owner["token"], f"?limit=3&cursor={first['next_cursor']}")
    assert len(second["items"]) == 1 and second["next_cursor"] is None and second["unread_count"] == 4
    texts = [n["body"] for n in first["items"] + second["items"]]
    assert texts == [f"손님{i} 왔어요" for i in (3, 2, 1, 0)]
    # The cursor is the owner's: another person (or the unread list) refuses it.
    assert_problem(api.get(f"/me/notifications?cursor={first['next_cursor']}", token=people[0]["token"]), 400)
    assert_problem(api.get(f"/me/notifications?unread=true&cursor={first['next_cursor']}",
                           token=owner["token"]), 400)


# --- orders, reviews, comments -------------------------------------------------------------------


def test_first_order_and_first_review_are_milestones_once(api, owner, drain_stream):
    shop_id = owner["shop"]["shop_id"]
    tofu = make_product(api, owner, name="손두부 (500g)", stock=50)
    minji, seoyeon = api.signup(name="김민지"), api.signup(name="최서연")
    orders = [placed(api, minji, shop_id, (tofu["product_id"], 2)), placed(api, seoyeon, shop_id, (tofu["product_id"], 1))]
    drain_stream()
    body = inbox(api, owner["token"])
    assert len(of_type(body, "new_order")) == 2  # the owner marks them paid: worth telling at once
    assert of_type(body, "milestone") == []  # but nothing is bought yet
    new_order = next(n for n in of_type(body, "new_order") if n["data"]["order_id"] == orders[0]["order_id"])
    assert new_order["body"] == "김민지님이 손두부 (500g)를 주문했어요 · 9,000원 · 입금을 확인해 주세요"
    for order in orders:
        pay(api, owner, order["order_id"])
    drain_stream()
    body = inbox(api, owner["token"])
    assert len(of_type(body, "new_order")) == 2  # one per order, told at placement
    [first] = of_type(body, "milestone", "first_order")
    assert first["data"]["order_id"] == orders[0]["order_id"] and first["data"]["customer_name"] == "김민지"

    for order, buyer in zip(orders, (minji, seoyeon)):
        advance(api, owner, order["order_id"], "shipped", "delivered")
        review = api.post(f"/orders/{order['order_id']}/review", {"rating": 5, "text": "고소해요"}, token=buyer["token"])
        assert review.status == 201, review.body
    drain_stream()
    body = inbox(api, owner["token"])
    assert len(of_type(body, "review")) == 2
    [first_review] = of_type(body, "milestone", "first_review")
    assert first_review["data"]["customer_name"] == "김민지" and first_review["title"] == "첫 리뷰가 도착했어요!"
    assert len(of_type(body, "milestone", "first_order")) == 1
    # The buyers heard about every move of their orders, once each.
    statuses = [n["data"]["status"] for n in of_type(inbox(api, minji["token"]), "order_status")]
    assert sorted(statuses) == ["delivered", "paid", "shipped"]
    assert inbox(api, minji["token"])["items"][0]["title"] == "배송이 완료되었어요"


def test_a_buyer_who_cancels_tells_the_owner(api, owner, user, drain_stream):
    tofu = make_product(api, owner, stock=5)
    order = placed(api, user, owner["shop"]["shop_id"], (tofu["product_id"], 1))
    assert api.post(f"/orders/{order['order_id']}/status", {"status": "cancelled"}, token=user["token"]).status == 200
    drain_stream()
    [cancelled] = of_type(inbox(api, owner["token"]), "order_status")
    assert cancelled["title"] == "김민지님이 주문을 취소했어요" and cancelled["data"]["status"] == "cancelled"
    assert of_type(inbox(api, user["token"]), "order_status") == []


def test_a_comment_tells_the_owner_and_the_shops_reply_tells_who_asked(api, owner, user, drain_stream):
    post = create_post(api, owner)
    other = api.signup(name="박하늘")
    api.post(f"/posts/{post['post_id']}/comments", {"text": "검은콩 두부는 몇 시까지 있나요?"}, token=user["token"])
    drain_stream()
    api.post(f"/posts/{post['post_id']}/comments", {"text": "오후 2시까지요!"}, token=owner["token"])
    api.post(f"/posts/{post['post_id']}/comments", {"text": "저도 궁금해요"}, token=other["token"])
    drain_stream()
    comments = of_type(inbox(api, owner["token"]), "comment")
    assert [c["title"] for c in comments] == ["박하늘님이 댓글을 남겼어요", "김민지님이 댓글을 남겼어요"]
    [reply] = of_type(inbox(api, user["token"]), "shop_reply")
    assert reply["title"] == "망원동 두부가게에서 답글을 남겼어요" and reply["body"] == "오후 2시까지요!"
    assert of_type(inbox(api, other["token"]), "shop_reply") == []  # asked after the reply


# --- regulars ------------------------------------------------------------------------------------


def test_ten_customers_becoming_regular_fire_tenth_regular_once(api, owner, drain_stream):
    shop_id = owner["shop"]["shop_id"]
    tofu = make_product(api, owner, stock=100)
    customers = []
    for n in range(11):
        buyer = api.signup(name=f"단골{n + 1}")
        paid(api, owner, buyer, shop_id, (tofu["product_id"], 1))
        paid(api, owner, buyer, shop_id, (tofu["product_id"], 1))
        customers.append(buyer)
        drain_stream()
    drain_stream()
    body = inbox(api, owner["token"], "?limit=100")
    became = of_type(body, "milestone", "became_regular")
    assert len(became) == 11 and len({n["data"]["customer_id"] for n in became}) == 11
    [tenth] = of_type(body, "milestone", "tenth_regular")
    assert tenth["data"]["customer_name"] == "단골10" and tenth["title"] == "단골 열 분이 생겼어요!"
    assert body["unread_count"] == len(body["items"])


def test_two_unpaid_orders_fire_no_milestone_and_paying_them_makes_a_regular_once(api, owner, drain_stream):
    shop_id = owner["shop"]["shop_id"]
    tofu = make_product(api, owner, stock=20)
    buyer = api.signup(name="김단골")
    assert api.put(f"/shops/{shop_id}/follow", token=buyer["token"]).status in (200, 201, 204)
    orders = [placed(api, buyer, shop_id, (tofu["product_id"], 1)) for _ in range(2)]
    drain_stream()
    card = api.get(f"/shops/{shop_id}/customers/{buyer['user']['user_id']}", token=owner["token"]).body
    assert (card["tier"], card["order_count"], card["tier_history"]) == ("potential", 0, [])
    assert of_type(inbox(api, owner["token"]), "milestone", "first_order") == []
    assert of_type(inbox(api, owner["token"]), "milestone", "became_regular") == []
    assert api.get("/me/store-links", token=buyer["token"]).body["items"] == []
    for order in orders:
        pay(api, owner, order["order_id"])
    drain_stream()
    drain_stream()
    card = api.get(f"/shops/{shop_id}/customers/{buyer['user']['user_id']}", token=owner["token"]).body
    assert (card["tier"], card["order_count"]) == ("regular", 2)
    [became] = of_type(inbox(api, owner["token"]), "milestone", "became_regular")
    assert became["data"]["customer_id"] == buyer["user"]["user_id"]
    assert len(api.get("/me/store-links", token=buyer["token"]).body["items"]) == 1


# --- time: a regular lapses, an essential runs out -------------------------------------------------


@pytest.fixture
def world(api, monkeypatch):
    return make_world(api, monkeypatch)


def test_a_regular_who_lapses_nudges_the_owner_once(world, drain_stream):
    from chalicelib.events.schedules import run_lapse_sweep
    from chalicelib.services.relationships import day_of

    api = world.api
    tofu = make_product(api, {**world.owner, "shop": world.shop}, stock=10)
    paid(api, world.owner, world.customer, world.shop_id, (tofu["product_id"], 1))
    world.travel_to(NOW + 7 * DAY)
    paid(api, world.owner, world.customer, world.shop_id, (tofu["product_id"], 1))
    drain_stream()
    assert len(of_type(inbox(api, world.owner["token"]), "milestone", "became_regular")) == 1

    container().relationships.set_sweep_watermark(day_of(NOW + 60 * DAY), NOW + 60 * DAY)
    world.travel_to(NOW + 68 * DAY)
    assert run_lapse_sweep().lapsed >= 1
    drain_stream()
    run_lapse_sweep()
    drain_stream()
    [nudge] = of_type(inbox(api, world.owner["token"]), "regular_lapsed")
    assert nudge["title"] == "단골 김민지님이 한동안 오지 않았어요"
    assert nudge["data"]["days_since_last_order"] == 60 and nudge["data"]["order_count"] == 2


def test_an_essential_about_to_run_out_reminds_the_customer_once_per_due_date(world, drain_stream):
    from chalicelib.events.schedules import run_reorder_reminders
    from chalicelib.services.notices import day_of

    api = world.api
    tofu = make_product(api, {**world.owner, "shop": world.shop}, name="손두부 (500g)", stock=10, reorder_days=7)
    oil = make_product(api, {**world.owner, "shop": world.shop}, name="들기름", stock=10, kind="treat", reorder_days=None)
    order = paid(api, world.owner, world.customer, world.shop_id, (tofu["product_id"], 1), (oil["product_id"], 1))
    drain_stream()
    store = container().notifications
    store.set_reminder_watermark(day_of(NOW), NOW)

    world.travel_to(NOW + 5 * DAY)
    run_reorder_reminders()
    assert of_type(inbox(api, world.customer["token"]), "reorder_due") == []

    world.travel_to(NOW + 6 * DAY + 3600)  # a day before it runs out
    assert run_reorder_reminders().sent >= 1
    run_reorder_reminders()
    drain_stream()
    [due] = of_type(inbox(api, world.customer["token"]), "reorder_due")
    assert due["title"] == "손두부 (500g)가 떨어질 때가 됐어요"
    assert due["data"]["last_order_id"] == order["order_id"] and due["data"]["product_id"] == tofu["product_id"]

    # Bought again: the next reminder is for the next due date, once.
    paid(api, world.owner, world.customer, world.shop_id, (tofu["product_id"], 1))
    drain_stream()
    world.travel_to(NOW + 13 * DAY + 7200)
    run_reorder_reminders()
    world.travel_to(NOW + 14 * DAY)
    run_reorder_reminders()
    assert len(of_type(inbox(api, world.customer["token"]), "reorder_due")) == 2


def test_a_reminder_under_the_old_unsharded_key_is_still_sent(world, drain_stream):
    from chalicelib.events.schedules import run_reorder_reminders
    from chalicelib.services.notices import day_of
    from chalicelib.storage.buckets import shard_of
    from chalicelib.storage.models.notifications import ReorderWatchItem, reorder_pk, reorder_sk

    api = world.api
    tofu = make_product(api, {**world.owner, "shop": world.shop}, name="손두부 (500g)", stock=10, reorder_days=7)
    paid(api, world.owner, world.customer, world.shop_id, (tofu["product_id"], 1))
    drain_stream()
    user_id = world.customer["user"]["user_id"]
    watch = ReorderWatchItem.get(reorder_pk(user_id), reorder_sk(world.shop_id, tofu["product_id"]))
    day = watch.gsi4pk.split("#")[1]
    assert watch.gsi4pk == f"REMIND#{day}#{shard_of(f'{user_id}#{world.shop_id}#{tofu['product_id']}')}"
    # As the code before the sharding wrote it: under the bare day bucket.
    watch.update(actions=[ReorderWatchItem.gsi4pk.set(f"REMIND#{day}")])
    container().notifications.set_reminder_watermark(day_of(NOW), NOW)
    world.travel_to(NOW + 6 * DAY + 3600)
    assert run_reorder_reminders().sent >= 1
    run_reorder_reminders()
    drain_stream()
    assert len(of_type(inbox(api, world.customer["token"]), "reorder_due")) == 1
    watch = ReorderWatchItem.get(reorder_pk(user_id), reorder_sk(world.shop_id, tofu["product_id"]))
    assert watch.gsi4pk is None  # reminded: out of the index


# --- replays ---------------------------------------------------------------------------------------


def test_a_replayed_record_adds_nothing(api, owner, user, drain_stream, monkeypatch):
    from chalicelib.events import stream as stream_module

    seen = []
    real = stream_module.dispatch

    def remember(records, deadline=None):
        records = list(records)
        seen.extend(records)
        return real(records, deadline)

    monkeypatch.setattr(stream_module, "dispatch", remember)
    tofu = make_product(api, owner, stock=5)
    api.put(f"/shops/{owner['shop']['shop_id']}/follow", token=user["token"])
    paid(api, owner, user, owner["shop"]["shop_id"], (tofu["product_id"], 1))  # placed, then paid
    drain_stream()
    before = inbox(api, owner["token"])
    assert before["unread_count"] == 4  # new follower, first follower, new order, first order
    for _ in range(3):
        assert real(seen) == []
    assert inbox(api, owner["token"]) == before


# --- nobody reads or marks another person's notifications ------------------------------------------


def test_every_id_taking_route_refuses_another_persons_notifications_and_devices(api, owner, user, drain_stream):
    from chalicelib.api.edge import ROUTES

    mine = [s for s in ROUTES if s.tag == "notifications"]
    id_taking = {f"{s.method} {s.path}" for s in mine if "{" in s.path or s.path.endswith("/read")}
    assert id_taking == {"POST /me/notifications/read", "PUT /me/devices/{device_id}",
                         "DELETE /me/devices/{device_id}"}
    api.put(f"/shops/{owner['shop']['shop_id']}/follow", token=user["token"])
    api.put("/me/devices/owner-phone", {"platform": "ios", "token": "a" * 64}, token=owner["token"])
    drain_stream()
    before = inbox(api, owner["token"])
    ids = [n["notification_id"] for n in before["items"]]
    assert before["unread_count"] == 2

    intruder = api.signup(name="남의집")
    # Reading: their inbox is their own; the owner's cursor is refused.
    assert inbox(api, intruder["token"])["items"] == [] and inbox(api, intruder["token"], "?unread=true")["items"] == []
    # Marking the owner's ids (or everything) changes nothing of the owner's.
    assert api.post("/me/notifications/read", {"ids": ids}, token=intruder["token"]).body == {"unread_count": 0}
    assert api.post("/me/notifications/read", {"all": True}, token=intruder["token"]).body == {"unread_count": 0}
    # The owner's device id names only the intruder's own (empty) slot.
    assert api.delete("/me/devices/owner-phone", token=intruder["token"]).status == 204
    assert [d.device_id for d in container().notifications.devices(owner["user"]["user_id"])] == ["owner-phone"]
    answer = api.put("/me/devices/owner-phone", {"platform": "ios", "token": "b" * 64}, token=intruder["token"])
    assert answer.status == 200
    [owners] = container().notifications.devices(owner["user"]["user_id"])
    assert owners.token == "a" * 64
    assert inbox(api, owner["token"]) == before
