"""Benchmark: the subscription job (정기배송) against placing the same orders through the API.

    /work/main/.venv/bin/python -m bench.subscriptions [--subscriptions 1000] [--subscribers 100]
        [--bucket-items 10000] [--smoke]

One run, one in-memory DynamoDB Local, everything measured together, with
``ReturnConsumedCapacity=TOTAL`` on every request and calls counted on botocore's events:

1. ``--subscriptions`` subscriptions (one line each, over ten products, ``--subscribers``
   customers) are made through ``POST /subscriptions`` and all come due at once;
2. **period 1**: one run of the job (``events.schedules.run_subscription_orders``, no deadline)
   places them — DynamoDB calls and capacity per due subscription, and its time;
3. **the same orders through the API**: the same customers ``POST /orders`` the same items,
   one request after another, in-process (HTTP edge, validation, service, storage);
4. **period 2**: the job's run a day before (the announcements: a fresh read and a conditional
   write each) and on the day (the orders), as every later period costs; then the API's
   orders once more, so each side is timed twice, alternating, on a machine shared with
   other work (the table shows both and compares the sums);
5. **period 3, two runs at once**: two overlapping runs of the job; the orders placed must
   still be exactly one per subscription;
6. **a busy day**: ``--bucket-items`` subscriptions (copies of one made above) due on one
   day, written as the app writes them: how many partition keys of the due-date index they
   use (``storage.buckets``: ``SHARDS`` shards and the legacy key), the job's Query calls to
   read them all, and the time with its parallel readers against one reader at a time.

``--smoke`` runs every step at small sizes (20 subscriptions, 200 in the busy day) in seconds.

Capacity is also computed by DynamoDB's pricing rules (2 WCU per KB of each item of a
transaction) from one transaction of each kind, captured as sent.

DynamoDB Local prices a transaction by its total size, not DynamoDB's 2 WCU per item and KB
(see bench/orders.py); reads are reported as DynamoDB would. Compare ratios, not
milliseconds. The table's date is today's, from the clock.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import configure  # noqa: E402
from bench.orders import captured_transaction, item_size  # noqa: E402

DAY = 86_400.0
PRODUCTS = 10


@contextmanager
def measured() -> Iterator[dict]:
    """Calls per operation and the capacity DynamoDB Local reports, for everything inside."""
    from devtools.callcount import _clients

    box: dict[str, Any] = {"ops": Counter(), "capacity": 0.0, "seconds": 0.0, "in_dynamodb": 0.0}
    sent = threading.local()
    lock = threading.Lock()

    def ask(params, model, **_):
        params["ReturnConsumedCapacity"] = "TOTAL"
        with lock:
            box["ops"][model.name] += 1

    def before(**_):
        sent.at = time.perf_counter()

    def read(parsed, model, **_):
        consumed = parsed.get("ConsumedCapacity")
        with lock:
            # The waits of the job's own thread: the day buckets' parallel readers overlap its work.
            if threading.current_thread() is threading.main_thread():
                box["in_dynamodb"] += time.perf_counter() - getattr(sent, "at", time.perf_counter())
            for entry in consumed if isinstance(consumed, list) else ([consumed] if consumed else []):
                box["capacity"] += float(entry.get("CapacityUnits") or 0)

    clients = _clients()
    for c in clients:
        c.meta.events.register("provide-client-params.dynamodb.*", ask, unique_id="bench-subs-ask")
        c.meta.events.register("before-call.dynamodb.*", before, unique_id="bench-subs-before")
        c.meta.events.register("after-call.dynamodb.*", read, unique_id="bench-subs-read")
    started = time.perf_counter()
    try:
        yield box
    finally:
        box["seconds"] = time.perf_counter() - started
        for c in clients:
            c.meta.events.unregister("provide-client-params.dynamodb.*", unique_id="bench-subs-ask")
            c.meta.events.unregister("before-call.dynamodb.*", unique_id="bench-subs-before")
            c.meta.events.unregister("after-call.dynamodb.*", unique_id="bench-subs-read")


def per(box: dict, n: int) -> str:
    ops = ", ".join(f"{name} {count / n:.3g}" for name, count in sorted(box["ops"].items()))
    return f"{sum(box['ops'].values()) / n:.3g} calls ({ops}); {box['capacity'] / n:.2f} capacity units"


class Http:
    def __init__(self, client: Any) -> None:
        self.client = client

    def __call__(self, method: str, path: str, body: Any = None, token: str | None = None,
                 headers: dict | None = None, expect: int | None = None) -> dict:
        h = {"Content-Type": "application/json", **(headers or {})}
        if token:
            h["Authorization"] = f"Bearer {token}"
        response = self.client.http.request(method, path, headers=h,
                                            body=json.dumps(body, ensure_ascii=False) if body is not None else b"")
        if expect is not None and response.status_code != expect:
            raise RuntimeError(f"{method} {path} -> {response.status_code}: {response.body[:300]!r}")
        return json.loads(response.body) if response.body else {}


def run(n_subs: int, n_subscribers: int, n_bucket: int = 10_000) -> str:
    from devtools.ddblocal import DynamoDBLocal

    ddb = DynamoDBLocal()
    endpoint = ddb.start(in_memory=True)
    try:
        ddb.wait_ready()
        configure(endpoint, tables="bench-subscriptions", stage="test", argon2_memory_kib="8",
                  argon2_time_cost="1", subscription_budget_seconds="600")
        return _measure(endpoint, n_subs, n_subscribers, n_bucket)
    finally:
        ddb.stop()


def _measure(endpoint: str, n_subs: int, n_subscribers: int, n_bucket: int) -> str:
    import boto3
    from chalice.test import Client

    from app import app
    from chalicelib import wiring as deps
    from chalicelib.events.schedules import run_subscription_orders
    from chalicelib.storage.buckets import SHARDS
    from chalicelib.storage.tables import ensure_tables

    deps.reset()
    settings = deps.container().settings
    ensure_tables(boto3.client("dynamodb", region_name=settings.region, endpoint_url=endpoint),
                  settings.table_name, settings.feed_table_name)
    rows: list[tuple[str, str, str, str]] = []
    with Client(app) as client:
        http = Http(client)
        owner = http("POST", "/auth/signup", {"name": "정로스터", "email": "bench-roaster@dongne.kr",
                                               "password": "bench-pass-1"}, expect=201)
        shop = http("POST", "/shops", {"name": "성수 커피로스터스", "handle": "bench_roasters"},
                    token=owner["token"], expect=201)
        http("PATCH", f"/shops/{shop['shop_id']}", {"subscription_discount_percent": 10}, token=owner["token"],
             expect=200)
        products = [http("POST", f"/shops/{shop['shop_id']}/products",
                         {"name": f"원두 200g #{i}", "price": 14000, "stock": 1_000_000, "kind": "essential",
                          "reorder_days": 14}, token=owner["token"], expect=201)["product_id"]
                    for i in range(PRODUCTS)]
        subscribers = [http("POST", "/auth/signup", {"name": f"구독자 {i}", "email": f"bench-sub-{i}@dongne.kr",
                                                      "password": "bench-pass-1"}, expect=201)
                       for i in range(n_subscribers)]
        plan = [(subscribers[i % n_subscribers], products[i % PRODUCTS]) for i in range(n_subs)]
        made = time.perf_counter()
        for who, product in plan:
            http("POST", "/subscriptions", {"shop_id": shop["shop_id"], "items": [{"product_id": product,
                                                                                   "quantity": 1}],
                                            "every_days": 14}, token=who["token"],
                 headers={"Idempotency-Key": str(uuid.uuid4())}, expect=201)
        made = time.perf_counter() - made
        t0 = time.time()

        # 2. period 1: the job places every order.
        with measured() as job:
            report = run_subscription_orders(now=t0)
        assert report.outcomes == {"ordered": n_subs}, report.outcomes

        # 3. the same orders through the API, same customers and items.
        def api_orders() -> dict:
            with measured() as box:
                for who, product in plan:
                    http("POST", "/orders", {"shop_id": shop["shop_id"], "items": [{"product_id": product,
                                                                                    "quantity": 1}]},
                         token=who["token"], headers={"Idempotency-Key": str(uuid.uuid4())}, expect=201)
            return box

        api = api_orders()

        # 4. period 2: announced a day before, placed on the day.
        with measured() as announce:
            announced = run_subscription_orders(now=t0 + 13 * DAY)
        # (the last transaction of each kind is kept, as sent, for DynamoDB's pricing rules)
        with measured() as period2, captured_transaction() as job_tx:
            placed2 = run_subscription_orders(now=t0 + 14 * DAY)
        assert announced.outcomes == {"announced": n_subs} and placed2.outcomes == {"ordered": n_subs}
        with captured_transaction() as api_tx:
            api2 = api_orders()
        product_size = item_size(boto3.client("dynamodb", region_name=settings.region, endpoint_url=endpoint)
                                 .get_item(TableName=settings.table_name,
                                           Key={"pk": {"S": f"PRODUCT#{products[0]}"},
                                                "sk": {"S": "PRODUCT"}})["Item"])

        # 5. period 3 with two runs at once: still one order per subscription.
        results: list = [None, None]
        barrier = threading.Barrier(2)

        def overlapping(i: int) -> None:
            barrier.wait()
            results[i] = run_subscription_orders(now=t0 + 28 * DAY)

        with measured() as both:
            threads = [threading.Thread(target=overlapping, args=(i,)) for i in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        outcomes = Counter()
        for r in results:
            outcomes.update(r.outcomes)
        store = deps.container().subscriptions
        periods = Counter()
        for who in subscribers:
            page = store.mine(who["user"]["user_id"], None, 100)
            for sub in page.items:
                periods[sub.period] += 1
        orders_placed = 0
        for who in subscribers:
            key = None
            while True:
                page = deps.container().orders.list_buyer_orders(who["user"]["user_id"], key, 100)
                orders_placed += sum(1 for o in page.items if o.subscription_id)
                key = page.last_key
                if key is None:
                    break

        # 6. a busy day: n_bucket subscriptions due on one day, read the way the job reads them.
        busy = busy_day(store, subscribers[0]["user"]["user_id"], n_bucket, t0 + 400 * DAY)

    n = n_subs
    job_s, api_s = job["seconds"] + period2["seconds"], api["seconds"] + api2["seconds"]
    job_db, api_db = job["in_dynamodb"] + period2["in_dynamodb"], api["in_dynamodb"] + api2["in_dynamodb"]
    job_rate = 2 * n / job_s
    rows += [
        (f"job: {n:,} due subscriptions placed (period 1; period 2)",
         f"{job['seconds']:.1f} s; {period2['seconds']:.1f} s ({job_rate:.0f}/s)", "1.00×",
         f"{job['ops']['Query']} Queries ({report.pages} with something due) of {report.days} day bucket(s) "
         f"× {SHARDS + 1} keys in period 1, no Scan"),
        (f"the same {n:,} orders through POST /orders (after period 1; after period 2)",
         f"{api['seconds']:.1f} s; {api2['seconds']:.1f} s ({2 * n / api_s:.0f}/s)", f"{api_s / job_s:.2f}×",
         "in-process, one after another; ratio of the sums"),
        ("of which waiting on DynamoDB Local", f"job {job_db:.1f} s ({job_db / job_s:.0%}); "
         f"POST /orders {api_db:.1f} s ({api_db / api_s:.0%})", f"{api_db / job_db:.2f}×",
         f"app time per order: job {(job_s - job_db) / (2 * n) * 1000:.1f} ms, "
         f"POST /orders {(api_s - api_db) / (2 * n) * 1000:.1f} ms"),
        ("job cost per due subscription, period 1", per(job, n), "", "catalogue cached: the transaction alone"),
        ("job cost per due subscription, period 2 (on the day)", per(period2, n), "", ""),
        ("POST /orders cost per order", per(api, n), "", "the same transaction, with a cached catalogue"),
        ("capacity by DynamoDB's pricing rules (period 2)", f"job {wcu(job_tx, product_size)} WCU; POST /orders "
         f"{wcu(api_tx, product_size)} WCU", "",
         f"{sizes(job_tx, product_size, 'job')}; {sizes(api_tx, product_size, 'POST /orders')}"),
        (f"job, period 2, a day before: {n:,} announcements", f"{announce['seconds']:.1f} s", "",
         per(announce, n)),
        ("period 3, two runs at once", f"{both['seconds']:.1f} s; outcomes {dict(outcomes)}", "",
         f"orders placed in all: {orders_placed:,} = 3 × {n:,}: {orders_placed == 3 * n}; "
         f"every subscription at period 4: {periods == Counter({4: n})}"),
        (f"making the {n:,} subscriptions (POST /subscriptions)", f"{made:.1f} s", "", "a fresh read + a transaction"),
        ("a 20 s run settles about", f"{20 * job_rate:,.0f} periods", "", "the rest waits for the next run (10 min)"),
        *busy,
    ]
    lines = [f"bench.subscriptions {datetime.now(UTC).date().isoformat()} — {n:,} subscriptions, "
             f"{n_subscribers} subscribers, {PRODUCTS} products, DynamoDB Local in memory", "",
             "| measure | figures | ratio | notes |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return "\n".join(lines)


def busy_day(store: Any, subscriber_id: str, n: int, at: float) -> list[tuple[str, str, str, str]]:
    """``n`` copies of one of the subscriber's subscriptions, due through one UTC day, written with
    the app's own writer (``storage.subscriptions.subscription_item``: the sharded due-date key),
    then read as the job reads a day bucket (``store.due``), with ``READERS`` readers and with one."""
    from dataclasses import replace

    from chalicelib.ids import new_id
    from chalicelib.storage import buckets
    from chalicelib.storage.base import MainItem
    from chalicelib.storage.subscriptions import subscription_item
    from chalicelib.services.subscriptions import DUE_PAGE

    template = store.mine(subscriber_id, None, 1).items[0]
    start = at - at % DAY + 3600  # 01:00 UTC of the day: every action falls within it
    items = [subscription_item(replace(template, subscription_id=new_id(), next_order_at=start + i % 72_000 + DAY,
                                       announced_period=template.period, charge=None))
             for i in range(n)]
    keys = Counter(item.gsi4pk for item in items)
    (day,) = {key.split("#")[1] for key in keys}
    size = item_size(items[0].serialize())
    with measured() as write:
        with MainItem.batch_write() as batch:
            for item in items:
                batch.save(item)

    def read(readers: int) -> tuple[dict, int]:
        saved = buckets.READERS
        buckets.READERS = readers
        try:
            with measured() as box:
                seen = sum(len(page) for page in store.due(day, start + 2 * DAY, DUE_PAGE))
        finally:
            buckets.READERS = saved
        return box, seen

    parallel, seen = read(buckets.READERS)
    serial, seen_serial = read(1)
    assert seen == seen_serial == n, (seen, seen_serial, n)
    wcu = -(-size // 1024)  # a standard write: 1 WCU per KB (the index entry is the whole item: ALL projection)
    per_key = 1000 // wcu
    return [
        (f"a busy day: {n:,} subscriptions due on {day}", f"{len(keys)} partition keys of gsi4 "
         f"({min(keys.values()):,}–{max(keys.values()):,} each)", "",
         f"`SUBDUE#{day}#0..{buckets.SHARDS - 1}`; the legacy `SUBDUE#{day}` holds none; "
         f"written in {write['seconds']:.1f} s ({sum(write['ops'].values())} BatchWriteItem)"),
        ("write ceiling of that day's index (1,000 WCU a second per partition key)",
         f"{len(keys) * per_key:,} writes/s", f"{len(keys):.0f}×",
         f"one unsharded key: {per_key:,} writes/s of {size:,} B index entries ({wcu} WCU each)"),
        (f"the job reads the day: {n:,} due", f"{sum(parallel['ops'].values())} Query calls, "
         f"{parallel['seconds']:.2f} s with {buckets.READERS} readers", "1.00×",
         f"{buckets.SHARDS + 1} keys (shards + legacy) × ⌈items per key / {DUE_PAGE}⌉ pages; "
         f"{parallel['capacity']:.0f} RCU"),
        ("the same read, one Query at a time", f"{serial['seconds']:.2f} s", f"{serial['seconds'] / parallel['seconds']:.2f}×",
         "DynamoDB Local on a shared machine: compare the ratio"),
    ]


def _sizes(box: dict, product_size: int) -> list[tuple[str, int]]:
    """(what, bytes) per item of the captured transaction: a Put's item; a stock update's stored
    product; a condition check (a store link remembered for the buyer, usually absent) at the
    1 KB minimum."""
    out = []
    for entry in box["items"]:
        (kind, op), = entry.items()
        if kind == "Put":
            out.append((op["Item"]["entity"]["S"], item_size(op["Item"])))
        elif kind == "Update" and op["Key"]["pk"]["S"].startswith("PRODUCT#"):
            out.append(("stock", product_size))
        else:
            out.append((f"{kind} {op['Key']['pk']['S'].split('#')[0].lower()}", 0))
    return out


def wcu(box: dict, product_size: int) -> int:
    return sum(2 * max(1, -(-size // 1024)) for _, size in _sizes(box, product_size))


def sizes(box: dict, product_size: int, who: str) -> str:
    return f"{who}: " + ", ".join(f"{what} {size:,} B" if size else what for what, size in _sizes(box, product_size))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=1000)
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--bucket-items", type=int, default=10_000, help="subscriptions due on the busy day")
    parser.add_argument("--smoke", action="store_true", help="small sizes: every step in seconds")
    args = parser.parse_args()
    if args.smoke:
        args.subscriptions, args.subscribers, args.bucket_items = 20, 4, 200
    import logging

    logging.disable(logging.INFO)  # the app logs every request; the table is the output
    started = time.perf_counter()
    table = run(args.subscriptions, args.subscribers, args.bucket_items)
    print(table)
    print(f"\n(whole run {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
