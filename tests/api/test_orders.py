"""Orders through the HTTP API: placing, idempotency, stock, visibility, lists, lifecycle, reorder."""

from __future__ import annotations

import uuid

import pytest

from tests.api.commerce import advance, buy, make_product, order_body, placed, stock
from tests.api.conftest import assert_problem, create_post


@pytest.fixture
def shop(api, owner):
    """The owner's shop with a tofu (essential) and a bouquet (treat)."""
    tofu = make_product(api, owner, name="손두부", price=4500, stock=10, kind="essential", reorder_days=7)
    flowers = make_product(api, owner, name="꽃다발", price=25000, stock=3, kind="treat", reorder_days=None)
    return {**owner, "id": owner["shop"]["shop_id"], "tofu": tofu["product_id"], "flowers": flowers["product_id"]}


def test_place_an_order_prices_read_on_the_server(api, shop, user):
    body = order_body(shop["id"], (shop["tofu"], 2), (shop["flowers"], 1))
    body["items"][0]["price"] = 1  # a client-sent price is ignored
    body["items"][1]["price"] = -500
    answer = api.post("/orders", body, token=user["token"], headers={"Idempotency-Key": "first-order"})
    assert answer.status == 201, answer.body
    order = answer.body
    assert answer.headers["Location"] == f"/orders/{order['order_id']}"
    assert "Idempotent-Replayed" not in answer.headers
    assert [(i["name"], i["price"], i["quantity"], i["line_total"]) for i in order["items"]] == [
        ("손두부", 4500, 2, 9000), ("꽃다발", 25000, 1, 25000)]
    assert (order["subtotal"], order["discount"], order["total"], order["currency"]) == (34000, 0, 34000, "KRW")
    assert order["status"] == "pending_payment" and order["buyer_id"] == user["user"]["user_id"]
    assert order["shop_name"] == shop["shop"]["name"] and order["via_post_id"] is None
    assert order["items"][0]["kind"] == "essential" and order["items"][0]["reorder_days"] == 7
    assert order["history"] == [{"status": "pending_payment", "at": order["created_at"],
                                 "by": user["user"]["user_id"]}]
    assert stock(api, shop["tofu"]) == 8 and stock(api, shop["flowers"]) == 2


def test_lines_of_one_product_are_one_line(api, shop, user):
    order = placed(api, user, shop["id"], (shop["tofu"], 2), (shop["flowers"], 1), (shop["tofu"], 3))
    assert [(i["product_id"], i["quantity"]) for i in order["items"]] == [(shop["tofu"], 5), (shop["flowers"], 1)]
    assert order["subtotal"] == 5 * 4500 + 25000
    assert stock(api, shop["tofu"]) == 5


def test_two_lines_of_one_product_are_checked_against_stock_together(api, shop, user):
    problem = assert_problem(buy(api, user, shop["id"], (shop["flowers"], 2), (shop["flowers"], 2)), 409)
    assert (problem["product_id"], problem["requested"], problem["available"]) == (shop["flowers"], 4, 3)
    assert stock(api, shop["flowers"]) == 3


def test_via_post_id_is_recorded(api, shop, user):
    post = create_post(api, shop, "손두부 나왔어요", product_ids=[shop["tofu"]])
    order = placed(api, user, shop["id"], (shop["tofu"], 1), via_post_id=post["post_id"])
    assert order["via_post_id"] == post["post_id"]
    assert api.get(f"/orders/{order['order_id']}", token=user["token"]).body["via_post_id"] == order["via_post_id"]


def test_retry_with_same_key_and_body_returns_the_same_order(api, shop, user):
    first = buy(api, user, shop["id"], (shop["tofu"], 2), key="retry-me")
    again = buy(api, user, shop["id"], (shop["tofu"], 2), key="retry-me")
    assert first.status == again.status == 201
    assert again.body == first.body and again.headers["Idempotent-Replayed"] == "true"
    assert stock(api, shop["tofu"]) == 8
    assert len(api.get("/me/orders", token=user["token"]).body["items"]) == 1


def test_retry_spelling_the_same_request_differently_is_a_retry(api, shop, user):
    first = buy(api, user, shop["id"], (shop["tofu"], 2), (shop["flowers"], 1), key="same-meaning")
    again = buy(api, user, shop["id"], (shop["flowers"], 1), (shop["tofu"], 1), (shop["tofu"], 1), key="same-meaning")
    assert again.status == 201 and again.body == first.body


def test_retry_returns_the_first_answer_even_after_the_order_moved(api, shop, user):
    first = buy(api, user, shop["id"], (shop["tofu"], 1), key="moved-since")
    advance(api, shop, first.body["order_id"], "paid")
    again = buy(api, user, shop["id"], (shop["tofu"], 1), key="moved-since")
    assert again.status == 201 and again.body == first.body and again.body["status"] == "pending_payment"


def test_same_key_different_body_is_409_and_writes_nothing(api, shop, user):
    assert buy(api, user, shop["id"], (shop["tofu"], 1), key="one-key").status == 201
    problem = assert_problem(buy(api, user, shop["id"], (shop["tofu"], 3), key="one-key"), 409)
    assert problem["idempotency_key"] == "one-key"
    assert_problem(buy(api, user, shop["id"], (shop["tofu"], 1), key="one-key",
                       via_post_id="01JDQ7ZK3M8X2V5N4P6R9T0W1Y"), 409)
    assert stock(api, shop["tofu"]) == 9
    assert len(api.get("/me/orders", token=user["token"]).body["items"]) == 1


def test_retry_after_the_token_window_still_returns_the_same_order(api, shop, user, monkeypatch):
    """DynamoDB forgets a ClientRequestToken after 10 minutes; the stored record does not."""
    from chalicelib.storage import orders as storage

    first = buy(api, user, shop["id"], (shop["tofu"], 1), key="hours-later")
    monkeypatch.setattr(storage, "request_token", lambda *args: uuid.uuid4().hex)  # a token DynamoDB never saw
    again = buy(api, user, shop["id"], (shop["tofu"], 1), key="hours-later")
    assert again.status == 201 and again.body == first.body
    assert stock(api, shop["tofu"]) == 9


def test_retry_after_the_shelf_emptied_returns_the_order_not_409(api, shop, user):
    first = buy(api, user, shop["id"], (shop["flowers"], 3), key="last-bouquets")
    assert first.status == 201 and stock(api, shop["flowers"]) == 0
    again = buy(api, user, shop["id"], (shop["flowers"], 3), key="last-bouquets")
    assert again.status == 201 and again.body == first.body


def test_keys_belong_to_their_user(api, shop, user):
    other = api.signup()
    mine = buy(api, user, shop["id"], (shop["tofu"], 1), key="shared-key")
    theirs = buy(api, other, shop["id"], (shop["tofu"], 2), key="shared-key")
    assert mine.status == theirs.status == 201 and mine.body["order_id"] != theirs.body["order_id"]


def test_out_of_stock_is_409_naming_the_product_and_nothing_is_written(api, shop, user):
    problem = assert_problem(buy(api, user, shop["id"], (shop["tofu"], 1), (shop["flowers"], 4)), 409)
    assert problem["type"].endswith("/out-of-stock")
    assert (problem["product_id"], problem["name"], problem["available"], problem["requested"]) == (
        shop["flowers"], "꽃다발", 3, 4)
    assert "꽃다발" in problem["detail"] and "3 left" in problem["detail"]
    assert problem["shortages"] == [{"product_id": shop["flowers"], "name": "꽃다발", "requested": 4, "available": 3}]
    assert stock(api, shop["tofu"]) == 10 and stock(api, shop["flowers"]) == 3
    assert api.get("/me/orders", token=user["token"]).body["items"] == []


def test_a_failed_key_can_be_retried_once_stock_is_back(api, shop, user):
    assert_problem(buy(api, user, shop["id"], (shop["flowers"], 5), key="wait-for-restock"), 409)
    assert api.patch(f"/products/{shop['flowers']}", {"stock": 5}, token=shop["token"]).status == 200
    assert buy(api, user, shop["id"], (shop["flowers"], 5), key="wait-for-restock").status == 201


def test_owner_cannot_buy_from_own_shop(api, shop):
    assert_problem(buy(api, shop, shop["id"], (shop["tofu"], 1)), 403)
    assert stock(api, shop["tofu"]) == 10


def test_order_visible_to_buyer_and_owner_only(api, shop, user):
    order = placed(api, user, shop["id"], (shop["tofu"], 1))
    path = f"/orders/{order['order_id']}"
    assert api.get(path, token=user["token"]).body == order
    assert api.get(path, token=shop["token"]).body == order
    stranger = api.signup()
    not_yours = assert_problem(api.get(path, token=stranger["token"]), 404)
    missing = assert_problem(api.get("/orders/01JDQ7ZK3M8X2V5N4P6R9T0W1Y", token=stranger["token"]), 404)
    assert not_yours["detail"] == missing["detail"]
    assert_problem(api.post(f"{path}/status", {"status": "cancelled"}, token=stranger["token"]), 404)
    assert api.get(path, token=user["token"]).body["status"] == "pending_payment"


def test_my_orders_newest_first_and_paged(api, shop, user):
    made = [placed(api, user, shop["id"], (shop["tofu"], 1))["order_id"] for _ in range(3)]
    first = api.get("/me/orders?limit=2", token=user["token"]).body
    assert [o["order_id"] for o in first["items"]] == made[::-1][:2]
    rest = api.get(f"/me/orders?limit=2&cursor={first['next_cursor']}", token=user["token"]).body
    assert [o["order_id"] for o in rest["items"]] == made[:1] and rest["next_cursor"] is None
    other = api.signup()
    assert_problem(api.get(f"/me/orders?cursor={first['next_cursor']}", token=other["token"]), 400)
    assert api.get("/me/orders", token=other["token"]).body["items"] == []


def test_shop_orders_owner_only_with_status_filter(api, shop, user):
    a = placed(api, user, shop["id"], (shop["tofu"], 1))
    b = placed(api, user, shop["id"], (shop["tofu"], 1))
    advance(api, shop, a["order_id"], "paid")
    base = f"/shops/{shop['id']}/orders"
    assert [o["order_id"] for o in api.get(base, token=shop["token"]).body["items"]] == [b["order_id"], a["order_id"]]
    paid = api.get(f"{base}?status=paid", token=shop["token"]).body["items"]
    pending = api.get(f"{base}?status=pending_payment", token=shop["token"]).body["items"]
    assert [o["order_id"] for o in paid] == [a["order_id"]] and [o["order_id"] for o in pending] == [b["order_id"]]
    assert_problem(api.get(base, token=user["token"]), 403)
    assert_problem(api.get(f"{base}?status=lost", token=shop["token"]), 422)
    assert_problem(api.get("/shops/NOSUCHSHOP/orders", token=shop["token"]), 404)


def test_owner_moves_an_order_to_delivered_with_history(api, shop, user):
    order = placed(api, user, shop["id"], (shop["tofu"], 1))
    done = advance(api, shop, order["order_id"], "paid", "shipped", "delivered")
    assert done["status"] == "delivered"
    assert [(h["status"], h["by"]) for h in done["history"]] == [
        ("pending_payment", user["user"]["user_id"]), ("paid", shop["user"]["user_id"]),
        ("shipped", shop["user"]["user_id"]), ("delivered", shop["user"]["user_id"])]
    assert api.get(f"/orders/{order['order_id']}", token=user["token"]).body == done
    assert stock(api, shop["tofu"]) == 9


@pytest.mark.parametrize("path,target", [
    ((), "shipped"), ((), "delivered"), ((), "pending_payment"), (("paid",), "paid"), (("paid",), "delivered"),
    (("paid", "shipped"), "cancelled"), (("paid", "shipped", "delivered"), "cancelled"),
    (("cancelled",), "paid"), (("cancelled",), "cancelled"),
])
def test_illegal_moves_are_409(api, shop, user, path, target):
    order = placed(api, user, shop["id"], (shop["tofu"], 2))
    advance(api, shop, order["order_id"], *path)
    problem = assert_problem(api.post(f"/orders/{order['order_id']}/status", {"status": target},
                                      token=shop["token"]), 409)
    assert problem["order_status"] == (path[-1] if path else "pending_payment")
    expected_stock = 10 if path and path[-1] == "cancelled" else 8
    assert stock(api, shop["tofu"]) == expected_stock


def test_buyer_cancels_before_payment_and_stock_returns(api, shop, user):
    order = placed(api, user, shop["id"], (shop["tofu"], 3), (shop["flowers"], 1))
    assert stock(api, shop["tofu"]) == 7
    answer = api.post(f"/orders/{order['order_id']}/status", {"status": "cancelled"}, token=user["token"])
    assert answer.status == 200 and answer.body["status"] == "cancelled"
    assert answer.body["history"][-1]["by"] == user["user"]["user_id"]
    assert stock(api, shop["tofu"]) == 10 and stock(api, shop["flowers"]) == 3


def test_buyer_cannot_advance_but_may_cancel_after_payment_and_is_owed_a_refund(api, shop, user):
    order = placed(api, user, shop["id"], (shop["tofu"], 1))
    path = f"/orders/{order['order_id']}/status"
    assert_problem(api.post(path, {"status": "paid"}, token=user["token"]), 403)
    advance(api, shop, order["order_id"], "paid")
    assert_problem(api.post(path, {"status": "shipped"}, token=user["token"]), 403)
    assert api.get(f"/orders/{order['order_id']}", token=user["token"]).body["status"] == "paid"
    cancelled = api.post(path, {"status": "cancelled"}, token=user["token"])
    assert cancelled.status == 200, cancelled.body
    assert cancelled.body["status"] == "cancelled"
    # a bank transfer: the shop owes the money back until the owner marks it sent
    assert cancelled.body["refund"]["status"] == "pending" and cancelled.body["refund"]["amount"] == order["total"]


def test_owner_cancels_a_paid_order_and_stock_returns(api, shop, user):
    order = placed(api, user, shop["id"], (shop["flowers"], 2))
    advance(api, shop, order["order_id"], "paid", "cancelled")
    assert stock(api, shop["flowers"]) == 3
    shop_cancelled = api.get(f"/shops/{shop['id']}/orders?status=cancelled", token=shop["token"]).body["items"]
    assert [o["order_id"] for o in shop_cancelled] == [order["order_id"]]


def test_status_body_is_validated(api, shop, user):
    order = placed(api, user, shop["id"], (shop["tofu"], 1))
    for body in ({}, {"status": "lost"}, {"status": "paid", "by": "me"}, {"status": 3}):
        assert_problem(api.post(f"/orders/{order['order_id']}/status", body, token=shop["token"]), 422)


def test_reorder_same_items_at_todays_prices(api, shop, user):
    first = placed(api, user, shop["id"], (shop["tofu"], 2), (shop["flowers"], 1))
    assert api.patch(f"/products/{shop['tofu']}", {"price": 5000}, token=shop["token"]).status == 200
    answer = api.post(f"/orders/{first['order_id']}/reorder", token=user["token"],
                      headers={"Idempotency-Key": "again-please"})
    assert answer.status == 201, answer.body
    again = answer.body
    assert again["order_id"] != first["order_id"] and again["reorder_of"] == first["order_id"]
    assert [(i["product_id"], i["price"], i["quantity"]) for i in again["items"]] == [
        (shop["tofu"], 5000, 2), (shop["flowers"], 25000, 1)]
    assert again["total"] == 35000 and again["status"] == "pending_payment"
    assert stock(api, shop["tofu"]) == 6 and stock(api, shop["flowers"]) == 1
    replay = api.post(f"/orders/{first['order_id']}/reorder", token=user["token"],
                      headers={"Idempotency-Key": "again-please"})
    assert replay.status == 201 and replay.body == again and replay.headers["Idempotent-Replayed"] == "true"
    assert stock(api, shop["tofu"]) == 6


def test_reorder_rules(api, shop, user):
    first = placed(api, user, shop["id"], (shop["flowers"], 2))
    path = f"/orders/{first['order_id']}/reorder"
    assert_problem(api.post(path, token=user["token"]), 400)  # no Idempotency-Key
    assert_problem(api.post(path, token=shop["token"], headers={"Idempotency-Key": "k"}), 403)
    stranger = api.signup()
    assert_problem(api.post(path, token=stranger["token"], headers={"Idempotency-Key": "k"}), 404)
    problem = assert_problem(api.post(path, token=user["token"], headers={"Idempotency-Key": "k2"}), 409)
    assert (problem["product_id"], problem["available"]) == (shop["flowers"], 1)
    # A key already used for another request cannot be reused for a reorder.
    used = buy(api, user, shop["id"], (shop["tofu"], 1), key="used-for-order")
    assert used.status == 201
    assert_problem(api.post(path, token=user["token"], headers={"Idempotency-Key": "used-for-order"}), 409)
    assert stock(api, shop["flowers"]) == 1 and stock(api, shop["tofu"]) == 9
