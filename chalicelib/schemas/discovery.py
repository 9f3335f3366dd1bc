"""Discovery requests and responses: shop search, a region's shops, hashtag pages."""

from __future__ import annotations

from pydantic import Field

from chalicelib.schemas.common import Id, ListQuery, Out


class SearchQuery(ListQuery):
    q: str = Field("", description="1 to 40 letters or digits of a shop's name or handle: its start, a piece "
                                    "inside it, or initial consonants (초성, `ㄷㅂ` finds 두부가게). Spaces and "
                                    "punctuation are ignored; none or too many letters → 422 "
                                    "`invalid_search_query`.",
                   examples=["두부"])
    region: str = Field("", description="Only shops in this region (`서울`, `서울 마포구`, `서울 마포구 망원동`); "
                                        "an unknown one → 422 `unknown_region`.",
                        examples=["서울 마포구"])


class ShopHitOut(Out):
    """A shop in a search result or a region's list."""

    shop_id: Id
    name: str
    handle: str
    region: str
    follower_count: int
