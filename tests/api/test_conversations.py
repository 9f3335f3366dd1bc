"""Conversations (문의) through the HTTP API: a customer writes to a shop, the owner answers;
exact unread counts on both sides; only the two participants see a conversation; message
notifications; the shop's blocks; limits. Runs on moto and on DynamoDB Local."""

from __future__ import annotations

import threading

import pytest

from chalicelib import wiring as deps
from devtools.callcount import dynamodb_calls
from tests.api.commerce import buy, make_product, placed
from tests.api.conftest import TOKEN_CHECK, assert_problem, create_post, real_dynamodb_only, upload_photo
from tests.clock import TestClock


@pytest.fixture
def clock(monkeypatch):
    """The app's clock, held still from the start of the next minute (so a rate window starts
    with the test) until the test moves it: whatever the day, the same windows and order."""
    from chalicelib import clock as app_clock

    return TestClock(monkeypatch, (app_clock.now() // 60 + 1) * 60)


def write_to_shop(api, customer, shop_id, text="내일 두부 두 모 맡아 주실 수 있나요?", **extra):
    return api.post(f"/shops/{shop_id}/messages", {"text": text, **extra}, token=customer["token"])


def sent(answer) -> dict:
    assert answer.status == 201, answer.body
    return answer.body


def my_conversations(api, person) -> list[dict]:
    answer = api.get("/me/conversations", token=person["token"])
    assert answer.status == 200, answer.body
    return answer.body["items"]


def shop_conversations(api, owner) -> list[dict]:
    answer = api.get(f"/shops/{owner['shop']['shop_id']}/conversations", token=owner["token"])
    assert answer.status == 200, answer.body
    return answer.body["items"]


def messages_of(api, person, conversation_id, query="") -> dict:
    answer = api.get(f"/conversations/{conversation_id}/messages{query}", token=person["token"])
    assert answer.status == 200, answer.body
    return answer.body


def test_the_first_message_makes_the_conversation_and_later_ones_join_it(api, owner, user, clock):
    shop_id = owner["shop"]["shop_id"]
    first = sent(write_to_shop(api, user, shop_id, "  안녕하세요  "))
    assert set(first) == {"message_id", "conversation_id", "sender", "text", "photos", "created_at"}
    assert first["sender"] == "customer" and first["text"] == "안녕하세요" and first["photos"] == []
    clock.now += 1
    second = sent(write_to_shop(api, user, shop_id, "두부 있나요?"))
    assert second["conversation_id"] == first["conversation_id"]
    clock.now += 1
    reply = sent(api.post(f"/conversations/{first['conversation_id']}/messages", {"text": "네 있어요"},
                          token=owner["token"]))
    assert reply["sender"] == "shop" and reply["conversation_id"] == first["conversation_id"]
    clock.now += 1
    again = sent(api.post(f"/conversations/{first['conversation_id']}/messages", {"text": "감사합니다"},
                          token=user["token"]))
    assert again["sender"] == "customer"
    page = messages_of(api, user, first["conversation_id"])
    assert [m["text"] for m in page["items"]] == ["안녕하세요", "두부 있나요?", "네 있어요", "감사합니다"]
    assert messages_of(api, owner, first["conversation_id"]) == page
    # Oldest first, page by page.
    one = messages_of(api, user, first["conversation_id"], "?limit=3")
    assert [m["text"] for m in one["items"]] == ["안녕하세요", "두부 있나요?", "네 있어요"] and one["next_cursor"]
    rest = messages_of(api, user, first["conversation_id"], f"?limit=3&cursor={one['next_cursor']}")
    assert [m["text"] for m in rest["items"]] == ["감사합니다"] and rest["next_cursor"] is None


def test_both_lists_are_latest_first_with_exact_unread_counts_and_reading_resets(api, owner, user, clock):
    other_owner = api.signup(name="이사장")
    other_shop = api.open_shop(other_owner["token"], name="망원 반찬가게")
    other_owner = {**other_owner, "shop": other_shop}
    second_customer = api.signup(name="최수진")
    shop_id = owner["shop"]["shop_id"]
    a = sent(write_to_shop(api, user, shop_id, "첫 문의"))
    clock.now += 1
    sent(write_to_shop(api, user, other_shop["shop_id"], "반찬 문의"))
    clock.now += 1
    b = sent(write_to_shop(api, second_customer, shop_id, "두 번째 고객"))
    clock.now += 1
    sent(write_to_shop(api, user, shop_id, "하나 더"))
    clock.now += 1
    sent(api.post(f"/conversations/{b['conversation_id']}/messages", {"text": "답장"}, token=owner["token"]))

    mine = my_conversations(api, user)
    assert [c["shop_id"] for c in mine] == [shop_id, other_shop["shop_id"]]
    assert mine[0]["shop_name"] == owner["shop"]["name"] and mine[0]["last_message"]["text"] == "하나 더"
    assert [c["unread_count"] for c in mine] == [0, 0]
    assert set(mine[0]) == {"conversation_id", "shop_id", "shop_name", "last_message", "unread_count", "updated_at"}

    inbox = shop_conversations(api, owner)
    assert [c["conversation_id"] for c in inbox] == [b["conversation_id"], a["conversation_id"]]
    assert [(c["customer_name"], c["unread_count"], c["tier"]) for c in inbox] == [
        ("최수진", 1, "potential"), (user["user"]["name"], 2, "potential")]
    assert inbox[0]["last_message"]["sender"] == "shop"
    assert [c["unread_count"] for c in my_conversations(api, second_customer)] == [1]

    read = api.post(f"/conversations/{a['conversation_id']}/read", token=owner["token"])
    assert read.status == 200 and read.body == {"unread_count": 0}
    assert [c["unread_count"] for c in shop_conversations(api, owner)] == [1, 0]
    read = api.post(f"/conversations/{b['conversation_id']}/read", token=second_customer["token"])
    assert read.body == {"unread_count": 0}
    assert [c["unread_count"] for c in my_conversations(api, second_customer)] == [0]
    # The owner's own unread count is untouched by the customer's reading.
    assert [c["unread_count"] for c in shop_conversations(api, owner)] == [1, 0]
    # The other shop sees only its own conversation.
    assert [c["customer_name"] for c in shop_conversations(api, other_owner)] == [user["user"]["name"]]


def test_a_customers_tier_comes_from_the_shops_relationships(api, owner, user, drain_stream):
    from tests.api.commerce import pay

    product = make_product(api, owner)
    pay(api, owner, placed(api, user, owner["shop"]["shop_id"], (product["product_id"], 1))["order_id"])
    drain_stream()
    sent(write_to_shop(api, user, owner["shop"]["shop_id"]))
    assert shop_conversations(api, owner)[0]["tier"] == "first_time"


def test_outsiders_get_404_and_only_the_owner_lists_the_shops_conversations(api, owner, user):
    message = sent(write_to_shop(api, user, owner["shop"]["shop_id"]))
    cid = message["conversation_id"]
    stranger = api.signup()
    rival = {**(r := api.signup()), "shop": api.open_shop(r["token"])}
    for intruder in (stranger, rival):
        assert_problem(api.get(f"/conversations/{cid}/messages", token=intruder["token"]), 404)
        assert_problem(api.post(f"/conversations/{cid}/messages", {"text": "끼어들기"}, token=intruder["token"]), 404)
        assert_problem(api.post(f"/conversations/{cid}/read", token=intruder["token"]), 404)
        assert_problem(api.get(f"/shops/{owner['shop']['shop_id']}/conversations", token=intruder["token"]), 403)
        assert my_conversations(api, intruder) == []
    # An unknown id answers the same as someone else's.
    assert_problem(api.get("/conversations/AAAAAAAAAAAAAAAAAAAAAAAAAA/messages", token=user["token"]), 404)
    assert api.get("/me/conversations").status == 401
    assert len(messages_of(api, user, cid)["items"]) == 1


def test_an_owner_cannot_write_to_their_own_shop_and_an_unknown_shop_is_404(api, owner, user):
    problem = assert_problem(write_to_shop(api, owner, owner["shop"]["shop_id"]), 403)
    assert problem["code"] == "own_shop_message"
    assert_problem(write_to_shop(api, user, "01JUNKNOWNSHOP00000000000X"), 404)


def test_messages_notify_the_other_side(api, owner, user, drain_stream):
    message = sent(write_to_shop(api, user, owner["shop"]["shop_id"], "콩물 있나요?"))
    drain_stream()
    to_owner = [n for n in api.get("/me/notifications", token=owner["token"]).body["items"] if n["type"] == "message"]
    assert len(to_owner) == 1
    assert to_owner[0]["title"] == f"{user['user']['name']}님의 문의가 도착했어요" and to_owner[0]["body"] == "콩물 있나요?"
    assert to_owner[0]["data"]["conversation_id"] == message["conversation_id"]
    sent(api.post(f"/conversations/{message['conversation_id']}/messages", {"text": "내일 들어와요"},
                  token=owner["token"]))
    drain_stream()
    drain_stream()  # a replay adds nothing
    to_user = [n for n in api.get("/me/notifications", token=user["token"]).body["items"] if n["type"] == "message"]
    assert [(n["title"], n["body"]) for n in to_user] == [(f"{owner['shop']['name']}에서 답장이 왔어요", "내일 들어와요")]
    assert len([n for n in api.get("/me/notifications", token=owner["token"]).body["items"]
                if n["type"] == "message"]) == 1


def test_a_blocked_customer_cannot_message_comment_or_order_until_unblocked(api, owner, user):
    shop_id = owner["shop"]["shop_id"]
    post = create_post(api, owner)
    product = make_product(api, owner)
    message = sent(write_to_shop(api, user, shop_id))
    blocked = api.put(f"/shops/{shop_id}/blocks/{user['user']['user_id']}", token=owner["token"])
    assert blocked.status == 200 and blocked.body["blocked"] is True
    assert blocked.body["user_id"] == user["user"]["user_id"] and blocked.body["shop_id"] == shop_id
    assert api.put(f"/shops/{shop_id}/blocks/{user['user']['user_id']}", token=owner["token"]).status == 200

    assert assert_problem(write_to_shop(api, user, shop_id), 403)["code"] == "blocked"
    assert assert_problem(api.post(f"/conversations/{message['conversation_id']}/messages", {"text": "왜요"},
                                   token=user["token"]), 403)["code"] == "blocked"
    assert assert_problem(api.post(f"/posts/{post['post_id']}/comments", {"text": "맛있어요"},
                                   token=user["token"]), 403)["code"] == "blocked"
    assert assert_problem(buy(api, user, shop_id, (product["product_id"], 1)), 403)["code"] == "blocked"
    assert api.get(f"/products/{product['product_id']}").body["stock"] == product["stock"]
    assert len(messages_of(api, user, message["conversation_id"])["items"]) == 1
    # The shop still answers, and another customer is not affected.
    sent(api.post(f"/conversations/{message['conversation_id']}/messages", {"text": "안내드려요"},
                  token=owner["token"]))
    other = api.signup()
    sent(write_to_shop(api, other, shop_id))
    assert api.post(f"/posts/{post['post_id']}/comments", {"text": "좋아요"}, token=other["token"]).status == 201

    assert api.delete(f"/shops/{shop_id}/blocks/{user['user']['user_id']}", token=owner["token"]).status == 204
    assert api.delete(f"/shops/{shop_id}/blocks/{user['user']['user_id']}", token=owner["token"]).status == 204
    sent(write_to_shop(api, user, shop_id))
    assert api.post(f"/posts/{post['post_id']}/comments", {"text": "맛있어요"}, token=user["token"]).status == 201
    assert buy(api, user, shop_id, (product["product_id"], 1)).status == 201


def test_only_the_owner_blocks(api, owner, user):
    shop_id = owner["shop"]["shop_id"]
    for intruder in (user, {**(r := api.signup()), "shop": api.open_shop(r["token"])}):
        assert_problem(api.put(f"/shops/{shop_id}/blocks/{user['user']['user_id']}", token=intruder["token"]), 403)
        assert_problem(api.delete(f"/shops/{shop_id}/blocks/{user['user']['user_id']}", token=intruder["token"]), 403)
    assert_problem(api.put(f"/shops/01JUNKNOWNSHOP00000000000X/blocks/{user['user']['user_id']}",
                           token=owner["token"]), 404)
    sent(write_to_shop(api, user, shop_id))


@pytest.mark.parametrize("body, field, code", [
    ({"text": ""}, "body.text", None),
    ({"text": "   "}, "body.text", None),
    ({"text": "가" * 1001}, "body.text", None),
    ({}, "body.text", None),
    ({"text": "hi", "photos": ["x"] * 5}, "body.photos", None),
    ({"text": "hi", "photos": ["uploads/someone/01J00000000000000000000000.jpg"]}, "body.photos.0", "not_uploaded"),
    ({"text": "hi", "extra": 1}, "body.extra", None),
    ({"text": 5}, "body.text", None),
])
def test_bad_messages_are_422_with_codes(api, owner, user, body, field, code):
    answer = api.post(f"/shops/{owner['shop']['shop_id']}/messages", body, token=user["token"])
    problem = assert_problem(answer, 422)
    assert problem["code"] == "validation_failed"
    fields = {e["field"]: e["code"] for e in problem["errors"]}
    assert field in fields, fields
    if code:
        assert fields[field] == code


def test_a_message_may_carry_my_uploaded_photos(api, owner, user):
    key = upload_photo(api, user["token"])
    message = sent(write_to_shop(api, user, owner["shop"]["shop_id"], "이 두부 있나요?", photos=[key]))
    assert message["photos"] == [key]
    # Someone else's upload is not mine to send.
    problem = assert_problem(api.post(f"/conversations/{message['conversation_id']}/messages",
                                      {"text": "이 사진", "photos": [key]}, token=owner["token"]), 422)
    assert problem["errors"][0]["code"] == "not_uploaded"


def test_messages_are_rate_limited_per_sender(api, owner, user, clock, monkeypatch):
    monkeypatch.setenv("DONGNE_RATE_MESSAGE", "3/1m")
    deps.reset()
    try:
        shop_id = owner["shop"]["shop_id"]
        answers = [write_to_shop(api, user, shop_id, f"문의 {n}") for n in range(5)]
        assert [a.status for a in answers] == [201, 201, 201, 429, 429]
        assert 1 <= int(answers[3].headers["Retry-After"]) <= 60
        assert assert_problem(answers[3], 429)["code"] == "rate_limited"
        # The shop's owner has a budget of their own.
        cid = answers[0].body["conversation_id"]
        assert api.post(f"/conversations/{cid}/messages", {"text": "답"}, token=owner["token"]).status == 201
        # A refused message changed nothing.
        assert len(messages_of(api, user, cid)["items"]) == 4
        assert shop_conversations(api, owner)[0]["unread_count"] == 3
        clock.now += 60
        assert write_to_shop(api, user, shop_id).status == 201
    finally:
        monkeypatch.delenv("DONGNE_RATE_MESSAGE")
        deps.reset()


def test_calls_per_request(api, owner, user):
    shop_id = owner["shop"]["shop_id"]
    with dynamodb_calls() as calls:
        cid = sent(write_to_shop(api, user, shop_id))["conversation_id"]
    assert calls.operations == TOKEN_CHECK + ["GetItem", "TransactWriteItems"]
    with dynamodb_calls() as calls:
        sent(api.post(f"/conversations/{cid}/messages", {"text": "답"}, token=owner["token"]))
    assert calls.operations == TOKEN_CHECK + ["GetItem", "TransactWriteItems"]
    with dynamodb_calls() as calls:
        messages_of(api, user, cid)
    assert calls.operations == TOKEN_CHECK + ["GetItem", "Query"]
    with dynamodb_calls() as calls:
        api.post(f"/conversations/{cid}/read", token=user["token"])
    assert calls.operations == TOKEN_CHECK + ["GetItem", "UpdateItem"]
    with dynamodb_calls() as calls:
        my_conversations(api, user)
    assert calls.operations == TOKEN_CHECK + ["Query"]
    with dynamodb_calls() as calls:
        shop_conversations(api, owner)
    assert calls.operations == TOKEN_CHECK + ["GetItem", "Query", "BatchGetItem"]
    with dynamodb_calls() as calls:
        api.put(f"/shops/{shop_id}/blocks/{user['user']['user_id']}", token=owner["token"])
    assert calls.operations == TOKEN_CHECK + ["GetItem", "PutItem"]
    with dynamodb_calls() as calls:
        api.delete(f"/shops/{shop_id}/blocks/{user['user']['user_id']}", token=owner["token"])
    assert calls.operations == TOKEN_CHECK + ["GetItem", "DeleteItem"]


# --- races, on DynamoDB Local ------------------------------------------------------------------------


def _together(count: int, work) -> list:
    results: list = [None] * count
    barrier = threading.Barrier(count)

    def run(i: int) -> None:
        barrier.wait()
        results[i] = work(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@real_dynamodb_only
def test_racing_first_messages_make_one_conversation(api, owner, user):
    shop_id = owner["shop"]["shop_id"]
    answers = _together(2, lambda i: write_to_shop(api, user, shop_id, f"동시에 {i}"))
    assert [a.status for a in answers] == [201, 201], [a.body for a in answers]
    assert len({a.body["conversation_id"] for a in answers}) == 1
    mine = my_conversations(api, user)
    assert len(mine) == 1 and len(shop_conversations(api, owner)) == 1
    assert shop_conversations(api, owner)[0]["unread_count"] == 2
    assert len(messages_of(api, user, mine[0]["conversation_id"])["items"]) == 2


@real_dynamodb_only
def test_concurrent_messages_count_exactly(api, owner, user):
    n = 8
    cid = sent(write_to_shop(api, user, owner["shop"]["shop_id"], "시작"))["conversation_id"]
    api.post(f"/conversations/{cid}/read", token=owner["token"])
    answers = _together(n, lambda i: api.post(f"/conversations/{cid}/messages", {"text": f"메시지 {i}"},
                                              token=user["token"]))
    assert [a.status for a in answers] == [201] * n, [a.body for a in answers]
    assert shop_conversations(api, owner)[0]["unread_count"] == n
    assert len(messages_of(api, owner, cid)["items"]) == n + 1
    assert api.post(f"/conversations/{cid}/read", token=owner["token"]).body == {"unread_count": 0}
    assert shop_conversations(api, owner)[0]["unread_count"] == 0


def test_a_shops_automatic_message_is_sent_once_per_moment_and_never_to_a_blocked_customer(api, owner, user,
                                                                                          drain_stream):
    from chalicelib import clock as app_clock
    from chalicelib.records.conversations import Once
    from chalicelib.services.conversations import shop_says
    from chalicelib.services.shops import get_shop

    shop = get_shop(deps.container().shops, owner["shop"]["shop_id"])
    store, customer = deps.container().conversations, user["user"]
    moment = Once(pk=f"TEST#{shop.shop_id}", sk=f"TO#{customer['user_id']}")
    for _ in range(3):  # a replay, then a retry: still one message
        sent_now = shop_says(store, shop, customer["user_id"], customer["name"], "첫 주문 고마워요",
                             once=moment, now=app_clock.now())
        assert sent_now is (_ == 0)
    [conversation] = my_conversations(api, user)
    assert conversation["unread_count"] == 1 and conversation["last_message"]["sender"] == "shop"
    assert [m["text"] for m in messages_of(api, user, conversation["conversation_id"])["items"]] == ["첫 주문 고마워요"]
    assert shop_conversations(api, owner)[0]["customer_name"] == customer["name"]
    drain_stream()
    notes = [n for n in api.get("/me/notifications", token=user["token"]).body["items"] if n["type"] == "message"]
    assert len(notes) == 1

    api.put(f"/shops/{shop.shop_id}/blocks/{customer['user_id']}", token=owner["token"])
    other_moment = Once(pk=f"TEST#{shop.shop_id}", sk=f"AGAIN#{customer['user_id']}")
    assert shop_says(store, shop, customer["user_id"], customer["name"], "다시", once=other_moment,
                     now=app_clock.now()) is False
    assert len(messages_of(api, user, conversation["conversation_id"])["items"]) == 1
