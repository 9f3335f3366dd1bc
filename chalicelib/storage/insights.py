"""Insights storage: day counters, post figures, the handler's ledgers and the notices' due items.

Access patterns (``storage.models.insights``):

* a range of a shop's days — one Query of ``INSIGHTS#<shop_id>`` (``sk BETWEEN``), 366 days
  in one page;
* a range of a shop's posts and what each brought — one Query of the same partition's ``POST#``
  items (post ids sort by time);
* one (shop, customer) ledger — one strongly consistent GetItem, written back with the counters
  it adds in one transaction conditional on its version;
* what the weekly summary and the posting nudge have due — one Query per day bucket.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from pynamodb.connection import Connection
from ulid import ULID

from chalicelib.records.insights import METRICS, Day, Effect, FollowMark, Ledger, OrderMark, PostFigures
from chalicelib.storage.due import drop_due, due_items
from chalicelib.storage.models.due import due_item
from chalicelib.storage.models.insights import (LEDGER_SK, SHORT, InsightDayItem, InsightLedgerItem,
                                                InsightPostItem, day_sk, insights_pk, ledger_pk, post_sk)
from chalicelib.storage.retry import with_retries
from chalicelib.storage.transactions import Cancelled, Transaction

WEEKLY, NUDGE = "insights_weekly", "posting_nudge"
_ATTRIBUTES = {name: getattr(InsightDayItem, short) for name, short in SHORT.items()}
_RETURN_CAPACITY: str | None = None  # the benchmark sets "TOTAL" to read each write's cost


def _connection() -> Connection:
    return InsightDayItem._get_connection().connection


# --- the ledger as compact JSON ------------------------------------------------------------------


def encode(ledger: Ledger) -> str:
    data: dict[str, Any] = {}
    if ledger.orders:
        data["o"] = {oid: [m.paid_at, int(m.counted), m.position[0], m.position[1], int(m.final)]
                     for oid, m in ledger.orders.items()}
    if ledger.follow is not None:
        f = ledger.follow
        data["f"] = [f.position[0], f.position[1], int(f.following), f.day, int(f.start)]
    if ledger.tiers:
        data["t"] = sorted(ledger.tiers)
    return json.dumps(data, separators=(",", ":"))


def decode(shop_id: str, user_id: str, text: str, version: int | None) -> Ledger:
    data = json.loads(text or "{}")
    orders = {oid: OrderMark(paid_at=float(v[0]), counted=bool(v[1]), position=(int(v[2]), float(v[3])),
                             final=bool(v[4])) for oid, v in (data.get("o") or {}).items()}
    f = data.get("f")
    follow = None if not f else FollowMark(position=(float(f[0]), int(f[1])), following=bool(f[2]), day=str(f[3]),
                                           start=bool(f[4]))
    return Ledger(shop_id=shop_id, user_id=user_id, orders=orders, follow=follow, tiers=set(data.get("t") or []),
                  version=version)


def _day_update(shop_id: str, day: str, counts: Mapping[str, int]) -> tuple[InsightDayItem, list]:
    item = InsightDayItem(insights_pk(shop_id), day_sk(day))
    actions: list = [InsightDayItem.entity.set(InsightDayItem), InsightDayItem.shop_id.set(shop_id),
                     InsightDayItem.day.set(day)]
    actions += [_ATTRIBUTES[name].add(value) for name, value in counts.items() if value]
    return item, actions


def _raw_day(raw: dict[str, Any]) -> Day:
    """A day item as DynamoDB sends it (``{"o": {"N": "3"}, ...}``)."""
    counts = {}
    for name in METRICS:
        value = raw.get(SHORT[name])
        if value is not None and value.get("N") not in (None, "0"):
            counts[name] = int(value["N"])
    return Day(day=raw["sk"]["S"][len("DAY#"):], counts=counts)


def _id_bound(day: str, upper: bool) -> str:
    # 00:00 KST of the day (or of the next), in seconds; a day before 1970 bounds nothing below
    # the first id (and 0001-01-01 has no 9 hours before it to subtract as a datetime).
    start = datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp() - 9 * 3600 + (86400 if upper else 0)
    prefix = str(ULID.from_timestamp(max(start, 0.0)))[:10]
    return prefix + ("0" * 16)


class InsightsRepository:
    # --- the handler ---------------------------------------------------------------------------
    def ledger(self, shop_id: str, user_id: str) -> Ledger:
        """One strongly consistent GetItem (an empty ledger when the pair has none yet)."""
        try:
            item = with_retries(lambda: InsightLedgerItem.get(ledger_pk(shop_id, user_id), LEDGER_SK,
                                                              consistent_read=True))
        except InsightLedgerItem.DoesNotExist:
            return Ledger(shop_id=shop_id, user_id=user_id)
        return decode(shop_id, user_id, item.data, item.version)

    def save(self, effect: Effect, shop_id: str) -> bool:
        """One transaction: the ledger (conditional on its version; the first one on its
        absence), ``ADD`` to each day touched and to each post's figures."""
        ledger = effect.ledger
        item = InsightLedgerItem(ledger_pk(ledger.shop_id, ledger.user_id), LEDGER_SK, shop_id=ledger.shop_id,
                                 user_id=ledger.user_id, data=encode(ledger))
        if ledger.version is not None:
            item.version = ledger.version  # the transaction conditions on it and bumps it
        tx = Transaction(_connection(), return_consumed_capacity=_RETURN_CAPACITY)
        tx.put(item, label="ledger")
        for day, counts in effect.days.items():
            day_item, actions = _day_update(shop_id, day, counts)
            tx.update(day_item, actions, label=f"day:{day}")
        for post_id, (orders, revenue) in effect.posts.items():
            figures = InsightPostItem(insights_pk(shop_id), post_sk(post_id))
            tx.update(figures, [InsightPostItem.entity.set(InsightPostItem), InsightPostItem.shop_id.set(shop_id),
                                InsightPostItem.post_id.set(post_id), InsightPostItem.orders.add(orders),
                                InsightPostItem.revenue.add(revenue)], label=f"post:{post_id}")
        try:
            tx.commit()
        except Cancelled as cancelled:
            if "ledger" in cancelled:
                return False
            raise
        return True

    def post_published(self, shop_id: str, post_id: str, created_at: float) -> bool:
        """The post's figures get ``created_at`` (once: the guard) and its day one more post."""
        day = _kst_day(created_at)
        target = InsightPostItem(insights_pk(shop_id), post_sk(post_id))
        tx = Transaction(_connection(), return_consumed_capacity=_RETURN_CAPACITY)
        tx.update(target, [InsightPostItem.entity.set(InsightPostItem), InsightPostItem.shop_id.set(shop_id),
                           InsightPostItem.post_id.set(post_id), InsightPostItem.created_at.set(created_at),
                           InsightPostItem.live.set(True)],
                  condition=InsightPostItem.created_at.does_not_exist(), label="post")
        day_item, actions = _day_update(shop_id, day, {"posts": 1})
        tx.update(day_item, actions, label="day")
        try:
            tx.commit()
        except Cancelled:
            return False
        return True

    def post_removed(self, shop_id: str, post_id: str) -> bool:
        """A deleted post leaves its day's count (once: ``live`` is cleared on condition)."""
        target = InsightPostItem(insights_pk(shop_id), post_sk(post_id))
        try:
            current = with_retries(lambda: InsightPostItem.get(target.pk, target.sk, consistent_read=True))
        except InsightPostItem.DoesNotExist:
            return False
        if not current.live or current.created_at is None:
            return False
        day_item, actions = _day_update(shop_id, _kst_day(float(current.created_at)), {"posts": -1})
        tx = Transaction(_connection(), return_consumed_capacity=_RETURN_CAPACITY)
        tx.update(target, [InsightPostItem.live.set(False)], condition=InsightPostItem.live == True,  # noqa: E712
                  label="post")
        tx.update(day_item, actions, label="day")
        try:
            tx.commit()
        except Cancelled:
            return False
        return True

    # --- reading -------------------------------------------------------------------------------
    def days(self, shop_id: str, first: str, last: str) -> list[Day]:
        """The shop's days ``first..last`` that have counters: one Query (a year is ~55 KB)."""
        # The raw page, decoded here: building 366 model instances costs as much as the Query.
        def read(start: dict | None) -> dict:
            return InsightDayItem._get_connection().query(
                insights_pk(shop_id), range_key_condition=InsightDayItem.sk.between(day_sk(first), day_sk(last)),
                exclusive_start_key=start)

        days: list[Day] = []
        start: dict | None = None
        while True:
            page = with_retries(lambda: read(start))
            days.extend(_raw_day(raw) for raw in page.get("Items", []))
            start = page.get("LastEvaluatedKey")
            if not start:
                return days

    def post_figures(self, shop_id: str, first: str, last: str) -> list[PostFigures]:
        """Figures of the posts created ``first..last`` (KST days): one Query, paged as needed."""
        low, high = post_sk(_id_bound(first, False)), post_sk(_id_bound(last, True))

        def read() -> list[PostFigures]:
            results = InsightPostItem.query(insights_pk(shop_id), InsightPostItem.sk.between(low, high))
            return [PostFigures(post_id=str(item.post_id or item.sk[len("POST#"):]), orders=int(item.orders or 0),
                                revenue=int(item.revenue or 0), live=bool(item.live),
                                created_at=None if item.created_at is None else float(item.created_at))
                    for item in results]

        return with_retries(read)

    # --- what is due ---------------------------------------------------------------------------
    def schedule(self, kind: str, at: float, subject: str) -> None:
        """One PutItem; the same kind, time and subject is the same item (a replay rewrites it)."""
        item = due_item(kind, at, subject)
        with_retries(lambda: item.save())

    def due(self, kind: str, now: float, look_back_days: int) -> Iterator[tuple[float, str]]:
        """``(at, subject)`` due by ``now``, oldest day first, one Query page at a time."""
        for item in due_items(kind, now, look_back_days):
            yield float(item.at), str(item.order_id)

    def drop_due(self, kind: str, at: float, subject: str) -> None:
        """One DeleteItem (idempotent; a second for an item written before the buckets were sharded)."""
        drop_due(kind, at, subject)


def _kst_day(epoch: float) -> str:
    from chalicelib.services.insights import kst_day

    return kst_day(epoch)
