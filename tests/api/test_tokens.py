"""Tokens that can be revoked, and accounts that can be closed without breaking the shops' books.

GIVEN a token, WHEN it is logged out, its password changed or its account closed, THEN it is
answered 401 on every signed-in route at once — checked route by route from the served routes.
"""

from __future__ import annotations

import re

import pytest

from chalicelib.api.edge import ROUTES
from devtools.callcount import dynamodb_calls
from tests.api.conftest import TOKEN_CHECK, assert_problem, create_post

SOME_ID = "01JZZZZZZZZZZZZZZZZZZZZZZZ"


def every_signed_in_route():
    return [(spec.method, re.sub(r"\{[^}]+\}", SOME_ID, spec.path)) for spec in ROUTES if spec.auth]


def assert_dead_everywhere(api, token: str) -> None:
    routes = every_signed_in_route()
    assert len(routes) > 25
    for method, path in routes:
        answer = api.call(method, path, {}, token=token, headers={"Idempotency-Key": "k"})
        assert_problem(answer, 401)


def login(api, account: dict, password: str | None = None):
    return api.post("/auth/login", {"email": account["email"], "password": password or account["password"]})


# --- logout ----------------------------------------------------------------------------------


def test_logout_ends_this_token_only(api, user):
    other_device = login(api, user).body["token"]
    assert api.post("/auth/logout", token=user["token"]).status == 204
    assert_dead_everywhere(api, user["token"])
    assert api.get("/me", token=other_device).status == 200
    problem = assert_problem(api.post("/auth/logout", token=user["token"]), 401)
    assert "logged out" in problem["detail"]


def test_many_logouts_keep_the_list_short_and_past_the_limit_end_every_token(api, user, monkeypatch):
    from chalicelib.services import accounts

    monkeypatch.setattr(accounts, "MAX_REVOKED", 3)
    tokens = [login(api, user).body["token"] for _ in range(4)]
    for token in tokens[:3]:
        assert api.post("/auth/logout", token=token).status == 204
    assert api.get("/me", token=tokens[3]).status == 200
    survivor = user["token"]
    assert api.post("/auth/logout", token=tokens[3]).status == 204  # a fourth entry: every token ends
    assert_problem(api.get("/me", token=survivor), 401)
    assert login(api, user).status == 200


def test_a_signed_in_request_reads_the_account_once(api, user):
    with dynamodb_calls() as calls:
        assert api.get("/me", token=user["token"]).status == 200
    assert calls.operations == TOKEN_CHECK  # the profile the token check read is the answer


# --- password change -------------------------------------------------------------------------


def test_changing_the_password_ends_every_earlier_token(api, user):
    other_device = login(api, user).body["token"]
    wrong = api.put("/me/password", {"current_password": "not it", "new_password": "brand new pass"},
                    token=user["token"])
    assert_problem(wrong, 403)
    assert api.put("/me/password", {"current_password": user["password"], "new_password": "brand new pass"},
                   token=user["token"]).status == 204
    assert_dead_everywhere(api, user["token"])
    assert_dead_everywhere(api, other_device)
    assert_problem(login(api, user), 401)
    fresh = login(api, user, "brand new pass")
    assert fresh.status == 200 and api.get("/me", token=fresh.body["token"]).status == 200


def test_a_new_password_must_be_a_valid_password(api, user):
    answer = api.put("/me/password", {"current_password": user["password"], "new_password": "short"},
                     token=user["token"])
    assert assert_problem(answer, 422)["errors"][0]["field"] == "body.new_password"


def test_guessing_the_current_password_with_a_stolen_token_is_locked_like_a_login(api, user):
    answers = [api.put("/me/password", {"current_password": f"guess {n}", "new_password": "attacker pass"},
                       token=user["token"]) for n in range(8)]
    assert [a.status for a in answers[:6]] == [403] * 6
    assert all(a.status == 429 and a.headers.get("Retry-After") for a in answers[6:])


# --- closing the account ---------------------------------------------------------------------


@pytest.fixture
def shop_with_a_customer(api, owner, drain_stream):
    """The owner's shop, a product and a post; a customer who follows, likes, comments, ordered
    (delivered), and whom the owner wrote a note about."""
    shop_id = owner["shop"]["shop_id"]
    product = api.post(f"/shops/{shop_id}/products", {"name": "손두부", "price": 4500, "stock": 50,
                                                      "kind": "essential", "reorder_days": 7}, token=owner["token"])
    assert product.status == 201, product.body
    post = create_post(api, owner)
    customer = api.signup(name="닫을 계정")
    token = customer["token"]
    assert api.put(f"/shops/{shop_id}/follow", token=token).status == 200
    assert api.put(f"/posts/{post['post_id']}/like", token=token).status == 200
    assert api.post(f"/posts/{post['post_id']}/comments", {"text": "맛있어요"}, token=token).status == 201
    order = api.post("/orders", {"shop_id": shop_id, "items": [{"product_id": product.body["product_id"],
                                                                "quantity": 2}]},
                     token=token, headers={"Idempotency-Key": "close-1"}).body
    for status in ("paid", "shipped", "delivered"):
        assert api.post(f"/orders/{order['order_id']}/status", {"status": status}, token=owner["token"]).status == 200
    drain_stream()
    user_id = customer["user"]["user_id"]
    note = api.put(f"/shops/{shop_id}/customers/{user_id}/note", {"note": "두부 좋아하심"}, token=owner["token"])
    assert note.status == 200, note.body
    return {"shop_id": shop_id, "post": post, "customer": customer, "order": order}


def test_closing_an_account(api, owner, shop_with_a_customer, drain_stream):
    world = shop_with_a_customer
    shop_id, customer = world["shop_id"], world["customer"]
    user_id = customer["user"]["user_id"]
    assert api.get(f"/shops/{shop_id}").body["follower_count"] == 1
    assert api.get(f"/shops/{shop_id}/customers/{user_id}", token=owner["token"]).status == 200

    token = customer["token"]
    assert api.put("/me/devices/phone-1", {"platform": "ios", "token": "a" * 64}, token=token).status == 200
    assert api.get("/me/notifications", token=token).status == 200
    assert api.delete("/me", token=token).status == 204
    # At once: every token dead, the logins gone (the address is free for a new account).
    assert_dead_everywhere(api, customer["token"])
    assert_problem(login(api, customer), 401)
    drain_stream()  # the profile's removal finishes the job

    assert api.get(f"/shops/{shop_id}").body["follower_count"] == 0
    assert_problem(api.get(f"/shops/{shop_id}/customers/{user_id}", token=owner["token"]), 404)  # pair and note
    assert user_id not in [c["user_id"] for c in api.get(f"/shops/{shop_id}/customers",
                                                           token=owner["token"]).body["items"]]
    from chalicelib.storage.base import MainItem
    from chalicelib.storage.models.notifications import inbox_pk, reorder_pk

    assert [list(MainItem.query(pk)) for pk in (inbox_pk(user_id), reorder_pk(user_id))] == [[], []]  # inbox, devices
    books = api.get(f"/shops/{shop_id}/orders", token=owner["token"]).body["items"]
    assert [(o["order_id"], o["buyer_closed"], o["total"]) for o in books] == [
        (world["order"]["order_id"], True, world["order"]["total"])]
    again = api.post("/auth/signup", {"name": "새 계정", "email": customer["email"], "password": "another one 1"})
    assert again.status == 201 and again.body["user"]["user_id"] != user_id
    assert drain_stream() >= 0  # nothing left to fail
    assert api.get(f"/shops/{shop_id}").body["follower_count"] == 0


def test_closing_twice_is_one_close(api, user):
    assert api.delete("/me", token=user["token"]).status == 204
    assert_problem(api.delete("/me", token=user["token"]), 401)


def test_an_owner_with_open_orders_cannot_close_until_they_are_settled(api, owner, user):
    shop_id = owner["shop"]["shop_id"]
    product = api.post(f"/shops/{shop_id}/products", {"name": "콩물", "price": 3000, "stock": 5, "kind": "treat"},
                       token=owner["token"]).body
    order = api.post("/orders", {"shop_id": shop_id, "items": [{"product_id": product["product_id"], "quantity": 1}]},
                     token=user["token"], headers={"Idempotency-Key": "open-1"}).body
    refused = assert_problem(api.delete("/me", token=owner["token"]), 409)
    assert refused["open_order_statuses"] == ["pending_payment"]
    assert api.get("/me", token=owner["token"]).status == 200  # nothing happened
    assert api.post(f"/orders/{order['order_id']}/status", {"status": "cancelled"}, token=owner["token"]).status == 200
    assert api.delete("/me", token=owner["token"]).status == 204
