"""Following shops: idempotent, exact counters, owner-only follower lists, paged lists."""

from __future__ import annotations

import threading

from devtools.callcount import dynamodb_calls
from tests.api.conftest import TOKEN_CHECK, assert_problem, real_dynamodb_only


def shop_of(api, shop_id: str) -> dict:
    return api.get(f"/shops/{shop_id}").body


def test_following_twice_changes_nothing(api, owner, user):
    shop_id = owner["shop"]["shop_id"]
    for _ in range(2):
        answer = api.put(f"/shops/{shop_id}/follow", token=user["token"])
        assert answer.status == 200 and answer.body == {"shop_id": shop_id, "following": True}
    assert shop_of(api, shop_id)["follower_count"] == 1
    assert api.get("/me", token=user["token"]).body["following_count"] == 1


def test_unfollowing_twice_changes_nothing(api, owner, user):
    shop_id = owner["shop"]["shop_id"]
    api.put(f"/shops/{shop_id}/follow", token=user["token"])
    for _ in range(2):
        assert api.delete(f"/shops/{shop_id}/follow", token=user["token"]).status == 204
    assert shop_of(api, shop_id)["follower_count"] == 0
    assert api.get("/me", token=user["token"]).body["following_count"] == 0
    assert api.get("/me/following", token=user["token"]).body["items"] == []


def test_follow_is_one_transaction(api, owner, user):
    with dynamodb_calls() as calls:
        assert api.put(f"/shops/{owner['shop']['shop_id']}/follow", token=user["token"]).status == 200
    assert calls.operations == TOKEN_CHECK + ["TransactWriteItems"]


def test_unknown_shop_is_404_and_own_shop_is_409(api, owner, user):
    assert_problem(api.put("/shops/01JUNKNOWNSHOP00000000000/follow", token=user["token"]), 404)
    assert_problem(api.delete("/shops/01JUNKNOWNSHOP00000000000/follow", token=user["token"]), 404)
    assert_problem(api.put(f"/shops/{owner['shop']['shop_id']}/follow", token=owner["token"]), 409)
    assert shop_of(api, owner["shop"]["shop_id"])["follower_count"] == 0
    assert api.get("/me", token=user["token"]).body["following_count"] == 0


def test_follow_needs_a_token(api, owner):
    assert_problem(api.put(f"/shops/{owner['shop']['shop_id']}/follow", token="nope"), 401)


def test_owner_sees_followers_newest_first_without_contact_details(api, owner):
    fans = [api.signup(name=f"단골{n}") for n in range(3)]
    for fan in fans:
        api.put(f"/shops/{owner['shop']['shop_id']}/follow", token=fan["token"])
    answer = api.get(f"/shops/{owner['shop']['shop_id']}/followers", token=owner["token"])
    assert answer.status == 200
    assert [f["user_id"] for f in answer.body["items"]] == [f["user"]["user_id"] for f in reversed(fans)]
    assert [f["name"] for f in answer.body["items"]] == ["단골2", "단골1", "단골0"]
    assert set(answer.body["items"][0]) == {"user_id", "name", "followed_at"}


def test_followers_are_the_owners_list_only(api, owner, user):
    api.put(f"/shops/{owner['shop']['shop_id']}/follow", token=user["token"])
    assert_problem(api.get(f"/shops/{owner['shop']['shop_id']}/followers", token=user["token"]), 403)
    other_owner = api.signup()
    api.open_shop(other_owner["token"])
    assert_problem(api.get(f"/shops/{owner['shop']['shop_id']}/followers", token=other_owner["token"]), 403)
    assert_problem(api.get("/shops/01JUNKNOWNSHOP00000000000/followers", token=user["token"]), 404)


def test_following_pages_with_cursors_bound_to_the_user(api, user):
    shops = []
    for n in range(3):
        account = api.signup()
        shops.append(api.open_shop(account["token"], name=f"가게 {n}"))
    for shop in shops:
        api.put(f"/shops/{shop['shop_id']}/follow", token=user["token"])
    first = api.get("/me/following?limit=2", token=user["token"]).body
    assert [s["shop_id"] for s in first["items"]] == [shops[2]["shop_id"], shops[1]["shop_id"]]
    assert first["items"][0]["name"] == "가게 2" and first["items"][0]["follower_count"] == 1
    second = api.get(f"/me/following?limit=2&cursor={first['next_cursor']}", token=user["token"]).body
    assert [s["shop_id"] for s in second["items"]] == [shops[0]["shop_id"]]
    assert second["next_cursor"] is None
    # Another user's cursor cannot page through this user's list.
    stranger = api.signup()
    assert_problem(api.get(f"/me/following?cursor={first['next_cursor']}", token=stranger["token"]), 400)
    forged = first["next_cursor"].split(".")[0] + ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    assert_problem(api.get(f"/me/following?cursor={forged}", token=user["token"]), 400)


def test_follower_cursor_of_one_shop_is_refused_on_another(api, owner):
    for _ in range(3):
        api.put(f"/shops/{owner['shop']['shop_id']}/follow", token=api.signup()["token"])
    first = api.get(f"/shops/{owner['shop']['shop_id']}/followers?limit=1", token=owner["token"]).body
    other = api.signup()
    other_shop = api.open_shop(other["token"])
    answer = api.get(f"/shops/{other_shop['shop_id']}/followers?cursor={first['next_cursor']}", token=other["token"])
    assert_problem(answer, 400)


def test_bad_list_queries_are_4xx(api, user):
    for query in ("limit=0", "limit=101", "limit=abc", "limit=99999999999999999999", "cursor=" + "x" * 3000):
        answer = api.get(f"/me/following?{query}", token=user["token"])
        assert answer.status in (400, 422), (query, answer.status)


@real_dynamodb_only
def test_twenty_users_following_one_shop_at_once_count_exactly(api, owner):
    shop_id = owner["shop"]["shop_id"]
    users = [api.signup() for _ in range(20)]
    barrier = threading.Barrier(len(users))
    statuses: list[int] = []

    def follow(token: str) -> None:
        barrier.wait()
        statuses.append(api.put(f"/shops/{shop_id}/follow", token=token).status)

    threads = [threading.Thread(target=follow, args=(u["token"],)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 20
    assert shop_of(api, shop_id)["follower_count"] == 20
    listed = api.get(f"/shops/{shop_id}/followers?limit=100", token=owner["token"]).body["items"]
    assert len(listed) == 20


@real_dynamodb_only
def test_one_user_following_twice_at_once_counts_once(api, owner, user):
    shop_id = owner["shop"]["shop_id"]
    barrier = threading.Barrier(6)
    statuses: list[int] = []

    def follow() -> None:
        barrier.wait()
        statuses.append(api.put(f"/shops/{shop_id}/follow", token=user["token"]).status)

    threads = [threading.Thread(target=follow) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 6
    assert shop_of(api, shop_id)["follower_count"] == 1
    assert api.get("/me", token=user["token"]).body["following_count"] == 1
