"""Likes, comments and shares: idempotent likes with exact counts, shop replies, shares."""

from __future__ import annotations

import threading

from devtools.callcount import dynamodb_calls
from tests.api.conftest import TOKEN_CHECK, assert_problem, create_post, real_dynamodb_only


def post_of(api, post_id: str) -> dict:
    return api.get(f"/posts/{post_id}").body


def test_liking_twice_counts_once_and_unliking_twice_is_fine(api, owner, user):
    post = create_post(api, owner)
    for _ in range(2):
        answer = api.put(f"/posts/{post['post_id']}/like", token=user["token"])
        assert answer.status == 200 and answer.body == {"post_id": post["post_id"], "liked": True, "like_count": 1}
    assert post_of(api, post["post_id"])["like_count"] == 1
    for _ in range(2):
        assert api.delete(f"/posts/{post['post_id']}/like", token=user["token"]).status == 204
    assert post_of(api, post["post_id"])["like_count"] == 0


def test_like_calls(api, owner, user):
    post = create_post(api, owner)
    with dynamodb_calls() as calls:
        api.put(f"/posts/{post['post_id']}/like", token=user["token"])
    assert calls.operations == TOKEN_CHECK + ["GetItem", "TransactWriteItems"]
    with dynamodb_calls() as calls:
        api.delete(f"/posts/{post['post_id']}/like", token=user["token"])
    assert calls.operations == TOKEN_CHECK + ["TransactWriteItems"]


def test_like_unknown_post_is_404(api, user):
    assert_problem(api.put("/posts/01JUNKNOWNPOST00000000000/like", token=user["token"]), 404)
    assert_problem(api.delete("/posts/01JUNKNOWNPOST00000000000/like", token=user["token"]), 404)


@real_dynamodb_only
def test_concurrent_likes_count_exactly(api, owner):
    post = create_post(api, owner)
    users = [api.signup() for _ in range(12)]
    barrier = threading.Barrier(len(users) * 2)
    statuses: list[int] = []

    def like(token: str) -> None:
        barrier.wait()
        statuses.append(api.put(f"/posts/{post['post_id']}/like", token=token).status)

    threads = [threading.Thread(target=like, args=(u["token"],)) for u in users for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 24
    assert post_of(api, post["post_id"])["like_count"] == 12


def test_comments_oldest_first_with_the_shop_reply_flagged(api, owner, user):
    post = create_post(api, owner)
    question = api.post(f"/posts/{post['post_id']}/comments", {"text": "내일도 콩물 있나요?"}, token=user["token"])
    assert question.status == 201
    assert question.body["is_shop_reply"] is False and question.body["author_name"] == user["user"]["name"]
    reply = api.post(f"/posts/{post['post_id']}/comments", {"text": "네, 아침 8시부터요!"}, token=owner["token"])
    assert reply.status == 201
    assert reply.body["is_shop_reply"] is True and reply.body["author_name"] == owner["shop"]["name"]
    listed = api.get(f"/posts/{post['post_id']}/comments").body
    assert [c["comment_id"] for c in listed["items"]] == [question.body["comment_id"], reply.body["comment_id"]]
    assert listed["items"][0]["text"] == "내일도 콩물 있나요?"
    assert post_of(api, post["post_id"])["comment_count"] == 2


def test_comment_create_is_two_calls(api, owner, user):
    post = create_post(api, owner)
    with dynamodb_calls() as calls:
        api.post(f"/posts/{post['post_id']}/comments", {"text": "좋아요"}, token=user["token"])
    assert calls.operations == TOKEN_CHECK + ["BatchGetItem", "TransactWriteItems"]


def test_comments_page_with_cursor(api, owner, user):
    post = create_post(api, owner)
    ids = [api.post(f"/posts/{post['post_id']}/comments", {"text": f"댓글 {n}"}, token=user["token"]).body["comment_id"]
           for n in range(3)]
    first = api.get(f"/posts/{post['post_id']}/comments?limit=2").body
    rest = api.get(f"/posts/{post['post_id']}/comments?limit=2&cursor={first['next_cursor']}").body
    assert [c["comment_id"] for c in first["items"] + rest["items"]] == ids
    other = create_post(api, owner)
    assert_problem(api.get(f"/posts/{other['post_id']}/comments?cursor={first['next_cursor']}"), 400)


def test_bad_comments_are_422_and_nothing_written(api, owner, user):
    post = create_post(api, owner)
    for body in ({}, {"text": ""}, {"text": "   "}, {"text": "가" * 501}, {"text": ["x"]},
                 {"text": "x", "is_shop_reply": True}):
        assert_problem(api.post(f"/posts/{post['post_id']}/comments", body, token=user["token"]), 422)
    assert api.get(f"/posts/{post['post_id']}/comments").body["items"] == []
    assert post_of(api, post["post_id"])["comment_count"] == 0
    assert api.post(f"/posts/{post['post_id']}/comments", {"text": "가" * 500}, token=user["token"]).status == 201


def test_comment_on_unknown_post_is_404(api, user):
    assert_problem(api.post("/posts/01JUNKNOWNPOST00000000000/comments", {"text": "x"}, token=user["token"]), 404)
    assert_problem(api.get("/posts/01JUNKNOWNPOST00000000000/comments"), 404)
    assert_problem(api.delete("/comments/01JUNKNOWNCOMMENT00000000", token=user["token"]), 404)


def test_author_deletes_own_comment(api, owner, user):
    post = create_post(api, owner)
    comment = api.post(f"/posts/{post['post_id']}/comments", {"text": "지울 댓글"}, token=user["token"]).body
    assert api.delete(f"/comments/{comment['comment_id']}", token=user["token"]).status == 204
    assert api.get(f"/posts/{post['post_id']}/comments").body["items"] == []
    assert post_of(api, post["post_id"])["comment_count"] == 0
    assert_problem(api.delete(f"/comments/{comment['comment_id']}", token=user["token"]), 404)


def test_share_records_and_answers_the_shops_link(api, owner, user):
    post = create_post(api, owner)
    answer = api.post(f"/posts/{post['post_id']}/shares", token=user["token"])
    assert answer.status == 201
    assert answer.body["share_url"].endswith(f"/p/{post['post_id']}")
    assert answer.body["post_id"] == post["post_id"]
    assert post_of(api, post["post_id"])["share_count"] == 1
    assert_problem(api.post("/posts/01JUNKNOWNPOST00000000000/shares", token=user["token"]), 404)


def test_sharing_a_post_again_answers_the_first_share_and_counts_once(api, owner, user):
    from chalicelib.storage.models.social import ShareItem, post_pk
    from chalicelib.wiring import container

    post = create_post(api, owner)
    first = api.post(f"/posts/{post['post_id']}/shares", token=user["token"])
    again = [api.post(f"/posts/{post['post_id']}/shares", token=user["token"]) for _ in range(3)]
    assert first.status == 201 and all(a.status == 201 and a.body == first.body for a in again)
    assert post_of(api, post["post_id"])["share_count"] == 1
    other = api.signup()
    assert api.post(f"/posts/{post['post_id']}/shares", token=other["token"]).body["share_id"] != first.body["share_id"]
    assert post_of(api, post["post_id"])["share_count"] == 2
    container().engagement  # binds the models
    stored = list(ShareItem.query(post_pk(post["post_id"]), ShareItem.sk.startswith("SHARE#")))
    assert sorted(s.user_id for s in stored) == sorted([user["user"]["user_id"], other["user"]["user_id"]])
