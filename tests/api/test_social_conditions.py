"""Each condition of the social transactions, failing alone, gives its own answer.

The follow, like, comment, share and post transactions each hold an item and a counter,
and a failed condition must be told apart (already liked vs. no such post; already
following vs. a refused follow). DynamoDB reports the reasons by position in the request,
which PynamoDB orders by kind, not by call; the repositories name their items
(``storage.transactions.Transaction``). Where the API cannot reach a case (the post
deleted between the read and the write), the repository is called with the stale read.
"""

from __future__ import annotations

import dataclasses

import pytest

from chalicelib.errors import NotFound
from chalicelib.ids import new_id
from chalicelib.records.social import Comment, Follow, Share
from tests.api.conftest import create_post


def _deps():
    from chalicelib.wiring import container

    return container()


def _stale_deleted_post(api, owner) -> object:
    """A post as read by a request, deleted before that request writes."""
    post = create_post(api, owner, "곧 지워질 글")
    read = _deps().posts.get_post(post["post_id"])
    assert api.delete(f"/posts/{post['post_id']}", token=owner["token"]).status == 204
    return read


def _counts(api, shop_id: str) -> tuple[int, int]:
    shop = api.get(f"/shops/{shop_id}").body
    return shop["follower_count"], shop["post_count"]


# --- follows ---------------------------------------------------------------------------------

def test_follow_by_a_missing_user_is_refused_not_already_following(api, owner):
    shop_id = owner["shop"]["shop_id"]
    outcome = _deps().follows.follow(Follow(shop_id=shop_id, user_id=new_id(), created_at=1.0))
    assert outcome == "refused"  # the user's counter condition failed, not the edge's
    assert _counts(api, shop_id) == (0, 0)


def test_follow_twice_is_already_and_own_shop_is_refused(api, owner, user):
    shop_id = owner["shop"]["shop_id"]
    follows = _deps().follows
    assert follows.follow(Follow(shop_id, user["user"]["user_id"], 1.0)) == "followed"
    assert follows.follow(Follow(shop_id, user["user"]["user_id"], 2.0)) == "already"
    assert follows.follow(Follow(shop_id, owner["user"]["user_id"], 3.0)) == "refused"
    assert _counts(api, shop_id) == (1, 0)
    assert api.get("/me", token=user["token"]).body["following_count"] == 1


# --- likes -----------------------------------------------------------------------------------

def test_a_like_of_a_post_deleted_since_it_was_read_is_404_and_writes_nothing(api, owner, user):
    post = _stale_deleted_post(api, owner)
    with pytest.raises(NotFound):
        _deps().engagement.like(post, user["user"]["user_id"], 1.0)
    assert _deps().engagement.unlike(post.post_id, user["user"]["user_id"]) == "no_post"


def test_liking_twice_is_not_a_missing_post(api, owner, user):
    post = create_post(api, owner)
    read = _deps().posts.get_post(post["post_id"])
    engagement = _deps().engagement
    assert engagement.like(read, user["user"]["user_id"], 1.0) is True
    assert engagement.like(read, user["user"]["user_id"], 2.0) is False
    assert api.get(f"/posts/{post['post_id']}").body["like_count"] == 1


def test_unlike_tells_not_liked_from_no_post(api, owner, user):
    post = create_post(api, owner)
    assert api.delete(f"/posts/{post['post_id']}/like", token=user["token"]).status == 204  # not liked: fine
    assert api.put(f"/posts/{post['post_id']}/like", token=user["token"]).status == 200
    assert api.delete(f"/posts/{post['post_id']}", token=owner["token"]).status == 204
    # The like item outlives the post; taking it back now is a 404 (the post is gone).
    assert api.delete(f"/posts/{post['post_id']}/like", token=user["token"]).status == 404


# --- comments --------------------------------------------------------------------------------

def _comment(post, user) -> Comment:
    return Comment(comment_id=new_id(), post_id=post.post_id, shop_id=post.shop_id, author_id=user["user"]["user_id"],
                   author_name="김민지", text="있나요?", is_shop_reply=False, shop_owner_id=post.author_id,
                   created_at=1.0)


def test_a_comment_on_a_post_deleted_since_it_was_read_is_404(api, owner, user):
    post = _stale_deleted_post(api, owner)
    comment = _comment(post, user)
    with pytest.raises(NotFound):
        _deps().engagement.add_comment(comment)
    assert _deps().engagement.find_comment(comment.comment_id) is None


def test_a_comment_outliving_its_post_can_still_be_deleted_and_twice_is_fine(api, owner, user):
    post = create_post(api, owner)
    comment = api.post(f"/posts/{post['post_id']}/comments", {"text": "내일도 있나요?"}, token=user["token"]).body
    assert api.delete(f"/posts/{post['post_id']}", token=owner["token"]).status == 204
    found = _deps().engagement.find_comment(comment["comment_id"])
    assert api.delete(f"/comments/{comment['comment_id']}", token=user["token"]).status == 204  # post gone
    assert _deps().engagement.find_comment(comment["comment_id"]) is None
    _deps().engagement.delete_comment(found)  # comment gone too: nothing to do, no error


def test_deleting_a_comment_lowers_the_count_once(api, owner, user):
    post = create_post(api, owner)
    comment = api.post(f"/posts/{post['post_id']}/comments", {"text": "맛있어요"}, token=user["token"]).body
    found = _deps().engagement.find_comment(comment["comment_id"])
    _deps().engagement.delete_comment(found)
    _deps().engagement.delete_comment(found)  # the comment's condition fails: the post's count stays
    assert api.get(f"/posts/{post['post_id']}").body["comment_count"] == 0


# --- shares and posts ------------------------------------------------------------------------

def test_a_share_of_a_post_deleted_since_it_was_read_is_404(api, owner, user):
    post = _stale_deleted_post(api, owner)
    share = Share(share_id=new_id(), post_id=post.post_id, shop_id=post.shop_id, user_id=user["user"]["user_id"],
                  share_url="https://dongne.kr", created_at=1.0)
    with pytest.raises(NotFound):
        _deps().engagement.add_share(share)


def test_a_post_for_a_shop_the_author_does_not_own_is_refused_and_deleting_twice_is_false(api, owner, user):
    shop_id = owner["shop"]["shop_id"]
    made = create_post(api, owner)
    read = _deps().posts.get_post(made["post_id"])
    intruder = dataclasses.replace(read, post_id=new_id(), author_id=user["user"]["user_id"])
    with pytest.raises(NotFound):
        _deps().posts.create_post(intruder)  # the shop's condition failed, not the post's
    assert _deps().posts.get_post(intruder.post_id, consistent=True) is None
    assert _deps().posts.delete_post(read) is True
    assert _deps().posts.delete_post(read) is False
    assert _counts(api, shop_id) == (0, 0)
