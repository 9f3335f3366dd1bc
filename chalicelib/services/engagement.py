"""Likes, comments and shares on posts."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

from chalicelib.errors import AccountClosed, Forbidden, NotFound
from chalicelib.ids import new_id
from chalicelib.records.common import Page
from chalicelib.services import store_links
from chalicelib.services.closing import OpenAccounts, label_comments
from chalicelib.services.pages import post_url
from chalicelib.services.posts import PostsStore, get_post
from chalicelib.services.store_links import StoreLinksStore
from chalicelib.records.social import Comment, Like, Post, Share

if TYPE_CHECKING:
    from chalicelib.records.rates import Ticket


class EngagementStore(Protocol):
    """Writes take the user's rate-limit ``quota`` and count it in their transaction."""

    def like(self, post: Post, user_id: str, now: float, quota: Ticket | None = None) -> bool: ...
    def unlike(self, post_id: str, user_id: str, quota: Ticket | None = None, now: float = 0.0) -> str: ...
    def post_and_author(self, post_id: str, user_id: str) -> tuple[Post | None, str | None]: ...
    def add_comment(self, comment: Comment, quota: Ticket | None = None) -> None: ...
    def find_comment(self, comment_id: str) -> Comment | None: ...
    def delete_comment(self, comment: Comment) -> None: ...
    def comments(self, post_id: str, limit: int, start_key: dict | None) -> Page: ...
    def add_share(self, share: Share, quota: Ticket | None = None) -> Share: ...


def like(posts: PostsStore, store: EngagementStore, user_id: str, post_id: str, now: float,
         quota: Ticket | None = None) -> Like:
    """Idempotent. One GetItem (existence, and the shop id the "like" event carries) and one
    transaction (the like + the post's counter). ``like_count`` is as seen by this call."""
    post = get_post(posts, post_id)
    added = store.like(post, user_id, now, quota)
    return Like(post_id=post_id, liked=True, like_count=post.like_count + (1 if added else 0))


def unlike(store: EngagementStore, user_id: str, post_id: str, quota: Ticket | None = None,
           now: float = 0.0) -> None:
    """Idempotent; one transaction."""
    if store.unlike(post_id, user_id, quota, now) == "no_post":
        raise NotFound("No such post.")


def comment(store: EngagementStore, user_id: str, post_id: str, text: str, now: float,
            quota: Ticket | None = None) -> Comment:
    """The shop owner's comment is the shop's reply: flagged, and signed with the shop's name."""
    post, author_name = store.post_and_author(post_id, user_id)
    if post is None:
        raise NotFound("No such post.")
    if author_name is None:
        raise AccountClosed("Your account no longer exists.")
    is_reply = post.author_id == user_id
    item = Comment(comment_id=new_id(), post_id=post_id, shop_id=post.shop_id, author_id=user_id,
                   author_name=post.shop_name if is_reply else author_name, text=text, is_shop_reply=is_reply,
                   shop_owner_id=post.author_id, created_at=now)
    store.add_comment(item, quota)
    return item


def comments(posts: PostsStore, store: EngagementStore, post_id: str, limit: int, start_key: dict | None,
             accounts: OpenAccounts | None = None) -> Page:
    """Oldest first, one Query; an empty first page checks that the post exists (404). With
    ``accounts``, a closed account's comments show it (one BatchGetItem of the page's authors)."""
    page = store.comments(post_id, limit, start_key)
    if not page.items and start_key is None:
        get_post(posts, post_id)
    return label_comments(accounts, page) if accounts is not None else page


def delete_comment(store: EngagementStore, user_id: str, comment_id: str) -> None:
    """The author, or the owner of the shop whose post it is; anyone else 403."""
    found = store.find_comment(comment_id)
    if found is None:
        raise NotFound("No such comment.")
    if user_id not in (found.author_id, found.shop_owner_id):
        raise Forbidden("Only the comment's author or the shop's owner can delete it.")
    store.delete_comment(found)


def share(posts: PostsStore, store: EngagementStore, user_id: str, post_id: str, public_base_url: str,
          now: float, links: StoreLinksStore | None = None,
          quota: Ticket | None = None) -> Share:
    """Record the share, once per user and post: sharing again records nothing (no count, no
    points) and answers the first share. The link is the sharer's own store link's page for the
    post's shop when they have one (they bought there), else the post's page (``/p/{post_id}``):
    the current one, also on a repeated share."""
    post = get_post(posts, post_id)
    code = store_links.share_code(links, user_id, post.shop_id) if links is not None else None
    url = store_links.link_url(public_base_url, code) if code else post_url(public_base_url, post_id)
    item = Share(share_id=new_id(), post_id=post_id, shop_id=post.shop_id, user_id=user_id,
                 share_url=url, created_at=now)
    first = store.add_share(item, quota)
    return first if first.share_url == url else replace(first, share_url=url)
