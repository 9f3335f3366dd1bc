"""The feed table: pages (one Query), ranked-feed windows and look-ups by key, batched fan-out
writes, per-shop removal and trimming."""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from chalicelib.errors import Unavailable
from chalicelib.records.common import Page
from chalicelib.records.social import FeedEntry, TaggedProduct, WriteStats
from chalicelib.storage.base import FeedItem
from chalicelib.storage.batch import BATCH_GET_LIMIT, batch_write, chunks
from chalicelib.storage.models.feed import FeedEntryItem
from chalicelib.storage.posts import tagged_maps


# An entry must fit one write unit (1 KB). DynamoDB counts attribute names and values in
# UTF-8; the excerpt is what gives way when an entry would be larger (long product names,
# many hashtags), shortened until the item fits.
MAX_ENTRY_BYTES = 1024


def _value_bytes(value: dict) -> int:
    """DynamoDB's size of one attribute value in wire format (a safe upper bound for numbers)."""
    (kind, inner), = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        return 1 + (len(inner.lstrip("-").replace(".", "")) + 1) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(1 + _value_bytes(v) for v in inner)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + _value_bytes(v) for k, v in inner.items())
    if kind == "SS":
        return sum(len(v.encode()) for v in inner)
    raise ValueError(f"unsized attribute type {kind}")


def item_bytes(attributes: dict) -> int:
    """The stored size of an item given as DynamoDB attribute values."""
    return sum(len(name.encode()) + _value_bytes(value) for name, value in attributes.items())


def to_item(entry: FeedEntry) -> FeedEntryItem:
    return FeedEntryItem(
        entry.reader_id, entry.post_id, expires_at=datetime.fromtimestamp(entry.expires_at, tz=UTC),
        shop_id=entry.shop_id, shop_name=entry.shop_name, shop_handle=entry.shop_handle, excerpt=entry.excerpt,
        more=entry.more, photo=entry.photo, photo_count=entry.photo_count, products=tagged_maps(entry.products),
        product_count=entry.product_count,
        hashtags=entry.hashtags, like_count=entry.like_count, comment_count=entry.comment_count,
        created_at=entry.created_at, version=entry.version,
    )


# A product name cut to this many characters still says what it is.
SHORT_NAME_CHARS = 20


def _shorter(entry: FeedEntry) -> FeedEntry | None:
    """The entry with one thing given way, least missed first, or None when nothing is left
    to give: the excerpt shrinks (it is only a preview), then hashtags go, then product names
    are shortened, then the last products go (the post has all of them)."""
    if entry.excerpt:
        cut = max(0, len(entry.excerpt) - max(8, len(entry.excerpt) // 4))
        return replace(entry, excerpt=entry.excerpt[:cut].rstrip() + "…" if cut else "", more=True)
    if entry.hashtags:
        return replace(entry, hashtags=entry.hashtags[:-1])
    if any(len(p.name) > SHORT_NAME_CHARS for p in entry.products):
        return replace(entry, products=tuple(replace(p, name=p.name[:SHORT_NAME_CHARS - 1] + "…")
                                             if len(p.name) > SHORT_NAME_CHARS else p for p in entry.products))
    if entry.products:
        return replace(entry, products=entry.products[:-1], product_ids=entry.product_ids[:-1])
    return None


def compact_item(entry: FeedEntry) -> dict:
    """The entry serialized for a write, made to fit ``MAX_ENTRY_BYTES`` (see ``_shorter``)."""
    attributes = to_item(entry).serialize()
    while item_bytes(attributes) > MAX_ENTRY_BYTES:
        smaller = _shorter(entry)
        if smaller is None:
            raise ValueError(f"feed entry {entry.post_id} does not fit {MAX_ENTRY_BYTES} bytes")
        entry = smaller
        attributes = to_item(entry).serialize()
    return attributes


def _strings(raw: dict, name: str) -> list[str]:
    value = raw.get(name)
    return [v["S"] for v in value["L"]] if value else []


def _products(raw: dict) -> tuple[TaggedProduct, ...]:
    value = raw.get("products")
    if not value:
        return ()
    return tuple(TaggedProduct(product_id=m["product_id"]["S"], name=m["name"]["S"], price=int(m["price"]["N"]),
                               currency=m["currency"]["S"]) for m in (v["M"] for v in value["L"]))


def entry_from_raw(raw: dict) -> FeedEntry:
    """A feed entry straight from DynamoDB's wire format.

    The feed page is the hottest read there is; decoding the few attribute types of an
    entry directly costs a fraction of instantiating a model per item, and keeps the page
    within a hair of a bare boto3 Query (see bench/feed.py). ``FeedEntryItem`` still
    defines the stored shape (writes go through it).
    """
    expires = raw.get("expires_at")
    products = _products(raw)
    return FeedEntry(
        reader_id=raw["pk"]["S"], post_id=raw["sk"]["S"], shop_id=raw["shop_id"]["S"],
        shop_name=raw["shop_name"]["S"], shop_handle=raw["shop_handle"]["S"],
        excerpt=raw["excerpt"]["S"] if "excerpt" in raw else "", more=raw.get("more", {}).get("BOOL", False),
        photo=raw["photo"]["S"] if "S" in raw.get("photo", {}) else None,
        photo_count=int(raw["photo_count"]["N"]) if "photo_count" in raw else 0,
        product_ids=[p.product_id for p in products], hashtags=_strings(raw, "hashtags"),
        product_count=int(raw["product_count"]["N"]) if "product_count" in raw else len(products),
        like_count=int(raw["like_count"]["N"]) if "like_count" in raw else 0,
        comment_count=int(raw["comment_count"]["N"]) if "comment_count" in raw else 0,
        created_at=float(raw["created_at"]["N"]), version=int(raw["version"]["N"]) if "version" in raw else 1,
        expires_at=float(expires["N"]) if expires else 0.0, products=products,
    )


def _key(reader_id: str, post_id: str) -> dict:
    return {"pk": {"S": reader_id}, "sk": {"S": post_id}}


class FeedRepository:
    def _connection(self):
        return FeedItem._get_connection().connection

    def _table(self) -> str:
        return FeedItem.Meta.table_name

    def page(self, reader_id: str, limit: int, start_key: dict | None) -> Page:
        """Newest first: exactly one Query, no hydration."""
        request = {"TableName": self._table(), "KeyConditionExpression": "pk = :reader",
                   "ExpressionAttributeValues": {":reader": {"S": reader_id}}, "ScanIndexForward": False,
                   "Limit": limit}
        if start_key:
            request["ExclusiveStartKey"] = start_key
        response = self._connection().dispatch("Query", request)
        items = [entry_from_raw(raw) for raw in response.get("Items", [])]
        return Page(items=items, last_key=response.get("LastEvaluatedKey") if len(items) == limit else None)

    def window(self, reader_id: str, below: str | None, size: int) -> list[FeedEntry]:
        """The reader's newest ``size`` entries strictly below post id ``below`` (all of the
        feed when None), newest first: one Query, eventually consistent.

        The ranked feed ranks such a window once and pages through it; the next window
        starts below the last entry of this one, so no entry is read twice.
        """
        condition = "pk = :reader" + (" AND sk < :below" if below else "")
        values = {":reader": {"S": reader_id}, **({":below": {"S": below}} if below else {})}
        request = {"TableName": self._table(), "KeyConditionExpression": condition,
                   "ExpressionAttributeValues": values, "ScanIndexForward": False, "Limit": size}
        response = self._connection().dispatch("Query", request)
        return [entry_from_raw(raw) for raw in response.get("Items", [])]

    def entries(self, reader_id: str, post_ids: Sequence[str], *, attempts: int = 5,
                base_delay: float = 0.02) -> list[FeedEntry]:
        """The reader's entries for these posts, in no particular order; missing ones are
        left out. One BatchGetItem (eventually consistent) for up to 100 posts.

        Keys DynamoDB leaves unprocessed are asked for again with jittered backoff; when
        some still are after ``attempts`` calls the read answers ``Unavailable`` (503)
        rather than a page with holes in it.
        """
        wanted = list(dict.fromkeys(post_ids))
        found: list[FeedEntry] = []
        for chunk in chunks(wanted, BATCH_GET_LIMIT):
            keys = [_key(reader_id, post_id) for post_id in chunk]
            for attempt in range(attempts):
                if attempt:
                    time.sleep(random.uniform(0, base_delay * 2 ** attempt))
                request = {"RequestItems": {self._table(): {"Keys": keys}}}
                response = self._connection().dispatch("BatchGetItem", request)
                found.extend(entry_from_raw(raw) for raw in response.get("Responses", {}).get(self._table(), []))
                keys = (response.get("UnprocessedKeys") or {}).get(self._table(), {}).get("Keys", [])
                if not keys:
                    break
            else:
                raise Unavailable("The database is busy; retry shortly.", retry_after=1)
        return found

    def put_entries(self, entries: list[FeedEntry]) -> WriteStats:
        requests = [{"PutRequest": {"Item": compact_item(e)}} for e in entries]
        return batch_write(self._connection().dispatch, self._table(), requests)

    def delete_entries(self, keys: list[tuple[str, str]]) -> WriteStats:
        """Delete ``(reader_id, post_id)`` entries (missing ones are fine)."""
        requests = [{"DeleteRequest": {"Key": _key(reader, post)}} for reader, post in keys]
        return batch_write(self._connection().dispatch, self._table(), requests)

    def readers_having(self, post_id: str, reader_ids: list[str]) -> tuple[set[str], int]:
        """Which of ``reader_ids`` have ``post_id`` in their feed (BatchGetItem, keys only), and the calls made."""
        found: set[str] = set()
        calls = 0
        for chunk in chunks(sorted(set(reader_ids)), BATCH_GET_LIMIT):
            keys = [_key(reader, post_id) for reader in chunk]
            while keys:
                response = self._connection().dispatch("BatchGetItem", {"RequestItems": {
                    self._table(): {"Keys": keys, "ProjectionExpression": "pk"}}})
                calls += 1
                found.update(item["pk"]["S"] for item in response.get("Responses", {}).get(self._table(), []))
                keys = (response.get("UnprocessedKeys") or {}).get(self._table(), {}).get("Keys", [])
        return found, calls

    def post_ids_of_shop(self, reader_id: str, shop_id: str) -> list[str]:
        """The reader's entries from one shop: the reader's partition read once (the cap keeps
        it to a few hundred entries of ≤ 1 KB), matched on ``shop_id`` here."""
        request = {"TableName": self._table(), "KeyConditionExpression": "pk = :reader",
                   "ExpressionAttributeValues": {":reader": {"S": reader_id}},
                   "ProjectionExpression": "sk, shop_id"}
        found: list[str] = []
        while True:
            response = self._connection().dispatch("Query", request)
            found.extend(raw["sk"]["S"] for raw in response.get("Items", []) if raw["shop_id"]["S"] == shop_id)
            if not response.get("LastEvaluatedKey"):
                return found
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def trim(self, reader_id: str, keep: int) -> WriteStats:
        """Delete all but the newest ``keep`` entries of the reader's feed."""
        results = FeedEntryItem.query(reader_id, scan_index_forward=False, attributes_to_get=["pk", "sk"],
                                      page_size=max(keep, 100))
        extra = [(reader_id, item.sk) for index, item in enumerate(results) if index >= keep]
        return self.delete_entries(extra) if extra else WriteStats()
