"""Notifications benchmark: what one notification write and one inbox page cost.

    /work/main/.venv/bin/python -m bench.notifications [--runs 100] [--inbox 500]

Starts its own in-memory DynamoDB Local and measures, with ``ReturnConsumedCapacity=TOTAL``
on every request (``devtools.callcount`` counts the calls): each way into the inbox (a
notification, a replay of it, a milestone, a group started, grown while unread, reopened
after reading, a repeated member, a new regular), the stream handler for a whole order
record and a whole like record, delivery with every channel off, and the reads: the first
inbox page of 20 (the count rides along), the next page, an unread page, marking one read
and marking a page read — against the naive read that counts unread items by listing.

Prints a markdown table. DynamoDB Local's latencies are not AWS's; compare calls and units.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import REGION, configure  # noqa: E402
from bench.relationships import Measured, consumed_capacity  # noqa: E402

NOW = 1795424400.0  # 2026-11-23 09:00 UTC


def build():
    from chalicelib.ids import new_id
    from chalicelib.records.accounts import Shop, User
    from chalicelib.wiring import container

    deps = container()
    owner = User(user_id=new_id(), name="박두부", email="tofu@bench.kr", phone=None, shop_id=None, created_at=NOW,
                 password_hash="-")
    deps.accounts.create_user(owner)
    shop = Shop(shop_id=new_id(), owner_id=owner.user_id, name="망원동 두부가게", handle="bench_tofu", bio="",
                region="", follower_count=0, post_count=0, created_at=NOW)
    deps.shops.create_shop(shop)
    customer = User(user_id=new_id(), name="김민지", email="minji@bench.kr", phone=None, shop_id=None,
                    created_at=NOW, password_hash="-")
    deps.accounts.create_user(customer)
    return owner, shop, customer


def measure(args, owner, shop, customer):
    from chalicelib.records.notifications import Actor, Grouped, Notice
    from chalicelib.services import notices, notifications
    from chalicelib.services.notification_delivery import plan
    from chalicelib.wiring import container

    deps = container()
    inbox, store = deps.inbox, deps.notifications
    rows = []

    def row(name, fn, runs=args.runs):
        measured = Measured(name)
        for n in range(runs):
            measured.run(lambda: fn(n))
        rows.append(measured)
        return measured

    reader = owner.user_id
    row("notification (once-key + notification + count: 1 transaction)",
        lambda n: inbox.add(Notice(reader, "new_order", f"order-{n}", NOW + n, {"order_id": f"order-{n}",
                                                                              "customer_name": "김민지"})))
    row("replayed notification (cancelled transaction)",
        lambda n: inbox.add(Notice(reader, "new_order", f"order-{n}", NOW + n, {})))
    milestone_shops = [f"shop-{n}" for n in range(args.runs)]
    row("milestone, first time (look + 1 transaction)",
        lambda n: inbox.add_milestone(milestone_shops[n], "first_order", reader, NOW + n, {}))
    row("milestone, again (known: no call)",
        lambda n: inbox.add_milestone(milestone_shops[n], "first_order", reader, NOW + n, {}))
    like = lambda post, n: Grouped(reader, "like", post, Actor(f"liker-{n}", f"손님{n}"), NOW + n, {"post_id": post})
    row("group started (first like of a post today)", lambda n: inbox.add_grouped(like(f"post-{n}", 0)))
    row("group grown while unread (another like)", lambda n: inbox.add_grouped(like(f"post-{n}", 1)))
    ids = [g.notification_id for g in store.inbox(reader, 1000, None)[0].items if g.type == "like"]
    notifications.mark_read(store, reader, ids[:99], NOW)
    notifications.mark_read(store, reader, ids[99:], NOW)
    row("group reopened after reading (+1 unread)", lambda n: inbox.add_grouped(like(f"post-{n}", 2)))
    row("member counted already (cancelled)", lambda n: inbox.add_grouped(like(f"post-{n}", 2)))
    row("new regular, numbered (count read + 1 transaction)",
        lambda n: inbox.add_regular(shop.shop_id, reader, Actor(f"regular-{n}", "단골"), NOW + n, {}))

    ctx = deps.notice_context
    order_image = lambda n: {"order_id": f"bench-order-{n}", "shop_id": shop.shop_id, "shop_name": shop.name,
                             "owner_id": owner.user_id, "buyer_id": customer.user_id, "status": "pending_payment",
                             "total": 9000, "created_at": NOW + n,
                             "items": [{"product_id": "tofu", "name": "손두부", "price": 4500, "quantity": 2,
                                        "kind": "essential", "reorder_days": 7}]}
    row("stream: an order record (new_order, first_order known, reorder watch, buyer's name)",
        lambda n: notices.on_order(ctx, "INSERT", order_image(n), None))
    like_image = lambda n: {"post_id": "bench-post", "shop_id": shop.shop_id, "user_id": f"bench-liker-{n}",
                            "created_at": NOW + n}
    row("stream: a like record (shop cached, liker's name, group grown)",
        lambda n: notices.on_like(ctx, "INSERT", like_image(n), None))
    sample = store.inbox(reader, 1, None)[0].items[0]
    row("delivery, every channel off (preferences: 1 Query, nothing queued)",
        lambda n: plan(store, sample))

    # Reads: an inbox of ``--inbox`` notifications, half of them unread.
    big = customer.user_id
    for n in range(args.inbox):
        inbox.add(Notice(big, "comment", f"c-{n}", NOW + n, {"text": "두부 몇 시까지 있나요? " * 3}))
    first_half = [i.notification_id for i in store.inbox(big, args.inbox, None)[0].items][: args.inbox // 2]
    for start in range(0, len(first_half), 99):
        notifications.mark_read(store, big, first_half[start:start + 99], NOW)
    page = notifications.inbox_page(store, big, unread_only=False, limit=20, start_key=None)
    row("inbox page 1 (20 + the count: 1 Query)",
        lambda n: notifications.inbox_page(store, big, unread_only=False, limit=20, start_key=None))
    row("inbox page 2 (Query + count GetItem)",
        lambda n: notifications.inbox_page(store, big, unread_only=False, limit=20, start_key=page.last_key))
    row("unread page (gsi1 Query + count GetItem)",
        lambda n: notifications.inbox_page(store, big, unread_only=True, limit=20, start_key=None))
    row(f"naive unread count: list all {args.inbox} and count", lambda n: naive_count(big), runs=max(5, args.runs // 10))
    unread = [i.notification_id for i in store.unread(big, args.inbox, None).items]
    row("mark one read (BatchGet + 1 transaction + count)",
        lambda n: notifications.mark_read(store, big, [unread[n]], NOW), runs=min(args.runs, len(unread) // 3))
    rest = unread[min(args.runs, len(unread) // 3):]
    pages = [rest[i:i + 20] for i in range(0, len(rest), 20)][:10]
    row("mark a page of 20 read", lambda n: notifications.mark_read(store, big, pages[n], NOW), runs=len(pages))
    return rows


def naive_count(user_id: str) -> int:
    from chalicelib.storage.models.notifications import NotificationItem, inbox_pk

    items = NotificationItem.query(inbox_pk(user_id), NotificationItem.sk.startswith("N#"), consistent_read=True)
    return sum(1 for item in items if not item.read)


def print_table(args, rows) -> None:
    print(f"\n### Notifications — {date.today().isoformat()}, DynamoDB Local (in-memory)\n")
    print("| operation | DynamoDB calls | capacity units | median latency (ms) | runs |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(f"| {row.name} | {row.mean_calls:g} ({row.operations or '—'}) | {row.mean_capacity:.1f} | "
              f"{row.ms:.2f} | {len(row.seconds)} |")
    by_name = {row.name.split(" (")[0]: row for row in rows}
    page = by_name["inbox page 1"]
    naive = next(row for row in rows if row.name.startswith("naive"))
    print(f"\nNaive count of {args.inbox} ÷ inbox page 1: {naive.mean_capacity / page.mean_capacity:.0f}× capacity, "
          f"{naive.ms / page.ms:.0f}× latency — and the inbox page's count is exact at any size.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--inbox", type=int, default=500)
    args = parser.parse_args(argv)

    from devtools.ddblocal import DynamoDBLocal

    local = DynamoDBLocal()
    endpoint = local.start(in_memory=True)
    try:
        local.wait_ready()
        configure(endpoint)
        import logging

        logging.getLogger("dongne").setLevel(logging.WARNING)
        from chalicelib import wiring as deps

        deps.reset()
        import boto3

        from chalicelib.storage.tables import ensure_tables

        settings = deps.container().settings
        ensure_tables(boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint), settings.table_name,
                      settings.feed_table_name)
        owner, shop, customer = build()
        started = time.perf_counter()
        with consumed_capacity():
            rows = measure(args, owner, shop, customer)
        print(f"measured in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    finally:
        local.stop()
    print_table(args, rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
