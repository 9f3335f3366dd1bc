"""The feed table: pages (one Query), batched fan-out writes, per-shop removal and trimming."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.records import Page
from chalicelib.social_records import FeedEntry, TaggedProduct, WriteStats
from chalicelib.storage.base import FeedItem
from chalicelib.storage.batch import BATCH_GET_LIMIT, batch_write, chunks
from chalicelib.storage.models.feed import FeedEntryItem
from chalicelib.storage.posts import tagged_maps


def by_shop_key(shop_id: str, post_id: str) -> str:
    return f"{shop_id}#{post_id}"


def to_item(entry: FeedEntry) -> FeedEntryItem:
    return FeedEntryItem(
        entry.reader_id, entry.post_id, lsi1sk=by_shop_key(entry.shop_id, entry.post_id),
        expires_at=datetime.fromtimestamp(entry.expires_at, tz=UTC), post_id=entry.post_id,
        shop_id=entry.shop_id, shop_name=entry.shop_name, shop_handle=entry.shop_handle, text=entry.text,
        photos=entry.photos, product_ids=entry.product_ids, products=tagged_maps(entry.products),
        hashtags=entry.hashtags,
        like_count=entry.like_count, comment_count=entry.comment_count, created_at=entry.created_at,
        version=entry.version,
    )


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
    return FeedEntry(
        reader_id=raw["pk"]["S"], post_id=raw["post_id"]["S"], shop_id=raw["shop_id"]["S"],
        shop_name=raw["shop_name"]["S"], shop_handle=raw["shop_handle"]["S"],
        text=raw["text"]["S"] if "text" in raw else "", photos=_strings(raw, "photos"),
        product_ids=_strings(raw, "product_ids"), hashtags=_strings(raw, "hashtags"),
        like_count=int(raw["like_count"]["N"]) if "like_count" in raw else 0,
        comment_count=int(raw["comment_count"]["N"]) if "comment_count" in raw else 0,
        created_at=float(raw["created_at"]["N"]), version=int(raw["version"]["N"]) if "version" in raw else 1,
        expires_at=float(expires["N"]) if expires else 0.0, products=_products(raw),
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

    def window(self, reader_id: str, top_post_id: str | None, size: int) -> list[FeedEntry]:
        """The reader's newest ``size`` entries at or below ``top_post_id``: one Query.

        The ranked feed ranks this window; pinning its top keeps posts that arrive while
        someone pages from shifting the pages already served.
        """
        condition = "pk = :reader" + (" AND sk <= :top" if top_post_id else "")
        values = {":reader": {"S": reader_id}, **({":top": {"S": top_post_id}} if top_post_id else {})}
        request = {"TableName": self._table(), "KeyConditionExpression": condition,
                   "ExpressionAttributeValues": values, "ScanIndexForward": False, "Limit": size}
        response = self._connection().dispatch("Query", request)
        return [entry_from_raw(raw) for raw in response.get("Items", [])]

    def put_entries(self, entries: list[FeedEntry]) -> WriteStats:
        requests = [{"PutRequest": {"Item": to_item(e).serialize()}} for e in entries]
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
        """The reader's entries from one shop: a Query of the ``by_shop`` index."""
        results = FeedEntryItem.by_shop.query(reader_id, FeedEntryItem.lsi1sk.startswith(f"{shop_id}#"),
                                              attributes_to_get=["pk", "sk"])
        return [item.sk for item in results]

    def trim(self, reader_id: str, keep: int) -> WriteStats:
        """Delete all but the newest ``keep`` entries of the reader's feed."""
        results = FeedEntryItem.query(reader_id, scan_index_forward=False, attributes_to_get=["pk", "sk"],
                                      page_size=max(keep, 100))
        extra = [(reader_id, item.sk) for index, item in enumerate(results) if index >= keep]
        return self.delete_entries(extra) if extra else WriteStats()
