"""Posts: owner-only writes, public reads, hashtags, photos that must be the poster's uploads, products
that must be the shop's own (their name and price kept on the post)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Protocol

from chalicelib.errors import FieldProblem, Forbidden, Invalid, NotFound
from chalicelib.ids import new_id
from chalicelib.records.common import Page
from chalicelib.services.limits import MAX_HASHTAG_CHARS, MAX_HASHTAGS, is_blank
from chalicelib.services.products import ProductsStore, resolve_products
from chalicelib.services.shops import ShopsStore, owned_shop
from chalicelib.services.uploads import MediaStore, check_photos
from chalicelib.records.social import Post, TaggedProduct

if TYPE_CHECKING:
    from chalicelib.records.rates import Ticket


# A hashtag is '#' and word characters (Hangul included), not preceded by a word
# character, '&' (an HTML entity) or another '#'.
HASHTAG = re.compile(r"(?<![\w&#])#(\w+)")


class PostsStore(Protocol):
    def create_post(self, post: Post, quota: Ticket | None = None) -> None: ...
    def get_post(self, post_id: str, consistent: bool = False) -> Post | None: ...
    def update_post(self, current: Post, changes: dict, now: float) -> Post: ...
    def delete_post(self, post: Post) -> bool: ...
    def shop_posts(self, shop_id: str, limit: int, start_key: dict | None) -> Page: ...


def extract_hashtags(text: str) -> list[str]:
    """Hashtags in order of first use, case-folded, without duplicates, at most 30."""
    tags: list[str] = []
    for match in HASHTAG.finditer(text):
        tag = match.group(1).casefold()
        if len(tag) <= MAX_HASHTAG_CHARS and not tag.isdigit() and tag not in tags:
            tags.append(tag)
            if len(tags) == MAX_HASHTAGS:
                break
    return tags


def tag_products(products: ProductsStore, shop_id: str, product_ids: list[str]) -> tuple[TaggedProduct, ...]:
    """What the post shows of each tagged product, as of now. Ids are shape-checked by the
    schema; here each must be one of the shop's own products (``Invalid`` names every other
    one as ``body.product_ids.<i>``). One BatchGetItem; none when nothing is tagged."""
    if not product_ids:
        return ()
    return tuple(TaggedProduct(product_id=s.product_id, name=s.name, price=s.price, currency=s.currency)
                 for s in resolve_products(products, shop_id, product_ids))


def _require_content(text: str, photos: list[str]) -> None:
    # Blank as the document's `PostCreate` says it (limits.SPACE), U+FEFF included.
    if is_blank(text) and not photos:
        raise Invalid("A post needs text or at least one photo.",
                      errors=[FieldProblem("body.text", "write something or add a photo", code="text_or_photo")])


def create_post(posts: PostsStore, shops: ShopsStore, media: MediaStore, products: ProductsStore, user_id: str,
                shop_id: str, *, text: str, photos: list[str], product_ids: list[str], now: float,
                quota: Ticket | None = None) -> Post:
    """Two DynamoDB calls: the shop (ownership, name) and one transaction (post + post_count);
    a third, one BatchGetItem, when the post tags products.

    Each new photo costs one S3 HeadObject (in parallel) to prove it was uploaded.
    """
    _require_content(text, photos)
    shop = owned_shop(shops, user_id, shop_id)
    check_photos(media, user_id, photos)
    tagged = tag_products(products, shop.shop_id, product_ids)
    post = Post(post_id=new_id(), shop_id=shop.shop_id, author_id=user_id, shop_name=shop.name,
                shop_handle=shop.handle, text=text, photos=list(photos), product_ids=list(product_ids),
                hashtags=extract_hashtags(text), like_count=0, comment_count=0, share_count=0, version=1,
                created_at=now, updated_at=now, products=tagged)
    posts.create_post(post, quota)
    return post


def get_post(posts: PostsStore, post_id: str) -> Post:
    post = posts.get_post(post_id)
    if post is None:
        raise NotFound("No such post.")
    return post


def _own_post(posts: PostsStore, user_id: str, post_id: str) -> Post:
    post = get_post(posts, post_id)
    if post.author_id != user_id:
        raise Forbidden("Only the shop's owner can change its posts.")
    return post


def edit_post(posts: PostsStore, media: MediaStore, products: ProductsStore, user_id: str, post_id: str,
              changes: dict, now: float) -> Post:
    """Owner-only; new photos are checked like at creation; hashtags follow the text.

    The tagged products' summaries are read again on every edit of a post that tags any
    (one BatchGetItem): an edit re-copies the post into its feed entries anyway, so this is
    how an owner brings a changed price to the feed. New ``product_ids`` are checked like at
    creation.
    """
    post = _own_post(posts, user_id, post_id)
    if not changes:
        return post
    _require_content(changes.get("text", post.text), changes.get("photos", post.photos))
    if "photos" in changes:
        check_photos(media, user_id, changes["photos"], already=post.photos)
    product_ids = changes.get("product_ids", post.product_ids)
    if product_ids or post.products:
        changes = {**changes, "products": tag_products(products, post.shop_id, product_ids)}
    if "text" in changes:
        changes = {**changes, "hashtags": extract_hashtags(changes["text"])}
    return posts.update_post(post, changes, now)


def delete_post(posts: PostsStore, user_id: str, post_id: str) -> None:
    post = _own_post(posts, user_id, post_id)
    if not posts.delete_post(post):
        raise NotFound("No such post.")


def shop_posts(posts: PostsStore, shops: ShopsStore, shop_id: str, limit: int, start_key: dict | None) -> Page:
    """Newest first, one Query; an empty first page checks that the shop exists (404)."""
    page = posts.shop_posts(shop_id, limit, start_key)
    if not page.items and start_key is None and shops.get_shop(shop_id) is None:
        raise NotFound("No such shop.")
    return page
