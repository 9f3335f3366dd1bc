"""The feed end to end: API writes, the real stream handler (drained), one-Query pages."""

from __future__ import annotations

from devtools.callcount import dynamodb_calls
from tests.api.conftest import TOKEN_CHECK, assert_problem, create_post, upload_photo


def feed_ids(api, token, **query) -> list[str]:
    q = "&".join(f"{k}={v}" for k, v in query.items())
    answer = api.get(f"/feed?{q}", token=token)
    assert answer.status == 200, answer.body
    return [item["post_id"] for item in answer.body["items"]]


def test_a_followed_shops_post_reaches_the_feed_with_everything_it_shows(api, owner, user, drain_stream):
    shop_id = owner["shop"]["shop_id"]
    assert api.put(f"/shops/{shop_id}/follow", token=user["token"]).status == 200
    photo = upload_photo(api, owner["token"])
    post = create_post(api, owner, "새벽에 만든 손두부 #망원동 #두부 #오늘의두부", photos=[photo])
    drain_stream()
    answer = api.get("/feed", token=user["token"])
    assert answer.status == 200
    [item] = answer.body["items"]
    assert item["post_id"] == post["post_id"]
    assert item["shop_name"] == owner["shop"]["name"] and item["shop_handle"] == owner["shop"]["handle"]
    assert item["text"] == "새벽에 만든 손두부 #망원동 #두부 #오늘의두부"
    assert item["hashtags"] == ["망원동", "두부", "오늘의두부"]
    assert item["photos"] == [photo] and item["photo_urls"][0].endswith(photo)
    assert item["created_at"] == post["created_at"]
    assert answer.body["next_cursor"] is None


def test_a_feed_page_is_one_query_and_one_batch_read_of_my_likes(api, owner, user, drain_stream):
    api.put(f"/shops/{owner['shop']['shop_id']}/follow", token=user["token"])
    for n in range(3):
        create_post(api, owner, f"게시물 {n}")
    drain_stream()
    with dynamodb_calls() as calls:
        assert api.get("/feed?limit=2", token=user["token"]).status == 200
    assert calls.operations == TOKEN_CHECK + ["Query", "BatchGetItem"]  # the page; `liked` for its posts


def test_follow_merges_recent_posts_and_unfollow_removes_them(api, owner, user, drain_stream):
    posts = [create_post(api, owner, f"팔로우 전 게시물 {n}") for n in range(3)]
    drain_stream()
    assert feed_ids(api, user["token"]) == []
    api.put(f"/shops/{owner['shop']['shop_id']}/follow", token=user["token"])
    drain_stream()
    assert feed_ids(api, user["token"]) == [p["post_id"] for p in reversed(posts)]
    assert api.delete(f"/shops/{owner['shop']['shop_id']}/follow", token=user["token"]).status == 204
    drain_stream()
    assert feed_ids(api, user["token"]) == []


def test_unfollow_keeps_other_shops_posts(api, owner, user, drain_stream):
    other = api.signup(name="이꽃님")
    other_shop = api.open_shop(other["token"], name="연남 꽃집")
    other_owner = {**other, "shop": other_shop}
    for shop in (owner["shop"], other_shop):
        api.put(f"/shops/{shop['shop_id']}/follow", token=user["token"])
    kept = create_post(api, other_owner, "튤립 들어왔어요 #꽃")
    create_post(api, owner, "두부 #두부")
    drain_stream()
    assert len(feed_ids(api, user["token"])) == 2
    api.delete(f"/shops/{owner['shop']['shop_id']}/follow", token=user["token"])
    drain_stream()
    assert feed_ids(api, user["token"]) == [kept["post_id"]]


def test_a_deleted_post_leaves_every_feed(api, owner, drain_stream):
    readers = [api.signup() for _ in range(3)]
    for reader in readers:
        api.put(f"/shops/{owner['shop']['shop_id']}/follow", token=reader["token"])
    post = create_post(api, owner, "곧 지울 글")
    kept = create_post(api, owner, "남을 글")
    drain_stream()
    assert all(feed_ids(api, r["token"]) == [kept["post_id"], post["post_id"]] for r in readers)
    assert api.delete(f"/posts/{post['post_id']}", token=owner["token"]).status == 204
    drain_stream()
    assert all(feed_ids(api, r["token"]) == [kept["post_id"]] for r in readers)


def test_an_edit_updates_feed_entries(api, owner, user, drain_stream):
    api.put(f"/shops/{owner['shop']['shop_id']}/follow", token=user["token"])
    post = create_post(api, owner, "콩물 있어요")
    drain_stream()
    edited = api.patch(f"/posts/{post['post_id']}", {"text": "콩물 품절! #품절"}, token=owner["token"])
    assert edited.status == 200 and edited.body["hashtags"] == ["품절"]
    drain_stream()
    [item] = api.get("/feed", token=user["token"]).body["items"]
    assert item["text"] == "콩물 품절! #품절" and item["hashtags"] == ["품절"]


def test_feed_pages_with_a_cursor_bound_to_the_reader(api, owner, user, drain_stream):
    api.put(f"/shops/{owner['shop']['shop_id']}/follow", token=user["token"])
    posts = [create_post(api, owner, f"글 {n}") for n in range(5)]
    drain_stream()
    first = api.get("/feed?limit=2", token=user["token"]).body
    second = api.get(f"/feed?limit=2&cursor={first['next_cursor']}", token=user["token"]).body
    third = api.get(f"/feed?limit=2&cursor={second['next_cursor']}", token=user["token"]).body
    seen = [i["post_id"] for page in (first, second, third) for i in page["items"]]
    assert seen == [p["post_id"] for p in reversed(posts)]
    assert third["next_cursor"] is None
    other = api.signup()
    assert_problem(api.get(f"/feed?limit=2&cursor={first['next_cursor']}", token=other["token"]), 400)
    assert_problem(api.get(f"/feed?cursor={first['next_cursor'][:-3]}", token=user["token"]), 400)
    assert_problem(api.get("/feed?cursor=eyJrIjp7fX0.AAAA", token=user["token"]), 400)


def test_feed_needs_a_token(api):
    assert_problem(api.get("/feed", token="garbage"), 401)
