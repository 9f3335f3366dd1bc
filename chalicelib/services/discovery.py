"""Discovery: shop search, a region's shops, hashtag pages, and what a signed-in reader sees
(``following`` on a shop, ``liked`` on posts and feed items).

The search is behind ``ShopSearch``: today key partitions on DynamoDB
(``storage.discovery``), later an engine fed from the stream (docs/discovery.md). The
indexes are derived from shops and posts by the stream (``shop_changed``, ``post_changed``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Protocol

from chalicelib.errors import FieldProblem, InvalidHashtag, InvalidSearchQuery, NotFound
from chalicelib.records.accounts import Shop
from chalicelib.records.common import Page
from chalicelib.records.discovery import SearchPage
from chalicelib.records.social import Post
from chalicelib.services import regions
from chalicelib.services.limits import MAX_HASHTAG_CHARS

# The longest query (letters and digits); a shop name is at most 60 characters.
MAX_QUERY_CHARS = 40
_TAG = re.compile(r"^\w+$")


class ShopSearch(Protocol):
    """Shops whose name or handle matches ``query`` (prefix, inside a word, 초성), in ``region``
    (``""``: anywhere), by relevance then followers; ``offset`` into that order."""

    def search(self, query: str, region: str, offset: int, limit: int) -> SearchPage: ...


class DiscoveryStore(ShopSearch, Protocol):
    def region_shops(self, region: str, limit: int, start_key: dict | None) -> Page: ...
    def hashtag_posts(self, tag: str, limit: int, start_key: dict | None) -> Page: ...
    def sync_shop(self, old: Shop | None, new: Shop | None) -> tuple[int, int]: ...
    def index_post(self, post: Post, removed: Iterable[str] = ()) -> bool: ...
    def unindex_post(self, post_id: str, tags: Iterable[str]) -> int: ...


class ViewerStore(Protocol):
    def shop_for(self, shop_id: str, user_id: str) -> tuple[Shop | None, bool]: ...
    def post_for(self, post_id: str, user_id: str) -> tuple[Post | None, bool]: ...
    def liked(self, user_id: str, post_ids: Sequence[str]) -> set[str]: ...


# -- reads -----------------------------------------------------------------------------------------

def search_query(q: str) -> str:
    """``q`` checked: at least one letter or digit, at most ``MAX_QUERY_CHARS`` of them."""
    letters = sum(1 for c in unicodedata.normalize("NFC", q) if c.isalnum())
    if letters == 0:
        raise InvalidSearchQuery("Search with at least one letter or digit.",
                                 errors=[FieldProblem("query.q", "Must not be empty.", code="empty")])
    if letters > MAX_QUERY_CHARS:
        raise InvalidSearchQuery(f"Search with at most {MAX_QUERY_CHARS} letters or digits.",
                                 errors=[FieldProblem("query.q", f"At most {MAX_QUERY_CHARS} characters.",
                                                      code="too_long", params={"max_length": MAX_QUERY_CHARS})])
    return q


def search(index: ShopSearch, q: str, region: str, offset: int, limit: int) -> SearchPage:
    query = search_query(q)
    return index.search(query, regions.canonical(region, "query.region"), offset, limit)


def region_shops(store: DiscoveryStore, region: str, limit: int, start_key: dict | None) -> Page:
    name = regions.canonical(region, "path.region")
    if not name:
        raise NotFound("No such region.")
    return store.region_shops(name, limit, start_key)


def hashtag(tag: str) -> str:
    """The tag as posts store it (case-folded, no '#'), or ``InvalidHashtag``."""
    folded = unicodedata.normalize("NFC", tag).removeprefix("#").casefold()
    if not (_TAG.match(folded) and len(folded) <= MAX_HASHTAG_CHARS and not folded.isdigit()):
        raise InvalidHashtag("A hashtag is letters, digits and '_' (at most 50), without '#'.",
                             errors=[FieldProblem("path.tag", "Not a hashtag.", code="pattern")])
    return folded


def hashtag_posts(store: DiscoveryStore, tag: str, limit: int, start_key: dict | None) -> Page:
    return store.hashtag_posts(hashtag(tag), limit, start_key)


def shop_for(store: ViewerStore, shop_id: str, viewer: str | None, read_shop) -> tuple[Shop, bool]:
    """The shop and whether ``viewer`` follows it (False without a viewer): one read either way."""
    if viewer is None:
        shop, following = read_shop(shop_id), False
    else:
        shop, following = store.shop_for(shop_id, viewer)
    if shop is None:
        raise NotFound("No such shop.")
    return shop, following


def post_for(store: ViewerStore, post_id: str, viewer: str | None, read_post) -> tuple[Post, bool]:
    """The post and whether ``viewer`` likes it (False without a viewer): one read either way."""
    if viewer is None:
        post, liked = read_post(post_id), False
    else:
        post, liked = store.post_for(post_id, viewer)
    if post is None:
        raise NotFound("No such post.")
    return post, liked


def liked(store: ViewerStore, viewer: str, post_ids: Sequence[str]) -> set[str]:
    """Which of a page's posts ``viewer`` likes: one BatchGetItem, none for an empty page."""
    return store.liked(viewer, post_ids) if post_ids else set()


# -- the stream --------------------------------------------------------------------------------------

def shop_changed(store: DiscoveryStore, old: Shop | None, new: Shop | None) -> tuple[int, int]:
    """Keep the shop's search keys and region entries as its newest image says."""
    return store.sync_shop(old, new)


def post_changed(store: DiscoveryStore, old: Post | None, new: Post | None) -> str:
    """Keep a post under exactly its hashtags: written while it exists, gone when it is."""
    if new is None:
        if old is None:
            return "nothing"
        store.unindex_post(old.post_id, old.hashtags)
        return "removed"
    before = set(old.hashtags) if old is not None else set()
    if old is not None and list(old.hashtags) == list(new.hashtags):
        return "unchanged"  # a like, a comment, an edit that kept the tags
    if not store.index_post(new, removed=before - set(new.hashtags)):
        # Deleted meanwhile (a late or replayed record): leave nothing of it on any page.
        store.unindex_post(new.post_id, before | set(new.hashtags))
        return "gone"
    return "indexed"
