"""Hot items: what a client sees when transactions on one item conflict, at a chosen rate.

DynamoDB Local runs transactions one at a time, so it never answers ``TransactionConflict``;
on DynamoDB, transactions naming the same item while another is in flight are cancelled with
it. This benchmark injects that answer (``tests/faults.py``) into a fraction of the attempts
that name the hot item — a popular post's item for likes, a popular shop's profile for follows
— and measures, through the whole app in-process, the share of requests answered (not 503),
the attempts per request and the latency added at p50 and p95 against the same requests with
no conflicts. Orders placed from the post are measured twice: naming the post item in their
condition check (the design before the marker item: the post's likes made them conflict) and naming the
post's immutable marker (now: they do not touch the hot item at all).

What rate is realistic: a transaction takes ~10-20 ms on DynamoDB; with λ other transactions a
second on the same item, an attempt overlaps one with probability ≈ 1 − e^(−2λt): ~3 % at
1 like a second, ~26 % at 10, ~78 % at 50 (t = 15 ms). The store is moto (the conflicts are
injected, so its lack of isolation does not matter); latencies are the app's own path plus its
backoff, on a shared machine — compare the rows, not the milliseconds.

    python -m bench.hot_items [--requests 100]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import uuid

RATES = (0.0, 0.05, 0.26, 0.5, 0.78)


def _environment() -> None:
    os.environ.update({
        "DONGNE_STAGE": "test", "DONGNE_TABLE_NAME": "bench-hot", "DONGNE_FEED_TABLE_NAME": "bench-hot-feed",
        "DONGNE_MEDIA_BUCKET": "bench-hot-media", "DONGNE_REGION": "us-east-1", "DONGNE_ARGON2_MEMORY_KIB": "8",
        "DONGNE_ARGON2_TIME_COST": "1", "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1", "DONGNE_LOG_LEVEL": "WARNING",
    })


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args(argv)
    _environment()
    import boto3
    from chalice.test import Client
    from moto import mock_aws

    from tests import moto_transactions
    from tests.faults import conflict, inject, touches

    moto_transactions.install()
    with mock_aws():
        from chalicelib import wiring
        from chalicelib.storage.tables import ensure_tables

        wiring.reset()
        settings = wiring.container().settings
        ensure_tables(boto3.client("dynamodb", region_name="us-east-1"), settings.table_name, settings.feed_table_name)
        from app import app

        with Client(app, stage_name="test") as client:
            def call(method, path, body=None, token=None, headers=None):
                h = {"Content-Type": "application/json", **(headers or {})}
                if token:
                    h["Authorization"] = f"Bearer {token}"
                response = client.http.request(method, path, headers=h, body=json.dumps(body) if body else b"")
                return response.status_code, (json.loads(response.body) if response.body else None)

            def signup(name="손님"):
                status, body = call("POST", "/auth/signup", {"name": name, "email": f"{uuid.uuid4().hex}@example.kr",
                                                             "password": "bench-password-1"})
                assert status == 201, body
                return body["token"]

            owner = signup("박사장")
            _, shop = call("POST", "/shops", {"name": "인기 가게", "handle": f"hot{uuid.uuid4().hex[:8]}",
                                              "region": "서울"}, token=owner)
            _, product = call("POST", f"/shops/{shop['shop_id']}/products",
                              {"name": "두부", "price": 3000, "stock": 1_000_000, "kind": "essential",
                               "reorder_days": 7}, token=owner)
            _, post = call("POST", f"/shops/{shop['shop_id']}/posts",
                           {"text": "오늘의 두부", "product_ids": [product["product_id"]]}, token=owner)
            readers = [signup() for _ in range(args.requests)]
            post_item = (f"POST#{post['post_id']}", "POST")
            marker = (f"POST#{post['post_id']}", "EXISTS")
            shop_item = (f"SHOP#{shop['shop_id']}", "PROFILE")

            def like(i):
                return call("PUT", f"/posts/{post['post_id']}/like", token=readers[i])

            def unlike(i):
                return call("DELETE", f"/posts/{post['post_id']}/like", token=readers[i])

            def follow(i):
                return call("PUT", f"/shops/{shop['shop_id']}/follow", token=readers[i])

            def unfollow(i):
                return call("DELETE", f"/shops/{shop['shop_id']}/follow", token=readers[i])

            def order(i):
                return call("POST", "/orders", {"shop_id": shop["shop_id"], "via_post_id": post["post_id"],
                                                "items": [{"product_id": product["product_id"], "quantity": 1}]},
                            token=readers[i], headers={"Idempotency-Key": uuid.uuid4().hex})

            kinds = [
                ("like a hot post", like, unlike, (post_item,)),
                ("follow a hot shop", follow, unfollow, (shop_item,)),
                ("order from a hot post, check on the post item (before)", order, None, (post_item, marker)),
                ("order from a hot post, check on its marker (now)", order, None, (post_item,)),
            ]
            print(f"\nHot items: TransactionConflict injected on a share of the attempts naming the hot item; "
                  f"{args.requests} requests per row\n")
            print("| request | conflict rate per attempt | answered | 503 | attempts / request | p50 ms | p95 ms "
                  "| p95 added ms |")
            print("|---|---:|---:|---:|---:|---:|---:|---:|")
            for label, act, undo, hot in kinds:
                base_p95 = None
                for rate in RATES:
                    times, ok = [], 0
                    with inject("TransactWriteItems", conflict(), rate=rate, when=touches(*hot), seed=7) as fault:
                        for i in range(args.requests):
                            started = time.perf_counter()
                            status, _ = act(i)
                            times.append((time.perf_counter() - started) * 1000)
                            ok += status < 500
                    if undo is not None:
                        for i in range(args.requests):
                            undo(i)
                    p95 = p(times, 0.95)
                    base_p95 = p95 if base_p95 is None else base_p95
                    print(f"| {label} | {rate:.0%} | {ok / args.requests:.0%} | {args.requests - ok} | "
                          f"{fault.attempts / args.requests:.2f} | {statistics.median(times):.1f} | {p95:.1f} | "
                          f"{p95 - base_p95:+.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
