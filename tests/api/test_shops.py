"""Shops through the HTTP API: one per user, unique handles, owner-only edits."""

from __future__ import annotations

import threading

from tests.api.conftest import assert_problem, real_dynamodb_only


def test_open_and_read_a_shop(api, user):
    answer = api.post("/shops", {"name": "망원 두부", "handle": "Mangwon_Tofu1", "bio": "매일 아침 두부"},
                      token=user["token"])
    assert answer.status == 201
    shop = answer.body
    assert shop["handle"] == "mangwon_tofu1" and shop["follower_count"] == 0 and shop["post_count"] == 0
    assert api.get(f"/shops/{shop['shop_id']}").body == shop
    assert api.get("/me", token=user["token"]).body["shop_id"] == shop["shop_id"]


def test_second_shop_for_one_user_is_409(api, owner):
    again = api.post("/shops", {"name": "두번째", "handle": "second_shop_x"}, token=owner["token"])
    assert_problem(again, 409)
    assert api.get("/shops/unknownshop").status == 404


def test_taken_handle_is_409(api, owner):
    other = api.signup()
    answer = api.post("/shops", {"name": "따라쟁이", "handle": owner["shop"]["handle"]}, token=other["token"])
    assert_problem(answer, 409)
    assert api.get("/me", token=other["token"]).body["shop_id"] is None


@real_dynamodb_only
def test_racing_shops_for_one_handle_exactly_one_wins(api):
    users = [api.signup() for _ in range(6)]
    handle = f"race_{users[0]['user']['user_id'][-8:].lower()}"
    results: list[int] = []
    barrier = threading.Barrier(len(users))

    def attempt(token: str) -> None:
        barrier.wait()
        results.append(api.post("/shops", {"name": "경쟁", "handle": handle}, token=token).status)

    threads = [threading.Thread(target=attempt, args=(u["token"],)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [201] + [409] * (len(users) - 1)


def test_owner_edits_and_others_get_403(api, owner):
    shop_id = owner["shop"]["shop_id"]
    edited = api.patch(f"/shops/{shop_id}", {"bio": "새 소개", "region": "서울 마포구 망원동"}, token=owner["token"])
    assert edited.status == 200 and edited.body["bio"] == "새 소개"
    stranger = api.signup()
    assert_problem(api.patch(f"/shops/{shop_id}", {"bio": "hacked"}, token=stranger["token"]), 403)
    assert api.get(f"/shops/{shop_id}").body["bio"] == "새 소개"


def test_changing_handle_frees_the_old_one(api, owner):
    shop_id, old = owner["shop"]["shop_id"], owner["shop"]["handle"]
    assert api.patch(f"/shops/{shop_id}", {"handle": old + "_new"}, token=owner["token"]).status == 200
    other = api.signup()
    assert api.post("/shops", {"name": "빈 핸들", "handle": old}, token=other["token"]).status == 201


def test_shop_counters_are_not_writable(api, owner):
    shop_id = owner["shop"]["shop_id"]
    answer = api.patch(f"/shops/{shop_id}", {"follower_count": 1000}, token=owner["token"])
    assert_problem(answer, 422)
    assert api.get(f"/shops/{shop_id}").body["follower_count"] == 0
