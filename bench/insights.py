"""Benchmark: insights — a year of a shop's days read through the route, and what each event costs.

    /work/main/.venv/bin/python -m bench.insights [--rounds 30]

One run, one in-memory DynamoDB Local, everything measured together, with
``ReturnConsumedCapacity=TOTAL`` on every request and calls counted on botocore's events:

1. **the read**: a shop with activity on each of the 366 days before today (every counter set,
   so each day item is as large as it gets) answers ``GET /shops/{id}/insights`` for those 366 days
   by day, by week and by month, through the in-process HTTP edge; DynamoDB calls and read
   capacity per request, against a bare Query of the same 366 items made with boto3 directly
   (the fastest a competent engineer would read them), timed alternately ``--rounds`` times;
2. **the writes**: each kind of stream record the insights handler takes, applied to real
   tables (``services.insights.on_*`` with the images the app writes): calls and capacity per
   event, and the write units by DynamoDB's pricing rules (2 WCU per KB of each item of a
   transaction) from the transaction as sent;
3. **a replay** of each record: its calls (a post's replay is one transaction cancelled on its
   condition; the others one read), and whether the counters stayed as they were.

DynamoDB Local prices a transaction by its total size, not by DynamoDB's rules, so both are
shown. Compare ratios, not milliseconds: the machine is shared. The date is today's, from the clock.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import configure  # noqa: E402
from bench.orders import captured_transaction, item_size  # noqa: E402
from bench.subscriptions import Http, measured  # noqa: E402

DAY = 86_400.0


def run(rounds: int) -> str:
    from devtools.ddblocal import DynamoDBLocal

    ddb = DynamoDBLocal()
    endpoint = ddb.start(in_memory=True)
    try:
        ddb.wait_ready()
        configure(endpoint, tables="bench-insights", stage="test", argon2_memory_kib="8", argon2_time_cost="1")
        return _measure(endpoint, rounds)
    finally:
        ddb.stop()


def _year(shop_id: str, today: str) -> None:
    """366 days of activity, every counter non-zero (the largest day items there are)."""
    from chalicelib.records.insights import METRICS
    from chalicelib.storage.models.insights import SHORT, InsightDayItem, day_sk, insights_pk

    first = date.fromisoformat(today) - timedelta(days=365)
    with InsightDayItem.batch_write() as batch:
        for n in range(366):
            day = (first + timedelta(days=n)).isoformat()
            values = {SHORT[m]: (n % 17 + 1) * (4500 if m in ("revenue", "reward_cost") else 1) * 11 for m in METRICS}
            batch.save(InsightDayItem(insights_pk(shop_id), day_sk(day), shop_id=shop_id, day=day, **values))


def _timed(fn, rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


def _pricing_wcu(box: dict, sizes_after: dict[str, int]) -> tuple[int, str]:
    """Write units by DynamoDB's rules for the captured transaction: 2 per KB of each item (its
    size after the write: a Put's item, an update's stored item read back)."""
    total, parts = 0, []
    for entry in box.get("items") or []:
        (kind, op), = entry.items()
        key = op.get("Item", op.get("Key"))
        label = key["sk"]["S"].split("#")[0].lower()
        size = item_size(op["Item"]) if kind == "Put" else sizes_after.get(key["pk"]["S"] + "|" + key["sk"]["S"], 0)
        units = 2 * max(1, -(-size // 1024))
        total += units
        parts.append(f"{label} {size} B → {units}")
    return total, ", ".join(parts)


def _measure(endpoint: str, rounds: int) -> str:
    import boto3
    from chalice.test import Client

    from app import app
    from chalicelib import clock
    from chalicelib import wiring as deps
    from chalicelib.ids import id_at
    from chalicelib.services import insights
    from chalicelib.storage.models.insights import day_sk, insights_pk
    from chalicelib.storage.tables import ensure_tables

    deps.reset()
    settings = deps.container().settings
    client = boto3.client("dynamodb", region_name=settings.region, endpoint_url=endpoint)
    ensure_tables(client, settings.table_name, settings.feed_table_name)
    today = insights.kst_day(clock.now())
    first = (date.fromisoformat(today) - timedelta(days=365)).isoformat()
    rows: list[tuple[str, str, str, str]] = []
    with Client(app) as chalice_client:
        http = Http(chalice_client)
        owner = http("POST", "/auth/signup", {"name": "박사장", "email": "bench-insights@dongne.kr",
                                               "password": "bench-pass-1"}, expect=201)
        shop = http("POST", "/shops", {"name": "망원동 두부가게", "handle": "bench_insights"}, token=owner["token"],
                    expect=201)
        shop_id = shop["shop_id"]
        _year(shop_id, today)

        # 1. the read, by day, week and month, against a bare Query of the same items.
        path = f"/shops/{shop_id}/insights?from={first}&to={today}"
        reads = {}
        for granularity in ("day", "week", "month"):
            with measured() as box:
                body = http("GET", f"{path}&granularity={granularity}", token=owner["token"], expect=200)
            reads[granularity] = (box, len(body["series"]))

        def bare() -> list:
            return client.query(TableName=settings.table_name, KeyConditionExpression="pk = :pk AND sk BETWEEN :a AND :b",
                                ExpressionAttributeValues={":pk": {"S": insights_pk(shop_id)},
                                                           ":a": {"S": day_sk(first)}, ":b": {"S": day_sk(today)}},
                                ReturnConsumedCapacity="TOTAL")["Items"]

        items = bare()
        year_bytes = sum(item_size(i) for i in items)
        route_s, bare_s = [], []
        for _ in range(rounds):  # alternating, so both see the same machine
            route_s += _timed(lambda: http("GET", f"{path}&granularity=week", token=owner["token"], expect=200), 1)
            bare_s += _timed(bare, 1)
        route_ms, bare_ms = statistics.median(route_s) * 1000, statistics.median(bare_s) * 1000
        by_rule = 0.5 * -(-year_bytes // 4096)  # eventually consistent: 0.5 RCU per 4 KB of the page
        for granularity, (box, points) in reads.items():
            ops = ", ".join(f"{k} {v}" for k, v in sorted(box["ops"].items()))
            rows.append((f"GET …/insights, 366 days by {granularity} ({points} points)",
                         f"{sum(box['ops'].values())} calls ({ops}); {box['capacity']:.1f} RCU reported",
                         "", "the token check (GetItem, 1 RCU) and one Query"))
        rows.append(("the Query's page by DynamoDB's rules", f"{len(items)} items, {year_bytes:,} B → {by_rule:.1f} RCU",
                     "", "eventually consistent, 0.5 RCU per 4 KB; one page (< 1 MB)"))
        rows.append(("time: the route (by week) against a bare boto3 Query of the same items",
                     f"{route_ms:.1f} ms vs {bare_ms:.1f} ms (medians of {rounds}, alternating)",
                     f"{route_ms / bare_ms:.2f}×", "route = token check + Query + series + validation + JSON"))

        # 2. the writes: each record kind, applied to the real tables, then replayed.
        store = deps.container().insights
        t = clock.now() - 3 * DAY
        buyer = f"U{uuid.uuid4().hex[:8]}"
        post_id = id_at(t)

        def order(n: int, status: str, h: int, **extra) -> dict:
            return {"order_id": f"O{n}", "shop_id": shop_id, "buyer_id": buyer, "status": status, "total": 13500,
                    "paid_at": t + n * 3600, "updated_at": t + n * 3600 + h, "history": [{}] * h, **extra}

        events = [
            ("post published", lambda: insights.on_post(store, "INSERT", {"shop_id": shop_id, "post_id": post_id,
                                                                           "created_at": t}, None)),
            ("follow", lambda: insights.on_follow(store, "INSERT", {"shop_id": shop_id, "user_id": buyer,
                                                                     "created_at": t}, None, t)),
            ("order paid (first: a new customer, via a post)",
             lambda: insights.on_order(store, "MODIFY", order(1, "paid", 2, via_post_id=post_id), {"paid_at": None})),
            ("order paid (a repeat customer, store link)",
             lambda: insights.on_order(store, "MODIFY", order(30, "paid", 2, via_store_link="L", referral_reward=500),
                                       {"paid_at": None})),
            ("order shipped (nothing to count)",
             lambda: insights.on_order(store, "MODIFY", order(30, "shipped", 3), order(30, "paid", 2))),
            ("order cancelled after payment (refund)",
             lambda: insights.on_order(store, "MODIFY", order(1, "cancelled", 3, via_post_id=post_id),
                                       order(1, "paid", 2))),
            ("tier change to regular", lambda: insights.on_tier(store, "INSERT", {
                "shop_id": shop_id, "user_id": buyer, "sk": f"TRANSITION#{buyer}#{t}#regular", "to_tier": "regular",
                "at": t + 7200})),
            ("unfollow", lambda: insights.on_follow(store, "REMOVE", None, {"shop_id": shop_id, "user_id": buyer,
                                                                             "created_at": t}, t + 40 * 3600)),
        ]
        for label, apply in events:
            with measured() as box, captured_transaction() as tx:
                apply()
            sizes = _stored_sizes(client, settings.table_name, tx)
            wcu, parts = _pricing_wcu(tx, sizes) if tx else (0, "no write")
            ops = ", ".join(f"{k} {v}" for k, v in sorted(box["ops"].items())) or "none"
            before = _state(store, shop_id, first, today)
            with measured() as again:
                apply()
            unchanged = _state(store, shop_id, first, today) == before
            again_ops = ", ".join(f"{k} {v}" for k, v in sorted(again["ops"].items())) or "none"
            rows.append((f"event: {label}", f"{sum(box['ops'].values())} calls ({ops}); {box['capacity']:.1f} "
                         f"units reported", f"{wcu} WCU" if wcu else "0 WCU",
                         f"{parts}; replayed: {again_ops}, counters unchanged: {unchanged}"))
    lines = [f"bench.insights {today} (KST) — one shop, 366 days of activity, DynamoDB Local in memory", "",
             "| measure | figures | ratio / WCU by DynamoDB's rules | notes |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return "\n".join(lines)


def _state(store, shop_id: str, first: str, last: str) -> tuple:
    """Everything the insights of a shop hold: its days and its posts' figures."""
    return (tuple((d.day, tuple(sorted(d.counts.items()))) for d in store.days(shop_id, first, last)),
            tuple(sorted((f.post_id, f.orders, f.revenue, f.live) for f in store.post_figures(shop_id, first, last))))


def _stored_sizes(client, table: str, tx: dict) -> dict[str, int]:
    """The size after the write of each item a captured transaction updated, read back."""
    out = {}
    for entry in tx.get("items") or []:
        (kind, op), = entry.items()
        if kind != "Update":
            continue
        key = op["Key"]
        found = client.get_item(TableName=table, Key=key).get("Item")
        out[key["pk"]["S"] + "|" + key["sk"]["S"]] = item_size(found) if found else 0
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    import logging

    logging.disable(logging.INFO)  # the app logs every request; the table is the output
    started = time.perf_counter()
    print(run(args.rounds))
    print(f"\n(run took {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
