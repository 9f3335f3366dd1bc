"""Broadcast benchmark: one advertising broadcast to 100,000 lapsed customers, through the real handlers.

    /work/main/.venv/bin/python -m bench.broadcast [--customers 100000] [--consenting 0.8]

Starts its own in-memory DynamoDB Local. Bulk-loads a shop with ``--customers`` lapsed
customers (BatchWriteItem, not measured), ``--consenting`` of them consenting to the shop's
advertising, then starts a **worker process** that plays Lambda's part: it reads the main table's
stream from that moment on (``StreamPoller``, LATEST) and calls the deployed stream function
``chalicelib.events.stream.stream`` once per batch that holds broadcast chunks — the records the
broadcast's own work rides on. (The stream's other records — each delivered message becoming a
``message`` notification — are the notification pipeline's work, measured by
``bench.notifications``.) Then it sends ``POST /shops/{id}/broadcasts`` through the API
(``{audience: {tier: lapsed}, advertising: true}``). The app's clock, in both processes, is today's
date at 10:00 KST (daytime: nobody is held for the morning), moving with the wall clock.

The worker reports ``invocations`` (stream function calls that ran chunks), the longest one
(``max_invocation_s``), its peak resident memory (``peak_rss_mb``) and the calls by operation.
The benchmark then reads the broadcast's progress (``GET``), counts every customer's messages
from the shop (``duplicates``: customers with more than one; ``missed``: consenting customers
with none), and prints a table and one line::

    broadcast recipients=100000 delivered=D skipped_no_consent=S invocations=N max_invocation_s=X peak_rss_mb=Y duplicates=0
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import REGION, configure  # noqa: E402

QUIET_SECONDS = 4.0
DAY = 86400.0
TEXT = "요즘 통 안 보이셔서요. 이번 주 손두부 새로 들어왔어요. 들르시면 콩물 한 병 드릴게요!"


def ten_am_kst_offset() -> float:
    """Seconds to add to the wall clock for it to read 10:00 KST today (today from the clock)."""
    from chalicelib.services.broadcasts import KST

    now = time.time()
    day = datetime.fromtimestamp(now, KST).date()
    return datetime(day.year, day.month, day.day, 10, tzinfo=KST).timestamp() - now


def use_daytime_clock(offset: float) -> None:
    from chalicelib import clock

    clock.set_source(lambda: time.time() + offset)


# -- the worker: Lambda's part ----------------------------------------------------------------


def worker(table: str, endpoint: str, offset: float) -> int:
    import logging

    import boto3

    from chalicelib import wiring
    from chalicelib.events.stream import stream
    from devtools.stream_poller import StreamPoller

    use_daytime_clock(offset)
    logging.getLogger("dongne").setLevel(logging.WARNING)
    logging.getLogger("devtools.stream_poller").setLevel(logging.WARNING)
    wiring.container().broadcasts  # bind the models: the clients below are the app's own
    from chalicelib.storage.base import MainItem

    operations: Counter = Counter()

    def count(http_response, parsed, model, **_):
        operations[model.name] += 1

    MainItem._get_connection().connection.client.meta.events.register("after-call.dynamodb.*", count)
    durations: list[float] = []

    def chunks_only(event, context):
        records = [r for r in event.get("Records", [])
                   if r.get("eventName") == "INSERT"
                   and ((r.get("dynamodb") or {}).get("NewImage") or {}).get("entity", {}).get("S") == "broadcast_chunk"]
        if not records:
            return {"batchItemFailures": []}
        started = time.perf_counter()
        try:
            return stream({"Records": records}, context)
        finally:
            durations.append(time.perf_counter() - started)

    client = boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint)
    streams = boto3.client("dynamodbstreams", region_name=REGION, endpoint_url=endpoint)
    poller = StreamPoller(client, streams, table, chunks_only, batch_size=100, start_at="LATEST")
    poller.drain()
    print("ready", flush=True)
    last_work = None
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < QUIET_SECONDS:
        before = len(durations)
        poller.drain()
        if len(durations) > before:
            last_work = time.time()
            quiet_since = time.monotonic()
        else:
            time.sleep(0.05)
    print(json.dumps({
        "invocations": len(durations), "max_invocation_s": max(durations, default=0.0),
        "total_handler_s": sum(durations), "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "operations": dict(operations), "last_work_at": last_work,
    }), flush=True)
    return 0


# -- the driver -----------------------------------------------------------------------------------


def load_customers(shop, count: int, consenting: float, now: float) -> tuple[list[str], set[str]]:
    """``count`` lapsed regulars of ``shop`` (BatchWriteItem) and the consents of a share of them."""
    from chalicelib.ids import id_at
    from chalicelib.records.relationships import Pair, RelationshipState, Tier
    from chalicelib.services import relationships as rel
    from chalicelib.storage.models.accounts import user_pk
    from chalicelib.storage.models.consents import ShopPrefItem, consenting_pk, pref_sk
    from chalicelib.wiring import container

    rng = random.Random(20261207)
    users, consent = [], set()
    step = 5000
    for start in range(0, count, step):
        pairs = []
        for n in range(start, min(count, start + step)):
            last = now - (70 + rng.random() * 200) * DAY
            state = RelationshipState(parts={"orders": 2.0 + rng.random()}, updated_at=last, order_count=2 + n % 5,
                                      total_spent=20000 + n % 7 * 3000, first_order_at=last - 30 * DAY,
                                      order_times=(last - 30 * DAY, last), became_regular_at=last, tier=Tier.REGULAR)
            user_id = id_at(now - count + n)
            pair = Pair(shop_id=shop.shop_id, user_id=user_id, customer_name=f"손님{n:06d}", shop_name=shop.name,
                        shop_handle=shop.handle, state=state, tier=Tier.REGULAR, created_at=last - 30 * DAY)
            pairs.append(rel.settle(pair, now)[0])
            users.append(user_id)
        assert {p.tier for p in pairs} == {Tier.LAPSED}
        container().relationships.load([(p, rel.list_rank(p)) for p in pairs], now)
    with ShopPrefItem.batch_write() as batch:
        for user_id in users:
            if rng.random() < consenting:
                consent.add(user_id)
                batch.save(ShopPrefItem(user_pk(user_id), pref_sk(shop.shop_id), user_id=user_id, shop_id=shop.shop_id,
                                        marketing=True, marketing_at_night=False, consented_at=now - DAY,
                                        updated_at=now - DAY, gsi2pk=consenting_pk(shop.shop_id), gsi2sk=user_id))
    return users, consent


def messages_per_customer(shop_id: str, users: list[str]) -> Counter:
    """Each customer's messages in their conversation with the shop (one Query each)."""
    from chalicelib.services.conversations import conversation_id
    from chalicelib.storage.models.conversations import MESSAGE_PREFIX, MessageItem, conversation_pk

    counts: Counter = Counter()
    for user_id in users:
        cid = conversation_pk(conversation_id(shop_id, user_id))
        counts[user_id] = MessageItem.count(cid, MessageItem.sk.startswith(MESSAGE_PREFIX))
    return counts


def run(endpoint: str, customers: int, consenting: float) -> dict:
    from chalice.test import Client

    from app import app
    from chalicelib import wiring
    from chalicelib.records.accounts import Shop
    from chalicelib.services.broadcasts import KST

    offset = ten_am_kst_offset()
    use_daytime_clock(offset)
    from chalicelib import clock

    d = wiring.container()
    now = clock.now()
    with Client(app, stage_name="test") as client:
        def call(method, path, body=None, token=None):
            headers = {"Content-Type": "application/json"}
            if token:
                headers["Authorization"] = f"Bearer {token}"
            answer = getattr(client.http, method)(path, headers=headers,
                                                  body=json.dumps(body) if body is not None else None)
            return answer.status_code, json.loads(answer.body or b"null")

        status, signup = call("post", "/auth/signup", {"email": "tofu@bench.kr", "password": "bench password 1",
                                                       "name": "박두부"})
        assert status == 201, signup
        token = signup["token"]
        status, opened = call("post", "/shops", {"name": "망원동 두부가게", "handle": "bench_tofu"}, token)
        assert status == 201, opened
        shop: Shop = d.shops.get_shop(opened["shop_id"])
        seed_started = time.monotonic()
        users, consent = load_customers(shop, customers, consenting, now)
        seeded_s = time.monotonic() - seed_started

        proc = subprocess.Popen([sys.executable, "-m", "bench.broadcast", "--worker", "--endpoint", endpoint,
                                 "--offset", repr(offset)], cwd=ROOT, env={**os.environ}, stdout=subprocess.PIPE,
                                text=True)
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError("the worker did not start")
        sent_at = time.time()
        status, accepted = call("post", f"/shops/{shop.shop_id}/broadcasts",
                                {"audience": {"tier": "lapsed"}, "text": TEXT, "advertising": True}, token)
        assert status == 202, accepted
        report = json.loads(proc.stdout.readline())
        proc.wait(timeout=60)
        status, progress = call("get", f"/shops/{shop.shop_id}/broadcasts/{accepted['broadcast_id']}", token=token)
        assert status == 200, progress
    counts = messages_per_customer(shop.shop_id, users)
    report.update(customers=customers, consenting=len(consent), progress=progress, seeded_s=seeded_s,
                  to_last_recipient_s=(report["last_work_at"] or sent_at) - sent_at,
                  duplicates=sum(1 for n in counts.values() if n > 1),
                  missed=sum(1 for u in consent if counts[u] == 0),
                  sent_to_refusers=sum(1 for u in users if u not in consent and counts[u] > 0),
                  chunk_size=d.settings.broadcast_chunk_size, sent_kst=datetime.fromtimestamp(now, KST).isoformat())
    return report


def print_table(r: dict, elapsed: float) -> None:
    p = r["progress"]
    today = datetime.now().date().isoformat()
    ops = r["operations"]
    print(f"\n### One advertising broadcast to {r['customers']:,} lapsed customers, {today}\n")
    print(f"Through `POST /shops/{{id}}/broadcasts` and the deployed stream function on DynamoDB Local (in memory), "
          f"one worker process playing Lambda; sent at {r['sent_kst']} (the app's clock at 10:00 KST today). "
          f"A chunk is {r['chunk_size']} customers; the invocation budget is `stream_budget_seconds`.\n")
    print("| recipients | consenting | delivered | skipped (no consent) | duplicates | missed | invocations | "
          "max invocation (s) | peak RSS (MB) | calls (TransactWriteItems / Query / BatchGetItem / GetItem / "
          "PutItem / UpdateItem) | to last recipient (s) |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |")
    print(f"| {p['recipients']:,} | {r['consenting']:,} | {p['delivered']:,} | {p['skipped_no_consent']:,} | "
          f"{r['duplicates']} | {r['missed']} | {r['invocations']} | {r['max_invocation_s']:.2f} | "
          f"{r['peak_rss_mb']:.0f} | {ops.get('TransactWriteItems', 0):,} / {ops.get('Query', 0):,} / "
          f"{ops.get('BatchGetItem', 0):,} / {ops.get('GetItem', 0):,} / {ops.get('PutItem', 0):,} / "
          f"{ops.get('UpdateItem', 0):,} | {r['to_last_recipient_s']:.0f} |")
    print(f"\n(Seeding {r['seeded_s']:.0f} s; {elapsed:.0f} s in all. Messages sent to customers without consent: "
          f"{r['sent_to_refusers']}.)")
    print(f"\nbroadcast recipients={p['recipients']} delivered={p['delivered']} "
          f"skipped_no_consent={p['skipped_no_consent']} invocations={r['invocations']} "
          f"max_invocation_s={r['max_invocation_s']:.2f} peak_rss_mb={r['peak_rss_mb']:.0f} "
          f"duplicates={r['duplicates']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--consenting", type=float, default=0.8)
    parser.add_argument("--max-invocation-s", type=float, default=5.0,
                        help="fail above this (0: report only — a smoke run on a busy machine)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    parser.add_argument("--offset", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        from chalicelib import wiring

        return worker(wiring.container().settings.table_name, args.endpoint, args.offset)

    import boto3

    from devtools.ddblocal import DynamoDBLocal

    started = time.monotonic()
    with DynamoDBLocal() as ddb:
        configure(ddb.endpoint, tables="dongne-broadcast", argon2_memory_kib="8")
        from chalicelib import wiring
        from chalicelib.storage.tables import ensure_tables

        wiring.reset()
        settings = wiring.container().settings
        ensure_tables(boto3.client("dynamodb", region_name=REGION, endpoint_url=ddb.endpoint),
                      settings.table_name, settings.feed_table_name)
        report = run(ddb.endpoint, args.customers, args.consenting)
    print_table(report, time.monotonic() - started)
    p = report["progress"]
    ok = (p["recipients"] == args.customers and p["delivered"] == report["consenting"] and report["duplicates"] == 0
          and report["missed"] == 0 and report["sent_to_refusers"] == 0
          and (not args.max_invocation_s or report["max_invocation_s"] <= args.max_invocation_s)
          and report["peak_rss_mb"] <= 256 and p["status"] == "done")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
