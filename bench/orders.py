"""Benchmark: placing an order on DynamoDB Local, side by side with its floor.

    /work/main/.venv/bin/python -m bench.orders [--orders 200] [--threads 16] [--seconds 6] [--expire 100]

One run, one in-memory DynamoDB Local, everything measured together:

1. **Calls and capacity on the order path**: the DynamoDB operations one ``POST /orders``
   sends (counted on botocore's events) on a cold container (empty catalogue cache) and on a
   warm one, and the capacity DynamoDB Local reports with ``ReturnConsumedCapacity=TOTAL``,
   next to what DynamoDB's pricing rules say the same items cost. DynamoDB Local's figures for
   transactions are not DynamoDB's: it prices a transaction by its total size (a transaction
   of three tiny items reports 2 WCU where DynamoDB charges 6), reports the same figure again
   for a replayed ClientRequestToken (DynamoDB reports read units) and nothing for a cancelled
   transaction. Reads are reported as DynamoDB would (0.5 RCU per eventually consistent item).
2. **Latency**: ``POST /orders`` through the whole app in-process (HTTP edge, validation,
   service, storage, response), warm and cold, against a bare ``TransactWriteItems`` sending
   the very request the app sends (captured from it; fresh order id, key and token each
   time), and against the floor of the cold path (a bare BatchGetItem of the same keys, then
   that bare transaction); all interleaved so every series sees the same machine. The budget
   is ≤ 1.5× the bare transaction; baskets of 1, 3 and 10 lines. The same again for an order
   **through a store link** (the shop pays a 5% reward): the app's warm path against a bare
   ``TransactWriteItems`` of that order's own items (the link's counters, the pending ledger
   entry, the owner's totals, the reward-setting check and the remembered-link item added).
3. **Throughput** of concurrent orders (threads calling the order service): every thread
   buying its own product versus all threads buying one hot product.
4. **Checkout** against an in-process PortOne stand-in (``devtools.portone_standin``, reached
   through the SDK as in production): the DynamoDB calls of placing a card order (delivery)
   and a bank-transfer order (pickup) warm, with the PortOne calls each makes; of confirming a
   paid card payment (``POST /orders/{id}/payment`` and the webhook, and the service alone) with
   its PortOne calls; and of the expiry job per expired order (``--expire`` unpaid orders, the
   clock moved past their deadline, one run).

Prints a markdown table with the ratios, headed with today's date (from the app's clock).
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from bench.common import configure

BASKET = 3  # lines in the order whose calls and capacity are shown: a typical neighbourhood basket
LATENCY_BASKETS = (1, 3, 10)


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


@contextmanager
def consumed_capacity():
    """Ask every DynamoDB call for ReturnConsumedCapacity=TOTAL and collect what comes back."""
    from devtools.callcount import _clients

    seen: list[tuple[str, float]] = []

    def ask(params, model, **_):
        if model.name in ("GetItem", "BatchGetItem", "Query", "PutItem", "UpdateItem", "TransactWriteItems"):
            params["ReturnConsumedCapacity"] = "TOTAL"

    def read(parsed, model, **_):
        consumed = parsed.get("ConsumedCapacity")
        entries = consumed if isinstance(consumed, list) else ([consumed] if consumed else [])
        seen.append((model.name, sum(float(e.get("CapacityUnits") or 0) for e in entries)))

    clients = _clients()
    for c in clients:
        c.meta.events.register("provide-client-params.dynamodb.*", ask, unique_id="bench-ask")
        c.meta.events.register("after-call.dynamodb.*", read, unique_id="bench-read")
    try:
        yield seen
    finally:
        for c in clients:
            c.meta.events.unregister("provide-client-params.dynamodb.*", unique_id="bench-ask")
            c.meta.events.unregister("after-call.dynamodb.*", unique_id="bench-read")


@contextmanager
def captured_transaction():
    """The TransactWriteItems request the app sends, as sent (every parameter)."""
    from devtools.callcount import _clients

    box: dict[str, Any] = {}

    def grab(params, model, **_):
        if model.name == "TransactWriteItems":
            box["params"] = json.loads(json.dumps(params))
            box["items"] = box["params"]["TransactItems"]

    clients = _clients()
    for c in clients:
        c.meta.events.register("provide-client-params.dynamodb.TransactWriteItems", grab, unique_id="bench-grab")
    try:
        yield box
    finally:
        for c in clients:
            c.meta.events.unregister("provide-client-params.dynamodb.TransactWriteItems", unique_id="bench-grab")


def item_size(attrs: dict) -> int:
    """An item's size by DynamoDB's rules: attribute names plus values (UTF-8 strings, numbers
    at about one byte per two digits plus one, 3 bytes plus one per element for lists and maps)."""
    def value_size(value: dict) -> int:
        (kind, inner), = value.items()
        if kind == "S":
            return len(inner.encode())
        if kind == "N":
            digits = inner.lstrip("-").replace(".", "").strip("0") or "0"
            return (len(digits) + 1) // 2 + 1
        if kind in ("BOOL", "NULL"):
            return 1
        if kind == "L":
            return 3 + sum(1 + value_size(v) for v in inner)
        if kind == "M":
            return 3 + sum(1 + len(k.encode()) + value_size(v) for k, v in inner.items())
        return len(str(inner))
    return sum(len(name.encode()) + value_size(value) for name, value in attrs.items())


def pricing_rule_capacity(items: list[dict], stored: dict[str, int]) -> tuple[float, int]:
    """(RCU of the eventually consistent BatchGetItem, WCU of the transaction) by DynamoDB's rules:
    an eventually consistent read is 0.5 RCU per 4 KB per item; a transactional write is 2 WCU per
    1 KB of the larger of the item before and after, per item. ``stored`` has the sizes of the
    items the updates touch; an item it does not know (a condition check or delete of an absent
    item) is counted as 1 KB, and condition checks are counted like writes."""
    wcu = 0
    for entry in items:
        (kind, op), = entry.items()
        size = item_size(op["Item"]) if kind == "Put" else stored.get(op["Key"]["pk"]["S"], 0)
        wcu += 2 * max(1, -(-size // 1024))
    return 0.5 * (1 + BASKET), wcu


def order_id_of(items: list[dict]) -> str:
    """The order id in a captured placing transaction (condition checks come first)."""
    return next(i["Put"]["Item"]["order_id"]["S"] for i in items
                if "Put" in i and i["Put"]["Item"].get("entity", {}).get("S") == "order")


def entry_ids_of(items: list[dict]) -> list[str]:
    return [i["Put"]["Item"]["entry_id"]["S"] for i in items
            if "Put" in i and i["Put"]["Item"].get("entity", {}).get("S") == "reward_entry"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(orders: int, threads: int, seconds: float, expire: int = 100) -> str:
    from devtools.ddblocal import DynamoDBLocal
    from devtools.portone_standin import PortOneStandIn

    ddb = DynamoDBLocal()
    endpoint = ddb.start(in_memory=True)
    try:
        ddb.wait_ready()
        with PortOneStandIn() as standin:
            # The checkout section places more card orders than a buyer may in a minute, and
            # confirms them one after another: the limits are not what is measured.
            configure(endpoint, tables="bench-orders", stage="test", argon2_memory_kib="8", argon2_time_cost="1",
                      portone_base_url=standin.url, rate_order="100000/1m", rate_payment="100000/1m")
            print("(for this run the order and payment rate limits are raised to 100,000 a minute: a buyer may "
                  "place 10 orders a minute, and the limits are not what is measured)", flush=True)
            return _measure(endpoint, orders, threads, seconds, standin, expire)
    finally:
        ddb.stop()


def _measure(endpoint: str, n_orders: int, n_threads: int, seconds: float, standin: Any = None,
             n_expire: int = 100) -> str:
    import boto3
    from chalice.test import Client

    from app import app
    from chalicelib import clock
    from chalicelib import wiring as deps
    from chalicelib.services import orders as order_service
    from chalicelib.services import store_links
    from chalicelib.storage.tables import ensure_tables
    from devtools.callcount import dynamodb_calls

    deps.reset()
    settings = deps.container().settings
    raw = boto3.client("dynamodb", region_name=settings.region, endpoint_url=endpoint)
    ensure_tables(raw, settings.table_name, settings.feed_table_name)
    rows: list[tuple[str, str, str, str]] = []

    with Client(app) as client:
        http = Http(client)
        owner = http("POST", "/auth/signup", {"name": "박두부", "email": "bench-owner@dongne.kr",
                                               "password": "bench-pass-1"}, expect=201)
        shop = http("POST", "/shops", {"name": "벤치 두부가게", "handle": "bench_tofu"}, token=owner["token"],
                    expect=201)
        buyer = http("POST", "/auth/signup", {"name": "김민지", "email": "bench-buyer@dongne.kr",
                                               "password": "bench-pass-1"}, expect=201)
        # A customer whose store link the buyer's link orders go through; the shop pays 5%. (The
        # link is issued as the order stream's handler issues it, without a stream here.)
        referrer = http("POST", "/auth/signup", {"name": "최서연", "email": "bench-referrer@dongne.kr",
                                                  "password": "bench-pass-1"}, expect=201)
        http("PATCH", f"/shops/{shop['shop_id']}", {"referral_reward": {"kind": "percent", "value": 5}},
             token=owner["token"], expect=200)
        c = deps.container()
        code = store_links.ensure_link(c.store_links, c.accounts, referrer["user"]["user_id"], shop["shop_id"],
                                       shop["name"], [], clock.now()).code

        def product(name: str, stock: int = 1_000_000) -> str:
            body = {"name": name, "price": 4500, "stock": stock, "kind": "essential", "reorder_days": 7,
                    "description": "국산콩 100%, 매일 새벽에 만드는 손두부."}
            return http("POST", f"/shops/{shop['shop_id']}/products", body, token=owner["token"],
                        expect=201)["product_id"]

        def orderer(basket: list[str], link: str | None = None):
            body = {"shop_id": shop["shop_id"], "items": [{"product_id": p, "quantity": 1} for p in basket]}
            if link:
                body["via_store_link"] = link
            return lambda key: http("POST", "/orders", body, token=buyer["token"],
                                    headers={"Idempotency-Key": key}, expect=201)

        # 1. calls and capacity of one order: on a cold container (the catalogue cache empty)
        # and on a warm one (the same basket ordered before).
        cache = deps.container().orders.cache
        basket = [product(f"손두부 {i}") for i in range(BASKET)]
        place = orderer(basket)
        place(str(uuid.uuid4()))
        cache.clear()
        with dynamodb_calls() as calls, consumed_capacity() as capacity:
            place(str(uuid.uuid4()))
        with dynamodb_calls() as warm_calls:
            place(str(uuid.uuid4()))
        by_op = {name: units for name, units in capacity}
        with captured_transaction() as tx:
            place(str(uuid.uuid4()))
        stored = {}
        for pid in basket:
            item = raw.get_item(TableName=settings.table_name,
                                Key={"pk": {"S": f"PRODUCT#{pid}"}, "sk": {"S": "PRODUCT"}})["Item"]
            stored[f"PRODUCT#{pid}"] = item_size(item)
        rcu_rule, wcu_rule = pricing_rule_capacity(tx["items"], stored)
        through = orderer(basket, code)
        through(str(uuid.uuid4()))
        cache.clear()
        with dynamodb_calls() as link_cold:
            through(str(uuid.uuid4()))
        with dynamodb_calls() as link_warm:
            through(str(uuid.uuid4()))
        with captured_transaction() as link_tx:
            through(str(uuid.uuid4()))
        link_stored = {**stored, f"LINK#{code}": item_size(raw.get_item(
            TableName=settings.table_name, Key={"pk": {"S": f"LINK#{code}"}, "sk": {"S": "LINK"}})["Item"]),
            f"SHOP#{shop['shop_id']}": item_size(raw.get_item(
                TableName=settings.table_name,
                Key={"pk": {"S": f"SHOP#{shop['shop_id']}"}, "sk": {"S": "PROFILE"}})["Item"])}
        _, link_wcu = pricing_rule_capacity(link_tx["items"], link_stored)
        rows += [
            ("DynamoDB calls per order, cold container", " + ".join(calls.operations), f"{calls.count}",
             "budget: 1 read + 1 TransactWriteItems"),
            ("DynamoDB calls per order, warm container", " + ".join(warm_calls.operations), f"{warm_calls.count}",
             "shop and products cached, checked by the transaction"),
            (f"capacity reported by DynamoDB Local ({BASKET} lines)", f"BatchGetItem {by_op.get('BatchGetItem', 0):g} "
             f"RCU + TransactWriteItems {by_op.get('TransactWriteItems', 0):g} WCU", "",
             "ReturnConsumedCapacity=TOTAL"),
            ("capacity by DynamoDB's pricing rules", f"{rcu_rule:g} RCU + {wcu_rule} WCU", "",
             f"{len(tx['items'])} transaction items: order, idempotency record, {BASKET} stock updates, "
             "the remembered-link check"),
            ("DynamoDB calls per order through a store link, cold container", " + ".join(link_cold.operations),
             f"{link_cold.count}", "the link is read in the same BatchGetItem as the products"),
            ("DynamoDB calls per order through a store link, warm container", " + ".join(link_warm.operations),
             f"{link_warm.count}", "budget: still 1 TransactWriteItems"),
            ("capacity of that order by DynamoDB's pricing rules", f"{rcu_rule + 0.5:g} RCU + {link_wcu} WCU", "",
             f"{len(link_tx['items'])} transaction items: + shop reward check, link counters, ledger entry, "
             "owner's totals, remembered link dropped"),
        ]

        # 2. latency per basket size, interleaved: the app's order path; a bare
        # TransactWriteItems of the same request (captured from the app, fresh order id, key
        # and token each time); and the floor of the path, a bare BatchGetItem of the same keys
        # followed by that bare transaction.
        for size in LATENCY_BASKETS:
            lines = [product(f"장바구니 {size}-{i}") for i in range(size)]
            place = orderer(lines)
            with captured_transaction() as tx:
                key = str(uuid.uuid4())
                place(key)
            template_text = json.dumps(tx["params"], ensure_ascii=False)
            placed_order_id = order_id_of(tx["items"])
            through = orderer(lines, code)
            with captured_transaction() as link_tx:
                link_key = str(uuid.uuid4())
                through(link_key)
            link_text = json.dumps(link_tx["params"], ensure_ascii=False)
            link_ids = [order_id_of(link_tx["items"]), *entry_ids_of(link_tx["items"])]
            read_keys = [{"pk": {"S": f"SHOP#{shop['shop_id']}"}, "sk": {"S": "PROFILE"}}] + [
                {"pk": {"S": f"PRODUCT#{pid}"}, "sk": {"S": "PRODUCT"}} for pid in lines]

            def bare_write(text=template_text, order_id=placed_order_id, used=key, fresh=()) -> None:
                text = text.replace(order_id, uuid.uuid4().hex[:26].upper()).replace(used, str(uuid.uuid4()))
                for old in fresh:  # the ledger entry's id
                    text = text.replace(old, uuid.uuid4().hex[:26].upper())
                params = json.loads(text)
                if "ClientRequestToken" in params:
                    params["ClientRequestToken"] = uuid.uuid4().hex
                raw.transact_write_items(**params)

            def bare_link_write(text=link_text, ids=link_ids, used=link_key) -> None:
                bare_write(text, ids[0], used, tuple(ids[1:]))

            def floor(keys=read_keys, write=bare_write) -> None:
                raw.batch_get_item(RequestItems={settings.table_name: {"Keys": keys}})
                write()

            def cold(p=place) -> None:
                p(str(uuid.uuid4()))

            series: dict[str, list[float]] = {"app": [], "cold": [], "bare": [], "floor": [], "link": [],
                                              "link_bare": []}
            runs = {"app": lambda p=place: p(str(uuid.uuid4())), "cold": cold, "bare": bare_write, "floor": floor,
                    "link": lambda p=through: p(str(uuid.uuid4())), "link_bare": bare_link_write}
            warmup = 40
            for i in range(n_orders + warmup):
                for name in (list(runs) if i % 2 else list(runs)[::-1]):
                    if name == "cold":
                        cache.clear()  # every cold order reads the shop and products
                    started = time.perf_counter()
                    runs[name]()
                    if i >= warmup:
                        series[name].append((time.perf_counter() - started) * 1000)
            p50 = {name: statistics.median(values) for name, values in series.items()}
            p95 = {name: percentile(values, .95) for name, values in series.items()}
            label = f"{size} line{'s' if size > 1 else ''}"
            rows += [
                (f"order latency, {label}, warm, p50 (n={n_orders})",
                 f"POST /orders {p50['app']:.2f} ms vs bare TransactWriteItems {p50['bare']:.2f} ms",
                 f"{p50['app'] / p50['bare']:.2f}×", "budget ≤ 1.5×"),
                (f"order latency, {label}, warm, p95",
                 f"{p95['app']:.2f} ms vs {p95['bare']:.2f} ms", f"{p95['app'] / p95['bare']:.2f}×", ""),
                (f"order latency, {label}, cold, p50",
                 f"POST /orders {p50['cold']:.2f} ms vs bare TransactWriteItems {p50['bare']:.2f} ms",
                 f"{p50['cold'] / p50['bare']:.2f}×", "with the read: see the floor"),
                (f"floor of the cold path, {label}, p50",
                 f"bare BatchGetItem + TransactWriteItems {p50['floor']:.2f} ms vs bare TransactWriteItems",
                 f"{p50['floor'] / p50['bare']:.2f}×", f"cold POST /orders is {p50['cold'] / p50['floor']:.2f}× this"),
                (f"order through a store link, {label}, warm, p50",
                 f"POST /orders {p50['link']:.2f} ms vs bare TransactWriteItems of its {len(link_tx['items'])} "
                 f"items {p50['link_bare']:.2f} ms", f"{p50['link'] / p50['link_bare']:.2f}×", "budget ≤ 1.5×"),
                (f"order through a store link, {label}, warm, p95",
                 f"{p95['link']:.2f} ms vs {p95['link_bare']:.2f} ms", f"{p95['link'] / p95['link_bare']:.2f}×",
                 f"the link's items cost {p50['link_bare'] / p50['bare']:.2f}× the plain bare transaction"),
            ]

    # 3. throughput: concurrent orders, distinct products vs one hot product.
    container = deps.container()
    hot = product("핫딜 두부")
    distinct = [product(f"동네 두부 {i}") for i in range(n_threads)]

    def throughput(pick) -> tuple[float, int, int, int]:
        done, failed = [0] * n_threads, [0] * n_threads
        deadline = [0.0]
        barrier = threading.Barrier(n_threads + 1)

        def worker(i: int) -> None:
            barrier.wait()
            while time.perf_counter() < deadline[0]:
                try:
                    order_service.place_order(container.orders, buyer["user"]["user_id"], shop_id=shop["shop_id"],
                                              lines=[(pick(i), 1)], via_post_id=None, key=str(uuid.uuid4()),
                                              now=time.time())
                    done[i] += 1
                except Exception:  # noqa: BLE001 — counted (a 503 after retries would land here)
                    failed[i] += 1

        workers = [threading.Thread(target=worker, args=(i,)) for i in range(n_threads)]
        for w in workers:
            w.start()
        with dynamodb_calls() as counted:
            deadline[0] = time.perf_counter() + seconds
            started = time.perf_counter()
            barrier.wait()
            for w in workers:
                w.join()
            elapsed = time.perf_counter() - started
        transactions = counted.by_operation()["TransactWriteItems"]
        return sum(done) / elapsed, sum(done), sum(failed), transactions - sum(done) - sum(failed)

    spread = throughput(lambda i: distinct[i])
    hot_run = throughput(lambda i: hot)
    remaining = container.products.get_product(hot).stock
    rows += [
        (f"throughput, {n_threads} threads, distinct products",
         f"{spread[0]:.0f} orders/s ({spread[1]} orders, {spread[2]} failed, {spread[3]} retried)", "1.00×", ""),
        (f"throughput, {n_threads} threads, one hot product",
         f"{hot_run[0]:.0f} orders/s ({hot_run[1]} orders, {hot_run[2]} failed, {hot_run[3]} retried)",
         f"{hot_run[0] / spread[0]:.2f}×", f"sold + left = initial: {1_000_000 - remaining == hot_run[1]}"),
    ]
    if standin is not None:
        with Client(app) as client:
            rows += _checkout(Http(client), standin, n_expire)
    from chalicelib import clock

    today = datetime.fromtimestamp(clock.now(), UTC).date().isoformat()
    lines = [f"### Orders on DynamoDB Local, {today}", "", "| measure | figures | ratio | notes |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return "\n".join(lines)


def _checkout(http: Http, standin: Any, n_expire: int) -> list[tuple[str, str, str, str]]:
    """Section 4: the DynamoDB and PortOne calls of placing, confirming and expiring."""
    import urllib.request

    from chalicelib import clock
    from chalicelib import wiring as deps
    from chalicelib.services import checkout
    from devtools.callcount import dynamodb_calls
    from devtools.portone_standin import signed_headers

    owner = http("POST", "/auth/signup", {"name": "이반찬", "email": "bench-checkout-owner@dongne.kr",
                                           "password": "bench-pass-1"}, expect=201)
    shop = http("POST", "/shops", {"name": "벤치 반찬가게", "handle": "bench_banchan"}, token=owner["token"],
                expect=201)
    http("PATCH", f"/shops/{shop['shop_id']}", {
        "fulfilment": {"delivery": {"fee": 3000, "free_over": 30000},
                       "pickup": {"address": "서울 마포구 망원로 1", "hours": "10:00-19:00"}},
        "bank_account": {"bank": "국민은행", "number": "123-45-6789", "holder": "이반찬"}},
        token=owner["token"], expect=200)
    buyer = http("POST", "/auth/signup", {"name": "김민지", "email": "bench-checkout-buyer@dongne.kr",
                                           "password": "bench-pass-1"}, expect=201)
    address = http("POST", "/me/addresses", {"label": "집", "recipient": "김민지", "phone": "010-1234-5678",
                                             "postal_code": "04001", "address1": "서울 마포구 망원로 10",
                                             "address2": "101호"}, token=buyer["token"], expect=201)
    body = {"name": "멸치볶음", "price": 6000, "stock": 1_000_000, "kind": "essential", "reorder_days": 7}
    basket = [http("POST", f"/shops/{shop['shop_id']}/products", {**body, "name": f"반찬 {i}"},
                   token=owner["token"], expect=201)["product_id"] for i in range(BASKET)]
    delivery = {"method": "delivery", "address": {"recipient": "김민지", "phone": "010-1234-5678",
                                                  "postal_code": "04001", "address1": "서울 마포구 망원로 10"}}
    kinds = {
        "card, delivery to an address given": ("card", delivery),
        "card, delivery to a saved address": ("card", {"method": "delivery", "address_id": address["address_id"]}),
        "bank transfer, pickup": ("bank_transfer", {"method": "pickup"}),
    }

    def place(method: str, fulfilment: dict) -> dict:
        return http("POST", "/orders", {"shop_id": shop["shop_id"], "payment_method": method,
                                        "fulfilment": fulfilment,
                                        "items": [{"product_id": p, "quantity": 1} for p in basket]},
                    token=buyer["token"], headers={"Idempotency-Key": str(uuid.uuid4())}, expect=201)

    def portone_calls() -> int:
        with standin._lock:
            return sum(standin.calls.values())

    def pay(order: dict) -> None:
        request = urllib.request.Request(f"{standin.url}/__dev/payments/{order['payment']['payment_id']}/pay",
                                         data=b"{}", method="POST", headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=15) as response:
            assert response.status == 200

    rows: list[tuple[str, str, str, str]] = []
    for label, (method, fulfilment) in kinds.items():
        place(method, fulfilment)  # warms the catalogue cache (the shop and the products)
        before = portone_calls()
        with dynamodb_calls() as calls:
            order = place(method, fulfilment)
        assert order["payment"]["method"] == method
        rows.append((f"DynamoDB calls per order, warm container, {label}", " + ".join(calls.operations),
                     f"{calls.count}", (f"+ {portone_calls() - before} PortOne call (the card amount "
                                        "pre-registered)") if method == "card" else "no PortOne call"))

    # Confirming: the buyer's POST /orders/{id}/payment, PortOne's webhook, and the service alone.
    method, fulfilment = kinds["card, delivery to an address given"]

    def paid_order() -> dict:
        order = place(method, fulfilment)
        pay(order)
        return order

    def confirm_route(order: dict) -> None:
        answer = http("POST", f"/orders/{order['order_id']}/payment",
                      {"payment_id": order["payment"]["payment_id"]}, token=buyer["token"], expect=200)
        assert answer["status"] == "paid"

    def confirm_webhook(order: dict) -> None:
        webhook_id, sent = standin._events[order["payment"]["payment_id"]]
        answer = http.client.http.request("POST", "/webhooks/portone", body=sent,
                                          headers={"Content-Type": "application/json",
                                                   **signed_headers(standin.webhook_secret, sent,
                                                                    webhook_id=webhook_id)})
        assert answer.status_code == 200 and json.loads(answer.body)["outcome"] == "paid", answer.body

    def confirm_service(order: dict) -> None:
        c = deps.container()
        checkout.confirm_payment(c.checkout, c.payments, order["order_id"], order["payment"]["payment_id"],
                                 time.time(), buyer_id=buyer["user"]["user_id"])

    confirm_route(paid_order())  # warm
    for label, confirm, note in (
            ("POST /orders/{id}/payment", confirm_route, "the request: token check, rate limit, then the service"),
            ("PortOne's webhook", confirm_webhook, "the request: rate limit per address, then the service"),
            ("the service alone (confirm_payment)", confirm_service, "budget: ≤ 2 DynamoDB calls + 1 PortOne call")):
        order = paid_order()
        before = portone_calls()
        with standin._lock:
            seen = Counter(standin.calls)
        with dynamodb_calls() as calls:
            confirm(order)
        with standin._lock:
            asked = Counter(standin.calls) - seen
        sent = ", ".join(f"{n} {name}" for name, n in sorted(asked.items()))
        rows.append((f"confirming a paid card payment, {label}",
                     f"{' + '.join(calls.operations)} + PortOne: {sent}",
                     f"{calls.count} + {portone_calls() - before}", note))

    # The expiry job: n unpaid card orders, the clock past their deadline, one run.
    c = deps.container()
    # First what the sections above left due (their unpaid card orders, their paid orders' due
    # items), so the measured run expires exactly this section's orders.
    checkout.run_deadlines(c.checkout, c.payments, time.time() + checkout.CARD_DEADLINE_SECONDS + 1)
    pending = [place(method, fulfilment) for _ in range(n_expire)]
    at = time.time() + checkout.CARD_DEADLINE_SECONDS + 60
    previous = clock.set_source(lambda: at)
    try:
        with dynamodb_calls() as empty:  # nothing of it due yet: the job's fixed cost, its day buckets read
            checkout.run_deadlines(c.checkout, c.payments, time.time())
        before = portone_calls()
        with dynamodb_calls() as calls:
            report = checkout.run_deadlines(c.checkout, c.payments, at)
    finally:
        clock.set_source(previous)
    assert report.expired == len(pending) and report.dropped == 0, report
    ops = calls.by_operation()
    pages = ops.get("Query", 0) - empty.count  # the due list's further pages (DUE_PAGE items each)
    per_order = (calls.count - empty.count - pages) / report.expired
    rows += [
        (f"expiry job, {report.expired} unpaid orders expired in one run",
         ", ".join(f"{n} {op}" for op, n in sorted(ops.items())), f"{calls.count}",
         (f"{portone_calls() - before} PortOne calls; {empty.count} Query of them read the day buckets "
          "(expire, deliver, refund × 9 days), as a run with nothing due does, and "
          f"{pages} more the next page of a bucket that filled one")),
        ("expiry job, DynamoDB calls per expired order", (f"{per_order:g} (GetItem of the order + one "
                                                           "TransactWriteItems: status, stock back, due item gone)"),
         f"{calls.count / report.expired:.2f}",
         "per order with the bucket reads spread over the run"),
    ]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=200, help="orders per latency series")
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=6.0, help="length of each throughput run")
    parser.add_argument("--expire", type=int, default=100, help="unpaid orders the expiry job expires")
    args = parser.parse_args()
    import logging

    logging.disable(logging.INFO)  # the app logs every request; the table is the output
    started = time.perf_counter()
    table = run(args.orders, args.threads, args.seconds, args.expire)
    print(table)
    print(f"\n(DynamoDB Local in memory, {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
