"""Discovery: find shops by name (초성 too) and region, and posts by hashtag. Anyone may call.

Services are imported inside the views (cold start: see ``chalicelib.api.follows``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint

from chalicelib.api.edge import Ctx, Router
from chalicelib.api.spec import lazy_models
from chalicelib.api.paging import page_out, start_key
from chalicelib.errors import InvalidHashtag, InvalidSearchQuery, UnknownRegion

if TYPE_CHECKING:
    from chalicelib.schemas.common import ListQuery, Page
    from chalicelib.schemas.discovery import SearchQuery, ShopHitOut
    from chalicelib.schemas.posts import PostPublic
else:  # pydantic models, imported on the first request that needs them
    ListQuery, Page = lazy_models("chalicelib.schemas.common", "ListQuery", "Page")
    SearchQuery, ShopHitOut = lazy_models("chalicelib.schemas.discovery", "SearchQuery", "ShopHitOut")
    (PostPublic,) = lazy_models("chalicelib.schemas.posts", "PostPublic")

discovery_blueprint = Blueprint(__name__)
route = Router(discovery_blueprint, "discovery")


@route.route("GET", "/search/shops", auth=False, query=SearchQuery, response=Page[ShopHitOut],
             errors=(InvalidSearchQuery, UnknownRegion),
             summary="Find shops by name or handle: its start, a piece inside it, or initial consonants (초성)",
             description="Best match first (the whole name or handle, its start, the start of a word, inside it, "
                         "초성), then the most followed. `region` narrows to a region and the regions inside it. "
                         "A search considers the 100 most followed shops that share the query's first two "
                         "characters (in the region), so it answers at most 100; pages of `limit` with a cursor. "
                         "A new or renamed shop is found a moment after it is saved.")
def search_shops(ctx: Ctx, query: SearchQuery) -> dict:
    from chalicelib.services import discovery

    scope = f"search:{query.region}:{query.q}"
    state = start_key(ctx, query.cursor, scope) or {}
    offset = state.get("offset", 0) if isinstance(state.get("offset", 0), int) else 0
    page = discovery.search(ctx.deps.discovery, query.q, query.region, max(0, offset), query.limit)
    rest = {"offset": page.next_offset} if page.next_offset is not None else None  # where the next page starts
    return {"items": [ShopHitOut.model_validate(hit) for hit in page.items],
            "next_cursor": ctx.deps.cursors.encode(rest, scope)}


@route.route("GET", "/regions/{region}/shops", auth=False, query=ListQuery, response=Page[ShopHitOut],
             errors=(UnknownRegion,), text_params=("region",),
             summary="A region's shops, most followed first",
             description="`region` is percent-encoded, levels separated by a space: `서울`, `서울 마포구`, "
                         "`서울 마포구 망원동`. A shop is listed in its region and every region above it (a shop in "
                         "망원동 is also in 서울 마포구 and 서울). Unknown → 422 `unknown_region`.")
def list_region_shops(ctx: Ctx, region: str, query: ListQuery) -> dict:
    from chalicelib.services import discovery

    scope = f"region:{region}"
    page = discovery.region_shops(ctx.deps.discovery, region, query.limit, start_key(ctx, query.cursor, scope))
    return page_out(ctx, page, scope, ShopHitOut.model_validate)


@route.route("GET", "/hashtags/{tag}/posts", auth=False, query=ListQuery, response=Page[PostPublic],
             errors=(InvalidHashtag,), text_params=("tag",),
             summary="Posts with a hashtag, newest first",
             description="`tag` without `#`, percent-encoded (`%EB%91%90%EB%B6%80` for 두부), any case. A post "
                         "joins its hashtags' pages a moment after it is saved and leaves them when it is "
                         "deleted or the tag is edited out; a page can be shorter than `limit` while that "
                         "happens — `next_cursor` says whether there is more.")
def list_hashtag_posts(ctx: Ctx, tag: str, query: ListQuery) -> dict:
    from chalicelib.api.posts import post_out
    from chalicelib.services import discovery

    scope = f"hashtag:{tag.casefold()}"
    page = discovery.hashtag_posts(ctx.deps.discovery, tag, query.limit, start_key(ctx, query.cursor, scope))
    return page_out(ctx, page, scope, lambda post: post_out(ctx, post))
