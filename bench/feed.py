"""Feed benchmark: one Query per page, against the naive read-time merge and the bare Query.

    /work/main/.venv/bin/python -m bench.feed [--shops 500] [--posts-per-shop 4] [--followers 1000]

Starts its own in-memory DynamoDB Local, builds the data through the app's repositories,
fills the feeds with the real stream handler (``devtools.stream_poller`` → ``chalicelib.events``),
then measures, side by side in one run:

(a) DynamoDB calls (and read units) per feed page for a customer following ``--shops`` shops;
(b) feed page latency through the app (``GET /feed`` in-process: token check, validation,
    Query, serialization) against a naive read-time merge over the same shops' posts and
    against a bare boto3 / PynamoDB Query of the same page — interleaved, medians;
(c) a post by a shop with ``--followers`` followers: DynamoDB calls on the request path,
    and what the fan-out costs off it (calls by operation, retried items, capacity units);
(d) the ranked feed (``GET /feed?order=ranked``) for the same customer, who also gets a
    random relationship history with every shop: calls and read units of a window page
    (the first, and the one after a window is used up) and of a later page, read from
    DynamoDB Local's ConsumedCapacity (``ReturnConsumedCapacity=TOTAL`` on every request),
    next to the recent page and to the design before it (a 200-entry window re-read and up
    to 100 relationship pairs BatchGot on every page, replayed with the same calls).

Prints a markdown table. Latencies are wall-clock on a shared machine: expect a few percent
of noise between runs; the ratios are what to compare.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import REGION, configure

if TYPE_CHECKING:
    from devtools.callcount import Calls
PAGE = 20


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


@contextmanager
def read_units() -> Iterator[Calls]:
    """Calls and consumed capacity of the app's DynamoDB requests: a ``before-parameter-build``
    hook asks for ``ReturnConsumedCapacity=TOTAL`` on every request (PynamoDB does by default;
    this makes sure), an ``after-call`` hook sums what DynamoDB Local reports."""
    from devtools.callcount import _clients, dynamodb_calls

    def ask(params, **_):
        params.setdefault("ReturnConsumedCapacity", "TOTAL")

    clients = _clients()
    for client in clients:
        client.meta.events.register("before-parameter-build.dynamodb.*", ask, unique_id="bench-feed-capacity")
    try:
        with dynamodb_calls() as calls:
            yield calls
    finally:
        for client in clients:
            client.meta.events.unregister("before-parameter-build.dynamodb.*", unique_id="bench-feed-capacity")


class FeedLog(logging.Handler):
    """Collects what the feed's stream handlers report: one ``feed`` record per reaction, its
    figures as the record's structured fields (``extra``), which the JSON log lines are made of."""

    FIELDS = ("entity", "event", "action", "readers", "calls", "items", "retried", "trims", "continued")

    def __init__(self) -> None:
        super().__init__()
        self.outcomes: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() == "feed":
            self.outcomes.append({name: getattr(record, name) for name in self.FIELDS if hasattr(record, name)})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shops", type=int, default=500)
    parser.add_argument("--posts-per-shop", type=int, default=4)
    parser.add_argument("--followers", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=200, help="feed pages timed per contender")
    parser.add_argument("--naive-rounds", type=int, default=5)
    args = parser.parse_args(argv)

    from devtools.ddblocal import DynamoDBLocal

    started = time.monotonic()
    with DynamoDBLocal() as ddb:
        configure(ddb.endpoint)
        rows, notes = run(ddb.endpoint, args)
    print_table(rows, notes, args, time.monotonic() - started)
    return 0


def run(endpoint: str, args) -> tuple[list[tuple[str, str, str]], list[str]]:
    import boto3
    from chalice.test import Client

    from app import app
    from chalicelib import wiring as deps
    from chalicelib.events.stream import stream
    from chalicelib.ids import id_at, new_id
    from chalicelib.records.accounts import Shop
    from chalicelib.records.relationships import Pair
    from chalicelib.services import ranking
    from chalicelib.services import relationships as rel
    from chalicelib.records.social import Follow
    from chalicelib.storage.accounts import PROFILE
    from chalicelib.storage.models.accounts import ShopItem, UserItem, shop_pk, user_pk
    from chalicelib.storage.models.feed import FeedEntryItem
    from chalicelib.storage.models.social import (
        POST_SK, FollowItem, PostItem, following_gsi, post_pk, shop_posts_gsi,
    )
    from chalicelib.storage.tables import ensure_tables
    from devtools.callcount import dynamodb_calls
    from devtools.histories import random_state
    from devtools.stream_poller import StreamPoller

    logging.getLogger("devtools.stream_poller").setLevel(logging.WARNING)
    logging.getLogger("dongne.http").setLevel(logging.WARNING)
    feed_log = FeedLog()
    feed_logger = logging.getLogger("dongne.feed")
    feed_logger.addHandler(feed_log)
    feed_logger.propagate = False  # collected, not printed

    deps.reset()
    d = deps.container()
    d.accounts  # binds every model to the bench tables
    settings = d.settings
    client = boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint)
    ensure_tables(client, settings.table_name, settings.feed_table_name)
    streams = boto3.client("dynamodbstreams", region_name=REGION, endpoint_url=endpoint)
    poller = StreamPoller(client, streams, settings.table_name, stream, batch_size=1000)
    rng = random.Random(7)
    now = time.time()

    def skip_stream() -> None:
        """Read what was written so far without handling it (data building, not measured)."""
        poller.handler = lambda event, context: None
        poller.drain()
        poller.handler = stream

    # Users, shops and posts are bulk-loaded with the repositories' key design (BatchWriteItem:
    # thousands of single transactions would dominate the run); follows go through the
    # repository (one transaction each, counters exact) and feeds through the stream handler.
    def people(count: int, name: str) -> list[str]:
        ids = [new_id() for _ in range(count)]
        with UserItem.batch_write() as batch:
            for n, user_id in enumerate(ids):
                batch.save(UserItem(user_pk(user_id), PROFILE, user_id=user_id, name=f"{name} {n}", email=None,
                                    phone=None, password_hash="-", created_at=now, updated_at=now))
        return ids

    def open_shops(owners: list[str], label: str) -> list[Shop]:
        shops = [Shop(shop_id=new_id(), owner_id=owner, name=f"{label} {n}", handle=f"{label}_{n}", bio="",
                      region="서울", follower_count=0, post_count=0, created_at=now) for n, owner in enumerate(owners)]
        with ShopItem.batch_write() as batch:
            for s in shops:
                batch.save(ShopItem(shop_pk(s.shop_id), PROFILE, shop_id=s.shop_id, owner_id=s.owner_id, name=s.name,
                                    handle=s.handle, bio="", region=s.region, follower_count=0, post_count=0,
                                    created_at=now, updated_at=now))
        return shops

    def person(name: str) -> str:
        return people(1, name)[0]

    # -- data: shops with posts spread over the last 30 days, one customer following all --
    t0 = time.monotonic()
    shops = open_shops(people(args.shops, "사장"), "shop")
    phases = {"shops": time.monotonic() - t0}
    with PostItem.batch_write() as batch:
        for shop in shops:
            for _ in range(args.posts_per_shop):
                at = now - rng.uniform(0, 30 * 86400)
                post_id = id_at(at)
                batch.save(PostItem(
                    post_pk(post_id), POST_SK, post_id=post_id, shop_id=shop.shop_id, author_id=shop.owner_id,
                    shop_name=shop.name, shop_handle=shop.handle, text="오늘 들어온 물건 소개합니다 #동네 #신상",
                    photos=[], product_ids=[], hashtags=["동네", "신상"], like_count=0, comment_count=0,
                    share_count=0, version=1, created_at=at, updated_at=at,
                    gsi1pk=shop_posts_gsi(shop.shop_id), gsi1sk=post_id))
    customer = person("김민지")
    phases["posts"] = time.monotonic() - t0 - sum(phases.values())
    skip_stream()
    phases["skip"] = time.monotonic() - t0 - sum(phases.values())
    for shop in shops:
        d.follows.follow(Follow(shop.shop_id, customer, time.time()))
    phases["follows"] = time.monotonic() - t0 - sum(phases.values())
    feed_log.outcomes.clear()
    with dynamodb_calls() as merge_calls:
        poller.drain()  # the real handler: every follow merges that shop's posts into the feed
    phases["merges"] = time.monotonic() - t0 - sum(phases.values())
    merges = [o for o in feed_log.outcomes if o["action"] == "merge"]
    build_seconds = time.monotonic() - t0
    feed_size = sum(1 for _ in FeedEntryItem.query(customer, attributes_to_get=["pk", "sk"]))

    # The customer's relationships: a random history with every shop (orders, likes, reviews
    # over 200 days), so affinities differ and the pairs have their usual size (≈ 1 KB).
    history_rng = random.Random(23)
    pairs = [rel.settle(Pair(shop_id=s.shop_id, user_id=customer, customer_name="김민지", shop_name=s.name,
                             shop_handle=s.handle, state=random_state(history_rng, now), created_at=now), now)[0]
             for s in shops]
    d.relationships.load([(p, rel.list_rank(p)) for p in pairs], now)

    token = d.tokens.issue(customer, time.time())
    headers = {"Authorization": f"Bearer {token}"}
    feed_table = settings.feed_table_name

    with Client(app) as http:
        def ours() -> None:
            response = http.http.get(f"/feed?limit={PAGE}", headers=headers)
            assert response.status_code == 200, response.body

        def check_first() -> None:
            """The design before: the token check's GetItem finished before the route's Query."""
            from chalicelib.api import revocation

            overlapped, revocation.SAFE_METHODS = revocation.SAFE_METHODS, frozenset()
            try:
                ours()
            finally:
                revocation.SAFE_METHODS = overlapped

        def bare_boto3() -> None:
            client.query(TableName=feed_table, KeyConditionExpression="pk = :u",
                         ExpressionAttributeValues={":u": {"S": customer}}, ScanIndexForward=False, Limit=PAGE)

        def bare_pynamodb() -> None:
            list(FeedEntryItem.query(customer, scan_index_forward=False, limit=PAGE))

        def naive_merge() -> list:
            followed = [e.shop_id for e in FollowItem.gsi2.query(following_gsi(customer))]
            posts = []
            for shop_id in followed:
                posts.extend(PostItem.gsi1.query(shop_posts_gsi(shop_id), scan_index_forward=False, limit=PAGE))
            return sorted(posts, key=lambda p: p.post_id, reverse=True)[:PAGE]

        # Same page? The feed holds the newest posts of the followed shops (capped).
        page = json.loads(http.http.get(f"/feed?limit={PAGE}", headers=headers).body)["items"]
        naive_page = naive_merge()
        same_page = [i["post_id"] for i in page] == [p.post_id for p in naive_page]

        # (a) calls per page
        with dynamodb_calls() as calls:
            ours()
        page_calls, page_rcu = calls.by_operation(), calls.capacity
        with dynamodb_calls() as calls:
            naive_merge()
        naive_calls = calls.count

        # (d) the ranked feed: one whole window and the first page of the next, read units each
        def ranked(cursor: str | None = None) -> tuple[list, str | None]:
            path = f"/feed?order=ranked&limit={PAGE}" + (f"&cursor={cursor}" if cursor else "")
            response = http.http.get(path, headers=headers)
            assert response.status_code == 200, response.body
            body = json.loads(response.body)
            return body["items"], body["next_cursor"]

        window_pages = ranking.window_size(PAGE) // PAGE
        ranked_pages, cursor, ranked_seen = [], None, []
        for _ in range(window_pages + 1):
            with read_units() as calls:
                items, cursor = ranked(cursor)
            ranked_pages.append((calls.by_operation(), calls.capacity, len(items), cursor))
            ranked_seen += [i["post_id"] for i in items]
        with read_units() as calls:
            ours()
        recent_rcu = calls.capacity
        with read_units() as calls:  # the design before: every page re-read this and BatchGot the pairs
            old_window = d.feed.window(customer, None, 200)
            d.relationships.pairs_of_reader(customer, list(dict.fromkeys(e.shop_id for e in old_window))[:100])
        old_calls, old_rcu = calls.by_operation(), calls.capacity
        first_cursor = ranked_pages[0][3]
        ranked_samples: dict[str, list[float]] = {"recent": [], "window": [], "later": []}
        for _ in range(max(args.rounds // 4, 5)):  # interleaved, like (b)
            ranked_samples["recent"].append(timed(ours))
            ranked_samples["window"].append(timed(ranked))
            ranked_samples["later"].append(timed(lambda: ranked(first_cursor)))

        # (b) latency, interleaved so drift in machine load hits every contender alike
        for fn in (ours, check_first, bare_boto3, bare_pynamodb):
            for _ in range(20):
                fn()  # warm-up: connections, caches, JIT of DynamoDB Local
        samples: dict[str, list[float]] = {"ours": [], "check_first": [], "boto3": [], "pynamodb": []}
        for _ in range(args.rounds):
            samples["ours"].append(timed(ours))
            samples["check_first"].append(timed(check_first))
            samples["boto3"].append(timed(bare_boto3))
            samples["pynamodb"].append(timed(bare_pynamodb))
        naive_samples = [timed(naive_merge) for _ in range(args.naive_rounds)]

    # (c) a post by a shop with N followers
    t1 = time.monotonic()
    [star] = open_shops([person("인기 사장")], "star")
    fans = people(args.followers, "단골")
    for fan in fans:
        d.follows.follow(Follow(star.shop_id, fan, time.time()))
    skip_stream()
    fan_build_seconds = time.monotonic() - t1
    owner_token = d.tokens.issue(star.owner_id, time.time())
    with Client(app) as http, dynamodb_calls() as request_calls:
        response = http.http.post(f"/shops/{star.shop_id}/posts", headers={
            "Authorization": f"Bearer {owner_token}", "Content-Type": "application/json"},
            body=json.dumps({"text": "오늘 단골 여러분께 드리는 소식 #동네"}, ensure_ascii=False))
        assert response.status_code == 201, response.body
    post_id = json.loads(response.body)["post_id"]
    feed_log.outcomes.clear()
    with dynamodb_calls() as fanout_calls:
        fan_started = time.perf_counter()
        poller.drain()
        fan_seconds = time.perf_counter() - fan_started
    # One chunk, or more when the invocation's time budget ran out first (a loaded machine):
    # each chunk logs its own outcome.
    pushes = [o for o in feed_log.outcomes if o["action"].startswith("push")]
    push = {"retried": sum(o["retried"] for o in pushes), "trims": sum(o["trims"] for o in pushes)}
    reached = sum(1 for fan in fans if FeedEntryItem.count(fan, FeedEntryItem.sk == post_id) == 1)
    fan_ops = fanout_calls.by_operation()

    ratio_naive = statistics.median(naive_samples) / statistics.median(samples["ours"])
    ratio_boto3 = statistics.median(samples["ours"]) / statistics.median(samples["boto3"])
    ratio_pynamo = statistics.median(samples["ours"]) / statistics.median(samples["pynamodb"])
    ratio_first = statistics.median(samples["check_first"]) / statistics.median(samples["boto3"])
    ops = lambda counter: ", ".join(f"{n} {op}" for op, n in sorted(counter.items()))  # noqa: E731
    rows = [
        ("(a) DynamoDB calls per feed page (following %d shops)" % args.shops,
         f"**{sum(page_calls.values())}** ({ops(page_calls)})", "budget 1"),
        ("(a) read units per feed page of %d" % PAGE, f"{page_rcu:g} RCU", ""),
        ("(a) naive read-time merge: calls per page", f"{naive_calls}", f"{naive_calls}× the calls"),
        ("(b) feed page, `GET /feed` in-process (median)", f"{median_ms(samples['ours']):.2f} ms", "1.00×"),
        ("(b) naive read-time merge over the same shops (median)", f"{median_ms(naive_samples):.1f} ms",
         f"**{ratio_naive:.0f}×** slower (budget ≥ 100×)"),
        ("(b) bare boto3 Query of the same page (median)", f"{median_ms(samples['boto3']):.2f} ms",
         f"ours is **{ratio_boto3:.2f}×** (budget ≤ 1.5×)"),
        ("(b) bare PynamoDB Query of the same page (median)", f"{median_ms(samples['pynamodb']):.2f} ms",
         f"ours is {ratio_pynamo:.2f}×"),
        ("(b) the same page with the token check before the route (the design before; median)",
         f"{median_ms(samples['check_first']):.2f} ms", f"**{ratio_first:.2f}×** a bare boto3 Query"),
        ("(c) create post: DynamoDB calls on the request path", f"**{request_calls.count}** "
         f"({', '.join(request_calls.operations)})", f"budget ≤ 2; {request_calls.capacity:g} capacity units"),
        ("(c) fan-out to %d followers: BatchWriteItem calls" % args.followers,
         f"**{fan_ops.get('BatchWriteItem', 0)}**", f"⌈{args.followers}/25⌉ = {-(-args.followers // 25)}, "
         f"{push['retried']} items retried, {len(pushes)} chunk(s)"),
        ("(c) fan-out: all calls off the request path", ops(fan_ops),
         f"{fanout_calls.capacity:g} capacity units; {push['trims']} sampled trims"),
        ("(c) fan-out: followers reached / wall time", f"{reached} / {fan_seconds * 1000:.0f} ms", ""),
    ]
    window_rows = []
    for n, (page_ops, rcu, count, _) in enumerate(ranked_pages, start=1):
        kind = "a window" if "Query" in page_ops else "by key"
        budget = "budget 1 Query + 1 other read, ≤ 10 RCU"
        window_rows.append((f"(d) ranked page {n} of {PAGE} ({kind}): calls / read units",
                            f"{ops(page_ops)} / **{rcu:g} RCU**", f"{count} posts; {budget}"))
    ranked_rcu = [rcu for _, rcu, _, _ in ranked_pages]
    ranked_mean = statistics.mean(ranked_rcu)
    rows += window_rows + [
        ("(d) recent page of %d (`order=recent`): read units" % PAGE, f"{recent_rcu:g} RCU", "1 Query"),
        ("(d) the design before: 200-entry window + pairs BatchGet, every page",
         f"{ops(old_calls)} / {old_rcu:g} RCU",
         f"{old_rcu / ranked_mean:.1f}× a ranked page now "
         f"(mean {ranked_mean:.1f} RCU over pages 1–{len(ranked_pages)})"),
        ("(d) ranked page latency: a window page / a later page (median)",
         f"{median_ms(ranked_samples['window']):.2f} ms / {median_ms(ranked_samples['later']):.2f} ms",
         f"recent page {median_ms(ranked_samples['recent']):.2f} ms, interleaved"),
        ("(d) ranked cursor after page 1", f"{len(first_cursor or '')} characters",
         f"≤ 2048 (at most {ranking.RANKED_WINDOW - 1} ids of 16 bytes)"),
    ]
    notes = [
        f"data: {args.shops} shops × {args.posts_per_shop} posts, one customer following all "
        f"({feed_size} feed entries after {len(merges)} follow merges, cap 400); "
        f"built in {build_seconds:.0f} s ({', '.join(f'{k} {v:.0f} s' for k, v in phases.items())}) "
        f"+ {fan_build_seconds:.0f} s for the {args.followers} followers",
        "a follow's merge (stream handler, per follow): " + ", ".join(
            f"{n / max(len(merges), 1):.1f} {op}" for op, n in sorted(merge_calls.by_operation().items()))
        + f" — {merge_calls.capacity / max(len(merges), 1):.0f} capacity units, most of it the trim reading the feed",
        f"the feed page and the naive merge's page are {'the same' if same_page else 'DIFFERENT'} posts",
        f"latency: {args.rounds} interleaved pages per contender after a warm-up, {args.naive_rounds} naive merges",
        f"ranked: {len(set(ranked_seen))} distinct posts over {len(ranked_pages)} pages (no repeats: "
        f"{len(ranked_seen) == len(set(ranked_seen))}); windows of {ranking.window_size(PAGE)} entries, the "
        f"reader's {ranking.AFFINITY_SHOPS} strongest shops read on gsi3; read units are DynamoDB Local's "
        "ConsumedCapacity for eventually consistent reads (a batch read rounds each item up to 4 KB: "
        "0.5 RCU a post)",
    ]
    return rows, notes


def print_table(rows, notes, args, seconds: float) -> None:
    print(f"\n### Feed benchmark — DynamoDB Local, {date.today().isoformat()}\n")
    print("| measure | value | ratio / budget |")
    print("|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()
    for note in notes:
        print(f"* {note}")
    print(f"* whole run {seconds:.0f} s on {os.cpu_count()} cores; wall-clock figures on a shared machine vary "
          "by a few percent between runs — compare the ratios")


if __name__ == "__main__":
    raise SystemExit(main())
