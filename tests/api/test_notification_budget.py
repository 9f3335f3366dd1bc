"""What a notification costs in DynamoDB calls: each write one transaction, an inbox page one
Query (capacity is measured on DynamoDB Local by ``bench/notifications.py``)."""

from __future__ import annotations

from chalicelib import clock
from chalicelib.records.notifications import Actor, Grouped, Notice
from chalicelib.services import notifications
from chalicelib.wiring import container
from devtools.callcount import dynamodb_calls


def ops(fn) -> list[str]:
    with dynamodb_calls() as calls:
        fn()
    return calls.operations


def test_writes_are_one_transaction_each(api, owner):
    inbox, store = container().inbox, container().notifications
    shop_id, owner_id = owner["shop"]["shop_id"], owner["user"]["user_id"]
    at = clock.now()
    notice = Notice(owner_id, "new_order", "order-1", at, {"order_id": "order-1"})
    assert ops(lambda: inbox.add(notice)) == ["TransactWriteItems"]
    assert ops(lambda: inbox.add(notice)) == ["TransactWriteItems"]  # cancelled: nothing written
    # A milestone: a look (eventually consistent GetItem) and its transaction; then nothing.
    assert ops(lambda: inbox.add_milestone(shop_id, "first_order", owner_id, at, {})) == [
        "GetItem", "TransactWriteItems"]
    assert ops(lambda: inbox.add_milestone(shop_id, "first_order", owner_id, at, {})) == []
    # A group: look up the group key, then create; later read it and grow it in place.
    like = lambda n: Grouped(owner_id, "like", "post-1", Actor(f"user-{n}", f"손님{n}"), at + n, {})
    assert ops(lambda: inbox.add_grouped(like(1))) == ["GetItem", "TransactWriteItems"]
    assert ops(lambda: inbox.add_grouped(like(2))) == ["GetItem", "GetItem", "TransactWriteItems"]
    assert ops(lambda: inbox.add_grouped(like(2))) == ["GetItem", "GetItem", "TransactWriteItems"]  # no-op
    # A new regular: the shop's count, then one transaction (the tenth's milestone rides along).
    assert ops(lambda: inbox.add_regular(shop_id, owner_id, Actor("user-9", "단골"), at, {})) == [
        "GetItem", "GetItem", "TransactWriteItems"]
    assert store.unread_count(owner_id) == 4


def test_an_inbox_page_is_one_query_and_reading_is_one_transaction(api, owner):
    inbox, store = container().inbox, container().notifications
    user_id = owner["user"]["user_id"]
    for n in range(25):
        inbox.add(Notice(user_id, "comment", f"comment-{n}", clock.now() + n, {"text": f"질문 {n}"}))
    first = api.get("/me/notifications", token=owner["token"]).body
    with dynamodb_calls() as calls:
        page = notifications.inbox_page(store, user_id, unread_only=False, limit=20, start_key=None)
    assert calls.operations == ["Query"] and page.unread_count == 25 and len(page.items) == 20
    with dynamodb_calls() as calls:
        second = notifications.inbox_page(store, user_id, unread_only=False, limit=20, start_key=page.last_key)
    assert calls.operations == ["Query", "GetItem"] and len(second.items) == 5
    with dynamodb_calls() as calls:
        unread = notifications.inbox_page(store, user_id, unread_only=True, limit=20, start_key=None)
    assert calls.operations == ["Query", "GetItem"] and len(unread.items) == 20
    ids = [n["notification_id"] for n in first["items"][:3]]
    with dynamodb_calls() as calls:
        assert notifications.mark_read(store, user_id, ids, clock.now()) == 22
    assert calls.operations == ["BatchGetItem", "TransactWriteItems", "GetItem"]
    with dynamodb_calls() as calls:
        assert notifications.mark_all_read(store, user_id, clock.now()) == 0
    assert calls.operations == ["Query", "TransactWriteItems", "GetItem"]


def test_delivery_with_every_channel_off_is_one_query_and_queues_nothing(api, owner):
    from chalicelib.services.notification_delivery import plan

    deps = container()
    user_id = owner["user"]["user_id"]
    deps.inbox.add(Notice(user_id, "comment", "c-1", clock.now(), {"text": "안녕하세요"}))
    [notification] = deps.notifications.notifications(
        user_id, [i.notification_id for i in deps.notifications.inbox(user_id, 1, None)[0].items])
    with dynamodb_calls() as calls:
        assert plan(deps.notifications, notification) == []
    assert calls.operations == ["Query"]
