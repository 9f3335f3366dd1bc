"""Discovery on DynamoDB: shop search by key partitions, region lists, hashtag pages, and
what a signed-in reader sees of a shop or post (following, liked).

``DiscoveryRepository`` is the one implementation of ``services.discovery.ShopSearch`` today;
an engine (OpenSearch Serverless fed from the stream, docs/discovery.md) can replace its
``search`` without touching the service or the edge.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from chalicelib.records.accounts import Shop
from chalicelib.records.common import Page
from chalicelib.records.discovery import SearchPage, ShopHit
from chalicelib.records.social import Post
from chalicelib.storage.accounts import PROFILE, _connection
from chalicelib.storage.base import MainItem
from chalicelib.storage.batch import BATCH_GET_LIMIT, chunks
from chalicelib.storage.models.accounts import ShopItem, shop_pk
from chalicelib.storage.models.discovery import (
    GLOBAL_SCOPE, HashtagPostItem, ShopKeyItem, bucket_rank, count_rank, hashtag_pk, region_pk, search_pk,
)
from chalicelib.storage.models.social import (POST_MARKER_SK, POST_SK, FollowItem, LikeItem, PostItem,
                                              PostMarkerItem, follower_sk, like_sk, post_pk)
from chalicelib.storage.paging import page_of
from chalicelib.storage.posts import to_post
from chalicelib.storage.retry import with_retries
from chalicelib.storage.search_keys import fold, follower_bucket, keys_of, query_key, relevance
from chalicelib.storage.shops import to_shop
from chalicelib.storage.transactions import Cancelled, Transaction

# Candidates one search reads: the most followed shops of the query's key partition (in the
# region asked for), one Query of at most this many small items (about 4 RCU). Results are
# the ones among them that match the whole query, so a search answers at most this many.
CANDIDATES = 100
# Region levels with search keys of their own (시/도, 시/군/구): a search in a 동 reads its 시/군/구's
# partition and keeps the shops of that 동 (the items carry the region).
SCOPED_LEVELS = 2
# Hashtags of one post written to their pages (a post keeps up to 30; its first ones count).
MAX_POST_TAGS = 30


def region_levels(region: str) -> list[str]:
    """``서울 마포구 망원동`` → ``[서울, 서울 마포구, 서울 마포구 망원동]``; ``""`` → ``[]``."""
    parts = region.split()
    return [" ".join(parts[:i + 1]) for i in range(len(parts))]


def _key_items(shop: Shop | None) -> dict[tuple[str, str], ShopKeyItem]:
    """Every index item the shop should have, by key."""
    if shop is None:
        return {}
    levels = region_levels(shop.region)
    scopes = (GLOBAL_SCOPE, *levels[:SCOPED_LEVELS])
    count = shop.follower_count
    items: dict[tuple[str, str], ShopKeyItem] = {}

    def item(pk: str, sk: str) -> ShopKeyItem:
        return ShopKeyItem(pk, sk, followers=count, shop_id=shop.shop_id, name=shop.name, handle=shop.handle,
                           region=shop.region)

    rank = bucket_rank(follower_bucket(count), shop.shop_id)
    for scope in scopes:
        for key in keys_of(shop.name, shop.handle):
            items[(search_pk(scope, key), rank)] = item(search_pk(scope, key), rank)
    for level in levels:
        entry = count_rank(count, shop.shop_id)
        items[(region_pk(level), entry)] = item(region_pk(level), entry)
    return items


def _signature(item: ShopKeyItem) -> tuple:
    """What makes an index item current beyond its key: the names it shows (a search key's
    follower snapshot moves with its bucket, which is in its key; a region entry's count too)."""
    return (item.name, item.handle, item.region)


def to_hit(item: ShopKeyItem | ShopItem) -> ShopHit:
    count = item.followers if isinstance(item, ShopKeyItem) else item.follower_count
    return ShopHit(shop_id=item.shop_id, name=item.name, handle=item.handle, region=item.region or "",
                   follower_count=int(count or 0))


class DiscoveryRepository:
    # -- the shop index (stream) --------------------------------------------------------------
    def sync_shop(self, old: Shop | None, new: Shop | None) -> tuple[int, int]:
        """Bring the shop's index items from ``old``'s to ``new``'s (None: no shop): write what
        changed, delete what ``new`` no longer has. Idempotent; returns (written, deleted)."""
        before, after = _key_items(old), _key_items(new)
        deletes = [item for key, item in before.items() if key not in after]
        puts = [item for key, item in after.items() if key not in before or _signature(before[key]) != _signature(item)]
        if deletes or puts:
            def write() -> None:
                with ShopKeyItem.batch_write() as batch:
                    for item in deletes:
                        batch.delete(item)
                    for item in puts:
                        batch.save(item)
            with_retries(write)
        return len(puts), len(deletes)

    # -- reads --------------------------------------------------------------------------------
    def search(self, query: str, region: str, offset: int, limit: int) -> SearchPage:
        """Shops whose name or handle matches ``query``, best first: 1 Query + 1 BatchGetItem."""
        folded = fold(query)
        levels = region_levels(region)
        scope = levels[min(len(levels), SCOPED_LEVELS) - 1] if levels else GLOBAL_SCOPE
        candidates = ShopKeyItem.query(search_pk(scope, query_key(folded)), limit=CANDIDATES, page_size=CANDIDATES)
        ranked = []
        seen: set[str] = set()
        for position, item in enumerate(with_retries(lambda: list(candidates))):
            if item.shop_id in seen:
                continue  # a replayed record's entry, until the shop's next change replaces it
            seen.add(item.shop_id)
            if len(levels) > SCOPED_LEVELS and not (item.region + " ").startswith(region + " "):
                continue  # another 동 of the 시/군/구
            score = relevance(folded, item.name, item.handle)
            if score:
                ranked.append((-score, position, item.shop_id))
        ranked.sort()  # relevance, then the index's order: followers (bucket, then snapshot), older first
        page = [shop_id for _, _, shop_id in ranked[offset:offset + limit]]
        found = self._shops(page)
        more = len(ranked) > offset + limit
        return SearchPage(items=[found[s] for s in page if s in found], next_offset=offset + limit if more else None)

    def _shops(self, shop_ids: Sequence[str]) -> dict[str, ShopHit]:
        found: dict[str, ShopHit] = {}
        for chunk in chunks(list(shop_ids), BATCH_GET_LIMIT):
            for item in with_retries(lambda: list(ShopItem.batch_get([(shop_pk(s), PROFILE) for s in chunk]))):
                found[item.shop_id] = to_hit(item)
        return found

    def region_shops(self, region: str, limit: int, start_key: dict | None) -> Page:
        """A region's shops, most followed first: 1 Query."""
        results = ShopKeyItem.query(region_pk(region), limit=limit, last_evaluated_key=start_key)
        return with_retries(lambda: page_of(results, limit, to_hit))

    # -- hashtag pages --------------------------------------------------------------------------
    def index_post(self, post: Post, removed: Iterable[str] = ()) -> bool:
        """Put the post under its hashtags and take it from ``removed`` ones, in one transaction
        on condition that the post still exists: a replayed record of a deleted post writes
        nothing. ``False`` when the post is gone."""
        tags = post.hashtags[:MAX_POST_TAGS]
        tx = Transaction(_connection()).check(PostMarkerItem, post_pk(post.post_id), POST_MARKER_SK,
                                              condition=PostMarkerItem.pk.exists(), label="post")
        for tag in tags:
            tx.put(HashtagPostItem(hashtag_pk(tag), post.post_id, post_id=post.post_id, shop_id=post.shop_id,
                                   created_at=post.created_at), label=f"tag:{tag}")
        for tag in set(removed) - set(tags):
            tx.delete(HashtagPostItem(hashtag_pk(tag), post.post_id), label=f"untag:{tag}")
        if len(tx) == 1:
            return True
        try:
            tx.commit()
        except Cancelled as cancelled:
            if "post" in cancelled:
                return False
            raise
        return True

    def unindex_post(self, post_id: str, tags: Iterable[str]) -> int:
        """Take the post from its hashtags' pages (deleting what is already gone is no error)."""
        items = [HashtagPostItem(hashtag_pk(tag), post_id) for tag in set(tags)]
        if items:
            def write() -> None:
                with HashtagPostItem.batch_write() as batch:
                    for item in items:
                        batch.delete(item)
            with_retries(write)
        return len(items)

    def hashtag_posts(self, tag: str, limit: int, start_key: dict | None) -> Page:
        """A hashtag's posts, newest first: 1 Query + 1 BatchGetItem of the posts (a post deleted a
        moment ago, whose entry the stream has not removed yet, is left out)."""
        results = HashtagPostItem.query(hashtag_pk(tag), scan_index_forward=False, limit=limit,
                                        last_evaluated_key=start_key)
        page = with_retries(lambda: page_of(results, limit, lambda item: item.post_id))
        posts = self._posts(page.items)
        return Page(items=[posts[p] for p in page.items if p in posts], last_key=page.last_key)

    def _posts(self, post_ids: Sequence[str]) -> dict[str, Post]:
        found: dict[str, Post] = {}
        for chunk in chunks(list(post_ids), BATCH_GET_LIMIT):
            for item in with_retries(lambda: list(PostItem.batch_get([(post_pk(p), POST_SK) for p in chunk]))):
                found[item.post_id] = to_post(item)
        return found

    # -- what a signed-in reader sees -----------------------------------------------------------
    def shop_for(self, shop_id: str, user_id: str) -> tuple[Shop | None, bool]:
        """The shop and whether ``user_id`` follows it: 1 BatchGetItem (both in the shop's partition)."""
        shop, following = None, False
        keys = [(shop_pk(shop_id), PROFILE), (shop_pk(shop_id), follower_sk(user_id))]
        for item in with_retries(lambda: list(MainItem.batch_get(keys))):
            if isinstance(item, ShopItem):
                shop = to_shop(item)
            elif isinstance(item, FollowItem):
                following = True
        return shop, following

    def post_for(self, post_id: str, user_id: str) -> tuple[Post | None, bool]:
        """The post and whether ``user_id`` likes it: 1 BatchGetItem (both in the post's partition)."""
        post, liked = None, False
        keys = [(post_pk(post_id), POST_SK), (post_pk(post_id), like_sk(user_id))]
        for item in with_retries(lambda: list(MainItem.batch_get(keys))):
            if isinstance(item, PostItem):
                post = to_post(item)
            elif isinstance(item, LikeItem):
                liked = True
        return post, liked

    def liked(self, user_id: str, post_ids: Sequence[str]) -> set[str]:
        """Which of ``post_ids`` ``user_id`` likes: 1 BatchGetItem of keys for up to 100 posts,
        none for none."""
        found: set[str] = set()
        for chunk in chunks(sorted(set(post_ids)), BATCH_GET_LIMIT):
            keys = [(post_pk(p), like_sk(user_id)) for p in chunk]
            items = with_retries(lambda: list(LikeItem.batch_get(keys, attributes_to_get=["pk", "sk", "entity",
                                                                                           "post_id"])))
            found.update(item.post_id for item in items)
        return found
