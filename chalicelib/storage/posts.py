"""Posts, with the shop's ``post_count`` kept exact."""

from __future__ import annotations

from collections.abc import Sequence

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.update import Action

from chalicelib.errors import NotFound, PostChanged
from chalicelib.records.common import Page
from chalicelib.records.social import Post, TaggedProduct
from chalicelib.storage.accounts import PROFILE, _connection
from chalicelib.storage.batch import BATCH_GET_LIMIT, chunks
from chalicelib.storage.models.accounts import ShopItem, shop_pk
from chalicelib.storage.models.social import (POST_MARKER_SK, POST_SK, PostItem, PostMarkerItem, TaggedProductMap,
                                              post_pk, shop_posts_gsi)
from chalicelib.storage.paging import page_of
from chalicelib.storage.retry import with_retries
from chalicelib.records.rates import Ticket
from chalicelib.storage.rates import add_quota, raise_if_limited
from chalicelib.storage.transactions import Cancelled, Transaction

EDITABLE = ("text", "photos", "product_ids", "products", "hashtags")


def to_tagged(maps) -> tuple[TaggedProduct, ...]:
    return tuple(TaggedProduct(product_id=m.product_id, name=m.name, price=int(m.price), currency=m.currency)
                 for m in maps or ())


def tagged_maps(products: Sequence[TaggedProduct]) -> list[TaggedProductMap]:
    return [TaggedProductMap(product_id=p.product_id, name=p.name, price=p.price, currency=p.currency)
            for p in products]


def to_post(item: PostItem) -> Post:
    return Post(
        post_id=item.post_id, shop_id=item.shop_id, author_id=item.author_id, shop_name=item.shop_name,
        shop_handle=item.shop_handle, text=item.text or "", photos=list(item.photos or []),
        product_ids=list(item.product_ids or []), hashtags=list(item.hashtags or []),
        like_count=int(item.like_count or 0), comment_count=int(item.comment_count or 0),
        share_count=int(item.share_count or 0), version=int(item.version or 1),
        created_at=item.created_at, updated_at=item.updated_at, products=to_tagged(item.products),
    )


def post_marker(post_id: str, shop_id: str) -> PostMarkerItem:
    return PostMarkerItem(post_pk(post_id), POST_MARKER_SK, post_id=post_id, shop_id=shop_id)


class PostsRepository:
    def create_post(self, post: Post, quota: Ticket | None = None) -> None:
        """The post and the shop's ``post_count`` in one transaction (owner re-checked), with
        the author's rate-limit ``quota`` counted in it."""
        item = PostItem(
            post_pk(post.post_id), POST_SK, post_id=post.post_id, shop_id=post.shop_id, author_id=post.author_id,
            shop_name=post.shop_name, shop_handle=post.shop_handle, text=post.text, photos=post.photos,
            product_ids=post.product_ids, products=tagged_maps(post.products), hashtags=post.hashtags, like_count=0, comment_count=0, share_count=0,
            version=post.version, created_at=post.created_at, updated_at=post.updated_at,
            gsi1pk=shop_posts_gsi(post.shop_id), gsi1sk=post.post_id,
        )
        tx = (Transaction(_connection())
              .put(item, condition=PostItem.pk.does_not_exist(), label="post")
              .put(post_marker(post.post_id, post.shop_id), label="marker")
              .update(ShopItem(shop_pk(post.shop_id), PROFILE), ShopItem.quietly([ShopItem.post_count.add(1)]),
                      condition=ShopItem.pk.exists() & (ShopItem.owner_id == post.author_id), label="shop"))
        add_quota(tx, quota)
        try:
            tx.commit()
        except Cancelled as cancelled:
            if "shop" in cancelled:
                raise NotFound("The shop no longer exists.") from None
            raise_if_limited(cancelled, quota, post.created_at)
            raise

    def get_post(self, post_id: str, consistent: bool = False) -> Post | None:
        try:
            return to_post(PostItem.get(post_pk(post_id), POST_SK, consistent_read=consistent))
        except PostItem.DoesNotExist:
            return None

    def get_posts(self, post_ids: list[str], consistent: bool = False) -> dict[str, Post]:
        found: dict[str, Post] = {}
        for chunk in chunks(sorted(set(post_ids)), BATCH_GET_LIMIT):
            for item in PostItem.batch_get([(post_pk(pid), POST_SK) for pid in chunk], consistent_read=consistent):
                found[item.post_id] = to_post(item)
        return found

    def update_post(self, current: Post, changes: dict, now: float) -> Post:
        """Apply content ``changes`` if nobody edited the post since ``current`` was read.

        ``version`` grows by one, which is how the stream handler recognises an edit.
        """
        actions: list[Action] = [PostItem.updated_at.set(now), PostItem.version.add(1)]
        stored = {**changes, "products": tagged_maps(changes["products"])} if "products" in changes else changes
        actions += [getattr(PostItem, name).set(stored[name]) for name in EDITABLE if name in stored]
        item = PostItem(post_pk(current.post_id), POST_SK)
        try:
            with_retries(lambda: item.update(actions=actions,
                                             condition=PostItem.pk.exists() & (PostItem.version == current.version)))
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                raise PostChanged("The post was changed or deleted meanwhile; reload it and try again.") from error
            raise
        return to_post(item)

    def delete_post(self, post: Post) -> bool:
        """Delete the post and lower the shop's ``post_count``; ``False`` if it was already gone."""
        tx = (Transaction(_connection())
              .delete(PostItem(post_pk(post.post_id), POST_SK), condition=PostItem.pk.exists(), label="post")
              .delete(PostMarkerItem(post_pk(post.post_id), POST_MARKER_SK), label="marker")
              .update(ShopItem(shop_pk(post.shop_id), PROFILE), ShopItem.quietly([ShopItem.post_count.add(-1)]),
                      condition=ShopItem.pk.exists(), label="shop"))
        try:
            tx.commit()
        except Cancelled:
            return False  # the post was gone already (or, impossibly, the shop)
        return True

    def shop_posts(self, shop_id: str, limit: int, start_key: dict | None) -> Page:
        results = PostItem.gsi1.query(shop_posts_gsi(shop_id), scan_index_forward=False, limit=limit,
                                      last_evaluated_key=start_key)
        return page_of(results, limit, to_post)

    def recent_posts(self, shop_id: str, count: int) -> list[Post]:
        """The shop's newest ``count`` posts, confirmed by a strongly consistent read.

        The index is eventually consistent: a post deleted a moment ago may still be
        listed there, so the ids are re-read from the table (one BatchGetItem), and only
        posts that exist now are returned, newest first.
        """
        ids = [item.post_id for item in PostItem.gsi1.query(
            shop_posts_gsi(shop_id), scan_index_forward=False, limit=count, page_size=count,
            attributes_to_get=["pk", "sk", "post_id", "entity"])]
        found = self.get_posts(ids, consistent=True)
        return [found[pid] for pid in sorted(found, reverse=True)]
