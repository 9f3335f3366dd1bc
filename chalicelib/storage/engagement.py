"""Likes, comments and shares, each written with the post's counter in one transaction."""

from __future__ import annotations

from chalicelib.errors import NotFound
from chalicelib.records.common import Page
from chalicelib.records.social import Comment, Post, Share
from chalicelib.storage.accounts import PROFILE, _connection
from chalicelib.storage.base import MainItem
from chalicelib.storage.conversations import block_check, raise_if_blocked
from chalicelib.storage.models.accounts import UserItem, user_pk
from chalicelib.storage.models.social import (
    COMMENT_GSI_SK, COMMENT_PREFIX, POST_SK, CommentItem, LikeItem, PostItem, ShareItem, comment_gsi, comment_sk,
    like_sk, post_pk, share_sk,
)
from chalicelib.storage.paging import page_of
from chalicelib.storage.posts import to_post
from chalicelib.storage.retry import with_retries
from chalicelib.records.rates import Ticket
from chalicelib.storage.rates import add_quota, raise_if_limited
from chalicelib.storage.transactions import Cancelled, Transaction

# A popular post's counter is one hot item: give racing likes room to retry.
LIKE_ATTEMPTS = 8


def to_comment(item: CommentItem) -> Comment:
    return Comment(
        comment_id=item.comment_id, post_id=item.post_id, shop_id=item.shop_id, author_id=item.author_id,
        author_name=item.author_name, text=item.text, is_shop_reply=bool(item.is_shop_reply),
        shop_owner_id=item.shop_owner_id, created_at=item.created_at,
    )


def _with_counter(post_id: str, counter, step: int) -> Transaction:
    """A transaction that moves one of the post's counters, on condition the post exists (a quiet
    write: no stream handler reacts to a count, see ``storage.quiet``)."""
    return Transaction(_connection()).update(PostItem(post_pk(post_id), POST_SK), PostItem.quietly([counter.add(step)]),
                                             condition=PostItem.pk.exists(), label="post")


def _add_to_post(post_id: str, counter, item, *, condition, label: str, quota: Ticket | None, now: float,
                 blocked: tuple[str, str] | None = None) -> None:
    """Write ``item`` and raise the post's ``counter`` in one transaction (404 if the post is
    gone), counting ``quota`` in it (429 when the user's window is full); with ``blocked`` =
    (shop id, user id), also checking that the shop has not blocked the user (403)."""
    tx = add_quota(_with_counter(post_id, counter, 1).put(item, condition=condition, label=label), quota)
    if blocked is not None:
        block_check(tx, *blocked)
    try:
        tx.commit(attempts=LIKE_ATTEMPTS)
    except Cancelled as cancelled:
        if "post" in cancelled:
            raise NotFound("No such post.") from None
        raise_if_blocked(cancelled)
        raise_if_limited(cancelled, quota, now)
        raise


def to_share(item: ShareItem) -> Share:
    return Share(share_id=item.share_id, post_id=item.post_id, shop_id=item.shop_id, user_id=item.user_id,
                 share_url=item.share_url, created_at=item.created_at)


class EngagementRepository:
    # -- likes --------------------------------------------------------------------------
    def like(self, post: Post, user_id: str, now: float, quota: Ticket | None = None) -> bool:
        """``True`` if this call added the like, ``False`` if it was already there."""
        like = LikeItem(post_pk(post.post_id), like_sk(user_id), post_id=post.post_id, shop_id=post.shop_id,
                        user_id=user_id, created_at=now)
        tx = add_quota(_with_counter(post.post_id, PostItem.like_count, 1).put(
            like, condition=LikeItem.pk.does_not_exist(), label="like"), quota)
        try:
            tx.commit(attempts=LIKE_ATTEMPTS)
        except Cancelled as cancelled:
            if "post" in cancelled:
                raise NotFound("No such post.") from None
            if "like" in cancelled:
                return False  # already liked
            raise_if_limited(cancelled, quota, now)
            raise
        return True

    def unlike(self, post_id: str, user_id: str, quota: Ticket | None = None, now: float = 0.0) -> str:
        """``"unliked"``, ``"not_liked"`` (nothing to do) or ``"no_post"``."""
        tx = add_quota(_with_counter(post_id, PostItem.like_count, -1).delete(
            LikeItem(post_pk(post_id), like_sk(user_id)), condition=LikeItem.pk.exists(), label="like"), quota)
        try:
            tx.commit(attempts=LIKE_ATTEMPTS)
        except Cancelled as cancelled:
            if "post" in cancelled:
                return "no_post"
            if "like" in cancelled:
                return "not_liked"
            raise_if_limited(cancelled, quota, now)
            raise
        return "unliked"

    # -- comments -----------------------------------------------------------------------
    def post_and_author(self, post_id: str, user_id: str) -> tuple[Post | None, str | None]:
        """The post and the user's display name, in one BatchGetItem."""
        post, name = None, None
        for item in MainItem.batch_get([(post_pk(post_id), POST_SK), (user_pk(user_id), PROFILE)]):
            if isinstance(item, PostItem):
                post = to_post(item)
            elif isinstance(item, UserItem):
                name = item.name
        return post, name

    def add_comment(self, comment: Comment, quota: Ticket | None = None) -> None:
        item = CommentItem(
            post_pk(comment.post_id), comment_sk(comment.comment_id), comment_id=comment.comment_id,
            post_id=comment.post_id, shop_id=comment.shop_id, author_id=comment.author_id,
            author_name=comment.author_name, text=comment.text, is_shop_reply=comment.is_shop_reply,
            shop_owner_id=comment.shop_owner_id, created_at=comment.created_at,
            gsi1pk=comment_gsi(comment.comment_id), gsi1sk=COMMENT_GSI_SK,
        )
        # A customer's comment also checks, in the same transaction, that the shop has not blocked them.
        blocked = None if comment.is_shop_reply else (comment.shop_id, comment.author_id)
        _add_to_post(comment.post_id, PostItem.comment_count, item, condition=CommentItem.pk.does_not_exist(),
                     label="comment", quota=quota, now=comment.created_at, blocked=blocked)

    def find_comment(self, comment_id: str) -> Comment | None:
        for item in CommentItem.gsi1.query(comment_gsi(comment_id), CommentItem.gsi1sk == COMMENT_GSI_SK, limit=1):
            return to_comment(item)
        return None

    def delete_comment(self, comment: Comment) -> None:
        """Delete the comment and lower the post's count (just the comment if the post is gone)."""
        item = CommentItem(post_pk(comment.post_id), comment_sk(comment.comment_id))
        tx = _with_counter(comment.post_id, PostItem.comment_count, -1).delete(
            item, condition=CommentItem.pk.exists(), label="comment")
        try:
            tx.commit(attempts=LIKE_ATTEMPTS)
        except Cancelled as cancelled:
            if "comment" in cancelled:
                return  # already deleted
            with_retries(lambda: item.delete())  # the post is gone: no counter to lower

    def comments(self, post_id: str, limit: int, start_key: dict | None) -> Page:
        results = CommentItem.query(post_pk(post_id), CommentItem.sk.startswith(COMMENT_PREFIX),
                                    scan_index_forward=True, limit=limit, last_evaluated_key=start_key)
        return page_of(results, limit, to_comment)

    # -- shares -------------------------------------------------------------------------
    def add_share(self, share: Share, quota: Ticket | None = None) -> Share:
        """Record ``share`` unless the user shared the post before: then the first share is
        returned and nothing is written (one share per user and post)."""
        key = (post_pk(share.post_id), share_sk(share.user_id))
        item = ShareItem(*key, share_id=share.share_id, post_id=share.post_id, shop_id=share.shop_id,
                         user_id=share.user_id, share_url=share.share_url, created_at=share.created_at)
        tx = add_quota(_with_counter(share.post_id, PostItem.share_count, 1).put(
            item, condition=ShareItem.pk.does_not_exist(), label="share", return_old=True), quota)
        try:
            tx.commit(attempts=LIKE_ATTEMPTS)
        except Cancelled as cancelled:
            if "post" in cancelled:
                raise NotFound("No such post.") from None
            if "share" not in cancelled:
                raise_if_limited(cancelled, quota, share.created_at)
                raise
            raw = cancelled.old_items.get("share")
            first = ShareItem.from_raw_data(raw) if raw else with_retries(lambda: ShareItem.get(*key))
            return to_share(first)
        return share
