"""Reorder items: each customer's essentials and when they are due (written by the order stream).

Reads and writes: one BatchGetItem for an order's products, one PutItem per product that
changes (conditional on the version read), and ``GET /me/reorders`` as one Query on gsi1.
"""

from __future__ import annotations

from collections.abc import Sequence

from pynamodb.exceptions import PutError

from chalicelib.ids import iso
from chalicelib.records.common import Page
from chalicelib.records.subscriptions import Purchase, Reorder, StaleReorder
from chalicelib.storage.models.subscriptions import ReorderItem, reorder_pk, reorder_sk, reorders_due_pk
from chalicelib.storage.paging import page_of
from chalicelib.storage.retry import with_retries

CONDITION_FAILED = "ConditionalCheckFailedException"


def to_reorder(item: ReorderItem) -> Reorder:
    return Reorder(
        user_id=item.user_id, product_id=item.product_id,
        purchases=tuple(Purchase(order_id=p["order_id"], product_id=item.product_id, at=float(p["at"]),
                                 reorder_days=int(p["reorder_days"]), shop_id=p["shop_id"],
                                 shop_name=p.get("shop_name") or "", name=p.get("name") or "")
                        for p in item.purchases or ()),
        cancelled=tuple(item.cancelled or ()), version=item.version)


def reorder_item(reorder: Reorder, now: float) -> ReorderItem:
    latest = reorder.latest
    item = ReorderItem(
        reorder_pk(reorder.user_id), reorder_sk(reorder.product_id),
        user_id=reorder.user_id, product_id=reorder.product_id,
        purchases=[{"order_id": p.order_id, "at": p.at, "reorder_days": p.reorder_days, "shop_id": p.shop_id,
                    "shop_name": p.shop_name, "name": p.name} for p in reorder.purchases],
        cancelled=list(reorder.cancelled), due_at=latest.due_at if latest else None, updated_at=now)
    if reorder.version is not None:
        item.version = reorder.version  # the write is conditional on it (absent: a new item)
    if latest is not None:  # no purchase left: out of the "due" index
        item.gsi1pk, item.gsi1sk = reorders_due_pk(reorder.user_id), f"{iso(latest.due_at)}#{reorder.product_id}"
    return item


class ReordersRepository:
    def get_many(self, user_id: str, product_ids: Sequence[str]) -> dict[str, Reorder]:
        """One BatchGetItem (strongly consistent: the write that follows is conditional on it)."""
        keys = [(reorder_pk(user_id), reorder_sk(pid)) for pid in dict.fromkeys(product_ids)]
        if not keys:
            return {}
        found = with_retries(lambda: list(ReorderItem.batch_get(keys, consistent_read=True)))
        return {item.product_id: to_reorder(item) for item in found if isinstance(item, ReorderItem)}

    def put(self, reorder: Reorder, now: float) -> None:
        item = reorder_item(reorder, now)
        try:
            with_retries(item.save)  # VersionAttribute: conditional on the version read
        except PutError as error:
            if error.cause_response_code == CONDITION_FAILED:
                raise StaleReorder(reorder.product_id) from error
            raise

    def due(self, user_id: str, until: float, start_key: dict | None, limit: int) -> Page:
        """The customer's reorder items due by ``until``, soonest first (one Query on gsi1)."""
        def read() -> Page:
            results = ReorderItem.gsi1.query(reorders_due_pk(user_id), ReorderItem.gsi1sk <= f"{iso(until)}~",
                                             limit=limit, last_evaluated_key=start_key)
            return page_of(results, limit, to_reorder)

        return with_retries(read)
