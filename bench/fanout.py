"""Fan-out benchmark: one post of a shop with 1,000 / 10,000 / 50,000 followers, through the real handlers.

    python -m bench.fanout [--followers 1000 10000 50000] [--model 1000000] [--text-chars 2000]
    python -m bench.fanout --followers 3000 --model 3000      # a smoke run: seconds

Starts its own in-memory DynamoDB Local. For each follower count it bulk-loads a shop with
that many follow edges (BatchWriteItem, not measured), starts a **worker process** that plays
Lambda's part — it reads the main table's stream from that moment on (``StreamPoller``,
starting at LATEST) and calls the deployed stream function ``chalicelib.events.stream.stream``
once per batch, chunk work items included — then creates one post of ``--text-chars``
Korean characters through the posts repository, exactly as ``POST /shops/{id}/posts`` does.
The worker stops when the stream has been quiet for a while and reports, measured:

* ``invocations``: stream function invocations (batches) it took to reach every follower;
* ``max_invocation_s``: the longest single invocation (wall clock);
* ``peak_rss_mb``: the worker process's peak resident memory (``ru_maxrss``): the Python
  runtime, the app and every batch it handled, as a Lambda container would hold them;
* ``wcu_per_entry``: write units DynamoDB Local reports (``ReturnConsumedCapacity``) for the
  feed-table writes, divided by the entries written;
* ``hops``: the deepest chunk work item's stream hops from the post (the length of its
  ``path``, read from the records the worker handles): the longest chain of stream records
  between the post and a chunk of its followers, deferrals (a chunk that found the
  invocation's budget spent and handed itself on) included;
* the calls by operation and the time from the post's creation to the last follower's entry.

The benchmark then counts the post's entries in the feed table (``delivered``). Then it
**models** a post of a ``--model``-follower shop (1,000,000 by default): ``FeedManager.run``
itself — the same paging, split points and hand-on as the stream function — over in-memory
follower ids (ULIDs spread evenly, as the benchmark seeds them, then nine in ten made in one
hour), each chunk in its own invocation, and reports the chunks, the hops and whether each
follower got exactly one entry. It prints a markdown table, the modelled lines, and for the
largest real run one last line::

    fanout followers=50000 delivered=50000 invocations=N max_invocation_s=X peak_rss_mb=Y wcu_per_entry=Z hops=H
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import os
import resource
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import REGION, configure  # noqa: E402

QUIET_SECONDS = 3.0  # the worker stops after the stream has had nothing new for this long
TEXT = "오늘 아침 갓 만든 손두부가 나왔어요. 콩은 국산 100%, 간수는 천일염에서 직접 받았습니다. "


# -- the worker: Lambda's part ----------------------------------------------------------------


def worker(table: str, endpoint: str) -> int:
    """Poll the stream from now on, run the stream function per batch, report what it cost."""
    import logging

    import boto3

    from chalicelib import wiring
    from chalicelib.events.stream import stream
    from devtools.stream_poller import StreamPoller

    logging.getLogger("dongne").setLevel(logging.WARNING)
    logging.getLogger("devtools.stream_poller").setLevel(logging.WARNING)
    settings = wiring.container().settings
    wiring.container().feed  # bind the models: the clients below are the app's own
    from chalicelib.storage.base import FeedItem, MainItem

    operations: Counter = Counter()
    feed_units = {"wcu": 0.0, "puts": 0}

    def ask_capacity(params, model, **_):
        if model.name in ("BatchWriteItem", "PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems"):
            params["ReturnConsumedCapacity"] = "TOTAL"
        if model.name == "BatchWriteItem":
            requests = params.get("RequestItems", {}).get(settings.feed_table_name, [])
            feed_units["puts"] += sum(1 for r in requests if "PutRequest" in r)

    def count(http_response, parsed, model, **_):
        operations[model.name] += 1
        if model.name != "BatchWriteItem":
            return
        for entry in parsed.get("ConsumedCapacity") or []:
            if entry.get("TableName") == settings.feed_table_name:
                feed_units["wcu"] += float(entry.get("CapacityUnits") or 0)

    for base in (MainItem, FeedItem):
        events = base._get_connection().connection.client.meta.events
        events.register("provide-client-params.dynamodb.*", ask_capacity)
        events.register("after-call.dynamodb.*", count)

    durations: list[float] = []
    hops = [0]

    def timed(event, context):
        for record in event.get("Records", []):
            image = record.get("dynamodb", {}).get("NewImage") or {}
            if record.get("eventName") == "INSERT" and image.get("entity", {}).get("S") == "fanout":
                hops[0] = max(hops[0], len(image.get("path", {}).get("S", "")))  # a chunk's path: a digit a hop
        started = time.perf_counter()
        try:
            return stream(event, context)
        finally:
            durations.append(time.perf_counter() - started)

    client = boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint)
    streams = boto3.client("dynamodbstreams", region_name=REGION, endpoint_url=endpoint)
    poller = StreamPoller(client, streams, table, timed, batch_size=100, start_at="LATEST")
    poller.drain()  # pins LATEST: everything written from now on is ours
    print("ready", flush=True)
    last_work = first_work = None
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < QUIET_SECONDS:
        if poller.drain():
            last_work = time.time()
            first_work = first_work or last_work
            quiet_since = time.monotonic()
        else:
            time.sleep(0.05)
    print(json.dumps({
        "invocations": len(durations), "max_invocation_s": max(durations, default=0.0),
        "total_handler_s": sum(durations), "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "operations": dict(operations), "feed_wcu": feed_units["wcu"], "feed_puts": feed_units["puts"],
        "last_work_at": last_work, "hops": hops[0],
    }), flush=True)
    return 0


# -- the model: the same FeedManager over in-memory followers ----------------------------------


class _Followers:
    """One shop's follower ids, sorted: the two Queries a chunk makes, by bisection."""

    def __init__(self, ids: list[str]) -> None:
        self.ids = sorted(ids)

    def _range(self, after: str | None, until: str | None) -> tuple[int, int]:
        import bisect

        lo = 0 if after is None else bisect.bisect_right(self.ids, after)
        return lo, len(self.ids) if until is None else bisect.bisect_right(self.ids, until)

    def follower_page(self, shop_id, after, limit, until=None):
        lo, hi = self._range(after, until)
        page = self.ids[lo:min(hi, lo + limit)]
        return page, (self.ids[lo + limit] if lo + limit < hi else None)

    def last_follower(self, shop_id, until=None):
        lo, hi = self._range(None, until)
        return self.ids[hi - 1] if hi > lo else None

    def get_edge(self, shop_id, user_id):
        return None


class _CountingFeed:
    """Feed writes counted, not kept: how many entries each follower got."""

    def __init__(self) -> None:
        self.entries: Counter = Counter()

    def put_entries(self, entries):
        from chalicelib.records.social import WriteStats

        self.entries.update(e.reader_id for e in entries)
        return WriteStats(calls=-(-len(entries) // 25), items=len(entries))

    def trim(self, reader_id, keep):
        from chalicelib.records.social import WriteStats

        return WriteStats()


_CROCKFORD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "0123456789ABCDEFGHJKMNPQRSTVWXYZ")


def _ulid(epoch_seconds: float, randomness: int) -> str:
    """What ``ids.id_at`` makes (a millisecond time, 80 random bits, Crockford base32), many
    times faster: the model makes a million of them. The 130 bits of 26 characters, left-aligned
    in 17 bytes, are RFC 4648 base32 in another alphabet."""
    value = (int(epoch_seconds * 1000) << 80) | randomness
    return base64.b32encode((value << 6).to_bytes(17, "big"))[:26].decode().translate(_CROCKFORD)


def follower_ids(count: int, spread: str, now: float) -> list[str]:
    """``count`` follower ids (ULIDs, as users get them): ``even``, one a second up to now, as the
    benchmark seeds its shops; ``burst``, nine in ten signing up in the same hour (a shop on TV)
    and the rest spread over three years before it."""
    import random

    bits = random.Random(count).getrandbits
    if spread == "even":
        return [_ulid(now - count + n, bits(80)) for n in range(count)]
    burst = count * 9 // 10
    rest = count - burst
    three_years = 3 * 365 * 86400
    return ([_ulid(now - 86400 + 3600 * n / burst, bits(80)) for n in range(burst)]
            + [_ulid(now - three_years + three_years * n / rest, bits(80)) for n in range(rest)])


def model(count: int, spread: str = "even", branches: int | None = None) -> dict:
    """A post's fan-out to ``count`` followers through ``FeedManager.run`` itself — the same
    paging, splitting and hand-on code — over in-memory followers, each chunk in its own
    invocation (no deadline: as when Lambda runs the chunks side by side). Returns the hops
    (the deepest chunk's path), the chunks, the most followers and follower Queries of one
    chunk, and whether every follower got exactly one entry."""
    from chalicelib.records.social import FanoutWork, Post
    from chalicelib.services.feed import FeedManager

    now = time.time()
    graph = _Followers(follower_ids(count, spread, now))
    feed = _CountingFeed()
    post = Post(post_id="01JDQ7ZK3M8X2V5N4P6R9T0W1Y", shop_id="shop", author_id="owner", shop_name="가게",
                shop_handle="shop", text=TEXT, photos=[], product_ids=[], hashtags=[], like_count=0,
                comment_count=0, share_count=0, version=1, created_at=now, updated_at=now)

    class Posts:
        def get_post(self, post_id, consistent=False):
            return post

        def recent_posts(self, shop_id, count):
            return []

    class Queue:
        def __init__(self) -> None:
            self.pending: list[FanoutWork] = []

        def enqueue(self, works) -> bool:
            self.pending.extend(works)
            return bool(works)

    queue = Queue()
    extra = {} if branches is None else {"branches": branches}
    manager = FeedManager(feed, graph, Posts(), queue, trim_every=10**9, **extra)  # type: ignore[arg-type]
    chunk = FanoutWork(post.post_id, post.shop_id, "push", 1, "", None, None, now)
    chunks = hops = most = 0
    while True:
        outcome = manager.run(chunk)
        chunks, hops, most = chunks + 1, max(hops, chunk.hops), max(most, outcome.readers)
        if not queue.pending:
            break
        chunk = queue.pending.pop()
    exactly_once = len(feed.entries) == count and set(feed.entries.values()) == {1}
    return {"followers": count, "spread": spread, "hops": hops, "chunks": chunks, "max_chunk_followers": most,
            "delivered": len(feed.entries), "exactly_once": exactly_once}


# -- the driver -----------------------------------------------------------------------------------


def load_followers(shop_id: str, count: int, now: float) -> list[str]:
    from chalicelib.ids import id_at
    from chalicelib.storage.models.accounts import shop_pk
    from chalicelib.storage.models.social import FollowItem, follower_sk, followers_gsi, following_gsi, time_key

    readers = [id_at(now - count + n) for n in range(count)]
    with FollowItem.batch_write() as batch:
        for n, user_id in enumerate(readers):
            at = now - count + n
            batch.save(FollowItem(shop_pk(shop_id), follower_sk(user_id), shop_id=shop_id, user_id=user_id,
                                  created_at=at, gsi1pk=followers_gsi(shop_id), gsi1sk=time_key(at, user_id),
                                  gsi2pk=following_gsi(user_id), gsi2sk=time_key(at, shop_id)))
    return readers


def delivered(post_id: str, readers: list[str]) -> int:
    """How many of the shop's followers have the post in their feed (BatchGetItem, 100 keys a call)."""
    from chalicelib.storage.models.feed import FeedEntryItem

    return sum(1 for _ in FeedEntryItem.batch_get([(reader, post_id) for reader in readers], attributes_to_get=["pk"]))


def run_one(endpoint: str, followers: int, text_chars: int) -> dict:
    from chalicelib import wiring
    from chalicelib.ids import new_id
    from chalicelib.records.accounts import Shop, User
    from chalicelib.records.social import Post

    d = wiring.container()
    now = time.time()
    owner = new_id()
    d.accounts.create_user(User(user_id=owner, name="박두부", email=f"owner{followers}@bench.kr", phone=None,
                                shop_id=None, created_at=now, password_hash="-"))
    shop = Shop(shop_id=new_id(), owner_id=owner, name="망원동 두부가게", handle=f"tofu{followers}", bio="",
                region="서울", follower_count=followers, post_count=0, created_at=now)
    d.shops.create_shop(shop)
    readers = load_followers(shop.shop_id, followers, now)

    env = {**os.environ}
    proc = subprocess.Popen([sys.executable, "-m", "bench.fanout", "--worker", "--endpoint", endpoint],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        raise RuntimeError("the worker did not start")
    text = (TEXT * (text_chars // len(TEXT) + 1))[:text_chars]
    posted = time.time()
    post = Post(post_id=new_id(), shop_id=shop.shop_id, author_id=owner, shop_name=shop.name,
                shop_handle=shop.handle, text=text, photos=["uploads/o/01JDQ3ZK8X9V5W4T3S2R1P0N9M.jpg"],
                product_ids=[], hashtags=["두부", "국산콩"], like_count=0, comment_count=0, share_count=0,
                version=1, created_at=posted, updated_at=posted)
    d.posts.create_post(post)
    report = json.loads(proc.stdout.readline())
    proc.wait(timeout=60)
    report["followers"] = followers
    report["delivered"] = delivered(post.post_id, readers)
    report["to_last_follower_s"] = (report["last_work_at"] or posted) - posted
    report["wcu_per_entry"] = report["feed_wcu"] / report["feed_puts"] if report["feed_puts"] else float("nan")
    return report


def extrapolate(rows: list[dict], target: int) -> dict:
    """Linear in followers: calls per follower and WCU per follower of the largest run."""
    big = max(rows, key=lambda r: r["followers"])
    n = big["followers"]
    calls = sum(big["operations"].values())
    return {"followers": target, "calls": round(calls * target / n), "batch_writes": math.ceil(target / 25),
            "wcu": round(big["feed_wcu"] * target / n), "invocations": round(big["invocations"] * target / n)}


def print_table(rows: list[dict], projected: dict, models: list[dict], text_chars: int, elapsed: float) -> None:
    from chalicelib.services.fanout_tree import BRANCHES

    today = datetime.now(timezone.utc).date().isoformat()
    print(f"\n### Fan-out of one post ({text_chars}-character text), {today}\n")
    print("Through the deployed stream function on DynamoDB Local (in memory), one worker process playing Lambda; "
          f"a chunk is 1,000 followers, handing the rest on to up to {BRANCHES} children, and the invocation budget "
          "is the `stream_budget_seconds` setting. Hops: the deepest chunk's stream hops from the post.\n")
    print("| followers | delivered | invocations | max invocation (s) | peak RSS (MB) | WCU / entry | hops | "
          "calls (BatchWriteItem / Query / GetItem / TransactWriteItems) | to last follower (s) |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |")
    for r in rows:
        ops = r["operations"]
        print(f"| {r['followers']:,} | {r['delivered']:,} | {r['invocations']} | {r['max_invocation_s']:.2f} | "
              f"{r['peak_rss_mb']:.0f} | {r['wcu_per_entry']:.2f} | {r['hops']} | {ops.get('BatchWriteItem', 0)} / "
              f"{ops.get('Query', 0)} / {ops.get('GetItem', 0)} / {ops.get('TransactWriteItems', 0)} | "
              f"{r['to_last_follower_s']:.1f} |")
    p = projected
    print(f"| **{p['followers']:,}** (extrapolated) | | ~{p['invocations']:,} | same bound | same bound | same | "
          f"see below | ~{p['calls']:,} calls ({p['batch_writes']:,} BatchWriteItem), ~{p['wcu']:,} WCU | |")
    if models:
        print("\nModelled: `FeedManager.run` itself (its paging, split points and hand-on) over in-memory follower "
              "ids, each chunk in its own invocation, as when Lambda runs the chunks side by side.\n")
        print("| followers (modelled) | follower ids | chunks | hops | most followers in a chunk | each follower once |")
        print("| ---: | --- | ---: | ---: | ---: | --- |")
        for m in models:
            print(f"| {m['followers']:,} | {m['spread']} | {m['chunks']:,} | {m['hops']} | "
                  f"{m['max_chunk_followers']:,} | {'yes' if m['exactly_once'] else 'NO'} |")
    print(f"\n({elapsed:.0f} s in all, seeding included.)\n")
    for m in models:
        print(f"fanout modelled followers={m['followers']} spread={m['spread']} delivered={m['delivered']} "
              f"chunks={m['chunks']} hops={m['hops']}")
    big = max(rows, key=lambda r: r["followers"])
    print(f"fanout followers={big['followers']} delivered={big['delivered']} invocations={big['invocations']} "
          f"max_invocation_s={big['max_invocation_s']:.2f} peak_rss_mb={big['peak_rss_mb']:.0f} "
          f"wcu_per_entry={big['wcu_per_entry']:.2f} hops={big['hops']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--followers", type=int, nargs="+", default=[1000, 10000, 50000])
    parser.add_argument("--model", type=int, default=1_000_000,
                        help="followers of the modelled run (0: none)")
    parser.add_argument("--text-chars", type=int, default=2000)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        from chalicelib import wiring

        return worker(wiring.container().settings.table_name, args.endpoint)

    import boto3

    from devtools.ddblocal import DynamoDBLocal

    started = time.monotonic()
    with DynamoDBLocal() as ddb:
        configure(ddb.endpoint, tables="dongne-fanout")
        from chalicelib import wiring
        from chalicelib.storage.tables import ensure_tables

        wiring.reset()
        settings = wiring.container().settings
        ensure_tables(boto3.client("dynamodb", region_name=REGION, endpoint_url=ddb.endpoint),
                      settings.table_name, settings.feed_table_name)
        rows = [run_one(ddb.endpoint, n, args.text_chars) for n in sorted(args.followers)]
    models = [model(args.model, spread) for spread in ("even", "burst")] if args.model > 0 else []
    print_table(rows, extrapolate(rows, 1_000_000), models, args.text_chars, time.monotonic() - started)
    big = max(rows, key=lambda r: r["followers"])
    ok = big["delivered"] == big["followers"] and big["max_invocation_s"] <= 5 and big["peak_rss_mb"] <= 256 \
        and big["wcu_per_entry"] <= 1.5 and all(m["exactly_once"] and m["hops"] <= 12 for m in models)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
