"""Object-level authorisation (OWASP API1): nobody reaches another user's private lists or
changes another shop's posts or another user's comments."""

from __future__ import annotations

from chalicelib.api.edge import ROUTES
from tests.api.conftest import assert_problem, create_post


def test_no_route_reads_another_users_following_list(api, owner, user):
    api.put(f"/shops/{owner['shop']['shop_id']}/follow", token=user["token"])
    stranger = api.signup()
    # The only following list is the caller's own: no route takes a user id.
    assert api.get("/me/following", token=stranger["token"]).body["items"] == []
    paths = {spec.path for spec in ROUTES}
    assert not any("following" in p and "{user_id}" in p for p in paths)
    # A followers list is the owner's only; another shop owner cannot read it either.
    other = {**(a := api.signup()), "shop": api.open_shop(a["token"])}
    for intruder in (stranger, other, user):
        assert_problem(api.get(f"/shops/{owner['shop']['shop_id']}/followers", token=intruder["token"]), 403)


def test_another_shops_post_cannot_be_edited_or_deleted(api, owner):
    post = create_post(api, owner, "원래 글")
    rival = {**(a := api.signup()), "shop": api.open_shop(a["token"])}
    customer = api.signup()
    for intruder in (rival, customer):
        assert_problem(api.patch(f"/posts/{post['post_id']}", {"text": "바꿔치기"}, token=intruder["token"]), 403)
        assert_problem(api.delete(f"/posts/{post['post_id']}", token=intruder["token"]), 403)
        # ...nor posted as that shop.
        assert_problem(api.post(f"/shops/{owner['shop']['shop_id']}/posts", {"text": "사칭"},
                                token=intruder["token"]), 403)
    assert api.get(f"/posts/{post['post_id']}").body == post


def test_another_users_comment_cannot_be_deleted_except_by_the_shop_owner(api, owner, user):
    post = create_post(api, owner)
    comment = api.post(f"/posts/{post['post_id']}/comments", {"text": "맛있어요"}, token=user["token"]).body
    stranger = api.signup()
    rival = {**(a := api.signup()), "shop": api.open_shop(a["token"])}
    for intruder in (stranger, rival):
        assert_problem(api.delete(f"/comments/{comment['comment_id']}", token=intruder["token"]), 403)
    assert len(api.get(f"/posts/{post['post_id']}/comments").body["items"]) == 1
    # The shop's owner moderates comments on their own posts.
    assert api.delete(f"/comments/{comment['comment_id']}", token=owner["token"]).status == 204
    assert api.get(f"/posts/{post['post_id']}/comments").body["items"] == []


def test_a_shop_owner_cannot_delete_comments_on_another_shops_posts(api, owner, user):
    rival = {**(a := api.signup()), "shop": api.open_shop(a["token"])}
    rivals_post = create_post(api, rival, "경쟁 가게 글")
    comment = api.post(f"/posts/{rivals_post['post_id']}/comments", {"text": "좋네요"}, token=user["token"]).body
    assert_problem(api.delete(f"/comments/{comment['comment_id']}", token=owner["token"]), 403)


def test_a_shop_reply_cannot_be_deleted_by_the_customer(api, owner, user):
    post = create_post(api, owner)
    reply = api.post(f"/posts/{post['post_id']}/comments", {"text": "감사합니다"}, token=owner["token"]).body
    assert_problem(api.delete(f"/comments/{reply['comment_id']}", token=user["token"]), 403)


def test_feed_is_the_callers_own(api, owner, user, drain_stream):
    api.put(f"/shops/{owner['shop']['shop_id']}/follow", token=user["token"])
    create_post(api, owner, "팔로워 전용 피드")
    drain_stream()
    stranger = api.signup()
    assert len(api.get("/feed", token=user["token"]).body["items"]) == 1
    assert api.get("/feed", token=stranger["token"]).body["items"] == []
