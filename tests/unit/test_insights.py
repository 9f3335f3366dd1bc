"""Insights counters against a brute-force recount (``services.insights``).

The property: random histories of orders (paid, shipped, cancelled, never paid; through a post,
a store link, a subscription), follows and unfollows, tier changes and posts, turned into the
stream records their items would write and delivered in random order with replays — records of
one item stay in their order, as DynamoDB Streams keeps them, but anything may be delivered
again later — give day counters and post figures equal to a recount from the items' final
states. The same world runs against the real tables in tests/api/test_insights.py.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.ids import id_at
from chalicelib.records.insights import Day, Effect, Ledger, PostFigures
from chalicelib.services import insights
from chalicelib.services.insights import kst_day

HOUR = 3600.0
START = 1_796_000_000.0  # 2026-11-30 09:53 KST, a Monday


# --- an in-memory store ------------------------------------------------------------------------


class FakeInsights:
    """``services.insights.Store`` in memory: versions, ADD counters, the post guard."""

    def __init__(self) -> None:
        self.ledgers: dict[tuple[str, str], Ledger] = {}
        self.counters: dict[tuple[str, str], Counter] = defaultdict(Counter)
        self.figures: dict[tuple[str, str], dict[str, Any]] = {}
        self.lost_races = 0

    def ledger(self, shop_id: str, user_id: str) -> Ledger:
        found = self.ledgers.get((shop_id, user_id))
        return Ledger(shop_id, user_id) if found is None else replace(found)

    def save(self, effect: Effect, shop_id: str) -> bool:
        key = (effect.ledger.shop_id, effect.ledger.user_id)
        stored = self.ledgers.get(key)
        if (stored.version if stored else None) != effect.ledger.version:
            self.lost_races += 1
            return False
        self.ledgers[key] = replace(effect.ledger, version=(effect.ledger.version or 0) + 1)
        for day, counts in effect.days.items():
            self.counters[(shop_id, day)].update(counts)
        for post_id, (orders, revenue) in effect.posts.items():
            figures = self.figures.setdefault((shop_id, post_id), {"orders": 0, "revenue": 0})
            figures["orders"] += orders
            figures["revenue"] += revenue
        return True

    def post_published(self, shop_id: str, post_id: str, created_at: float) -> bool:
        figures = self.figures.setdefault((shop_id, post_id), {"orders": 0, "revenue": 0})
        if figures.get("created_at") is not None:
            return False
        figures.update(created_at=created_at, live=True)
        self.counters[(shop_id, kst_day(created_at))]["posts"] += 1
        return True

    def post_removed(self, shop_id: str, post_id: str) -> bool:
        figures = self.figures.get((shop_id, post_id))
        if not figures or not figures.get("live"):
            return False
        figures["live"] = False
        self.counters[(shop_id, kst_day(figures["created_at"]))]["posts"] -= 1
        return True

    def days(self, shop_id: str, first: str, last: str) -> list[Day]:
        return [Day(day, {k: v for k, v in c.items() if v}) for (s, day), c in sorted(self.counters.items())
                if s == shop_id and first <= day <= last and any(c.values())]

    def post_figures(self, shop_id: str, first: str, last: str) -> list[PostFigures]:
        return [PostFigures(post_id, f["orders"], f["revenue"], bool(f.get("live")), f.get("created_at"))
                for (s, post_id), f in self.figures.items() if s == shop_id]


if TYPE_CHECKING:
    _store: insights.Store = FakeInsights()


# --- a random world and its records ------------------------------------------------------------


@dataclass
class World:
    shop_id: str
    records: list[list[tuple[str, str, dict | None, dict | None, float]]] = field(default_factory=list)
    orders: list[dict] = field(default_factory=list)  # final images
    follows: dict[str, list[tuple[bool, float, float]]] = field(default_factory=dict)  # user -> (following, created, at)
    tiers: list[tuple[str, float]] = field(default_factory=list)
    posts: dict[str, tuple[float, bool]] = field(default_factory=dict)  # post_id -> (created_at, live)


def make_world(rng, shop_id="S1", customers=4, orders=10):
    world: Any = World(shop_id)
    users = [f"U{i}" for i in range(customers)]
    created_times = [START + rng.uniform(0, 96) * HOUR for _ in range(3)]
    posts = [id_at(created) for created in created_times]  # ids are ULIDs of their time, as the app makes them
    for post_id, created in zip(posts, created_times):  # a post: INSERT, maybe REMOVE
        image = {"entity": "post", "post_id": post_id, "shop_id": shop_id, "created_at": created}
        item = [("post", "INSERT", image, None, created)]
        live = rng.random() < 0.7
        if not live:
            item.append(("post", "REMOVE", None, image, created + rng.uniform(1, 48) * HOUR))
        world.records.append(item)
        world.posts[post_id] = (created, live)
    for n in range(orders):
        buyer = rng.choice(users)
        placed = START + rng.uniform(0, 14 * 24) * HOUR
        order = {"entity": "order", "order_id": f"O{n:03d}", "shop_id": shop_id, "buyer_id": buyer,
                 "status": "pending_payment", "total": rng.choice([3000, 4500, 12000, 25000]),
                 "history": [{"status": "pending_payment", "at": placed}], "updated_at": placed}
        if rng.random() < 0.3:
            order["via_post_id"] = rng.choice(posts)
        if rng.random() < 0.3:
            order.update(via_store_link="L1", referrer_id="R1", referral_reward=rng.choice([500, 1000]))
        if rng.random() < 0.2:
            order["subscription_id"] = "SUB1"
        item = [("order", "INSERT", dict(order), None, placed)]
        t = placed
        fate = rng.random()
        if fate < 0.15:  # cancelled unpaid, or left to expire: never paid
            old, t = dict(order), t + HOUR
            order.update(status="cancelled" if fate < 0.1 else "expired", updated_at=t,
                         history=[*order["history"], {"status": "cancelled", "at": t}])
            item.append(("order", "MODIFY", dict(order), old, t))
        else:
            old, t = dict(order), t + rng.uniform(0.1, 30) * HOUR  # paid, maybe across midnight
            order.update(status="paid", paid_at=t, updated_at=t, history=[*order["history"], {"status": "paid", "at": t}])
            item.append(("order", "MODIFY", dict(order), old, t))
            if rng.random() < 0.4:
                old, t = dict(order), t + 5 * HOUR
                order.update(status="shipped", updated_at=t, history=[*order["history"], {"status": "shipped", "at": t}])
                item.append(("order", "MODIFY", dict(order), old, t))
            elif rng.random() < 0.4:
                old, t = dict(order), t + rng.uniform(0, 3) * HOUR  # refunded, maybe within the same second
                order.update(status="cancelled", updated_at=t if rng.random() < 0.7 else order["updated_at"],
                             history=[*order["history"], {"status": "cancelled", "at": t}])
                item.append(("order", "MODIFY", dict(order), old, t))
        world.records.append(item)
        world.orders.append(order)
    for user in users:  # follow / unfollow / follow again..., sometimes several times a day
        t, events, item = START + rng.uniform(0, 48) * HOUR, [], []
        for k in range(rng.randint(0, 5)):
            if k % 2 == 0:
                created = t
                image = {"entity": "follow", "shop_id": shop_id, "user_id": user, "created_at": created}
                item.append(("follow", "INSERT", image, None, created))
                events.append((True, created, created))
            else:
                at = t  # the removal record's time
                item.append(("follow", "REMOVE", None, image, int(at)))  # record times are whole seconds
                events.append((False, created, max(created, float(int(at)))))
            t += rng.choice([0.5, 2, 30]) * HOUR
        world.follows[user] = events
        world.records.append(item)
    for n in range(rng.randint(0, 4)):
        user, to, at = rng.choice(users), rng.choice(["regular", "lapsed", "first_time"]), START + rng.uniform(0, 300) * HOUR
        key = f"TRANSITION#{user}#{at}#{to}"
        image = {"entity": "tier_transition", "shop_id": shop_id, "user_id": user, "sk": key, "to_tier": to, "at": at}
        world.records.append([("tier_transition", "INSERT", image, None, at)])
        world.tiers.append((to, at))
    return world


def deliveries(rng, world):
    """Every record, items interleaved at random (each item's own records in order, as the stream
    keeps them), and about a third of them delivered again at some later point."""
    queues = [list(item) for item in world.records if item]
    out: list = []
    while queues:
        queue = rng.choice(queues)
        out.append(queue.pop(0))
        if not queue:
            queues.remove(queue)
    for _ in range(len(out) // 3):
        record = rng.choice(out)
        out.insert(rng.randint(out.index(record) + 1, len(out)), record)
    return out


def apply(store, records):
    for entity, name, new, old, at in records:
        if entity == "order":
            insights.on_order(store, name, new, old)
        elif entity == "follow":
            insights.on_follow(store, name, new, old, at)
        elif entity == "tier_transition":
            insights.on_tier(store, name, new)
        elif entity == "post":
            insights.on_post(store, name, new, old)


# --- the recount -------------------------------------------------------------------------------


def recount(world):
    days: dict[str, Counter] = defaultdict(Counter)
    posts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_buyer: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for order in world.orders:
        if order.get("paid_at") is None or order["status"] == "cancelled":
            continue
        day = days[kst_day(order["paid_at"])]
        day.update(orders=1, revenue=order["total"], store_link_orders=int(bool(order.get("via_store_link"))),
                   reward_cost=order.get("referral_reward", 0) if order.get("via_store_link") else 0,
                   subscription_orders=int(bool(order.get("subscription_id"))))
        if order.get("via_post_id"):
            posts[order["via_post_id"]][0] += 1
            posts[order["via_post_id"]][1] += order["total"]
        by_buyer[order["buyer_id"]].append((order["paid_at"], order["order_id"]))
    for counted in by_buyer.values():
        counted.sort()
        first = kst_day(counted[0][0])
        days[first]["new_customers"] += 1
        for repeat_day in {kst_day(t) for t, _ in counted[1:]} - {first}:
            days[repeat_day]["repeat_customers"] += 1
    for events in world.follows.values():
        state_at_day_start: dict[str, bool] = {}
        state = False
        for following, _, at in events:
            state_at_day_start.setdefault(kst_day(at), state)
            state = following
            days[kst_day(at)]  # noqa: B018 (the day exists)
            state_at_day_start[kst_day(at) + "!end"] = state
        for day, start in list(state_at_day_start.items()):
            if day.endswith("!end"):
                continue
            end = state_at_day_start[day + "!end"]
            if end and not start:
                days[day]["new_followers"] += 1
            elif start and not end:
                days[day]["unfollows"] += 1
    for to, at in world.tiers:
        if to in ("regular", "lapsed"):
            days[kst_day(at)]["regulars" if to == "regular" else "lapsed"] += 1
    for post_id, (created, live) in world.posts.items():
        if live:
            days[kst_day(created)]["posts"] += 1
    clean = {day: Counter({k: v for k, v in c.items() if v}) for day, c in days.items()}
    return {d: c for d, c in clean.items() if c}, {p: (o, r) for p, (o, r) in posts.items() if o or r}


def counted(store, world):
    days = {d.day: Counter(d.counts) for d in store.days(world.shop_id, "2026-01-01", "2027-12-31") if d.counts}
    posts = {f.post_id: (f.orders, f.revenue) for f in store.post_figures(world.shop_id, "2026-01-01", "2027-12-31")
             if f.orders or f.revenue}
    return days, posts


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=2**32))
def test_random_streams_delivered_out_of_order_with_replays_equal_a_recount(seed):
    rng = random.Random(seed)
    world = make_world(rng)
    store = FakeInsights()
    apply(store, deliveries(rng, world))
    assert counted(store, world) == recount(world)


def test_a_customers_first_order_cancelled_makes_the_next_one_new():
    store, shop = FakeInsights(), "S1"
    def order(n, paid_at, status="paid", h=2):
        return {"order_id": f"O{n}", "shop_id": shop, "buyer_id": "U1", "status": status, "total": 1000,
                "paid_at": paid_at, "updated_at": paid_at + h, "history": [{}] * h}
    insights.on_order(store, "MODIFY", order(1, START), {"paid_at": None})
    insights.on_order(store, "MODIFY", order(2, START + 2 * 86_400), {"paid_at": None})
    day1, day3 = kst_day(START), kst_day(START + 2 * 86_400)
    assert store.counters[(shop, day1)]["new_customers"] == 1 and store.counters[(shop, day3)]["repeat_customers"] == 1
    insights.on_order(store, "MODIFY", order(1, START, "cancelled", 3), order(1, START))
    assert store.counters[(shop, day1)]["new_customers"] == 0 and store.counters[(shop, day1)]["orders"] == 0
    assert (store.counters[(shop, day3)]["new_customers"], store.counters[(shop, day3)]["repeat_customers"]) == (1, 0)
    # The payment's record delivered again after the cancellation changes nothing.
    insights.on_order(store, "MODIFY", order(1, START), {"paid_at": None})
    assert store.counters[(shop, day1)]["orders"] == 0


def test_following_and_unfollowing_a_hundred_times_in_a_day_is_one_follower_or_none():
    store = FakeInsights()
    t = START + 3 * HOUR
    for k in range(100):
        image = {"shop_id": "S1", "user_id": "U1", "created_at": t + k}
        insights.on_follow(store, "INSERT", image, None, t + k)
        insights.on_follow(store, "REMOVE", None, image, t + k + 0.5)
    day = store.counters[("S1", kst_day(t))]
    assert (day["new_followers"], day["unfollows"]) == (0, 0)
    insights.on_follow(store, "INSERT", {"shop_id": "S1", "user_id": "U1", "created_at": t + 200}, None, t + 200)
    assert (day["new_followers"], day["unfollows"]) == (1, 0)


def test_series_fills_quiet_days_and_names_weeks_by_monday_and_months():
    days = [Day("2026-11-30", {"orders": 2, "revenue": 9000}), Day("2026-12-07", {"orders": 1, "revenue": 1000})]
    points, total = insights.series(days, "2026-11-29", "2026-12-08", "day")
    assert len(points) == 10 and points[0].view()["orders"] == 0 and total.view()["average_order"] == 3333
    weeks, _ = insights.series(days, "2026-11-29", "2026-12-08", "week")
    assert [p.period for p in weeks] == ["2026-11-23", "2026-11-30", "2026-12-07"]
    assert [p.view()["orders"] for p in weeks] == [0, 2, 1]
    months, _ = insights.series(days, "2026-11-29", "2026-12-08", "month")
    assert [(p.period, p.view()["revenue"]) for p in months] == [("2026-11", 9000), ("2026-12", 1000)]


def test_the_csv_starts_with_a_bom_and_ends_with_the_total_row():
    points, total = insights.series([Day("2026-12-07", {"orders": 1, "revenue": 4500})], "2026-12-07", "2026-12-07",
                                    "day")
    text = insights.to_csv(points, total)
    assert text.startswith("\ufeff기간 (period),주문 (orders)") and text.endswith("합계,1,4500,4500,0,0,0,0,0,0,0,0,0,0\r\n")


def test_the_weekly_summary_and_the_nudge_speak_korean_with_the_change():
    s = insights.weekly_summary("두부가게", "2026-11-30", {"orders": 12, "revenue": 60000, "regulars": 2},
                                {"orders": 9, "revenue": 70000, "lapsed": 1})
    assert s.title == "두부가게의 지난주 (11/30~12/6)"
    assert s.body == "주문 12건 (+3), 매출 60,000원 (-10,000원), 새 단골 2명 (+2), 발길이 끊긴 단골 0명 (-1)."
    compared = insights.compare_weeks([Day("2026-11-02", {"posts": 2, "orders": 10, "revenue": 50000}),
                                       Day("2026-11-09", {"orders": 4, "revenue": 20000})], "2026-11-02", "2026-11-15")
    assert (compared.posting_weeks, compared.quiet_weeks, compared.posting_orders, compared.quiet_orders) == (1, 1, 10, 4)
    title, body = insights.nudge_text("두부가게", 8, compared)
    assert "8일" in body and "10.0건" in body and "4.0건" in body and "50,000원" in body


def test_nudges_wait_for_daytime_in_korea():
    night = 1_796_058_000.0  # 2026-12-01 02:00 KST
    at = insights.nudge_at(night - 7 * 86_400, 7)
    assert kst_day(at) == "2026-12-01" and (at - night) == 8 * HOUR
    evening = night + 19 * HOUR  # 21:00 KST: the next morning at 10:00
    assert insights.nudge_at(evening - 86_400, 1) == night + 32 * HOUR
    noon = night + 10 * HOUR
    assert insights.nudge_at(noon - 3 * 86_400, 3) == noon
