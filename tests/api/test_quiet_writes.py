"""Quiet writes (``storage.quiet``): a like's count, a shop's post count and an order's review id
never invoke the stream function, and the change of the item after one always does — whichever
write path makes it. Streams are read through the filter as deployed (``stream`` fixture).
Runs on moto and on DynamoDB Local."""

from __future__ import annotations

import pytest
from pynamodb.transactions import TransactWrite

from chalicelib.storage.accounts import PROFILE
from chalicelib.storage.models.accounts import ShopItem, shop_pk
from chalicelib.storage.models.orders import ORDER, OrderItem, order_pk
from chalicelib.storage.models.social import POST_SK, PostItem, post_pk
from chalicelib.storage.quiet import ATTRIBUTE
from chalicelib.storage.transactions import Transaction
from tests.api.commerce import advance, make_product, paid, placed
from tests.api.conftest import create_post


def modified(records: list[dict], entity: str) -> list[dict]:
    """New images of the delivered MODIFY records of ``entity``."""
    return [r["dynamodb"]["NewImage"] for r in records
            if r["eventName"] == "MODIFY" and r["dynamodb"]["NewImage"].get("entity", {}).get("S") == entity]


def raw(model, pk: str, sk: str) -> dict:
    return model._get_connection().get_item(pk, sk, consistent_read=True)["Item"]


def test_a_like_never_invokes_the_function_and_the_edit_after_it_reaches_the_feed(api, owner, user, stream):
    api.put(f"/shops/{owner['shop']['shop_id']}/follow", token=user["token"])
    post = create_post(api, owner, "콩물 있어요")
    stream()
    start = len(stream.seen)
    assert api.put(f"/posts/{post['post_id']}/like", token=user["token"]).status == 200
    assert api.post(f"/posts/{post['post_id']}/comments", {"text": "몇 시까지요?"}, token=user["token"]).status == 201
    stream()
    assert modified(stream.seen[start:], "post") == []  # the counts moved quietly
    assert ATTRIBUTE in raw(PostItem, post_pk(post["post_id"]), POST_SK)

    edited = api.patch(f"/posts/{post['post_id']}", {"text": "콩물 품절! #품절"}, token=owner["token"])
    assert edited.status == 200
    stream()
    [image] = modified(stream.seen[start:], "post")
    assert ATTRIBUTE not in image and image["text"]["S"] == "콩물 품절! #품절"
    [item] = api.get("/feed", token=user["token"]).body["items"]
    assert item["text"] == "콩물 품절! #품절" and item["hashtags"] == ["품절"]
    assert (item["like_count"], item["comment_count"]) == (1, 1)  # re-copied with the edit


def test_a_post_moves_the_shop_quietly_and_a_follow_after_it_reaches_discovery(api, owner, user, stream):
    shop_id = owner["shop"]["shop_id"]
    stream()
    start = len(stream.seen)
    create_post(api, owner, "두부 나왔어요")
    stream()
    assert modified(stream.seen[start:], "shop") == []  # post_count: nothing on the stream reads it
    assert api.put(f"/shops/{shop_id}/follow", token=user["token"]).status == 200
    stream()
    [image] = modified(stream.seen[start:], "shop")
    assert ATTRIBUTE not in image and image["follower_count"]["N"] == "1" and image["post_count"]["N"] == "1"


def test_a_review_is_quiet_and_the_orders_next_change_is_delivered(api, owner, user, stream):
    tofu = make_product(api, owner, name="손두부", price=4500, stock=50)["product_id"]
    order = advance(api, owner, placed(api, user, owner["shop"]["shop_id"], (tofu, 1))["order_id"],
                    "paid", "shipped", "delivered")
    stream()
    start = len(stream.seen)
    assert api.post(f"/orders/{order['order_id']}/review", {"rating": 5}, token=user["token"]).status == 201
    stream()
    assert modified(stream.seen[start:], "order") == []
    from chalicelib.wiring import container

    assert container().orders.close_buyer(user["user"]["user_id"]) == 1  # an UpdateItem of the order
    stream()
    [image] = modified(stream.seen[start:], "order")
    assert ATTRIBUTE not in image and image["buyer_closed"]["BOOL"] is True and image["review_id"]["S"]


def test_a_status_change_after_a_quiet_write_is_delivered_to_its_handlers(api, owner, user, stream):
    tofu = make_product(api, owner, name="손두부", price=4500, stock=50)["product_id"]
    order = paid(api, owner, user, owner["shop"]["shop_id"], (tofu, 1))
    stream()
    start = len(stream.seen)
    # A quiet write of the paid order (one a handler would not read), then the owner cancels it.
    OrderItem(order_pk(order["order_id"]), ORDER).update(OrderItem.quietly([OrderItem.review_id.set("R-QUIET")]))
    stream()
    assert modified(stream.seen[start:], "order") == []
    advance(api, owner, order["order_id"], "cancelled")
    stream()
    [image] = modified(stream.seen[start:], "order")
    assert ATTRIBUTE not in image and image["status"]["S"] == "cancelled"


@pytest.mark.parametrize("path", ["update", "transaction", "transact_write", "put"])
def test_every_write_path_but_a_quiet_one_clears_the_mark(api, owner, path):
    key = (shop_pk(owner["shop"]["shop_id"]), PROFILE)
    ShopItem(*key).update(ShopItem.quietly([ShopItem.post_count.add(1)]))
    assert raw(ShopItem, *key)[ATTRIBUTE] == {"S": "post_count"}
    actions = [ShopItem.bio.set("새벽 두부")]
    if path == "update":
        ShopItem(*key).update(actions)
    elif path == "transaction":
        Transaction(ShopItem._get_connection().connection).update(ShopItem(*key), actions, label="shop").commit()
    elif path == "transact_write":
        with TransactWrite(connection=ShopItem._get_connection().connection) as tx:
            tx.update(ShopItem(*key), actions=actions)
    else:
        ShopItem.get(*key, consistent_read=True).save()
    assert ATTRIBUTE not in raw(ShopItem, *key)
    # A quiet write stays quiet through a transaction too, and marks which counts it moved.
    Transaction(ShopItem._get_connection().connection).update(
        ShopItem(*key), ShopItem.quietly([ShopItem.post_count.add(-1)]), label="shop").commit()
    assert raw(ShopItem, *key)[ATTRIBUTE] == {"S": "post_count"}


def test_a_quiet_write_moves_only_what_no_handler_reads():
    with pytest.raises(ValueError):
        ShopItem.quietly([ShopItem.follower_count.add(1)])  # discovery ranks by it
    with pytest.raises(ValueError):
        OrderItem.quietly([OrderItem.review_id.set("R"), OrderItem.status.set("paid")])
    with pytest.raises(ValueError):
        PostItem.quietly([])
    sneaked = [PostItem.like_count.add(1), PostItem.text.set("x"), *PostItem.quietly([PostItem.like_count.add(1)])[1:]]
    with pytest.raises(ValueError):
        PostItem("POST#x", POST_SK).update(sneaked)  # refused before it is sent
    assert [str(a.values[0]) for a in PostItem.quietly([PostItem.comment_count.add(1)])] == ["comment_count", "quiet"]
