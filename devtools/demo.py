"""Demo data for `make run`: neighbourhood shops, their owners and customers.

Loaded through the real HTTP API in-process (``chalice.test.Client``), so demo data obeys
every rule real data does. Its story is told relative to the day it is loaded; a marker item
records that day, and ``devtools.demo_refresh`` loads it again on a later start once the
story would no longer hold (``prepare``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
from dataclasses import dataclass, field
from typing import Any

PASSWORD = "dongne1234"
SEED_VERSION = "v1"

OWNERS = [
    {"name": "박두부", "email": "tofu@dongne.kr", "shop": {
        "name": "망원동 두부가게", "handle": "mangwon_tofu", "region": "서울 마포구 망원동",
        "bio": "매일 새벽 직접 만드는 손두부와 콩물. 두부는 당일 판매가 원칙입니다."}},
    {"name": "이꽃님", "email": "flowers@dongne.kr", "shop": {
        "name": "연남 꽃집 오늘", "handle": "yeonnam_flowers", "region": "서울 마포구 연남동",
        "bio": "오늘 들어온 꽃으로 만드는 작은 다발. 동네 배달 가능해요."}},
    {"name": "정로스터", "email": "coffee@dongne.kr", "shop": {
        "name": "성수 커피로스터스", "handle": "seongsu_roasters", "region": "서울 성동구 성수동",
        "bio": "매주 화요일 로스팅. 원두는 200g 단위로 소분합니다."}},
]
CUSTOMERS = [
    {"name": "김민지", "email": "minji@dongne.kr"},
    {"name": "최서연", "email": "seoyeon@dongne.kr"},
    {"name": "한지호", "email": "jiho@dongne.kr"},
    {"name": "박하늘", "email": "haneul@dongne.kr"},  # follows the tofu shop, nothing more there yet
    {"name": "윤다온", "email": "daon@dongne.kr"},  # Minji's friend: buys through Minji's store link
]


# Each demo shop's products (step 3). Essentials carry how many days one purchase lasts.
PRODUCTS = {
    "mangwon_tofu": [
        {"name": "손두부 (500g)", "price": 4500, "stock": 40, "kind": "essential", "reorder_days": 7,
         "description": "국산콩 100%, 매일 새벽 4시에 만드는 손두부."},
        {"name": "콩물 (1L)", "price": 6000, "stock": 20, "kind": "essential", "reorder_days": 3,
         "description": "여름 한정 진한 콩물. 냉장 3일."},
        {"name": "순두부 (400g)", "price": 3500, "stock": 25, "kind": "essential", "reorder_days": 5},
        {"name": "들기름 (350ml)", "price": 18000, "stock": 8, "kind": "treat",
         "description": "저온 압착 들기름, 선물용 포장 가능."},
    ],
    "yeonnam_flowers": [
        {"name": "오늘의 꽃다발 (S)", "price": 25000, "stock": 6, "kind": "treat",
         "description": "그날 들어온 꽃으로 만드는 작은 다발."},
        {"name": "계절 꽃 한 단", "price": 15000, "stock": 10, "kind": "treat"},
        {"name": "유칼립투스 화병 리필", "price": 9000, "stock": 12, "kind": "essential", "reorder_days": 14,
         "description": "2주마다 바꿔 주면 좋아요."},
    ],
    "seongsu_roasters": [
        {"name": "원두 200g (하우스 블렌드)", "price": 14000, "stock": 45, "kind": "essential", "reorder_days": 14,
         "description": "매주 화요일 로스팅. 고소하고 단맛이 좋은 블렌드."},
        {"name": "원두 200g (에티오피아 예가체프)", "price": 17000, "stock": 30, "kind": "essential",
         "reorder_days": 14},
        {"name": "드립백 10개입", "price": 12000, "stock": 20, "kind": "essential", "reorder_days": 10},
        {"name": "성수 머그컵", "price": 22000, "stock": 5, "kind": "treat"},
    ],
}


@dataclass
class Demo:
    tokens: dict[str, str] = field(default_factory=dict)  # email -> token
    shops: dict[str, dict] = field(default_factory=dict)  # handle -> shop
    products: dict[str, list[dict]] = field(default_factory=dict)  # handle -> products
    orders: list[dict] = field(default_factory=list)
    posts: dict[str, list[dict]] = field(default_factory=dict)  # handle -> posts, oldest first
    links: dict[tuple[str, str], str] = field(default_factory=dict)  # (email, handle) -> store-link code
    week_posts: list[dict] = field(default_factory=list)  # the roaster's weekly posts (ROASTER_WEEKS), oldest first


class Caller:
    """Calls the app in-process and fails loudly on an unexpected answer."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def __call__(self, method: str, path: str, body: Any = None, token: str | None = None,
                 expect: tuple[int, ...] = (200, 201, 204), headers: dict | None = None) -> Any:
        h = {"Content-Type": "application/json", **(headers or {})}
        if token:
            h["Authorization"] = f"Bearer {token}"
        response = self.client.http.request(method, path, headers=h,
                                            body=json.dumps(body, ensure_ascii=False) if body is not None else b"")
        if response.status_code not in expect:
            raise RuntimeError(f"{method} {path} -> {response.status_code}: {response.body[:500]!r}")
        return json.loads(response.body) if response.body else None

    def text(self, path: str, token: str | None = None) -> str:
        """A GET answered with text (a CSV file), as its UTF-8 text (a byte order mark kept)."""
        response = self.client.http.request("GET", path, headers={"Authorization": f"Bearer {token}"} if token else {})
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} -> {response.status_code}: {response.body[:500]!r}")
        return response.body.decode("utf-8")


def until_done(job: Callable[[], Any], runs: int = 50) -> Any:
    """Run a scheduled job until it finishes its due work: on a busy machine a run can stop at its
    time budget and leave the rest due, which the schedule's next run would take."""
    report = job()
    for _ in range(runs):
        if not getattr(report, "stopped_early", False):
            return report
        report = job()
    raise RuntimeError(f"{getattr(job, '__name__', job)} did not finish its due work in {runs} runs")


def login(call: Caller, email: str) -> dict:
    return call("POST", "/auth/login", {"email": email, "password": PASSWORD})


def seed(call: Caller, settle: Callable[[], Any] | None = None) -> Demo:
    """Create the demo accounts and shops and their activity, spread over the past weeks
    (``story_timeline``): the stream handlers see each thing at the time it happened.

    The story's timeline runs the stream handlers itself whenever it needs them caught up
    (store links are issued from the order stream); ``settle`` is called once at the end, so a
    caller's own stream reader (a test's) catches up too."""
    demo = Demo()
    with portone_standin(), story_timeline(call) as (timed, timeline):
        for owner in OWNERS:
            session = timed("POST", "/auth/signup", {"name": owner["name"], "email": owner["email"],
                                                     "password": PASSWORD})
            demo.tokens[owner["email"]] = session["token"]
            shop = timed("POST", "/shops", owner["shop"], token=session["token"])
            demo.shops[shop["handle"]] = shop
        for customer in CUSTOMERS:
            session = timed("POST", "/auth/signup", {**customer, "password": PASSWORD})
            demo.tokens[customer["email"]] = session["token"]
        seed_products(timed, demo)
        seed_checkout_settings(timed, demo)
        schedule_roaster_weeks(timed, demo, timeline)  # happens on its days, between the steps below
        seed_first_regular(timed, demo, timeline)  # the tofu shop's first customer, months ago
        timeline.go(days_ago=45)
        seed_social(timed, demo)  # the posts tag products, so they come after them
        seed_liked_post(timed, demo)
        timeline.go(days_ago=30)
        seed_commerce(timed, demo)  # an order is placed from a post, so it comes after the posts
        seed_store_links(timed, demo, timeline.settle)  # links are issued by those orders
        subscription = seed_subscription(timed, demo, timeline)  # 20 days ago: its first period
        timeline.go(days_ago=17)
        seed_aftercare(timed, demo)
        seed_routine(timed, demo, timeline)  # review requests 14 and 7 days ago
        seed_subscription_periods(timed, demo, timeline, subscription)  # its second period, 6 days ago
        seed_card_payments(timed, demo, timeline)  # an expired order, a refund (3 and 2 days ago)
        seed_question(timed, demo, timeline)  # yesterday evening: Minji asks, the owner answers
        seed_waiting_transfer(timed, demo, timeline)  # this morning: a bank transfer not yet deposited
        seed_perk_order(timed, demo, timeline)  # then Minji's 들기름, her regular perk on it
    finish_story(call, demo)
    if settle is not None:
        settle()
    return demo


def seed_products(call: Caller, demo: Demo) -> None:
    """Products for every shop."""
    owner_of = {o["shop"]["handle"]: o["email"] for o in OWNERS}
    for handle, products in PRODUCTS.items():
        token = demo.tokens[owner_of[handle]]
        shop_id = demo.shops[handle]["shop_id"]
        demo.products[handle] = [call("POST", f"/shops/{shop_id}/products", p, token=token) for p in products]


# --- checkout: how each shop hands orders over and is paid (PATCH /shops/{id}) -----------------
#
# The tofu and flower shops deliver (a fee, free over an amount) and offer pickup; every shop takes
# bank transfers to its account (the tofu and flower shops give 72 hours to send one). The roaster sets no
# fulfilment: its subscription periods are placed by the job without one, and an order naming no
# fulfilment is accepted only while the shop has set none (pickup at the shop). Card payments go
# through PortOne: here its local stand-in (``devtools.portone_standin``).

CHECKOUT = {
    "mangwon_tofu": {
        "fulfilment": {"delivery": {"fee": 3000, "free_over": 30000},
                       "pickup": {"address": "서울 마포구 망원로 12 (망원시장 입구)", "hours": "06:00-14:00"}},
        "bank_account": {"bank": "국민은행", "number": "123-45-678901", "holder": "박두부"},
        "bank_transfer_hours": 72},
    "yeonnam_flowers": {
        "fulfilment": {"delivery": {"fee": 4000, "free_over": 50000},
                       "pickup": {"address": "서울 마포구 연남로 5", "hours": "11:00-20:00"}},
        "bank_account": {"bank": "신한은행", "number": "110-234-567890", "holder": "이꽃님"},
        "bank_transfer_hours": 72},
    "seongsu_roasters": {
        "bank_account": {"bank": "우리은행", "number": "1002-345-678901", "holder": "정로스터"}},
}


def checkout_fields(handle: str, card: bool = False) -> dict:
    """What a demo order names at checkout: pickup where the shop set its fulfilment, and how it pays."""
    fields: dict = {"payment_method": "card" if card else "bank_transfer"}
    if "fulfilment" in CHECKOUT[handle]:
        fields["fulfilment"] = {"method": "pickup"}
    return fields


def move(call: Caller, order: dict, status: str, token: str) -> dict:
    """The owner's (or buyer's) move; "shipped" is "ready_for_pickup" for a pickup order."""
    body: dict = {"status": status}
    method = (order.get("fulfilment") or {}).get("method")
    if status == "shipped" and method == "pickup":
        body = {"status": "ready_for_pickup"}
    elif status == "shipped" and method == "delivery":
        body.update(carrier="CJ대한통운", tracking_number=f"6{order['order_id'][-11:]}")
    return call("POST", f"/orders/{order['order_id']}/status", body, token=token)


def seed_checkout_settings(call: Caller, demo: Demo) -> None:
    owner_of = {o["shop"]["handle"]: o["email"] for o in OWNERS}
    for handle, settings in CHECKOUT.items():
        call("PATCH", f"/shops/{demo.shops[handle]['shop_id']}", settings, token=demo.tokens[owner_of[handle]])


def standin_url() -> str:
    from chalicelib.wiring import container

    return container().settings.portone_base_url.rstrip("/")


def pay_by_card(call: Caller, order: dict, token: str) -> dict:
    """The customer pays in PortOne's window (the stand-in's dev route; its webhook is not sent:
    under `make run` the API is not serving yet), then the app confirms the payment by asking
    PortOne (``POST /orders/{id}/payment``), as the client app does after the window closes."""
    import urllib.request

    payment_id = order["payment"]["payment_id"]
    request = urllib.request.Request(f"{standin_url()}/__dev/payments/{payment_id}/pay", method="POST",
                                     data=json.dumps({"webhook": False}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        if answer.status != 200:
            raise RuntimeError(f"the PortOne stand-in did not pay {payment_id}: {answer.status}")
    return call("POST", f"/orders/{order['order_id']}/payment", {"payment_id": payment_id}, token=token)


def portone_standin():
    """The demo's card payments need PortOne: ``make run``'s stand-in when it answers at the
    configured base URL, else one started in this process for the load (never the real PortOne)."""
    import os
    import urllib.request
    from contextlib import contextmanager

    from chalicelib import wiring

    @contextmanager
    def running():
        url = standin_url()
        if url.startswith(("http://127.0.0.1", "http://localhost")):
            try:
                with urllib.request.urlopen(f"{url}/__dev/health", timeout=2):
                    yield url
                    return
            except OSError:
                pass
        from devtools.portone_standin import PortOneStandIn

        before = os.environ.get("DONGNE_PORTONE_BASE_URL")
        with PortOneStandIn() as standin:
            os.environ["DONGNE_PORTONE_BASE_URL"] = standin.url
            wiring.reset()
            try:
                yield standin.url
            finally:
                if before is None:
                    os.environ.pop("DONGNE_PORTONE_BASE_URL", None)
                else:
                    os.environ["DONGNE_PORTONE_BASE_URL"] = before
                wiring.reset()

    return running()


def _checkout_order(call: Caller, demo: Demo, email: str, handle: str, lines: list[tuple[int, int]],
                    card: bool, key: str) -> dict:
    products = demo.products[handle]
    body = {"shop_id": demo.shops[handle]["shop_id"],
            "items": [{"product_id": products[i]["product_id"], "quantity": q} for i, q in lines],
            **checkout_fields(handle, card=card)}
    placed = call("POST", "/orders", body, token=demo.tokens[email], headers={"Idempotency-Key": key})
    demo.orders.append(placed)
    return placed


def seed_card_payments(call: Caller, demo: Demo, timeline) -> None:
    """3 days ago Jiho ordered 드립백 by card and never paid: 30 minutes later the deadline job
    expired the order and the two packs went back on the shelf. 2 days ago Minji paid a bunch of
    flowers by card; the florist had none left and cancelled: PortOne refunded it at once."""
    from chalicelib.events.schedules import run_order_deadlines

    timeline.go(days_ago=3, hour_kst=20)
    unpaid = _checkout_order(call, demo, "jiho@dongne.kr", "seongsu_roasters", [(2, 2)], True, "demo-card-unpaid")
    timeline.advance(31 * 60)
    report = until_done(run_order_deadlines)  # at the timeline's now, as the 5-minute schedule would
    if report.expired < 1:
        raise RuntimeError(f"the unpaid card order {unpaid['order_id']} did not expire: {report}")
    timeline.go(days_ago=2, hour_kst=12)
    bunch = _checkout_order(call, demo, "minji@dongne.kr", "yeonnam_flowers", [(1, 1)], True, "demo-card-refund")
    pay_by_card(call, bunch, demo.tokens["minji@dongne.kr"])
    florist = next(o["email"] for o in OWNERS if o["shop"]["handle"] == "yeonnam_flowers")
    move(call, bunch, "cancelled", demo.tokens[florist])


def seed_waiting_transfer(call: Caller, demo: Demo, timeline) -> None:
    """This morning Haneul ordered a eucalyptus refill from the flower shop by bank transfer: the
    order shows the shop's account and waits 72 hours for her deposit, which the florist then
    confirms (``paid``)."""
    timeline.go(days_ago=0, hour_kst=7)
    _checkout_order(call, demo, "haneul@dongne.kr", "yeonnam_flowers", [(2, 1)], False, "demo-transfer-waiting")


def seed_commerce(call: Caller, demo: Demo) -> None:
    """Orders of the demo customers in every state; Minji's first tofu order is placed from
    the shop's 손두부 post in her feed."""
    owner_of = {o["shop"]["handle"]: o["email"] for o in OWNERS}

    def order(email: str, handle: str, lines: list[tuple[int, int]], moves: tuple[str, ...] = (),
              review: dict | None = None, via_post: int | None = None) -> dict:
        products = demo.products[handle]
        body = {"shop_id": demo.shops[handle]["shop_id"],
                "items": [{"product_id": products[i]["product_id"], "quantity": q} for i, q in lines],
                **checkout_fields(handle)}
        if via_post is not None:
            body["via_post_id"] = demo.posts[handle][via_post]["post_id"]
        placed = call("POST", "/orders", body, token=demo.tokens[email],
                      headers={"Idempotency-Key": f"demo-order-{len(demo.orders) + 1}"})
        for status in moves:
            by = demo.tokens[email] if status == "cancelled" and not moves[:-1] else demo.tokens[owner_of[handle]]
            placed = move(call, placed, status, by)
        if review:
            call("POST", f"/orders/{placed['order_id']}/review", review, token=demo.tokens[email])
        demo.orders.append(placed)
        return placed

    minji, seoyeon, jiho = (c["email"] for c in CUSTOMERS[:3])
    delivered = order(minji, "mangwon_tofu", [(0, 2), (1, 1)], ("paid", "shipped", "delivered"),
                      review={"rating": 5, "text": "두부가 정말 고소해요. 콩물은 아침마다 한 잔씩!"}, via_post=0)
    order(seoyeon, "mangwon_tofu", [(0, 1), (2, 1)], ("paid", "shipped", "delivered"),
          review={"rating": 4, "text": "순두부찌개 끓였는데 부드러워요."})
    order(seoyeon, "yeonnam_flowers", [(0, 1)], ("paid",))
    order(minji, "seongsu_roasters", [(1, 1)], ("paid", "shipped"))
    order(jiho, "mangwon_tofu", [(3, 1)], ("cancelled",))  # the buyer changed their mind
    later(call, days=7)  # Minji's tofu lasts a week
    again = call("POST", f"/orders/{delivered['order_id']}/reorder", token=demo.tokens[minji],
                 headers={"Idempotency-Key": "demo-reorder-1"})
    # Paid (the shop confirms the money): only a paid order is a purchase that counts.
    again = call("POST", f"/orders/{again['order_id']}/status", {"status": "paid"},
                 token=demo.tokens[owner_of["mangwon_tofu"]])
    demo.orders.append(again)


# What each shop pays the owner of a store link for a friend's order.
REFERRAL_REWARDS = {"mangwon_tofu": {"kind": "percent", "value": 10},
                    "yeonnam_flowers": {"kind": "fixed", "value": 2000}}


def seed_store_links(call: Caller, demo: Demo, settle: Callable[[], Any], timeout: float = 30.0) -> None:
    """The one-person store: Minji's tofu link brought Jiho's order (delivered: a confirmed
    reward) and Daon's (paid: pending; Daon opened the link signed in and ordered without the
    code). Seoyeon gives her flower-shop reward to friends: Daon's bouquet is cheaper by it."""
    owner_of = {o["shop"]["handle"]: o["email"] for o in OWNERS}
    for handle, setting in REFERRAL_REWARDS.items():
        call("PATCH", f"/shops/{demo.shops[handle]['shop_id']}", {"referral_reward": setting},
             token=demo.tokens[owner_of[handle]])
    wanted = [("minji@dongne.kr", "mangwon_tofu"), ("seoyeon@dongne.kr", "yeonnam_flowers")]
    deadline = time.monotonic() + timeout
    while True:
        settle()
        for email, handle in wanted:
            for link in call("GET", "/me/store-links", token=demo.tokens[email])["items"]:
                if link["shop_id"] == demo.shops[handle]["shop_id"]:
                    demo.links[(email, handle)] = link["code"]
        if all(key in demo.links for key in wanted):
            break
        if time.monotonic() > deadline:
            raise RuntimeError("store links were not issued: is the stream poller running?")
        time.sleep(0.25)
    minji = demo.links[("minji@dongne.kr", "mangwon_tofu")]
    seoyeon = demo.links[("seoyeon@dongne.kr", "yeonnam_flowers")]
    tofu, flowers = demo.products["mangwon_tofu"], demo.products["yeonnam_flowers"]

    def order(email: str, handle: str, lines: list[tuple[dict, int]], link: str | None, moves: tuple[str, ...],
              card: bool = False):
        body = {"shop_id": demo.shops[handle]["shop_id"],
                "items": [{"product_id": p["product_id"], "quantity": q} for p, q in lines],
                **checkout_fields(handle, card=card)}
        if link:
            body["via_store_link"] = link
        placed = call("POST", "/orders", body, token=demo.tokens[email],
                      headers={"Idempotency-Key": f"demo-link-order-{len(demo.orders) + 1}"})
        if card:
            placed = pay_by_card(call, placed, demo.tokens[email])
        for status in moves:
            placed = move(call, placed, status, demo.tokens[owner_of[handle]])
        demo.orders.append(placed)
        return placed

    call("POST", f"/store-links/{minji}/visits")  # Jiho opens Minji's link (not signed in)...
    order("jiho@dongne.kr", "mangwon_tofu", [(tofu[0], 2), (tofu[1], 1)], minji, ("paid", "shipped", "delivered"))
    call("POST", f"/store-links/{minji}/visits", token=demo.tokens["daon@dongne.kr"])  # on her phone
    order("daon@dongne.kr", "mangwon_tofu", [(tofu[2], 2)], None, ("paid",))  # ...and buys on her laptop
    call("PATCH", f"/me/store-links/{seoyeon}", {"give_reward_to_friend": True},
         token=demo.tokens["seoyeon@dongne.kr"])
    order("daon@dongne.kr", "yeonnam_flowers", [(flowers[1], 1)], seoyeon, (), card=True)  # paid by card


# Each shop's posts, oldest first; the first ones are written before anyone follows (a
# follow merges them into the follower's feed), the rest after (fan-out on write).
POSTS = {
    "mangwon_tofu": [
        "새벽 5시에 만든 손두부 나왔습니다. 오늘은 검은콩 두부도 있어요! #손두부 #망원동 #검은콩",
        "여름 한정 콩물 시작합니다. 1L 한 병 6,000원, 얼음 동동 띄워 드세요 #콩물 #여름한정",
        "내일(수)은 재료 준비로 하루 쉽니다. 목요일에 뵐게요 #휴무안내",
    ],
    "yeonnam_flowers": [
        "오늘 들어온 작약, 딱 열 단 있어요. 봉오리 상태라 일주일은 즐기실 수 있어요 #작약 #연남동꽃집",
        "비 오는 날엔 유칼립투스 다발 20% 할인해요 #유칼립투스 #비오는날",
    ],
    "seongsu_roasters": [
        "이번 주 화요일 로스팅: 에티오피아 예가체프 G1, 꽃향과 산미가 좋아요 #원두 #성수동카페",
        "200g 소분 원두 정기배송 신청 받습니다. 2주마다 문 앞까지 #정기배송 #원두",
    ],
}
POST_PRODUCTS = {  # (shop, post index) -> indexes into PRODUCTS[shop] the post tags
    ("mangwon_tofu", 0): [0],  # 손두부
    ("mangwon_tofu", 1): [1],  # 콩물
    ("yeonnam_flowers", 1): [2],  # 유칼립투스
    ("seongsu_roasters", 0): [1],  # 예가체프
    ("seongsu_roasters", 1): [0, 1],  # 정기배송: both beans
}
FOLLOWS = {  # customer -> shops they follow
    "minji@dongne.kr": ["mangwon_tofu", "yeonnam_flowers", "seongsu_roasters"],
    "seoyeon@dongne.kr": ["mangwon_tofu", "yeonnam_flowers"],
    "jiho@dongne.kr": ["seongsu_roasters"],
    "haneul@dongne.kr": ["mangwon_tofu"],
}
LIKES = {  # customer -> (shop, post index)
    "minji@dongne.kr": [("mangwon_tofu", 0), ("yeonnam_flowers", 0), ("seongsu_roasters", 1)],
    "seoyeon@dongne.kr": [("mangwon_tofu", 0), ("mangwon_tofu", 1)],
    "jiho@dongne.kr": [("seongsu_roasters", 0)],
}
CONVERSATIONS = [  # (shop, post index, customer, question, the owner's reply)
    ("mangwon_tofu", 0, "minji@dongne.kr", "검은콩 두부는 몇 시까지 있나요?",
     "보통 오후 2시면 다 나가요. 미리 말씀 주시면 한 모 빼 둘게요!"),
    ("seongsu_roasters", 0, "jiho@dongne.kr", "산미 있는 편인가요? 라떼로 마셔도 괜찮을까요?",
     "산미가 밝은 편이라 라떼보다는 핸드드립을 추천드려요."),
]


def seed_social(call: Caller, demo: Demo) -> None:
    """Follows, posts (hashtags, Korean text, tagged products), likes, comments and the owners' replies."""
    owner_token = {o["shop"]["handle"]: demo.tokens[o["email"]] for o in OWNERS}

    def post(handle: str, text: str) -> None:
        shop_id = demo.shops[handle]["shop_id"]
        tagged = POST_PRODUCTS.get((handle, len(demo.posts.get(handle, []))), [])
        body = {"text": text, "product_ids": [demo.products[handle][i]["product_id"] for i in tagged]}
        made = call("POST", f"/shops/{shop_id}/posts", body, token=owner_token[handle])
        demo.posts.setdefault(handle, []).append(made)

    for handle, texts in POSTS.items():
        post(handle, texts[0])
    for email, handles in FOLLOWS.items():
        for handle in handles:
            call("PUT", f"/shops/{demo.shops[handle]['shop_id']}/follow", token=demo.tokens[email])
    for handle, texts in POSTS.items():
        for text in texts[1:]:
            post(handle, text)
    for email, targets in LIKES.items():
        for handle, index in targets:
            call("PUT", f"/posts/{demo.posts[handle][index]['post_id']}/like", token=demo.tokens[email])
    for handle, index, email, question, reply in CONVERSATIONS:
        post_id = demo.posts[handle][index]["post_id"]
        call("POST", f"/posts/{post_id}/comments", {"text": question}, token=demo.tokens[email])
        call("POST", f"/posts/{post_id}/comments", {"text": reply}, token=owner_token[handle])


def prepare(call: Caller, now: float | None = None, after_erase: Callable[[], Any] | None = None):
    """Load the demo, keep it, or erase and load it again on today's date (``now``: the app's
    clock); returns ``devtools.demo_refresh.Prepared``."""
    from devtools import demo_refresh

    def load() -> tuple[set[str], set[str]]:
        seed(call)
        return demo_refresh.demo_accounts()

    return demo_refresh.ensure(load, now=now, after_erase=after_erase)


# --- the corner store's story over the past weeks (notifications, relationships) --------------
#
# 오영수 was the tofu shop's first customer and first regular, and has not been back for two
# months (a lapsed regular: the owner is nudged). Minji, Seoyeon and Haneul follow the shop on
# one day and four neighbours like its 손두부 post (grouped: "김민지 외 3명이 좋아해요"); Minji
# buys tofu every week (her card's usual interval is 7 days) and her 손두부 is about to run out
# (a reorder reminder). Seoyeon bought once; Haneul only follows.

STORY_CUSTOMERS = [{"name": "오영수", "email": "youngsoo@dongne.kr"}]
STORY_DAYS = 90  # the story starts this many days ago


def story_timeline(call: Caller):
    """The timeline the demo history is written on (``devtools.timeline``)."""
    from contextlib import contextmanager

    from devtools.timeline import TimedCaller, Timeline, stream_drainer

    @contextmanager
    def running():
        from devtools.demo_refresh import app_now

        with Timeline(STORY_DAYS, drain=stream_drainer(), real_now=app_now()) as timeline:
            yield TimedCaller(call, timeline), timeline

    return running()


def later(call: Caller, days: float) -> None:
    """Let ``days`` pass on the story's timeline (nothing, when the caller has none)."""
    timeline = getattr(call, "timeline", None)
    if timeline is not None:
        timeline.advance(days * 86_400)


def _story_order(call: Caller, demo: Demo, email: str, handle: str, lines: list[tuple[int, int]]) -> dict:
    owner = next(o["email"] for o in OWNERS if o["shop"]["handle"] == handle)
    products = demo.products[handle]
    body = {"shop_id": demo.shops[handle]["shop_id"],
            "items": [{"product_id": products[i]["product_id"], "quantity": q} for i, q in lines],
            **checkout_fields(handle)}
    placed = call("POST", "/orders", body, token=demo.tokens[email],
                  headers={"Idempotency-Key": f"demo-story-{len(demo.orders) + 1}"})
    for status in ("paid", "shipped", "delivered"):
        placed = move(call, placed, status, demo.tokens[owner])
    demo.orders.append(placed)
    return placed


def seed_first_regular(call: Caller, demo: Demo, timeline) -> None:
    """오영수: three weekly tofu orders 85 to 71 days ago (the shop's first order, its first
    regular), then nothing: he lapses 60 days after his last order."""
    timeline.go(days_ago=86)
    for customer in STORY_CUSTOMERS:
        session = call("POST", "/auth/signup", {**customer, "password": PASSWORD})
        demo.tokens[customer["email"]] = session["token"]
    for days_ago in (85, 78, 71):
        timeline.go(days_ago=days_ago)
        _story_order(call, demo, "youngsoo@dongne.kr", "mangwon_tofu", [(0, 2), (2, 1)])
        if days_ago == 78:
            seed_youngsoo_consent(call, demo)


def seed_liked_post(call: Caller, demo: Demo) -> None:
    """Two more neighbours like the 손두부 post on the day it went up: four likes, one notification."""
    post_id = demo.posts["mangwon_tofu"][0]["post_id"]
    for email in ("haneul@dongne.kr", "youngsoo@dongne.kr"):
        call("PUT", f"/posts/{post_id}/like", token=demo.tokens[email])


# --- talking back: the tofu shop's aftercare in its owner's words, and Minji's question -----------

AFTERCARE = {
    "first_order_thanks": {"enabled": True, "text": "첫 주문 고맙습니다! 두부는 냉장 보관하시고 이틀 안에 드세요."},
    "review_request": {"enabled": True, "after_days": 2,
                       "text": "두부 맛은 어떠셨어요? 짧은 후기 한 줄이 저희에겐 큰 힘이 돼요."},
    "welcome_back": {"enabled": True, "text": "오랜만이에요! 다시 찾아주셔서 정말 반가워요. 늘 하던 대로 준비해 둘게요."},
}
QUESTION = ("minji@dongne.kr", "mangwon_tofu", "내일 콩물 두 병 맡아 주실 수 있을까요? 저녁 7시쯤 들를게요.",
            "네, 두 병 빼 둘게요! 7시 반까지 문 열어 둘게요.")


REGULAR_PERK = {"kind": "percent", "value": 5}  # 단골 우대: 5% off every regular's order
WELCOME_BACK = {"coupon": {"name": "다시 만나요 쿠폰", "kind": "fixed", "value": 2000, "min_subtotal": 5000,
                           "days": 14, "max_redemptions": 50},
                "text": "영수님, 요즘 통 안 보이셔서 안부 여쭤요. 손두부 늘 같은 자리에 있어요. 다시 오시면 2천 원 빼 드릴게요!"}


def _tofu_owner(demo: Demo) -> str:
    return demo.tokens[next(o["email"] for o in OWNERS if o["shop"]["handle"] == "mangwon_tofu")]


def seed_aftercare(call: Caller, demo: Demo) -> None:
    """17 days ago the tofu shop's owner switches on aftercare in their own words, and a 5%
    standing perk for regulars (단골 우대)."""
    shop_id = demo.shops["mangwon_tofu"]["shop_id"]
    call("PUT", f"/shops/{shop_id}/automations", AFTERCARE, token=_tofu_owner(demo))
    call("PATCH", f"/shops/{shop_id}", {"regular_perk": REGULAR_PERK}, token=_tofu_owner(demo))


def seed_youngsoo_consent(call: Caller, demo: Demo) -> None:
    """While he still came every week, 오영수 said yes to the tofu shop's news, evenings too."""
    call("PUT", f"/me/shop-preferences/{demo.shops['mangwon_tofu']['shop_id']}",
         {"marketing": True, "marketing_at_night": True}, token=demo.tokens["youngsoo@dongne.kr"])


def seed_perk_order(call: Caller, demo: Demo, timeline) -> None:
    """This morning Minji, a regular, orders 들기름 for pickup: her 5% perk is on the order."""
    timeline.go(days_ago=0, hour_kst=8)
    products = demo.products["mangwon_tofu"]
    body = {"shop_id": demo.shops["mangwon_tofu"]["shop_id"],
            "items": [{"product_id": products[3]["product_id"], "quantity": 1}], **checkout_fields("mangwon_tofu")}
    demo.orders.append(call("POST", "/orders", body, token=demo.tokens["minji@dongne.kr"],
                            headers={"Idempotency-Key": "demo-perk-order"}))


def send_welcome_back(call: Caller, demo: Demo) -> dict:
    """Now: the owner sees 오영수 has lapsed and writes to the lapsed regulars, with a coupon."""
    from chalicelib.ids import iso
    from devtools.demo_refresh import app_now

    now, terms = app_now(), dict(WELCOME_BACK["coupon"])
    shop_id = demo.shops["mangwon_tofu"]["shop_id"]
    days = terms.pop("days")
    coupon = call("POST", f"/shops/{shop_id}/coupons", {**terms, "starts_at": iso(now - 60),
                                                         "ends_at": iso(now + days * 86_400)}, token=_tofu_owner(demo))
    return call("POST", f"/shops/{shop_id}/broadcasts", {"audience": {"tier": "lapsed"}, "text": WELCOME_BACK["text"],
                                                         "coupon_id": coupon["coupon_id"]}, token=_tofu_owner(demo),
                expect=(202,))


def run_aftercare_job() -> None:
    """The aftercare schedule (every 15 minutes on Lambda) at the timeline's now."""
    from chalicelib.events.schedules import run_aftercare

    until_done(run_aftercare)


def seed_routine(call: Caller, demo: Demo, timeline) -> None:
    """Minji's weekly 손두부, 16 and 9 days ago: a real usual interval, and due again now. Each is
    delivered the same day, and two days later the shop's review request reaches her."""
    for days_ago in (16, 9):
        timeline.go(days_ago=days_ago, hour_kst=9)
        _story_order(call, demo, "minji@dongne.kr", "mangwon_tofu", [(0, 2)])
        timeline.go(days_ago=days_ago - 2, hour_kst=11)
        timeline.settle()
        run_aftercare_job()


def seed_question(call: Caller, demo: Demo, timeline) -> None:
    """Yesterday evening Minji asks the tofu shop something (문의); the owner writes back."""
    email, handle, question, answer = QUESTION
    owner = next(o["email"] for o in OWNERS if o["shop"]["handle"] == handle)
    timeline.go(days_ago=1, hour_kst=18)
    sent = call("POST", f"/shops/{demo.shops[handle]['shop_id']}/messages", {"text": question}, token=demo.tokens[email])
    later(call, days=0.02)
    call("POST", f"/conversations/{sent['conversation_id']}/messages", {"text": answer}, token=demo.tokens[owner])


def finish_story(call: Caller, demo: Demo) -> None:
    """Back in the present: the scheduled jobs run over the story's past (the regular who
    stopped coming lapses; Minji's tofu reminder), their effects go through the stream, and
    everyone gets a token that is valid now."""
    from chalicelib.events.schedules import run_lapse_sweep, run_reorder_reminders
    from chalicelib.services.notices import day_of
    from chalicelib.wiring import container
    from devtools.demo_refresh import app_now
    from devtools.timeline import stream_drainer

    drain = stream_drainer()
    now = app_now()
    start = day_of(now - STORY_DAYS * 86_400)
    deps = container()
    deps.relationships.set_sweep_watermark(start, now)  # the jobs have not run during the story
    deps.notifications.set_reminder_watermark(start, now)
    until_done(run_lapse_sweep)
    until_done(run_reorder_reminders)
    drain()
    for email in demo.tokens:
        demo.tokens[email] = login(call, email)["token"]
    send_welcome_back(call, demo)  # to the regular who lapsed, with a coupon
    drain()



# --- essentials: a subscription (정기배송) with two past periods --------------------------------
#
# Jiho subscribes to the roaster's 200 g house blend every 14 days at the shop's 10% subscription
# discount, 20 days ago. The subscription job (which runs every few minutes) places period 1 that
# day, tells him of period 2 a day before it and places it 6 days ago; the roaster delivers the
# first and marks the second paid. Period 3 is 8 days ahead. (Minji's tofu, bought 9 days ago,
# is due again: GET /me/reorders.)

SUBSCRIPTION = {"email": "jiho@dongne.kr", "shop": "seongsu_roasters", "product": 0, "quantity": 1,
                "every_days": 14, "discount_percent": 10, "started_days_ago": 20}


def _roaster(demo: Demo) -> str:
    return next(o["email"] for o in OWNERS if o["shop"]["handle"] == SUBSCRIPTION["shop"])


def seed_subscription(call: Caller, demo: Demo, timeline) -> dict:
    """The shop's subscription discount, then Jiho's subscription and its first period."""
    from chalicelib.events.schedules import run_subscription_orders

    spec = SUBSCRIPTION
    shop_id = demo.shops[spec["shop"]]["shop_id"]
    timeline.go(days_ago=spec["started_days_ago"], hour_kst=8)
    call("PATCH", f"/shops/{shop_id}", {"subscription_discount_percent": spec["discount_percent"]},
         token=demo.tokens[_roaster(demo)])
    product = demo.products[spec["shop"]][spec["product"]]
    subscription = call("POST", "/subscriptions", {
        "shop_id": shop_id, "items": [{"product_id": product["product_id"], "quantity": spec["quantity"]}],
        "every_days": spec["every_days"]}, token=demo.tokens[spec["email"]],
        headers={"Idempotency-Key": "demo-subscription-1"})
    until_done(run_subscription_orders)  # period 1, at the timeline's now
    first = _period_orders(call, demo, subscription)[0]
    timeline.go(days_ago=spec["started_days_ago"] - 1)
    for status in ("paid", "shipped", "delivered"):
        call("POST", f"/orders/{first['order_id']}/status", {"status": status}, token=demo.tokens[_roaster(demo)])
    return subscription


def seed_subscription_periods(call: Caller, demo: Demo, timeline, subscription: dict) -> None:
    """Period 2: announced a day before, placed on its day, paid. The job runs at the period's own
    times (its due time is the subscription's start plus its interval, to the minute), so the story
    is the same whatever the hour and weekday the demo is loaded on."""
    from datetime import datetime

    from chalicelib.events.schedules import run_subscription_orders
    from chalicelib.records.subscriptions import ANNOUNCE_LEAD_SECONDS

    (current,) = [s for s in call("GET", "/me/subscriptions", token=demo.tokens[SUBSCRIPTION["email"]])["items"]
                  if s["subscription_id"] == subscription["subscription_id"]]
    due = datetime.fromisoformat(current["next_order_at"].replace("Z", "+00:00")).timestamp()
    timeline.go_to(due - ANNOUNCE_LEAD_SECONDS + 60)
    until_done(run_subscription_orders)  # the announcement (subscription_upcoming), a day before
    timeline.go_to(due + 60)
    until_done(run_subscription_orders)  # period 2
    orders = _period_orders(call, demo, subscription)
    call("POST", f"/orders/{orders[-1]['order_id']}/status", {"status": "paid"}, token=demo.tokens[_roaster(demo)])
    demo.orders.extend(orders)


def _period_orders(call: Caller, demo: Demo, subscription: dict) -> list[dict]:
    mine = call("GET", "/me/orders?limit=100", token=demo.tokens[SUBSCRIPTION["email"]])["items"]
    return sorted((o for o in mine if o.get("subscription_id") == subscription["subscription_id"]),
                  key=lambda o: o["created_at"])


# --- insights: the roaster's last 13 weeks, and the week it went quiet ---------------------------
#
# 정로스터 writes about each Tuesday's roast; three neighbours
# (Seoyeon, Haneul, Daon) follow the shop one after another and buy beans, most often straight from
# a post (``via_post_id``) the day it goes up (on the post days only: the load stays quick). Four weeks ago (``QUIET_WEEK``) a café's wholesale order kept him busy
# and he posted nothing: the beans were on the shelf, yet no neighbour ordered that week. The
# Tuesday after he wrote again, and the orders came back. His insights by week
# (GET /shops/{id}/insights?granularity=week) show it; each counter there is kept from the stream
# of these very requests, made on their days (``Timeline.at``).
#
# Each week, weeks before this one: its posts (weekday 0 = Monday, hour KST, text, tagged product)
# and its orders (weekday, hour, customer, product, quantity, the week's post it came from or None).
# Products are indexes into PRODUCTS["seongsu_roasters"]: 0 house blend, 1 예가체프.

QUIET_WEEK = 4
INSIGHT_WEEKS = 13  # the story's weeks: this one and the twelve before
_S, _H, _D = "seoyeon@dongne.kr", "haneul@dongne.kr", "daon@dongne.kr"
ROASTER_FOLLOWS = {12: [(1, 12, _S)], 11: [(4, 12, _H)], 10: [(1, 12, _D)]}  # weeks ago -> (weekday, hour, who)
ROASTER_WEEKS: dict[int, dict[str, list[tuple]]] = {
    12: {"posts": [(1, 10, "성수 커피로스터스 문 열었습니다. 매주 화요일에 볶아서 200g씩 소분해요 #성수동카페 #원두", 0)],
         "orders": [(1, 13, _S, 0, 1, 0), (1, 16, _H, 0, 1, 0)]},
    11: {"posts": [(1, 10, "화요일 로스팅: 에티오피아 예가체프, 꽃향이 올라와요 #예가체프 #로스팅", 1)],
         "orders": [(1, 13, _S, 1, 1, 0), (1, 16, _H, 0, 1, 0)]},
    10: {"posts": [(1, 10, "화요일 로스팅: 하우스 블렌드에 브라질을 조금 더 넣었어요. 더 고소해요 #하우스블렌드 #로스팅", 0)],
         "orders": [(1, 13, _D, 0, 1, 0), (1, 16, _S, 0, 1, 0)]},
    9: {"posts": [(1, 10, "화요일 로스팅: 예가체프 새 생두가 들어왔어요. 산미가 더 밝아요 #예가체프 #로스팅", 1)],
        "orders": [(1, 13, _H, 1, 1, 0), (1, 16, _S, 0, 1, 0)]},
    8: {"posts": [(1, 10, "화요일 로스팅: 하우스 블렌드, 이번 주는 조금 더 깊게 볶았어요 #하우스블렌드 #로스팅", 0)],
        "orders": [(1, 13, _S, 0, 1, 0), (1, 16, _H, 0, 1, 0)]},
    7: {"posts": [(1, 10, "화요일 로스팅: 예가체프와 하우스 블렌드 둘 다 넉넉해요 #로스팅 #성수동카페", 0)],
        "orders": [(1, 13, _D, 0, 1, 0), (1, 16, _S, 1, 1, None)]},
    6: {"posts": [(1, 10, "화요일 로스팅: 하우스 블렌드. 아이스로 내려도 맛있어요 #아이스커피 #하우스블렌드", 0)],
        "orders": [(1, 13, _S, 0, 1, 0), (1, 16, _H, 1, 1, None)]},
    5: {"posts": [(1, 10, "화요일 로스팅: 예가체프, 이번 주가 제일 잘 나왔어요 #예가체프 #로스팅", 1)],
        "orders": [(1, 13, _H, 1, 1, 0), (1, 16, _D, 1, 1, 0)]},
    QUIET_WEEK: {"posts": [], "orders": []},  # busy with a café's wholesale order: no posts, and no orders came
    3: {"posts": [(1, 10, "지난주엔 소식이 뜸했죠. 화요일 로스팅 다시 시작합니다: 하우스 블렌드 #로스팅 #하우스블렌드", 0)],
        "orders": [(1, 13, _S, 0, 1, 0), (1, 16, _D, 0, 1, 0)]},
    2: {"posts": [(1, 10, "화요일 로스팅: 하우스 블렌드, 찬 바람 불 때 어울리는 맛 #하우스블렌드 #로스팅", 0)],
        "orders": [(1, 13, _H, 0, 1, 0), (1, 16, _S, 0, 1, 0)]},
    1: {"posts": [(1, 10, "화요일 로스팅: 예가체프와 하우스 블렌드, 연말 선물 포장도 돼요 #연말선물 #원두", 1)],
        "orders": [(1, 13, _D, 1, 1, 0), (1, 16, _S, 0, 1, 0)]},
}


def week_monday(now: float, weeks_ago: int = 0) -> datetime:
    """00:00 KST on the Monday ``weeks_ago`` weeks before the week of ``now`` (an aware datetime)."""
    from datetime import timedelta, timezone

    kst = timezone(timedelta(hours=9))
    today = datetime.fromtimestamp(now, kst).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=today.weekday() + 7 * weeks_ago)


def schedule_roaster_weeks(call: Caller, demo: Demo, timeline) -> None:
    """The roaster's weeks (``ROASTER_WEEKS``): its posts, the neighbours' follows and their
    orders, each scheduled on its day of the story's timeline; the owner confirms each bank
    transfer (``paid``) the same hour."""
    from datetime import timedelta

    handle = "seongsu_roasters"
    shop_id = demo.shops[handle]["shop_id"]
    owner = demo.tokens[_roaster(demo)]
    products = demo.products[handle]

    def when(weeks_ago: int, weekday: int, hour: int) -> float:
        return (week_monday(timeline.real_now, weeks_ago) + timedelta(days=weekday, hours=hour)).timestamp()

    def follow(email: str) -> Callable[[], None]:
        return lambda: call("PUT", f"/shops/{shop_id}/follow", token=demo.tokens[email])

    def post(week: list[dict], text: str, product: int) -> Callable[[], None]:
        def write() -> None:
            made = call("POST", f"/shops/{shop_id}/posts",
                        {"text": text, "product_ids": [products[product]["product_id"]]}, token=owner)
            week.append(made)
            demo.week_posts.append(made)
        return write

    def order(week: list[dict], email: str, product: int, quantity: int, via: int | None) -> Callable[[], None]:
        def buy() -> None:
            body = {"shop_id": shop_id, "items": [{"product_id": products[product]["product_id"],
                                                   "quantity": quantity}], **checkout_fields(handle)}
            if via is not None:
                body["via_post_id"] = week[via]["post_id"]
            placed = call("POST", "/orders", body, token=demo.tokens[email],
                          headers={"Idempotency-Key": f"demo-week-{len(demo.orders) + 1}"})
            demo.orders.append(call("POST", f"/orders/{placed['order_id']}/status", {"status": "paid"}, token=owner))
        return buy

    for weeks_ago, plan in ROASTER_WEEKS.items():
        week: list[dict] = []  # this week's posts, as they are written
        for weekday, hour, email in ROASTER_FOLLOWS.get(weeks_ago, []):
            timeline.at(when(weeks_ago, weekday, hour), follow(email))
        for weekday, hour, text, product in plan["posts"]:
            timeline.at(when(weeks_ago, weekday, hour), post(week, text, product))
        for weekday, hour, email, product, quantity, via in plan["orders"]:
            timeline.at(when(weeks_ago, weekday, hour), order(week, email, product, quantity, via))


# --- the story as the API tells it today (printed by `make run`, checked by the tests) -----------


@dataclass
class Story:
    shop_id: str  # the tofu shop
    regulars: list[str]  # its regulars' names
    lapsed: list[str]  # its lapsed regulars' names
    due: list[dict]  # Minji's essentials due (GET /me/reorders)
    subscription: dict | None  # Jiho's active subscription
    referrals: list[str]  # the reward status of each order the tofu shop's store links brought
    # checkout: "card_paid" (Daon's bouquet), "transfer_waiting" (Haneul's refill), "expired" (Jiho's),
    # "refunded" (Minji's flowers): each the order as its buyer reads it, or None
    checkout: dict[str, dict | None] = field(default_factory=dict)
    # talking back: Minji's conversation with the tofu shop (its messages, oldest first), the
    # coupons 오영수 holds and his conversation's last message, Minji's 들기름 order (her perk)
    minji_talk: list[dict] = field(default_factory=list)
    youngsoo_coupons: list[dict] = field(default_factory=list)
    youngsoo_last: dict | None = None
    perk_order: dict | None = None
    # insights: the roaster's last INSIGHT_WEEKS weeks by week (GET /shops/{id}/insights), its CSV
    roaster_id: str = ""
    insights: dict | None = None
    insights_csv: str = ""

    def missing(self) -> list[str]:
        """What the story should show and does not (nothing, when it holds)."""
        from datetime import datetime

        gaps = []
        if "김민지" not in self.regulars:
            gaps.append("김민지 is not a regular of the tofu shop")
        if "오영수" not in self.lapsed:
            gaps.append("오영수 is not a lapsed regular")
        if not any(item["name"].startswith("손두부") for item in self.due):
            gaps.append("Minji's 손두부 is not due")
        sub = self.subscription
        if sub is None or datetime.fromisoformat(sub["next_order_at"]).timestamp() <= _now():
            gaps.append("Jiho has no subscription with its next order ahead")
        if not {"pending", "confirmed"} <= set(self.referrals):
            gaps.append("the tofu shop has no referral both pending and confirmed")
        for part, what in CHECKOUT_STORY.items():
            if self.checkout.get(part) is None:
                gaps.append(what)
        texts = [m["text"] for m in self.minji_talk]
        if not (QUESTION[2] in texts and QUESTION[3] in texts and texts.index(QUESTION[2]) < texts.index(QUESTION[3])):
            gaps.append("the tofu shop has not answered Minji's question")
        if not any(m["text"] == AFTERCARE["review_request"]["text"] for m in self.minji_talk):
            gaps.append("Minji got no review request in the owner's words")
        if WELCOME_BACK["coupon"]["name"] not in [c["name"] for c in self.youngsoo_coupons]:
            gaps.append("오영수 holds no welcome-back coupon")
        if self.youngsoo_last is None or WELCOME_BACK["text"] not in self.youngsoo_last["text"]:
            gaps.append("the tofu shop's welcome back has not reached 오영수")
        if self.perk_order is None or not any(d["kind"] == "regular_perk" for d in self.perk_order["discounts"]):
            gaps.append("Minji's regular perk is not on her order")
        series = (self.insights or {}).get("series", [])
        if len(series) < INSIGHT_WEEKS or not quiet_weeks(series):
            gaps.append("the roaster's insights show no quiet week with fewer orders")
        return gaps


def quiet_weeks(series: list[dict]) -> list[tuple[dict, float]]:
    """The weeks without a post between weeks with posts that brought fewer orders than the posting
    weeks around them (two on each side), each with those weeks' average."""
    out = []
    for i, point in enumerate(series):
        before = [p for p in series[max(0, i - 2):i] if p["posts"] > 0]
        after = [p for p in series[i + 1:i + 3] if p["posts"] > 0]
        if point["posts"] == 0 and before and after:
            average = sum(p["orders"] for p in before + after) / len(before + after)
            if point["orders"] < average:
                out.append((point, average))
    return out


CHECKOUT_STORY = {
    "card_paid": "윤다온 has no bouquet paid by card",
    "transfer_waiting": "박하늘 has no bank transfer waiting for its deposit",
    "expired": "한지호 has no expired card order",
    "refunded": "김민지 has no refunded card order",
}


def read_checkout(call: Caller, tokens: dict[str, str]) -> dict[str, dict | None]:
    """The checkout story's orders, as their buyers read them (``GET /me/orders``)."""
    def orders(email: str) -> list[dict]:
        return call("GET", "/me/orders?limit=100", token=tokens[email])["items"]

    def first(email: str, test) -> dict | None:
        return next((o for o in orders(email) if o.get("payment") and test(o)), None)

    return {
        "card_paid": first("daon@dongne.kr", lambda o: o["payment"]["method"] == "card" and o["status"] == "paid"),
        "transfer_waiting": first("haneul@dongne.kr", lambda o: o["payment"]["method"] == "bank_transfer"
                                  and o["status"] == "pending_payment"
                                  and datetime.fromisoformat(o["payment"]["deadline_at"]).timestamp() > _now()),
        "expired": first("jiho@dongne.kr", lambda o: o["status"] == "expired"),
        "refunded": first("minji@dongne.kr", lambda o: o["status"] == "cancelled" and (o.get("refund") or {}).get(
            "status") == "done" and o["payment"]["method"] == "card"),
    }


def _now() -> float:
    from devtools.demo_refresh import app_now

    return app_now()


def read_story(call: Caller) -> Story:
    """The demo's story, read through the API at the app's now."""
    tokens = {email: login(call, email)["token"] for email in (
        "tofu@dongne.kr", "minji@dongne.kr", "jiho@dongne.kr", "daon@dongne.kr", "haneul@dongne.kr",
        "youngsoo@dongne.kr", "coffee@dongne.kr")}
    owner = tokens["tofu@dongne.kr"]
    shop_id = call("GET", "/me", token=owner)["shop_id"]

    def names(tier: str) -> list[str]:
        return [c["name"] for c in call("GET", f"/shops/{shop_id}/customers?tier={tier}&limit=100", token=owner)["items"]]

    subs = call("GET", "/me/subscriptions", token=tokens["jiho@dongne.kr"])["items"]
    return Story(shop_id=shop_id, regulars=names("regular"), lapsed=names("lapsed"),
                 due=call("GET", "/me/reorders", token=tokens["minji@dongne.kr"])["items"],
                 subscription=next((s for s in subs if s["status"] == "active"), None),
                 referrals=[r["reward_status"] for r in
                            call("GET", f"/shops/{shop_id}/referrals?limit=100", token=owner)["items"]],
                 checkout=read_checkout(call, tokens), **read_talk(call, tokens, shop_id),
                 **read_insights(call, tokens["coffee@dongne.kr"]))


def insights_path(shop_id: str, csv: bool = False) -> str:
    """The roaster's story weeks by week: from the Monday INSIGHT_WEEKS - 1 weeks ago to today."""
    first = week_monday(_now(), INSIGHT_WEEKS - 1).date().isoformat()
    return f"/shops/{shop_id}/insights{'.csv' if csv else ''}?granularity=week&from={first}"


def read_insights(call: Caller, owner: str) -> dict:
    """The roaster's insights by week, as its owner reads them (JSON and CSV)."""
    shop_id = call("GET", "/me", token=owner)["shop_id"]
    return {"roaster_id": shop_id, "insights": call("GET", insights_path(shop_id), token=owner),
            "insights_csv": call.text(insights_path(shop_id, csv=True), token=owner)}


def read_talk(call: Caller, tokens: dict[str, str], shop_id: str) -> dict:
    """Talking back, as Minji and 오영수 read it."""
    def conversation(email: str) -> dict | None:
        mine = call("GET", "/me/conversations?limit=50", token=tokens[email])["items"]
        return next((c for c in mine if c["shop_id"] == shop_id), None)

    minji, youngsoo = conversation("minji@dongne.kr"), conversation("youngsoo@dongne.kr")
    talk = call("GET", f"/conversations/{minji['conversation_id']}/messages?limit=100",
                token=tokens["minji@dongne.kr"])["items"] if minji else []
    orders = call("GET", "/me/orders?limit=50", token=tokens["minji@dongne.kr"])["items"]
    oil = PRODUCTS["mangwon_tofu"][3]["name"]
    perk = next((o for o in orders if o["shop_id"] == shop_id and any(i["name"] == oil for i in o["items"])), None)
    return {"minji_talk": talk, "youngsoo_last": youngsoo["last_message"] if youngsoo else None,
            "youngsoo_coupons": call("GET", "/me/coupons", token=tokens["youngsoo@dongne.kr"])["items"],
            "perk_order": perk}


def checkout_lines(checkout: dict[str, dict | None], day: Callable[[float], str]) -> list[str]:
    """The checkout story: a card payment, a transfer waiting, an expiry, a refund."""
    from datetime import UTC, timedelta

    def won(amount: int) -> str:
        return f"{amount:,} won"

    def names(order: dict) -> str:
        return ", ".join(f"{line['name']} x{line['quantity']}" for line in order["items"])

    lines = []
    if (paid := checkout.get("card_paid")) is not None:
        lines.append(f"  윤다온 paid {won(paid['total'])} by card for {names(paid)} through the PortOne stand-in: "
                     f"{paid['status']}   (GET /orders/{paid['order_id']})")
    if (waiting := checkout.get("transfer_waiting")) is not None:
        account = waiting["payment"].get("bank_account") or {}
        deadline = datetime.fromisoformat(waiting["payment"]["deadline_at"]).astimezone(UTC) + timedelta(hours=9)
        lines.append(f"  박하늘's bank transfer of {won(waiting['total'])} to {account.get('bank')} {account.get('number')} "
                     f"waits for her deposit until {deadline:%Y-%m-%d %H:%M} KST   (the owner: POST "
                     f"/orders/{waiting['order_id']}/status {{\"status\": \"paid\"}})")
    if (expired := checkout.get("expired")) is not None:
        lines.append(f"  한지호's card order for {names(expired)} was never paid: it expired after 30 minutes and its "
                     f"stock went back   (GET /orders/{expired['order_id']})")
    if (refunded := checkout.get("refunded")) is not None:
        refund = refunded["refund"]
        lines.append(f"  김민지's card order for {names(refunded)}, cancelled by the florist after payment: "
                     f"{won(refund['amount'])} refunded through PortOne   (GET /orders/{refunded['order_id']})")
    return lines


def story_lines(story: Story, loaded_at: float) -> list[str]:
    """The story in a few lines, with the calls that show it."""
    from datetime import UTC, datetime, timedelta

    def day(epoch: float) -> str:
        return (datetime.fromtimestamp(epoch, tz=UTC) + timedelta(hours=9)).strftime("%Y-%m-%d")

    now = _now()
    lines = [f"Demo story (loaded {day(loaded_at)}, told as of today {day(now)}):",
             (f"  망원동 두부가게's regulars: {', '.join(story.regulars) or '-'}; lapsed regulars: "
              f"{', '.join(story.lapsed) or '-'}   (GET /shops/{story.shop_id}/customers?tier=regular)")]
    due = ", ".join(f"{item['name']} ({item['overdue_days']:g} days overdue)" for item in story.due) or "nothing"
    lines.append(f"  김민지's essentials due: {due}   (GET /me/reorders)")
    if story.subscription is not None:
        sub = story.subscription
        at = datetime.fromisoformat(sub["next_order_at"]).timestamp()
        lines.append(f"  한지호's subscription: {sub['items'][0]['name']} every {sub['every_days']} days, "
                     f"order {sub['period']} on {day(at)} ({(at - now) / 86_400:.0f} days ahead)   (GET /me/subscriptions)")
    else:
        lines.append("  한지호's subscription: none active")
    counts = {status: story.referrals.count(status) for status in ("confirmed", "pending")}
    lines.append(f"  김민지's store link at the tofu shop: {counts['confirmed']} referral(s) confirmed, "
                 f"{counts['pending']} pending   (GET /shops/{story.shop_id}/referrals)")
    lines += checkout_lines(story.checkout, day)
    answered = [m for m in story.minji_talk if m["sender"] == "shop" and m["text"] == QUESTION[3]]
    if answered:
        lines.append(f"  김민지 asked 망원동 두부가게 \"{QUESTION[2]}\" and the owner wrote back \"{QUESTION[3]}\"; "
                     f"its review requests reached her in the owner's words   (GET /me/conversations)")
    if story.youngsoo_coupons:
        coupon = story.youngsoo_coupons[0]
        lines.append(f"  오영수, the lapsed regular: the owner's welcome back and a {coupon['value']:,}-won coupon "
                     f"\"{coupon['name']}\"   (GET /me/coupons as youngsoo@dongne.kr)")
    if story.perk_order is not None:
        perk = next(d for d in story.perk_order["discounts"] if d["kind"] == "regular_perk")
        lines.append(f"  김민지's order this morning: {story.perk_order['subtotal']:,}원, her regular perk "
                     f"−{perk['amount']:,}원 (단골 우대 {REGULAR_PERK['value']}%)   (GET /me/orders)")
    lines += insights_lines(story)
    lines += [f"  (not shown: {gap})" for gap in story.missing()]
    return lines


def insights_lines(story: Story) -> list[str]:
    """The roaster's weeks: orders, revenue and posts by week, and the quiet week's dip."""
    if story.insights is None:
        return []
    series, totals = story.insights["series"], story.insights["totals"]

    def row(label: str, values: list[str]) -> str:
        return f"    {label:<14}" + "".join(f"{v:>6}" for v in values)

    lines = [f"  성수 커피로스터스, the last {len(series)} weeks: {totals['orders']} paid orders, "
             f"{totals['revenue']:,}원, {totals['posts']} posts, {totals['new_followers']} new followers   "
             f"(GET {insights_path(story.roaster_id)}, also as .csv)",
             row("week of", [p["period"][5:] for p in series]),
             row("orders", [str(p["orders"]) for p in series]),
             row("revenue (k won)", [f"{p['revenue'] / 1000:.0f}" for p in series]),
             row("posts", [str(p["posts"]) for p in series])]
    for point, average in quiet_weeks(series):
        lines.append(f"  The week of {point['period']} 정로스터 posted nothing: {point['orders']} order(s), against "
                     f"{average:.1f} a week in the posting weeks around it; he posted again and they came back")
    return lines
