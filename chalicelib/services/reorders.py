"""My reorders: when each of a customer's essentials runs out, kept up to date by the order stream.

One item per (customer, product) holds its latest purchases; the latest decides when the
product is due again (the purchase time plus the ``reorder_days`` it was sold with). An order
is a purchase once it is paid (the stream contract: the record where ``paid_at`` first appears,
an INSERT that has it or a MODIFY whose old image lacks it; bought at ``paid_at``): that adds its
essential lines. Cancelling a paid order (a refund) takes them back, so the purchase before
becomes the latest again (or the product leaves the list); an order never paid — waiting,
expired or cancelled unpaid — writes nothing. Replays change nothing: a purchase is known by
its order id, and a cancelled order is remembered so its payment's record, delivered again or
late, is not taken for a purchase. ``GET /me/reorders`` is then one Query of the items due.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Protocol

from chalicelib.errors import Unavailable
from chalicelib.records.common import Page
from chalicelib.records.subscriptions import DAY_SECONDS, Purchase, Reorder, StaleReorder

# Purchases kept per product (a cancellation falls back on the one before), and cancelled
# orders remembered (replays of their placement arrive within the stream's 24 hours; a few
# per product cover every realistic interleaving).
PURCHASES_KEPT = 5
CANCELLED_KEPT = 10
WRITE_ATTEMPTS = 5

CANCELLED = "cancelled"


class ReordersStore(Protocol):
    def get_many(self, user_id: str, product_ids: Sequence[str]) -> dict[str, Reorder]: ...
    def put(self, reorder: Reorder, now: float) -> None: ...  # conditional on its version; StaleReorder
    def due(self, user_id: str, until: float, start_key: dict | None, limit: int) -> Page: ...


@dataclass(frozen=True)
class OrderChange:
    """What one order record means for its buyer's reorders."""

    kind: str  # "paid" | "cancelled"
    user_id: str
    order_id: str
    purchases: tuple[Purchase, ...]  # the order's essential lines


@dataclass(frozen=True)
class DueReorder:
    """One line of ``GET /me/reorders``: reorder it with ``POST /orders/{last_order_id}/reorder``."""

    product_id: str
    shop_id: str
    shop_name: str
    name: str
    reorder_days: int
    last_bought_at: float
    due_at: float
    last_order_id: str
    overdue_days: float


# --- from the stream -----------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return None
    return float(value)


def change_of(event_name: str, new: Mapping[str, Any] | None, old: Mapping[str, Any] | None) -> OrderChange | None:
    """The reorders change an order record means, if any (``None`` for a record that breaks the
    order contract: it can never succeed, so it is skipped rather than retried)."""
    if new is None or event_name not in ("INSERT", "MODIFY"):
        return None
    status, paid_at, was = new.get("status"), _number(new.get("paid_at")), old or {}
    if paid_at is None:
        return None  # not a purchase (yet): placed, expired or cancelled unpaid
    if event_name == "MODIFY" and status == CANCELLED and was.get("status") != CANCELLED:
        kind = CANCELLED
    elif status != CANCELLED and (event_name == "INSERT" or was.get("paid_at") is None):
        kind = "paid"  # the order is a purchase from this record on
    else:
        return None
    order_id, user_id, at = new.get("order_id"), new.get("buyer_id"), paid_at
    if not isinstance(order_id, str) or not isinstance(user_id, str):
        return None
    purchases = []
    for line in new.get("items") or []:
        if not isinstance(line, Mapping) or line.get("kind") != "essential":
            continue
        days, product_id = _number(line.get("reorder_days")), line.get("product_id")
        if days is None or days <= 0 or not isinstance(product_id, str):
            continue
        purchases.append(Purchase(order_id=order_id, at=at, reorder_days=int(days), product_id=product_id,
                                  shop_id=str(new.get("shop_id") or ""), shop_name=str(new.get("shop_name") or ""),
                                  name=str(line.get("name") or "")))
    if not purchases:
        return None
    return OrderChange(kind=kind, user_id=user_id, order_id=order_id, purchases=tuple(purchases))


def with_purchase(reorder: Reorder, purchase: Purchase) -> Reorder:
    """``reorder`` with ``purchase`` added (unchanged when known or cancelled already)."""
    if purchase.order_id in reorder.cancelled or any(p.order_id == purchase.order_id for p in reorder.purchases):
        return reorder
    kept = sorted((*reorder.purchases, purchase), key=lambda p: (p.at, p.order_id))[-PURCHASES_KEPT:]
    return replace(reorder, purchases=tuple(kept))


def without_order(reorder: Reorder, order_id: str) -> Reorder:
    """``reorder`` with the cancelled order's purchase taken back (unchanged when known)."""
    if order_id in reorder.cancelled:
        return reorder
    return replace(reorder, purchases=tuple(p for p in reorder.purchases if p.order_id != order_id),
                   cancelled=(*reorder.cancelled, order_id)[-CANCELLED_KEPT:])


def apply(store: ReordersStore, change: OrderChange, now: float) -> int:
    """Write what ``change`` means for each product; how many items changed.

    One BatchGetItem for the order's products, then one conditional PutItem per product that
    changes; a product whose item moved meanwhile (another order of the same customer on
    another shard) is read and decided again.
    """
    pending = {p.product_id: p for p in change.purchases}
    written = 0
    for attempt in range(WRITE_ATTEMPTS):
        if not pending:
            return written
        if attempt:
            time.sleep(random.uniform(0, 0.02 * 2**attempt))
        current = store.get_many(change.user_id, list(pending))
        for product_id, purchase in list(pending.items()):
            before = current.get(product_id) or Reorder(user_id=change.user_id, product_id=product_id)
            after = with_purchase(before, purchase) if change.kind == "paid" else without_order(before,
                                                                                                 change.order_id)
            if after == before:
                del pending[product_id]
                continue
            try:
                store.put(after, now)
            except StaleReorder:
                continue
            written += 1
            del pending[product_id]
    if pending:
        raise Unavailable("Reorders are being updated concurrently; retry shortly.")
    return written


# --- reading -------------------------------------------------------------------------------------


def due_line(reorder: Reorder, now: float) -> DueReorder | None:
    latest = reorder.latest
    if latest is None:
        return None
    return DueReorder(product_id=reorder.product_id, shop_id=latest.shop_id, shop_name=latest.shop_name,
                      name=latest.name, reorder_days=latest.reorder_days, last_bought_at=latest.at,
                      due_at=latest.due_at, last_order_id=latest.order_id,
                      overdue_days=round((now - latest.due_at) / DAY_SECONDS, 1))


def my_reorders(store: ReordersStore, user_id: str, now: float, start_key: dict | None, limit: int) -> Page:
    """The customer's essentials due by ``now``, soonest due first: one Query."""
    page = store.due(user_id, now, start_key, limit)
    return Page(items=[line for r in page.items if (line := due_line(r, now)) is not None], last_key=page.last_key)
