"""Benchmark: what the main table's stream costs — records written vs records that invoke the function.

    /work/main/.venv/bin/python -m bench.stream_cost

Sixteen everyday actions go through the HTTP API (in process) on an in-memory DynamoDB Local:
follow, post, like, comment, place an order, pay it, ship it, deliver it, review
it, two store-link visits (anonymous and signed in), subscribe, place and cancel a second order,
unlike, unfollow. After each action the
table's stream is read whole (no filter) and every record is classified:

- **records**: what the action wrote to the stream;
- **invoked**: those the event source mapping's ``FilterCriteria`` (``events.stream.filter_criteria``,
  applied with Lambda's matching rules by ``devtools.stream_poller.matches``) lets through — each
  is a record the function is invoked for on AWS;
- **used**: invoked records on which a handler did some work (at least one DynamoDB call while the
  real stream function handled that record alone);
- **skipped_invoked**: invoked records no handler did anything with — waste the filter should
  have dropped. The goal is 0.

And the other way round, **missed**: each dropped record of an entity some handler takes is
shadow-run through that entity's routes (the real handlers, in stream order, when it was read)
with every DynamoDB call counted and every write stopped before it is sent (so the shadow run
cannot change the table, nor what the next action sees); a dropped record on which a handler
made or tried a call is one the filter should have let through. It must be 0 (the command
exits 1 otherwise).

Records the filter drops are not handed to the function (as on AWS); the invoked ones go through
the real ``stream`` function one at a time, in stream order, so what they cause (fan-out chunks,
notifications) is counted with the action that caused it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import configure  # noqa: E402
from bench.subscriptions import Http  # noqa: E402


def run() -> tuple[str, int]:
    from devtools.ddblocal import DynamoDBLocal

    ddb = DynamoDBLocal()
    endpoint = ddb.start(in_memory=True)
    try:
        ddb.wait_ready()
        configure(endpoint, tables="bench-stream", stage="test", argon2_memory_kib="8", argon2_time_cost="1",
                  log_level="WARNING")
        return _measure(endpoint)
    finally:
        ddb.stop()


class Tally:
    """Reads the stream after each action and classifies its records."""

    def __init__(self, endpoint: str) -> None:
        import boto3

        from chalicelib import wiring as deps
        from chalicelib.events.stream import filter_criteria, handle
        from devtools.stream_poller import StreamPoller, matches

        settings = deps.container().settings
        self.patterns = [json.loads(f["Pattern"]) for f in filter_criteria()["Filters"]]
        self.matches = matches
        self.handle = handle
        self.rows: list[tuple[str, int, int, int, Counter]] = []
        self.shadowed = 0
        self.missed: Counter = Counter()
        self.dropped: Counter = Counter()
        self.current: dict[str, Any] = {}
        self.poller = StreamPoller(boto3.client("dynamodb", region_name=settings.region, endpoint_url=endpoint),
                                   boto3.client("dynamodbstreams", region_name=settings.region,
                                                endpoint_url=endpoint),
                                   settings.table_name, self._batch, start_at="TRIM_HORIZON")

    def _batch(self, event: dict, context: Any) -> dict:
        from devtools.callcount import dynamodb_calls

        for record in event["Records"]:
            entity = _entity(record)
            self.current["records"] += 1
            if not any(self.matches(p, record) for p in self.patterns):
                self.current["dropped"][f"{entity} {record['eventName']}"] += 1
                self._shadow(record, f"{entity} {record['eventName']}")
                continue
            self.current["invoked"] += 1
            with dynamodb_calls() as calls:
                answer = self.handle({"Records": [record]}, context)
            if answer["batchItemFailures"]:
                raise RuntimeError(f"the stream function failed on {entity} {record['eventName']}")
            if calls.count:
                self.current["used"] += 1
            else:
                self.current["wasted"][f"{entity} {record['eventName']}"] += 1
        return {"batchItemFailures": []}

    def _shadow(self, record: dict, label: str) -> None:
        """Run a dropped record's routes with DynamoDB writes stopped; count it as missed when a
        handler made (or tried) any DynamoDB call."""
        from chalicelib.events.stream import routes
        from chalicelib.storage.stream import decode
        from devtools.callcount import dynamodb_calls

        change = decode(record)
        if change is None or change.entity not in routes():
            return
        self.shadowed += 1
        with dynamodb_calls() as calls, _writes_stopped():
            try:
                for route in routes()[change.entity]:
                    route(change, None)
            except Exception:  # a stopped write, or a handler failing on the record: either way it acted
                calls.operations.append("(raised)")
        if calls.count:
            self.missed[label] += 1

    def _read_all(self) -> dict[str, Any]:
        """Classify everything the stream holds, until handing it on writes nothing more (fan-out
        chunks, notifications come round again); what was read."""
        self.current = {"records": 0, "invoked": 0, "used": 0, "dropped": Counter(), "wasted": Counter()}
        while self.poller.drain():
            pass
        return self.current

    def action(self, name: str) -> None:
        """Everything the stream holds since the last action is this action's."""
        c = self._read_all()
        self.rows.append((name, c["records"], c["invoked"], c["used"], c["wasted"]))
        self.dropped += c["dropped"]

    def skip(self) -> None:
        """Read past what set-up wrote (accounts, shops, products): not one of the actions."""
        self._read_all()


WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")


class WriteStopped(RuntimeError):
    """A shadow-run handler tried to write: stopped before the request was sent."""


@contextmanager
def _writes_stopped() -> Iterator[None]:
    from devtools.callcount import _clients

    def stop(model, **_: Any) -> None:
        raise WriteStopped(model.name)

    clients = _clients()
    for client in clients:
        for operation in WRITES:
            client.meta.events.register(f"before-call.dynamodb.{operation}", stop, unique_id=f"shadow-{operation}")
    try:
        yield
    finally:
        for client in clients:
            for operation in WRITES:
                client.meta.events.unregister(f"before-call.dynamodb.{operation}", unique_id=f"shadow-{operation}")


def _entity(record: dict) -> str:
    for image in ("NewImage", "OldImage"):
        value = (record["dynamodb"].get(image) or {}).get("entity")
        if value:
            return value.get("S", "?")
    return "(no entity)"


def _measure(endpoint: str) -> tuple[str, int]:
    import boto3
    from chalice.test import Client

    from app import app
    from chalicelib import wiring as deps
    from chalicelib.storage.tables import ensure_tables

    deps.reset()
    settings = deps.container().settings
    ensure_tables(boto3.client("dynamodb", region_name=settings.region, endpoint_url=endpoint),
                  settings.table_name, settings.feed_table_name)
    tally = Tally(endpoint)
    with Client(app) as client:
        http = Http(client)
        owner = http("POST", "/auth/signup", {"name": "박사장", "email": "owner@bench.dongne.kr",
                                               "password": "bench-pass-1"}, expect=201)["token"]
        buyer = http("POST", "/auth/signup", {"name": "김민지", "email": "minji@bench.dongne.kr",
                                               "password": "bench-pass-1"}, expect=201)["token"]
        friend = http("POST", "/auth/signup", {"name": "이지호", "email": "jiho@bench.dongne.kr",
                                                "password": "bench-pass-1"}, expect=201)["token"]
        shop = http("POST", "/shops", {"name": "망원동 두부가게", "handle": "bench_stream"}, token=owner,
                    expect=201)["shop_id"]
        tofu = http("POST", f"/shops/{shop}/products", {"name": "손두부", "price": 4500, "stock": 100, "kind": "essential", "reorder_days": 7},
                    token=owner, expect=201)["product_id"]
        beans = http("POST", f"/shops/{shop}/products", {"name": "원두 200g", "price": 12000, "stock": 100, "kind": "essential",
                                                       "reorder_days": 14},
                     token=owner, expect=201)["product_id"]
        http("PATCH", f"/shops/{shop}", {"referral_reward": {"kind": "percent", "value": 5},
                                          "bank_account": {"bank": "국민은행", "number": "123-45-678901",
                                                           "holder": "박두부"}}, token=owner, expect=200)
        tally.skip()

        http("PUT", f"/shops/{shop}/follow", token=buyer, expect=200)
        tally.action("follow")
        post = http("POST", f"/shops/{shop}/posts", {"text": "새벽에 만든 손두부 #손두부",
                                       "product_ids": [tofu]}, token=owner, expect=201)["post_id"]
        tally.action("post")
        http("PUT", f"/posts/{post}/like", token=buyer, expect=200)
        tally.action("like")
        http("POST", f"/posts/{post}/comments", {"text": "몇 시까지 있나요?"}, token=buyer, expect=201)
        tally.action("comment")
        order = http("POST", "/orders", {"shop_id": shop, "items": [{"product_id": tofu, "quantity": 2}],
                                         "via_post_id": post, "payment_method": "bank_transfer"},
                     token=buyer, headers={"Idempotency-Key": "bench-stream-1"}, expect=201)["order_id"]
        tally.action("order placed")
        for status in ("paid", "shipped", "delivered"):
            http("POST", f"/orders/{order}/status", {"status": status}, token=owner, expect=200)
            tally.action(f"order {status}")
        http("POST", f"/orders/{order}/review", {"rating": 5, "text": "고소해요"}, token=buyer, expect=201)
        tally.action("review")
        links = http("GET", "/me/store-links", token=buyer, expect=200)["items"]
        code = links[0]["code"]
        http("POST", f"/store-links/{code}/visits", expect=200)
        tally.action("store-link visit")
        http("POST", f"/store-links/{code}/visits", token=friend, expect=200)
        tally.action("store-link visit (signed in)")
        http("POST", "/subscriptions", {"shop_id": shop, "items": [{"product_id": beans, "quantity": 1}],
                                        "every_days": 14}, token=buyer,
             headers={"Idempotency-Key": "bench-stream-sub"}, expect=201)
        tally.action("subscribe")
        second = http("POST", "/orders", {"shop_id": shop, "items": [{"product_id": tofu, "quantity": 1}],
                                          "payment_method": "bank_transfer"},
                      token=buyer, headers={"Idempotency-Key": "bench-stream-2"}, expect=201)["order_id"]
        tally.action("second order placed")
        http("POST", f"/orders/{second}/status", {"status": "cancelled"}, token=owner, expect=200)
        tally.action("order cancelled")
        http("DELETE", f"/posts/{post}/like", token=buyer, expect=204)
        tally.action("unlike")
        http("DELETE", f"/shops/{shop}/follow", token=buyer, expect=204)
        tally.action("unfollow")
    return report(tally), sum(tally.missed.values())


def report(tally: Tally) -> str:
    print(f"{'action':32} {'records':>8} {'invoked':>8} {'used':>5}  wasted (entity event)")
    for name, records, invoked, used, wasted in tally.rows:
        print(f"{name:32} {records:8} {invoked:8} {used:5}  {', '.join(f'{k} ×{v}' for k, v in wasted.items())}")
    records = sum(r[1] for r in tally.rows)
    invoked = sum(r[2] for r in tally.rows)
    used = sum(r[3] for r in tally.rows)
    print(f"dropped by the filter: {', '.join(f'{k} ×{v}' for k, v in sorted(tally.dropped.items()))}")
    print(f"{len(tally.rows)} actions: {records} records, {invoked} invoke the function "
          f"({invoked / max(records, 1):.0%}), {used} used")
    missed = sum(tally.missed.values())
    print(f"shadow run of the {tally.shadowed} dropped records of routed entities (writes stopped): missed={missed}"
          + (f" ({', '.join(f'{k} ×{v}' for k, v in sorted(tally.missed.items()))})" if missed else ""))
    return f"stream_cost records={records} invoked={invoked} used={used} skipped_invoked={invoked - used}"


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    line, missed = run()
    print(line)
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
