"""The feed: posts of the shops I follow, one Query per page."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.auth import bearer
from chalicelib.api.edge import Ctx, Router
from chalicelib.api.paging import page_out, start_key
from chalicelib.schemas.common import Page
from chalicelib.schemas.feed import FeedItemPublic, FeedQuery

feed_blueprint = Blueprint(__name__)
route = Router(feed_blueprint, "feed", bearer)


@route.route("GET", "/feed", query=FeedQuery, response=Page[FeedItemPublic],
             summary="Posts from the shops I follow, newest first; each item is self-contained")
def my_feed(ctx: Ctx, query: FeedQuery) -> dict:
    from chalicelib.services import feed

    scope = f"feed:{ctx.user}"
    page = feed.page(ctx.deps.feed, ctx.user, query.order, query.limit, start_key(ctx, query.cursor, scope))
    url = ctx.deps.media.url
    return page_out(ctx, page, scope, lambda e: {**e.__dict__, "photo_urls": [url(key) for key in e.photos]})
