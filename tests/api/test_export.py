"""``GET /me/export``: everything held about me, bounded in calls per kind, never a secret and
never another person's private data."""

from __future__ import annotations

import json

from devtools.callcount import dynamodb_calls
from tests.api.commerce import advance, make_product, placed
from tests.api.conftest import assert_problem


def test_the_export_holds_what_i_can_see_and_no_secret(api, owner, drain_stream):
    tofu = make_product(api, owner)
    minji = api.signup(name="김민지")
    token = minji["token"]
    assert api.put(f"/shops/{owner['shop']['shop_id']}/follow", token=token).status == 200
    order = placed(api, minji, owner["shop"]["shop_id"], (tofu["product_id"], 1))
    advance(api, owner, order["order_id"], "paid")
    assert api.post(f"/shops/{owner['shop']['shop_id']}/messages", {"text": "두부 언제 나와요?"},
                    token=token).status == 201
    assert api.put("/me/devices/phone-1", {"platform": "ios", "token": "d" * 64}, token=token).status == 200
    # someone else's data at the same shop
    other = api.signup(name="최서연")
    placed(api, other, owner["shop"]["shop_id"], (tofu["product_id"], 1))
    drain_stream()
    answer = api.get("/me/export", token=token)
    assert answer.status == 200, answer.body
    body = answer.body
    assert body["profile"]["user_id"] == minji["user"]["user_id"] and body["profile"]["email"] == minji["email"]
    assert [s["shop_id"] for s in body["following"]] == [owner["shop"]["shop_id"]]
    assert [o["order_id"] for o in body["orders"]] == [order["order_id"]]
    assert [link["shop_id"] for link in body["store_links"]] == [owner["shop"]["shop_id"]]
    assert len(body["conversations"]) == 1 and [d["device_id"] for d in body["devices"]] == ["phone-1"]
    assert body["card"]["saved"] is False and body["truncated"] == [] and body["not_included"]
    text = json.dumps(body, ensure_ascii=False)
    for secret in ("password", "token_version", "revoked", "argon2", "d" * 64, "billing_key", "endpoint_arn"):
        assert secret not in text, secret
    assert other["user"]["user_id"] not in text and "최서연" not in text
    assert_problem(api.get("/me/export"), 401)


def test_each_kind_is_read_in_at_most_ten_pages_and_the_rest_is_named(api, owner, drain_stream, monkeypatch):
    """A buyer with 7 orders and pages of 2 (the bound's size shrunk for the test): the orders
    stop after MAX_PAGES pages with the cursor that continues them, and every kind cost at most
    that many Queries."""
    from chalicelib.api import export

    monkeypatch.setattr(export, "PAGE", 2)
    monkeypatch.setattr(export, "MAX_PAGES", 3)
    tofu = make_product(api, owner, stock=100)
    minji = api.signup()
    made = [placed(api, minji, owner["shop"]["shop_id"], (tofu["product_id"], 1))["order_id"] for _ in range(7)]
    with dynamodb_calls() as calls:
        answer = api.get("/me/export", token=minji["token"])
    assert answer.status == 200, answer.body
    assert [o["order_id"] for o in answer.body["orders"]] == made[::-1][:6]
    [cut] = answer.body["truncated"]
    assert cut["kind"] == "orders" and cut["path"] == "/me/orders"
    rest = api.get(f"/me/orders?limit=100&cursor={cut['cursor']}", token=minji["token"]).body
    assert [o["order_id"] for o in rest["items"]] == [made[0]]
    counted = calls.by_operation()
    # orders: MAX_PAGES Queries, then cut; the 12 other paged lists of this buyer fit in one page each;
    # GetItems: the token check, the address book, the saved card, the notification settings
    assert counted["Query"] == 3 + 12, counted
    assert counted["GetItem"] <= 4 and set(counted) <= {"Query", "GetItem", "BatchGetItem"}, counted
