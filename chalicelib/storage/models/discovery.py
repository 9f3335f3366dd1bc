"""Discovery: a shop's search keys and region entries, and hashtag pages.

All are derived from other items by the stream (``events.discovery``) and can be rebuilt
from them; nothing on the request path writes them.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from chalicelib.storage.base import FeedItem, MainItem

# Zero-padded widths of the inverted sort keys below (most followed sorts first).
BUCKET_WIDTH, COUNT_WIDTH = 3, 10
GLOBAL_SCOPE = "*"


def search_pk(scope: str, key: str) -> str:
    return f"SEARCH#{scope}#{key}"


def region_pk(region: str) -> str:
    return f"REGION#{region}"


def bucket_rank(bucket: int, shop_id: str) -> str:
    return f"{10 ** BUCKET_WIDTH - 1 - min(bucket, 10 ** BUCKET_WIDTH - 1):0{BUCKET_WIDTH}d}#{shop_id}"


def count_rank(count: int, shop_id: str) -> str:
    return f"{10 ** COUNT_WIDTH - 1 - min(max(count, 0), 10 ** COUNT_WIDTH - 1):0{COUNT_WIDTH}d}#{shop_id}"


def hashtag_pk(tag: str) -> str:
    return f"HASHTAG#{tag}"


class ShopKeyItem(FeedItem):
    """One way to find a shop: a search key in a region scope, or the shop's entry in a region.

    Stored in the feed table, which has no stream: the index is derived and rewritten from the
    shop's stream records (~100 items a shop), and on the main table every one of those writes
    would be a stream record read by the stream function for nothing. Key design:

    * a search key: ``pk = SEARCH#<scope>#<key>``, ``sk = <999 − follower bucket>#<shop_id>``.
      ``scope`` is ``*`` (everywhere), the shop's 시/도 (``서울``) or its 시/군/구 (``서울 마포구``),
      so a search narrowed to a region reads that region's partition only (a 동's search, its
      시/군/구's). ``key`` comes from ``storage.search_keys``. ``followers`` is the count when the
      bucket last changed (the order within a bucket is the shop id's: the older shop first).
    * a region entry: ``pk = REGION#<region>``, ``sk = <9999999999 − follower_count>#<shop_id>``: a
      region's shops, most followed first, one Query. ``followers`` is exact.

    Written from the shop's stream records (create, rename, region, follower count): every key of
    the old image that the new one no longer has is deleted (the old image names them all), so a
    rename, a move or a new count leaves no stale entry.
    """

    shop_id = UnicodeAttribute()
    name = UnicodeAttribute()
    handle = UnicodeAttribute()
    region = UnicodeAttribute(default="")
    followers = NumberAttribute(default=0)


class HashtagPostItem(MainItem, discriminator="hashtag_post"):
    """A post under one of its hashtags.

    Key design: ``pk = HASHTAG#<tag>``, ``sk = <post_id>``: a hashtag's posts, newest first, one
    Query descending (ULIDs sort by time). Written from the post's stream records on condition
    that the post still exists (its marker), deleted with it; replays change nothing.
    """

    post_id = UnicodeAttribute()
    shop_id = UnicodeAttribute()
    created_at = NumberAttribute()
