"""Feed entries: the compact, denormalised copies of posts in each reader's feed."""

from __future__ import annotations

from pynamodb.attributes import ListAttribute, NumberAttribute, UnicodeAttribute

from chalicelib.storage.base import FeedItem
from chalicelib.storage.models.social import TaggedProductMap


class FeedEntryItem(FeedItem):
    """One post in one reader's feed.

    Key design: ``pk = <reader user_id>``, ``sk = <post_id>`` (ULIDs sort by time, so a page
    is one Query, newest first); ``lsi1sk = <shop_id>#<post_id>`` for unfollow;
    ``expires_at`` (TTL) lets DynamoDB drop old entries for free.
    """

    post_id = UnicodeAttribute()
    shop_id = UnicodeAttribute()
    shop_name = UnicodeAttribute()
    shop_handle = UnicodeAttribute()
    text = UnicodeAttribute(default="")
    photos = ListAttribute(of=UnicodeAttribute, default=list)
    product_ids = ListAttribute(of=UnicodeAttribute, default=list)
    # The tagged products' name and price, copied from the post (no read at page time).
    products = ListAttribute(of=TaggedProductMap, default=list)
    hashtags = ListAttribute(of=UnicodeAttribute, default=list)
    like_count = NumberAttribute(default=0)
    comment_count = NumberAttribute(default=0)
    created_at = NumberAttribute()
    # The post's content version this entry was copied from (edits re-copy it).
    version = NumberAttribute(default=1)
