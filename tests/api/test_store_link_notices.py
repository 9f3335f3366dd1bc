"""The one-person store speaks: a buyer is handed their link, the link's owner hears of rewards.

GIVEN a shop paying 10% per referred order, WHEN a customer's first order there is paid, THEN
she gets one ``store_link`` notification carrying her link and a share text (not again for a
later order, nor for a replayed record); WHEN a friend buys through her link and the order is
delivered, THEN she gets ``reward`` twice — the friend bought (pending), the reward confirmed —
once each however often the records come. Runs on moto and on DynamoDB Local.
"""

from __future__ import annotations

from decimal import Decimal

from tests.api.commerce import advance, paid, pay, placed
from tests.api.test_store_link_events import buyer, deps, order_record, record  # noqa: F401 (fixtures)
from tests.api.test_store_links import alice, link_of, shop  # noqa: F401 (fixtures)


def notices(api, person: dict, type_: str) -> list[dict]:
    answer = api.get("/me/notifications?limit=100", token=person["token"])
    assert answer.status == 200, answer.body
    return [n for n in answer.body["items"] if n["type"] == type_]


def test_a_first_paid_order_hands_the_buyer_her_link_once(api, shop, user, drain_stream):  # noqa: F811
    order = placed(api, user, shop["id"], (shop["tofu"], 1))
    drain_stream()
    assert notices(api, user, "store_link") == []  # placed, not paid: nothing yet
    pay(api, shop, order["order_id"])
    drain_stream()
    [told] = notices(api, user, "store_link")
    link = link_of(api, user, shop["id"])
    data = told["data"]
    assert (data["code"], data["shop_id"], data["shop_name"]) == (link["code"], shop["id"], shop["shop"]["name"])
    assert data["url"] == link["url"] and data["url"] in data["share_text"]
    assert shop["shop"]["name"] in data["share_text"]
    assert told["title"] == "내 스토어 링크가 생겼어요" and "친구" in told["body"]
    paid(api, shop, user, shop["id"], (shop["oil"], 1))  # a later paid order: the same link, no new notice
    drain_stream()
    assert len(notices(api, user, "store_link")) == 1


def test_the_issuing_record_replayed_tells_once_and_a_later_orders_record_never(deps, buyer):  # noqa: F811
    from chalicelib.events.stream import dispatch

    first = order_record(buyer, "SHOP1", ["P1"])
    dispatch([first])
    dispatch([first, first])  # the stream delivers it again
    dispatch([order_record(buyer, "SHOP1", ["P2"])])  # a later paid order at the shop
    page, _ = deps.notifications.inbox(buyer, 100, None)
    told = [n for n in page.items if n.type == "store_link"]
    assert len(told) == 1 and told[0].data["code"] == deps.store_links.code_for(buyer, "SHOP1")


def test_the_links_owner_hears_a_friend_bought_and_then_that_the_reward_is_confirmed(api, shop, alice,
                                                                                       drain_stream):  # noqa: F811
    friend = api.signup(name="한지호")
    order = placed(api, friend, shop["id"], (shop["oil"], 1), via_store_link=alice["code"])
    drain_stream()
    assert notices(api, alice, "reward") == []  # not paid yet
    pay(api, shop, order["order_id"])
    drain_stream()
    [bought] = notices(api, alice, "reward")
    assert (bought["data"]["moment"], bought["data"]["amount"], bought["data"]["order_id"]) == (
        "bought", 1800, order["order_id"])
    assert bought["title"] == "친구가 내 스토어 링크로 주문했어요" and "1,800" in bought["body"]
    assert "한지호" not in str(bought)  # the friend's name is theirs to tell
    advance(api, shop, order["order_id"], "shipped", "delivered")
    drain_stream()
    drain_stream()
    rewards = notices(api, alice, "reward")
    assert [n["data"]["moment"] for n in rewards] == ["confirmed", "bought"]
    assert rewards[0]["title"] == "리워드가 확정되었어요" and rewards[0]["data"]["amount"] == 1800
    assert notices(api, friend, "reward") == []


def test_a_reward_given_to_the_friend_is_told_once_with_nothing_to_confirm(api, shop, alice,
                                                                           drain_stream):  # noqa: F811
    api.patch(f"/me/store-links/{alice['code']}", {"give_reward_to_friend": True}, token=alice["token"])
    friend = api.signup()
    order = paid(api, shop, friend, shop["id"], (shop["oil"], 1), via_store_link=alice["code"])
    advance(api, shop, order["order_id"], "shipped", "delivered")
    drain_stream()
    [told] = notices(api, alice, "reward")
    assert told["data"]["given_to_friend"] is True and "선물" in told["body"]


def test_a_replayed_delivery_confirms_the_reward_once(deps):  # noqa: F811
    from chalicelib.events.stream import dispatch

    image = {"order_id": "O1", "shop_id": "S1", "shop_name": "망원동 두부가게", "buyer_id": "FRIEND",
             "owner_id": "OWNER", "status": "shipped", "total": Decimal(18000), "created_at": Decimal(1795400000),
             "paid_at": Decimal(1795400060), "via_store_link": "abcdefghjk", "referrer_id": "REFERRER",
             "referral_reward": Decimal(1800), "items": []}
    delivered = record("order", {**image, "status": "delivered", "updated_at": Decimal(1795500000)}, "MODIFY",
                       old=image)
    dispatch([delivered, delivered])
    page, _ = deps.notifications.inbox("REFERRER", 100, None)
    assert [(n.type, n.data["moment"]) for n in page.items] == [("reward", "confirmed")]
