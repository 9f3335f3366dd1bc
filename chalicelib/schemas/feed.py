"""Feed requests and responses."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from chalicelib.schemas.common import Id, ListQuery, Out, Timestamp
from chalicelib.schemas.posts import TaggedProductPublic

type FeedOrder = Literal["recent", "ranked"]


class FeedQuery(ListQuery):
    # A ranked cursor carries the rest of its window as binary ids (16 bytes each, at most 59
    # with pages of 1): about 1.85 KB at worst, signed (tests/unit/test_ranking.py checks it).
    cursor: str | None = Field(None, max_length=2048, description="Opaque cursor from the previous page.")
    order: FeedOrder = Field(
        "recent", description="`recent`: newest first. `ranked`: recency × my relationship to the shop × "
                              "the post's engagement (EdgeRank-style), ranked in windows of about 60 posts, "
                              "stable while paging.")


class FeedItemPublic(Out):
    """A post as the feed shows it: self-contained, no second call needed.

    Counts are as of when the post reached this feed (or was last edited); the post
    itself (`GET /posts/{post_id}`) has the live counts.
    """

    post_id: Id
    shop_id: Id
    shop_name: str
    shop_handle: str
    text: str = Field(description="The start of the post's text (about 140 characters); `more` says there is more, "
                                  "and `GET /posts/{post_id}` has all of it.")
    more: bool = Field(description="True when `text` is an excerpt of a longer post.")
    photos: list[str] = Field(max_length=1, description="The post's first photo (upload key), if it has any.")
    photo_urls: list[str] = Field(max_length=1, description="Where to load `photos` from.")
    photo_count: int = Field(ge=0, description="How many photos the post has.")
    product_ids: list[str] = Field(max_length=3, description="The first (up to three) products the post tags.")
    products: list[TaggedProductPublic] = Field(
        max_length=3,
        description="Those products' name and price as of the post's creation or last edit (a very long name "
                    "may be shortened); `GET /products/{product_id}` has today's price, which is what an order "
                    "charges.")
    product_count: int = Field(ge=0, description="How many products the post tags (`GET /posts/{post_id}` lists all).")
    hashtags: list[str] = Field(max_length=5, description="The post's first (up to five) hashtags.")
    like_count: int
    comment_count: int
    created_at: Timestamp
    liked: bool = Field(description="Whether I like the post now (one BatchGetItem for the whole page).")
