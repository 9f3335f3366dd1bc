"""Reviews: one per delivered order by its buyer; exact counts and averages per product."""

from __future__ import annotations

import threading

import pytest

from tests.api.commerce import advance, make_product, placed
from tests.api.conftest import assert_problem, real_dynamodb_only


@pytest.fixture
def shop(api, owner):
    tofu = make_product(api, owner, name="손두부", price=4500, stock=50)
    milk = make_product(api, owner, name="콩물", price=3500, stock=50, reorder_days=3)
    return {**owner, "id": owner["shop"]["shop_id"], "tofu": tofu["product_id"], "milk": milk["product_id"]}


def delivered(api, shop, buyer, *lines) -> dict:
    order = placed(api, buyer, shop["id"], *lines)
    return advance(api, shop, order["order_id"], "paid", "shipped", "delivered")


def test_review_a_delivered_order_listed_under_each_product(api, shop, user):
    order = delivered(api, shop, user, (shop["tofu"], 2), (shop["milk"], 1))
    answer = api.post(f"/orders/{order['order_id']}/review", {"rating": 5, "text": "두부가 고소해요"},
                      token=user["token"])
    assert answer.status == 201, answer.body
    review = answer.body
    assert review["rating"] == 5 and review["text"] == "두부가 고소해요" and review["author_name"] == "김민지"
    assert review["product_ids"] == [shop["tofu"], shop["milk"]] and review["order_id"] == order["order_id"]
    for pid in (shop["tofu"], shop["milk"]):
        listing = api.get(f"/products/{pid}/reviews").body
        assert listing["items"] == [review] and listing["rating_count"] == 1 and listing["rating_average"] == 5.0
        assert listing["product_id"] == pid
        product = api.get(f"/products/{pid}").body
        assert (product["rating_count"], product["rating_average"]) == (1, 5.0)
    assert api.get(f"/orders/{order['order_id']}", token=user["token"]).body["review_id"] == review["review_id"]


def test_counts_and_averages_are_exact_and_newest_first(api, shop):
    ratings = [5, 2, 4]
    made = []
    for rating in ratings:
        buyer = api.signup()
        order = delivered(api, shop, buyer, (shop["tofu"], 1))
        made.append(api.post(f"/orders/{order['order_id']}/review", {"rating": rating}, token=buyer["token"]).body)
    listing = api.get(f"/products/{shop['tofu']}/reviews?limit=2").body
    assert [r["review_id"] for r in listing["items"]] == [made[2]["review_id"], made[1]["review_id"]]
    assert listing["rating_count"] == 3 and listing["rating_average"] == round(11 / 3, 2)
    rest = api.get(f"/products/{shop['tofu']}/reviews?limit=2&cursor={listing['next_cursor']}").body
    assert [r["review_id"] for r in rest["items"]] == [made[0]["review_id"]] and rest["next_cursor"] is None
    assert_problem(api.get(f"/products/{shop['milk']}/reviews?cursor={listing['next_cursor']}"), 400)
    assert api.get(f"/products/{shop['milk']}/reviews").body["rating_average"] is None


def test_one_review_per_order(api, shop, user):
    order = delivered(api, shop, user, (shop["tofu"], 1))
    path = f"/orders/{order['order_id']}/review"
    assert api.post(path, {"rating": 4}, token=user["token"]).status == 201
    assert_problem(api.post(path, {"rating": 1}, token=user["token"]), 409)
    assert api.get(f"/products/{shop['tofu']}/reviews").body["rating_count"] == 1


@pytest.mark.parametrize("path", [(), ("paid",), ("paid", "shipped"), ("cancelled",)])
def test_only_delivered_orders_are_reviewed(api, shop, user, path):
    order = placed(api, user, shop["id"], (shop["tofu"], 1))
    advance(api, shop, order["order_id"], *path)
    problem = assert_problem(api.post(f"/orders/{order['order_id']}/review", {"rating": 5}, token=user["token"]), 409)
    assert problem["order_status"] == (path[-1] if path else "pending_payment")
    assert api.get(f"/products/{shop['tofu']}/reviews").body["items"] == []


def test_only_the_buyer_reviews(api, shop, user):
    order = delivered(api, shop, user, (shop["tofu"], 1))
    path = f"/orders/{order['order_id']}/review"
    assert_problem(api.post(path, {"rating": 5}, token=shop["token"]), 403)
    stranger = api.signup()
    assert_problem(api.post(path, {"rating": 1}, token=stranger["token"]), 404)
    assert_problem(api.post("/orders/01JDQ7ZK3M8X2V5N4P6R9T0W1Y/review", {"rating": 1}, token=user["token"]), 404)
    assert api.get(f"/products/{shop['tofu']}/reviews").body["rating_count"] == 0
    assert_problem(api.get("/products/01JDQ7ZK3M8X2V5N4P6R9T0W1Y/reviews"), 404)


@real_dynamodb_only
def test_racing_reviews_of_one_order_one_wins_and_counts_stay_exact(api, shop, user):
    order = delivered(api, shop, user, (shop["tofu"], 1), (shop["milk"], 1))
    results: list[int] = []
    barrier = threading.Barrier(6)

    def attempt(rating: int) -> None:
        barrier.wait()
        results.append(api.post(f"/orders/{order['order_id']}/review", {"rating": rating}, token=user["token"]).status)

    threads = [threading.Thread(target=attempt, args=(r,)) for r in (1, 2, 3, 4, 5, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [201] + [409] * 5
    for pid in (shop["tofu"], shop["milk"]):
        listing = api.get(f"/products/{pid}/reviews").body
        assert listing["rating_count"] == 1 == len(listing["items"])
        assert listing["rating_average"] == listing["items"][0]["rating"]
