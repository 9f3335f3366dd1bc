"""Relationship strength benchmark: O(1) signal updates and one-Query ranked pages.

    /work/main/.venv/bin/python -m bench.relationships [--pairs 2000] [--updates 200] [--pages 50]

Starts its own in-memory DynamoDB Local, builds one shop with ``--pairs`` customers (scoring
states from random histories, written with BatchWriteItem), then measures side by side in one
run, with ``ReturnConsumedCapacity`` on every request:

(a) one signal update through the real write path (``services.relationships.record``): an
    existing pair (like), a tier change (the order that makes a regular), a replay, a brand
    new pair (follow by a new customer) — DynamoDB calls, capacity units, median latency;
(b) a ranked customer page (20 and 100 strongest, one Query on the forward-decay index)
    against a brute-force recompute: Query every pair of the shop, compute each decayed
    strength now, sort, take 20 — and checks both give the same page.

Prints a markdown table. DynamoDB Local's latencies are not AWS's; compare the ratios.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import REGION, configure
from devtools.histories import random_state
# The synthetic histories' own "now" (fixed, with the seeded generator, so every run measures the
# same data); the table is dated by the clock on the day it is measured.
NOW = 1795424400.0  # 2026-11-23 09:00 UTC


@contextmanager
def consumed_capacity() -> Iterator[None]:
    """Ask DynamoDB to report consumed capacity on every request of the app's clients."""
    from devtools.callcount import _clients

    def ask(params, **_):
        params.setdefault("ReturnConsumedCapacity", "TOTAL")

    clients = _clients()
    for client in clients:
        client.meta.events.register("provide-client-params.dynamodb.*", ask, unique_id="bench-capacity")
    try:
        yield
    finally:
        for client in clients:
            client.meta.events.unregister("provide-client-params.dynamodb.*", unique_id="bench-capacity")


class Measured:
    def __init__(self, name: str) -> None:
        self.name = name
        self.seconds: list[float] = []
        self.calls: list[int] = []
        self.capacity: list[float] = []
        self.operations: str = ""

    def run(self, fn: Callable[[], object]) -> object:
        from devtools.callcount import dynamodb_calls

        with dynamodb_calls() as calls:
            started = time.perf_counter()
            result = fn()
            self.seconds.append(time.perf_counter() - started)
        self.calls.append(calls.count)
        self.capacity.append(calls.capacity)
        counts = calls.by_operation()
        self.operations = " + ".join(f"{n} {op}" for op, n in counts.items())
        return result

    @property
    def ms(self) -> float:
        return statistics.median(self.seconds) * 1000

    @property
    def mean_calls(self) -> float:
        return statistics.mean(self.calls)

    @property
    def mean_capacity(self) -> float:
        return statistics.mean(self.capacity)


def build(pairs: int, new_customers: int):
    """One owner and shop, ``pairs`` customers with states, ``new_customers`` accounts with none."""
    from chalicelib.wiring import container
    from chalicelib.ids import id_at, new_id
    from chalicelib.records.accounts import Shop, User
    from chalicelib.records.relationships import Pair
    from chalicelib.services import relationships as rel

    deps = container()
    owner = User(user_id=new_id(), name="박두부", email="tofu@bench.kr", phone=None, shop_id=None, created_at=NOW,
                 password_hash="-")
    deps.accounts.create_user(owner)
    shop = Shop(shop_id=new_id(), owner_id=owner.user_id, name="망원동 두부가게", handle="bench_tofu", bio="",
                region="", follower_count=0, post_count=0, created_at=NOW)
    deps.shops.create_shop(shop)
    rng = random.Random(20261123)
    built = []
    for n in range(pairs):
        pair = Pair(shop_id=shop.shop_id, user_id=id_at(NOW - 1000 - n), customer_name=f"손님{n:04d}",
                    shop_name=shop.name, shop_handle=shop.handle, state=random_state(rng, NOW), created_at=NOW)
        built.append(rel.settle(pair, NOW)[0])
    deps.relationships.load([(p, rel.list_rank(p)) for p in built], NOW)
    newcomers = []
    for n in range(new_customers):
        user = User(user_id=new_id(), name=f"새손님{n}", email=f"new{n}@bench.kr", phone=None, shop_id=None,
                    created_at=NOW, password_hash="-")
        deps.accounts.create_user(user)
        newcomers.append(user.user_id)
    return owner, shop, built, newcomers


def item_sizes(shop_id: str) -> tuple[float, int]:
    """Mean and max stored size of the shop's pair items, in bytes (as DynamoDB counts, roughly)."""
    import boto3

    from chalicelib.wiring import container

    settings = container().settings
    client = boto3.client("dynamodb", region_name=settings.region, endpoint_url=settings.dynamodb_endpoint)
    sizes = []
    kwargs = {"TableName": settings.table_name, "KeyConditionExpression": "pk = :pk",
              "ExpressionAttributeValues": {":pk": {"S": f"REL#{shop_id}"}}}
    while True:
        page = client.query(**kwargs)
        for item in page["Items"]:
            sizes.append(sum(len(k.encode()) + _size(v) for k, v in item.items()))
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return statistics.mean(sizes), max(sizes)


def _size(value: dict) -> int:
    """DynamoDB's item-size rules: UTF-8 strings, ~1 byte per 2 digits of a number, 3 bytes
    per map/list plus 1 per element, 1 byte per boolean or null."""
    (kind, v), = value.items()
    if kind == "S":
        return len(v.encode())
    if kind == "N":
        return (len(v.lstrip("-").replace(".", "").lstrip("0")) + 1) // 2 + 1
    if kind == "L":
        return 3 + sum(1 + _size(x) for x in v)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + _size(x) for k, x in v.items())
    return 1


def brute_force_page(shop_id: str, now: float, limit: int) -> list[str]:
    """Every pair of the shop (Query on the table's own key), decayed to now, sorted."""
    from chalicelib.services.scoring import strength_at
    from chalicelib.storage.models.relationships import RelationshipItem, rel_pk
    from chalicelib.storage.relationships import to_pair

    pairs = [to_pair(item) for item in RelationshipItem.query(rel_pk(shop_id), RelationshipItem.sk.startswith("USER#"))]
    pairs.sort(key=lambda p: strength_at(p.state, now), reverse=True)
    return [p.user_id for p in pairs[:limit]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--updates", type=int, default=200)
    parser.add_argument("--pages", type=int, default=50)
    args = parser.parse_args(argv)

    from devtools.ddblocal import DynamoDBLocal

    local = DynamoDBLocal()
    endpoint = local.start(in_memory=True)
    try:
        local.wait_ready()
        configure(endpoint)
        from chalicelib import wiring as deps

        deps.reset()
        import boto3

        from chalicelib.storage.tables import ensure_tables

        settings = deps.container().settings
        ensure_tables(boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint), settings.table_name,
                      settings.feed_table_name)
        started = time.perf_counter()
        owner, shop, pairs, newcomers = build(args.pairs, args.updates)
        print(f"built {args.pairs} pairs of one shop in {time.perf_counter() - started:.1f}s", file=sys.stderr)
        with consumed_capacity():
            rows, same = measure(args, shop, pairs, newcomers)
        mean_size, max_size = item_sizes(shop.shop_id)
    finally:
        local.stop()
    print_table(args, rows, same, mean_size, max_size)
    return 0


def measure(args, shop, pairs, newcomers):
    from chalicelib.wiring import container
    from chalicelib.records.relationships import SignalEvent
    from chalicelib.services import relationships as rel
    from chalicelib.services.scoring import Signal, Tier, event_id

    store = container().relationships
    rng = random.Random(7)
    targets = rng.sample(pairs, min(args.updates, len(pairs)))

    like = Measured("signal update: like on an existing pair")
    for n, pair in enumerate(targets):
        event = SignalEvent(shop_id=shop.shop_id, user_id=pair.user_id, signal=Signal.LIKE, at=NOW + n,
                            event_id=event_id(Signal.LIKE, f"bench-like-{n}"))
        assert like.run(lambda: rel.record(store, event, NOW + n)) == rel.APPLIED

    replay = Measured("replayed event (recognised, nothing written)")
    for n, pair in enumerate(targets):
        event = SignalEvent(shop_id=shop.shop_id, user_id=pair.user_id, signal=Signal.LIKE, at=NOW + n,
                            event_id=event_id(Signal.LIKE, f"bench-like-{n}"))
        assert replay.run(lambda: rel.record(store, event, NOW + n)) == rel.REPLAYED

    regular = Measured("signal update with a tier change (order → regular)")
    window = rel.CONFIG.regular_window_seconds
    first_timers = [p for p in pairs if p.tier is Tier.FIRST_TIME and p.state.order_count == 1
                    and NOW + 10_000 - p.state.last_order_at < window][: args.updates]
    for n, pair in enumerate(first_timers):
        event = SignalEvent(shop_id=shop.shop_id, user_id=pair.user_id, signal=Signal.ORDER, at=NOW + 10_000 + n,
                            amount=12_000, event_id=event_id(Signal.ORDER, f"bench-order-{n}"))
        assert regular.run(lambda: rel.record(store, event, NOW + 10_000 + n)) == rel.APPLIED
        assert store.get_pair(shop.shop_id, pair.user_id).tier is Tier.REGULAR

    newcomer = Measured("signal update creating a pair (first follow)")
    for n, user_id in enumerate(newcomers):
        event = SignalEvent(shop_id=shop.shop_id, user_id=user_id, signal=Signal.FOLLOW, at=NOW + 20_000 + n,
                            event_id=event_id(Signal.FOLLOW, f"bench-follow-{n}"))
        assert newcomer.run(lambda: rel.record(store, event, NOW + 20_000 + n)) == rel.APPLIED

    now = NOW + 30_000
    page20 = Measured("ranked customer page, 20 strongest (1 Query)")
    page100 = Measured("ranked customer page, 100 strongest (1 Query)")
    brute = Measured("brute force: read all pairs, decay, sort, top 20")
    ranked_ids = brute_ids = None
    for _ in range(args.pages):
        ranked = page20.run(lambda: store.customers(shop.shop_id, None, 20, None))
        page100.run(lambda: store.customers(shop.shop_id, None, 100, None))
        ranked_ids = [p.user_id for p in ranked.items]
    for _ in range(max(5, args.pages // 5)):
        brute_ids = brute.run(lambda: brute_force_page(shop.shop_id, now, 20))
    card = Measured("customer card (shop + pair + note)")
    mine = Measured("my shops page (1 Query)")
    for pair in targets[: args.pages]:
        card.run(lambda: store.card(shop.shop_id, pair.user_id))
        mine.run(lambda: store.my_shops(pair.user_id, 20, None))
    same = ranked_ids == brute_ids
    return [like, replay, regular, newcomer, card, mine, page20, page100, brute], same


def print_table(args, rows, same, mean_size, max_size) -> None:
    from devtools.demo_refresh import app_now

    page20, brute = rows[-3], rows[-1]
    measured = datetime.fromtimestamp(app_now(), tz=UTC).date().isoformat()
    print(f"\n### Relationship strength — {measured}, DynamoDB Local (in-memory), "
          f"{args.pairs} customers of one shop\n")
    print("| operation | DynamoDB calls | capacity units | median latency (ms) | runs |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(f"| {row.name} | {row.mean_calls:g} ({row.operations}) | {row.mean_capacity:.1f} | {row.ms:.2f} | "
              f"{len(row.seconds)} |")
    print()
    print("| brute force ÷ ranked page (20) | calls | capacity units | latency |")
    print("|---|---|---|---|")
    print(f"| {args.pairs} pairs | {brute.mean_calls / page20.mean_calls:.0f}× | "
          f"{brute.mean_capacity / max(page20.mean_capacity, 1e-9):.0f}× | {brute.ms / page20.ms:.0f}× |")
    print()
    print(f"Same 20 customers in the same order (ranked page vs brute force): {'yes' if same else 'NO'}. "
          f"Pair items: {mean_size / 1024:.2f} KB mean, {max_size / 1024:.2f} KB max (after the updates above).")


if __name__ == "__main__":
    raise SystemExit(main())
