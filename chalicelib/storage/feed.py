"""The feed table: pages (one Query), batched fan-out writes, per-shop removal and trimming."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.records import Page
from chalicelib.social_records import FeedEntry, WriteStats
from chalicelib.storage.base import FeedItem
from chalicelib.storage.batch import BATCH_GET_LIMIT, batch_write, chunks
from chalicelib.storage.models.feed import FeedEntryItem
from chalicelib.storage.paging import page_of


def by_shop_key(shop_id: str, post_id: str) -> str:
    return f"{shop_id}#{post_id}"


def to_entry(item: FeedEntryItem) -> FeedEntry:
    return FeedEntry(
        reader_id=item.pk, post_id=item.post_id, shop_id=item.shop_id, shop_name=item.shop_name,
        shop_handle=item.shop_handle, text=item.text or "", photos=list(item.photos or []),
        product_ids=list(item.product_ids or []), hashtags=list(item.hashtags or []),
        like_count=int(item.like_count or 0), comment_count=int(item.comment_count or 0),
        created_at=item.created_at, version=int(item.version or 1),
        expires_at=item.expires_at.timestamp() if item.expires_at else 0.0,
    )


def to_item(entry: FeedEntry) -> FeedEntryItem:
    return FeedEntryItem(
        entry.reader_id, entry.post_id, lsi1sk=by_shop_key(entry.shop_id, entry.post_id),
        expires_at=datetime.fromtimestamp(entry.expires_at, tz=UTC), post_id=entry.post_id,
        shop_id=entry.shop_id, shop_name=entry.shop_name, shop_handle=entry.shop_handle, text=entry.text,
        photos=entry.photos, product_ids=entry.product_ids, hashtags=entry.hashtags,
        like_count=entry.like_count, comment_count=entry.comment_count, created_at=entry.created_at,
        version=entry.version,
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
        results = FeedEntryItem.query(reader_id, scan_index_forward=False, limit=limit,
                                      last_evaluated_key=start_key)
        return page_of(results, limit, to_entry)

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
