"""Feed entries: the compact, denormalised copies of posts in each reader's feed."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import BooleanAttribute, ListAttribute, NumberAttribute, UnicodeAttribute

from chalicelib.storage.base import FeedItem
from chalicelib.storage.models.social import TaggedProductMap


class FeedEntryItem(FeedItem):
    """One post in one reader's feed, at most 1 KB (one write unit).

    Key design: ``pk = <reader user_id>``, ``sk = <post_id>`` (ULIDs sort by time, so a page
    is one Query, newest first); ``expires_at`` (TTL) lets DynamoDB drop old entries for
    free. No index: every index write would cost another unit per entry, for every
    follower of every post; unfollow finds one shop's entries by reading the reader's own
    partition, which the cap keeps to a few hundred small items.
    """

    shop_id = UnicodeAttribute()
    shop_name = UnicodeAttribute()
    shop_handle = UnicodeAttribute()
    excerpt = UnicodeAttribute(default="")
    more = BooleanAttribute(default=False)
    photo = UnicodeAttribute(null=True)
    photo_count = NumberAttribute(default=0)
    # The tagged products' id, name and price, copied from the post (no read at page time).
    products = ListAttribute(of=TaggedProductMap, default=list)
    product_count = NumberAttribute(default=0)  # how many products the post tags
    hashtags: ListAttribute[Any] = ListAttribute(of=UnicodeAttribute, default=list)
    like_count = NumberAttribute(default=0)
    comment_count = NumberAttribute(default=0)
    created_at = NumberAttribute()
    # The post's content version this entry was copied from (edits re-copy it).
    version = NumberAttribute(default=1)
