"""The social graph and posts: follow edges, posts, likes, comments and shares."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import BooleanAttribute, ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute

from chalicelib.storage.base import MainItem
from chalicelib.storage.quiet import QuietWrites


def post_pk(post_id: str) -> str:
    return f"POST#{post_id}"


def follower_sk(user_id: str) -> str:
    return f"FOLLOWER#{user_id}"


def followers_gsi(shop_id: str) -> str:
    return f"SHOP#{shop_id}#FOLLOWERS"


def following_gsi(user_id: str) -> str:
    return f"USER#{user_id}#FOLLOWING"


def shop_posts_gsi(shop_id: str) -> str:
    return f"SHOP#{shop_id}#POSTS"


def like_sk(user_id: str) -> str:
    return f"LIKE#{user_id}"


def comment_sk(comment_id: str) -> str:
    return f"COMMENT#{comment_id}"


def comment_gsi(comment_id: str) -> str:
    return f"COMMENT#{comment_id}"


def share_sk(user_id: str) -> str:
    return f"SHARE#{user_id}"


def time_key(at: float, tiebreak: str) -> str:
    """A sort key ordering by time: fixed-width epoch seconds, then an id for ties."""
    return f"{at:017.6f}#{tiebreak}"


POST_SK = "POST"
POST_MARKER_SK = "EXISTS"
COMMENT_GSI_SK = "COMMENT"
FOLLOWER_PREFIX = "FOLLOWER#"
COMMENT_PREFIX = "COMMENT#"


class FollowItem(MainItem, discriminator="follow"):
    """``user_id`` follows ``shop_id``.

    Key design: ``pk = SHOP#<shop_id>``, ``sk = FOLLOWER#<user_id>`` — in the shop's own
    partition, so fan-out lists every follower with one Query (``begins_with FOLLOWER#``)
    and following twice is one ``attribute_not_exists`` condition. ``gsi1`` =
    ``SHOP#<shop_id>#FOLLOWERS`` / ``<followed_at>#<user_id>`` (the owner's follower list,
    newest first); ``gsi2`` = ``USER#<user_id>#FOLLOWING`` / ``<followed_at>#<shop_id>``
    (the user's following list). Written in one transaction with both counters.
    Stream contract: INSERT = follow, REMOVE = unfollow.
    """

    shop_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    created_at = NumberAttribute()


class TaggedProductMap(MapAttribute):
    """A tagged product's summary, copied onto the post (and from it into feed entries)."""

    product_id = UnicodeAttribute()
    name = UnicodeAttribute()
    price = NumberAttribute()
    currency = UnicodeAttribute()


class PostItem(QuietWrites, MainItem, discriminator="post"):
    """A shop's post.

    Key design: ``pk = POST#<post_id>``, ``sk = POST``; the post's partition also holds its
    likes, comments and shares. ``gsi1`` = ``SHOP#<shop_id>#POSTS`` / ``<post_id>`` (a
    shop's posts, newest first: ULIDs sort by time). ``version`` grows on every edit of
    the content (not on counter changes), so the stream handler tells an edit from a like.
    ``shop_name``/``shop_handle`` are copied at creation for the feed entries, and
    ``products`` (the tagged products' name and price) at creation and on every edit.
    """

    # Likes, comments and shares: the feed copies counts with the post (on its INSERT or an edit).
    QUIET = frozenset({"like_count", "comment_count", "share_count"})

    post_id = UnicodeAttribute()
    shop_id = UnicodeAttribute()
    author_id = UnicodeAttribute()
    shop_name = UnicodeAttribute()
    shop_handle = UnicodeAttribute()
    text = UnicodeAttribute(default="")
    photos: ListAttribute[Any] = ListAttribute(of=UnicodeAttribute, default=list)
    product_ids: ListAttribute[Any] = ListAttribute(of=UnicodeAttribute, default=list)
    products = ListAttribute(of=TaggedProductMap, default=list)
    hashtags: ListAttribute[Any] = ListAttribute(of=UnicodeAttribute, default=list)
    like_count = NumberAttribute(default=0)
    comment_count = NumberAttribute(default=0)
    share_count = NumberAttribute(default=0)
    version = NumberAttribute(default=1)
    created_at = NumberAttribute()
    updated_at = NumberAttribute()


class PostMarkerItem(MainItem, discriminator="post_marker"):
    """That a post exists, and whose it is: what an order placed from the post checks.

    Key design: ``pk = POST#<post_id>``, ``sk = EXISTS``. Written with the post and deleted
    with it (one transaction each), and never changed in between: likes, comments and shares
    keep updating the post item's counters, and a transaction that only condition-checks this
    item never conflicts with them. (When the order's check named the post item itself, every
    like in flight on a popular post made the orders placed from it cancel with
    ``TransactionConflict``: see docs/operations.md, hot items.) Posts written before it
    existed get theirs the first time an order names them (``OrdersRepository.place``).
    """

    post_id = UnicodeAttribute()
    shop_id = UnicodeAttribute()


class LikeItem(MainItem, discriminator="like"):
    """``user_id`` likes ``post_id``.

    Key design: ``pk = POST#<post_id>``, ``sk = LIKE#<user_id>``: liking twice fails the
    ``attribute_not_exists`` condition of the transaction that also bumps the post's
    ``like_count``. Stream contract: INSERT = like, REMOVE = unlike.
    """

    post_id = UnicodeAttribute()
    shop_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    created_at = NumberAttribute()


class CommentItem(MainItem, discriminator="comment"):
    """A comment on a post; the shop owner's comments are the shop's replies.

    Key design: ``pk = POST#<post_id>``, ``sk = COMMENT#<comment_id>`` (a post's comments,
    oldest first, with one Query); ``gsi1`` = ``COMMENT#<comment_id>`` / ``COMMENT`` finds a
    comment by id alone (``DELETE /comments/{id}``). ``shop_owner_id`` is copied so the
    delete authorisation needs no second read.
    """

    comment_id = UnicodeAttribute()
    post_id = UnicodeAttribute()
    shop_id = UnicodeAttribute()
    author_id = UnicodeAttribute()
    author_name = UnicodeAttribute()
    text = UnicodeAttribute()
    is_shop_reply = BooleanAttribute(default=False)
    shop_owner_id = UnicodeAttribute()
    created_at = NumberAttribute()


class ShareItem(MainItem, discriminator="share"):
    """A user shared a post: once per user and post, however often they tap "share".

    Key design: ``pk = POST#<post_id>``, ``sk = SHARE#<user_id>``; written with
    ``attribute_not_exists`` in one transaction with the post's ``share_count`` (so the count
    is of people who shared), and a repeated share writes nothing (no stream record, no
    points). ``share_id`` names the occurrence for the event contract. Stream contract:
    INSERT = share, REMOVE = share removed.
    """

    share_id = UnicodeAttribute()
    post_id = UnicodeAttribute()
    shop_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    share_url = UnicodeAttribute()
    created_at = NumberAttribute()
