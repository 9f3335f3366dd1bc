"""Notifications under concurrency, on DynamoDB Local (moto has no isolation).

GIVEN stream records delivered by several Lambda invocations at once (two shards, a retried
batch), THEN milestones still happen once, a replayed record still adds one notification,
groups count each actor once, and the unread count equals the unread notifications.
"""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import boto3

from chalicelib.events.stream import dispatch
from chalicelib.wiring import container
from tests.api.commerce import advance, make_product, placed
from tests.api.conftest import create_post, real_dynamodb_only

pytestmark = real_dynamodb_only


def record_of(pk: str, sk: str) -> dict:
    """The item as a stream INSERT record (what Lambda would deliver)."""
    settings = container().settings
    client = boto3.client("dynamodb", region_name=settings.region, endpoint_url=settings.dynamodb_endpoint)
    item = client.get_item(TableName=settings.table_name, Key={"pk": {"S": pk}, "sk": {"S": sk}},
                           ConsistentRead=True)["Item"]
    return {"eventID": uuid.uuid4().hex, "eventName": "INSERT", "eventSource": "aws:dynamodb",
            "dynamodb": {"NewImage": item, "SequenceNumber": uuid.uuid4().hex,
                         "ApproximateCreationDateTime": int(time.time())}}


def at_once(*batches: list[dict]) -> None:
    """Each batch in its own thread, released together; every record must succeed."""
    gate = threading.Barrier(len(batches))

    def run(batch):
        gate.wait()
        return dispatch(batch)

    with ThreadPoolExecutor(len(batches)) as pool:
        assert list(pool.map(run, batches)) == [[]] * len(batches)


def everything(api, token) -> dict:
    body = api.get("/me/notifications?limit=100", token=token).body
    assert body["next_cursor"] is None
    return body


def exact(body) -> bool:
    return body["unread_count"] == sum(not n["read"] for n in body["items"])


def milestones(body, name):
    return [n for n in body["items"] if n["type"] == "milestone" and n["data"]["milestone"] == name]


def test_two_first_orders_at_once_are_one_first_order_milestone(api, owner, drain_stream):
    drain_stream()  # earlier tests' records, out of the way
    tofu = make_product(api, owner, stock=10)
    orders = [placed(api, api.signup(name=name), owner["shop"]["shop_id"], (tofu["product_id"], 1))
              for name in ("김민지", "최서연")]
    for order in orders:  # only a paid order is a purchase: the records below are the paid items
        advance(api, owner, order["order_id"], "paid")
    records = [record_of(f"ORDER#{o['order_id']}", "ORDER") for o in orders]
    at_once([records[0]], [records[1]])
    drain_stream()  # the real records too: replays of what just ran
    body = everything(api, owner["token"])
    assert len(milestones(body, "first_order")) == 1
    assert len([n for n in body["items"] if n["type"] == "new_order"]) == 2
    assert exact(body) and body["unread_count"] == 3


def test_a_record_replayed_three_times_at_once_is_one_notification(api, owner, user, drain_stream):
    drain_stream()
    post = create_post(api, owner)
    comment = api.post(f"/posts/{post['post_id']}/comments", {"text": "내일도 하나요?"}, token=user["token"]).body
    tofu = make_product(api, owner, stock=10)
    order = placed(api, user, owner["shop"]["shop_id"], (tofu["product_id"], 1))
    advance(api, owner, order["order_id"], "paid")
    comment_record = record_of(f"POST#{post['post_id']}", f"COMMENT#{comment['comment_id']}")
    order_record = record_of(f"ORDER#{order['order_id']}", "ORDER")
    at_once([comment_record, order_record], [comment_record, order_record], [order_record, comment_record])
    body = everything(api, owner["token"])
    kinds = sorted(n["type"] if n["type"] != "milestone" else n["data"]["milestone"] for n in body["items"])
    assert kinds == ["comment", "first_order", "new_order"]
    assert exact(body) and body["unread_count"] == 3
    drain_stream()
    assert everything(api, owner["token"]) == body


def test_likes_racing_on_one_post_make_one_group_counting_each_liker_once(api, owner, drain_stream):
    drain_stream()
    post = create_post(api, owner)
    likers = [api.signup(name=f"손님{n}") for n in range(6)]
    for liker in likers:
        api.put(f"/posts/{post['post_id']}/like", token=liker["token"])
    records = [record_of(f"POST#{post['post_id']}", f"LIKE#{liker['user']['user_id']}") for liker in likers]
    # Six invocations at once, each also replaying its neighbour's record.
    at_once(*[[records[n], records[(n + 1) % 6]] for n in range(6)])
    body = everything(api, owner["token"])
    [group] = [n for n in body["items"] if n["type"] == "like"]
    assert group["data"]["count"] == 6 and len(group["data"]["actors"]) == 3
    assert exact(body) and body["unread_count"] == 1


def test_ten_regulars_at_once_fire_tenth_regular_once(api, owner):
    shop_id = owner["shop"]["shop_id"]
    customers = [api.signup(name=f"단골{n}") for n in range(12)]
    now = time.time()

    def transition(customer) -> dict:
        user_id = customer["user"]["user_id"]
        image = {"pk": {"S": f"REL#{shop_id}"}, "sk": {"S": f"TRANSITION#{user_id}#x#regular"},
                 "entity": {"S": "tier_transition"}, "shop_id": {"S": shop_id}, "user_id": {"S": user_id},
                 "from_tier": {"S": "first_time"}, "to_tier": {"S": "regular"}, "milestone": {"S": "became_regular"},
                 "at": {"N": str(now)}, "created_at": {"N": str(now)}}
        return {"eventID": uuid.uuid4().hex, "eventName": "INSERT",
                "dynamodb": {"NewImage": image, "SequenceNumber": uuid.uuid4().hex}}

    records = [transition(c) for c in customers]
    at_once(*[[records[n], records[(n + 5) % 12]] for n in range(12)])
    body = everything(api, owner["token"])
    assert len(milestones(body, "became_regular")) == 12
    assert len(milestones(body, "tenth_regular")) == 1
    assert exact(body) and body["unread_count"] == 13


def test_reading_while_notifications_arrive_keeps_the_count_exact(api, owner, drain_stream):
    drain_stream()
    post = create_post(api, owner)
    people = [api.signup(name=f"손님{n}") for n in range(16)]
    comments = [api.post(f"/posts/{post['post_id']}/comments", {"text": f"{n}번째 질문"}, token=p["token"]).body
                for n, p in enumerate(people)]
    records = [record_of(f"POST#{post['post_id']}", f"COMMENT#{c['comment_id']}") for c in comments]
    dispatch(records[:8])
    first_ids = [n["notification_id"] for n in everything(api, owner["token"])["items"]]
    gate = threading.Barrier(4)

    def reader_all():
        gate.wait()
        return api.post("/me/notifications/read", {"all": True}, token=owner["token"]).status

    def reader_some():
        gate.wait()
        return api.post("/me/notifications/read", {"ids": first_ids[:5]}, token=owner["token"]).status

    def writer(batch):
        gate.wait()
        return dispatch(batch)

    with ThreadPoolExecutor(4) as pool:
        results = [pool.submit(reader_all), pool.submit(reader_some), pool.submit(writer, records[8:12]),
                   pool.submit(writer, records[12:])]
        assert [r.result() for r in results] == [200, 200, [], []]
    body = everything(api, owner["token"])
    assert len(body["items"]) == 16 and exact(body)
    assert all(n["read"] for n in body["items"] if n["notification_id"] in first_ids)
