"""The feed: posts of the shops I follow.

``order=recent``: one Query per page, and one BatchGetItem of my likes of its posts (``liked``). ``order=ranked``: see ``services.ranking`` — a window
page is 2 Queries (the window, the reader's strongest shops), a later page 1 BatchGetItem of
its posts; the cursor carries the rest of the window, signed and scoped to the reader.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint

from chalicelib.api.edge import Ctx, Router
from chalicelib.api.spec import lazy_models
from chalicelib.api.paging import page_out, start_key

if TYPE_CHECKING:
    from chalicelib.schemas.common import Page
    from chalicelib.schemas.feed import FeedItemPublic, FeedQuery
else:  # pydantic models, imported on the first request that needs them
    (Page,) = lazy_models("chalicelib.schemas.common", "Page")
    FeedItemPublic, FeedQuery = lazy_models("chalicelib.schemas.feed", "FeedItemPublic", "FeedQuery")

feed_blueprint = Blueprint(__name__)
route = Router(feed_blueprint, "feed")


@route.route("GET", "/feed", query=FeedQuery, response=Page[FeedItemPublic],
             summary="Posts from the shops I follow, newest first or ranked; each item is self-contained",
             description="`order=recent` (default): newest first, one Query per page. `order=ranked`: "
                         "recency blended with my relationship to each shop and the post's engagement, ranked "
                         "in windows of about 60 posts, newest window first; pages never repeat or skip a "
                         "post while you page, and a page can be shorter than `limit` when posts were "
                         "deleted meanwhile: `next_cursor` says whether there is more.")
def get_feed(ctx: Ctx, query: FeedQuery) -> dict:
    from chalicelib.services import feed

    from chalicelib.services import discovery

    url = ctx.deps.media.url
    liked: set[str] = set()

    def item(entry) -> dict:
        photos = [entry.photo] if entry.photo else []
        return {**entry.__dict__, "text": entry.excerpt, "photos": photos, "photo_urls": [url(key) for key in photos],
                "liked": entry.post_id in liked}

    def likes_of(entries) -> None:  # one BatchGetItem for the page (none for an empty one)
        liked.update(discovery.liked(ctx.deps.discovery, ctx.user, [e.post_id for e in entries]))

    scope = f"feed-{query.order}:{ctx.user}"
    if query.order == "recent":
        page = feed.page(ctx.deps.feed, ctx.user, query.limit, start_key(ctx, query.cursor, scope))
        likes_of(page.items)
        return page_out(ctx, page, scope, item)
    from chalicelib.services.relationship_reads import reader_strongest_shops

    def strongest(count: int) -> tuple[dict[str, float], bool]:
        return reader_strongest_shops(ctx.deps.relationships, ctx.user, count, ctx.now)

    entries, state = feed.ranked_page(ctx.deps.feed, strongest, ctx.user, query.limit,
                                      start_key(ctx, query.cursor, scope))
    likes_of(entries)
    return {"items": [item(e) for e in entries], "next_cursor": ctx.deps.cursors.encode(state, scope)}
