"""Posts and engagement: create/read/edit/delete, a shop's posts, likes, comments, shares.

Services are imported inside the views (cold start: see ``chalicelib.api.follows``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint

from chalicelib.api.edge import Ctx, Router
from chalicelib.api.spec import lazy_models
from chalicelib.api.paging import page_out, start_key
from chalicelib.errors import AccountClosed, Blocked, Forbidden, PostChanged, Unauthorized

if TYPE_CHECKING:
    from chalicelib.schemas.common import ListQuery, Page
    from chalicelib.schemas.posts import (
        CommentCreate, CommentPublic, LikeOut, PostCreate, PostPublic, PostUpdate, PostView, ShareOut,
    )
else:  # pydantic models, imported on the first request that needs them
    ListQuery, Page = lazy_models("chalicelib.schemas.common", "ListQuery", "Page")
    (CommentCreate, CommentPublic, LikeOut, PostCreate, PostPublic, PostUpdate, PostView, ShareOut) = lazy_models(
        "chalicelib.schemas.posts", "CommentCreate", "CommentPublic", "LikeOut", "PostCreate", "PostPublic",
        "PostUpdate", "PostView", "ShareOut")

if TYPE_CHECKING:
    from chalicelib.records.social import Post

posts_blueprint = Blueprint(__name__)
route = Router(posts_blueprint, "posts")


def post_out(ctx: Ctx, post: Post) -> PostPublic:
    media = ctx.deps.media
    return PostPublic.model_validate({**post.__dict__, "photo_urls": [media.url(key) for key in post.photos]})


def post_view(ctx: Ctx, post: Post, liked: bool) -> PostView:
    return PostView.model_validate({**post_out(ctx, post).model_dump(), "liked": liked})


@route.route("POST", "/shops/{shop_id}/posts", status=201, body=PostCreate, response=PostView, errors=(Forbidden,),
             limit="post",
             summary="Post as the shop (owner only): text, up to 10 uploaded photos, tagged products",
             description="Tagged products must be the shop's own (422 names each other one as "
                         "`body.product_ids.<i>`); the post keeps their name and price as of now.")
def create_post(ctx: Ctx, shop_id: str, body: PostCreate) -> PostView:
    from chalicelib.services import posts

    d = ctx.deps
    post = posts.create_post(d.posts, d.shops, d.media, d.products, ctx.user, shop_id, text=body.text,
                             photos=body.photos, product_ids=body.product_ids, now=ctx.now, quota=ctx.quota)
    return post_view(ctx, post, False)  # nobody likes a post yet


@route.route("GET", "/posts/{post_id}", auth=False, response=PostView, etag=True, errors=(Unauthorized, AccountClosed),
             summary="A post, with live counts; with a bearer token also whether I like it",
             description="With a bearer token, `liked` says whether the caller likes the post (the post and the "
                         "like are one read); without one it is false. A token that is sent must be valid (401 "
                         "otherwise).")
def get_post(ctx: Ctx, post_id: str) -> PostView:
    from chalicelib.api.shops import viewer
    from chalicelib.services import discovery

    post, liked = discovery.post_for(ctx.deps.discovery, post_id, viewer(ctx), ctx.deps.posts.get_post)
    return post_view(ctx, post, liked)


@route.route("PATCH", "/posts/{post_id}", body=PostUpdate, response=PostView, errors=(Forbidden, PostChanged),
             etag=True, current=get_post, summary="Edit a post (the shop's owner); feeds are updated")
def update_post(ctx: Ctx, post_id: str, body: PostUpdate) -> PostView:
    from chalicelib.services import discovery, posts

    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    d = ctx.deps
    post = posts.edit_post(d.posts, d.media, d.products, ctx.user, post_id, changes, ctx.now)
    return post_view(ctx, post, post_id in discovery.liked(d.discovery, ctx.user, [post_id]))


@route.route("DELETE", "/posts/{post_id}", status=204, errors=(Forbidden,),
             summary="Delete a post (the shop's owner); it leaves every feed")
def delete_post(ctx: Ctx, post_id: str) -> None:
    from chalicelib.services import posts

    posts.delete_post(ctx.deps.posts, ctx.user, post_id)


@route.route("GET", "/shops/{shop_id}/posts", auth=False, query=ListQuery, response=Page[PostPublic],
             summary="A shop's posts, newest first")
def list_shop_posts(ctx: Ctx, shop_id: str, query: ListQuery) -> dict:
    from chalicelib.services import posts

    scope = f"shop-posts:{shop_id}"
    page = posts.shop_posts(ctx.deps.posts, ctx.deps.shops, shop_id, query.limit,
                            start_key(ctx, query.cursor, scope))
    return page_out(ctx, page, scope, lambda post: post_out(ctx, post))


@route.route("PUT", "/posts/{post_id}/like", response=LikeOut, limit="like", summary="Like a post (idempotent)")
def like_post(ctx: Ctx, post_id: str) -> LikeOut:
    from chalicelib.services import engagement

    return LikeOut.model_validate(engagement.like(ctx.deps.posts, ctx.deps.engagement, ctx.user, post_id, ctx.now,
                                                  ctx.quota))


@route.route("DELETE", "/posts/{post_id}/like", status=204, limit="like", summary="Take a like back (idempotent)")
def unlike_post(ctx: Ctx, post_id: str) -> None:
    from chalicelib.services import engagement

    engagement.unlike(ctx.deps.engagement, ctx.user, post_id, ctx.quota, ctx.now)


@route.route("POST", "/posts/{post_id}/comments", status=201, body=CommentCreate, response=CommentPublic,
             errors=(AccountClosed, Blocked), limit="comment",
             summary="Comment on a post; the shop owner's comment is the shop's reply",
             description="A customer the post's shop blocked gets 403 `blocked`.")
def add_comment(ctx: Ctx, post_id: str, body: CommentCreate) -> CommentPublic:
    from chalicelib.services import engagement

    item = engagement.comment(ctx.deps.engagement, ctx.user, post_id, body.text, ctx.now, ctx.quota)
    return CommentPublic.model_validate(item)


@route.route("GET", "/posts/{post_id}/comments", auth=False, query=ListQuery, response=Page[CommentPublic],
             summary="A post's comments, oldest first")
def list_post_comments(ctx: Ctx, post_id: str, query: ListQuery) -> dict:
    from chalicelib.services import engagement

    scope = f"comments:{post_id}"
    page = engagement.comments(ctx.deps.posts, ctx.deps.engagement, post_id, query.limit,
                               start_key(ctx, query.cursor, scope), accounts=ctx.deps.closing)
    return page_out(ctx, page, scope)


@route.route("DELETE", "/comments/{comment_id}", status=204, errors=(Forbidden,),
             summary="Delete a comment (its author, or the owner of the shop it was written on)")
def delete_comment(ctx: Ctx, comment_id: str) -> None:
    from chalicelib.services import engagement

    engagement.delete_comment(ctx.deps.engagement, ctx.user, comment_id)


@route.route("POST", "/posts/{post_id}/shares", status=201, response=ShareOut, limit="share",
             summary="Record a share (once per user and post: sharing again records nothing); answers the link "
                     "to share: my own store link for the shop if I have one")
def share_post(ctx: Ctx, post_id: str) -> ShareOut:
    from chalicelib.services import engagement

    item = engagement.share(ctx.deps.posts, ctx.deps.engagement, ctx.user, post_id,
                            ctx.deps.settings.public_base_url, ctx.now, links=ctx.deps.store_links, quota=ctx.quota)
    return ShareOut.model_validate(item)
