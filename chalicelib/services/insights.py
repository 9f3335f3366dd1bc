"""Insights: what posting, regulars, store links and subscriptions brought a shop, per KST day.

**Counters per (shop, day)**, added to from the main table's stream. Each counter is the sum of
what its *sources* contribute, and every source's contribution is a pure function of the source's
latest state, so the day items always equal a recount from the items themselves:

| counter | source | contributes |
|---|---|---|
| orders, revenue, store_link_orders, reward_cost, subscription_orders | an order that is paid and not cancelled | on its ``paid_at`` day: 1, ``total``, 1 if ``via_store_link``, ``referral_reward``, 1 if ``subscription_id`` |
| new_customers | a customer's earliest counted order at the shop | 1 on that order's day |
| repeat_customers | a customer's other counted orders | 1 per other day with one (a customer counts once a day) |
| new_followers / unfollows | a (shop, customer) pair's follows | per day, 1 if the pair followed at the day's end but not at its start / the reverse |
| regulars, lapsed | ``tier_transition`` items | 1 on its day per move to ``regular`` / ``lapsed`` |
| posts | a post that exists | 1 on its creation day |

So a cancellation or refund takes back exactly what its order added (on the day it added it),
following and unfollowing a hundred times in a day is one follower or none, and a customer's
first order being cancelled makes their next one the "new customer" order.

**Exactly once.** The handler keeps, per (shop, customer), a ledger (``records.insights.Ledger``):
each paid order's mark with the position of the image it came from (``len(history)``,
``updated_at``; a cancelled order is final), the follow state with its position, and the tier
changes counted. A record older than what the ledger holds, or a replay, changes nothing; the
ledger and the day counters are written in one transaction conditional on the ledger's version.
Posts are guarded on their own figures item (``created_at`` set once, ``live`` until deleted).

Days are Korean calendar days (UTC+9).
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Protocol

from chalicelib.records.insights import METRICS, Day, Effect, FollowMark, Ledger, OrderMark, PostFigures

KST = timezone(timedelta(hours=9))
CANCELLED = "cancelled"
MAX_RANGE_DAYS = 366
GRANULARITIES = ("day", "week", "month")
# Conflicting writers of one ledger (an order and a follow of the same customer in two shards)
# are retried from a fresh read; more than this many in a row is a bug or a storm.
MAX_ATTEMPTS = 8
Counts = dict[str, int]


class Malformed(ValueError):
    """A stream image that breaks the event contract."""


# --- days --------------------------------------------------------------------------------------


def kst_day(epoch: float) -> str:
    """The Korean calendar day of an instant, ``2026-12-07``."""
    return datetime.fromtimestamp(epoch, KST).date().isoformat()


def day_start(day: str) -> float:
    """Epoch seconds of 00:00 KST on ``day``."""
    return datetime.fromisoformat(day).replace(tzinfo=KST).timestamp()


def week_of(day: str) -> str:
    """The Monday that starts the ISO week of ``day``."""
    d = date.fromisoformat(day)
    return (d - timedelta(days=d.weekday())).isoformat()


def month_of(day: str) -> str:
    return day[:7]


def days_between(first: str, last: str) -> list[str]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [(start + timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]


# --- what an image says ------------------------------------------------------------------------


def _num(image: Mapping[str, Any], name: str, default: float | None = None) -> float:
    value = image.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise Malformed(f"{name} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise Malformed(f"{name} must be a finite non-negative number, got {value!r}")
    return number


def _str(image: Mapping[str, Any], name: str) -> str:
    value = image.get(name)
    if not isinstance(value, str) or not value:
        raise Malformed(f"{name} must be a non-empty string, got {value!r}")
    return value


@dataclass(frozen=True)
class OrderFacts:
    """What one order image contributes, if it counts."""

    order_id: str
    shop_id: str
    buyer_id: str
    paid_at: float
    counted: bool
    final: bool
    position: tuple[int, float]
    total: int
    store_link: bool
    reward: int
    subscription: bool
    post_id: str | None

    def counts(self) -> Counts:
        return {"orders": 1, "revenue": self.total, "store_link_orders": int(self.store_link),
                "reward_cost": self.reward if self.store_link else 0, "subscription_orders": int(self.subscription)}


def order_facts(image: Mapping[str, Any] | None) -> OrderFacts | None:
    """The order's facts, or None while it was never paid (it contributes nothing, ever)."""
    if image is None or image.get("paid_at") is None:
        return None
    status = image.get("status")
    history = image.get("history") or []
    return OrderFacts(
        order_id=_str(image, "order_id"), shop_id=_str(image, "shop_id"), buyer_id=_str(image, "buyer_id"),
        paid_at=_num(image, "paid_at"), counted=status != CANCELLED, final=status == CANCELLED,
        position=(len(history) if isinstance(history, list) else 0, _num(image, "updated_at", 0)),
        total=int(_num(image, "total")), store_link=bool(image.get("via_store_link")),
        reward=int(_num(image, "referral_reward", 0) if image.get("referral_reward") is not None else 0),
        subscription=bool(image.get("subscription_id")),
        post_id=image.get("via_post_id") if isinstance(image.get("via_post_id"), str) else None)


def counting_changed(event_name: str, new: Mapping[str, Any] | None, old: Mapping[str, Any] | None) -> bool:
    """Whether an order record can change what the order contributes: it is (or became) paid, or
    it was cancelled. Later moves of a paid order (shipped, delivered) cost no read at all."""
    if new is None or new.get("paid_at") is None:
        return False
    if event_name != "MODIFY" or old is None:
        return True
    return old.get("paid_at") is None or (old.get("status") == CANCELLED) != (new.get("status") == CANCELLED)


# --- one source's effect -----------------------------------------------------------------------


def _add(days: dict[str, Counts], day: str, counts: Mapping[str, int], sign: int = 1) -> None:
    bucket = days.setdefault(day, {})
    for name, value in counts.items():
        if value:
            bucket[name] = bucket.get(name, 0) + sign * value


def _prune(days: dict[str, Counts]) -> dict[str, Counts]:
    out = {}
    for day, counts in days.items():
        kept = {k: v for k, v in counts.items() if v}
        if kept:
            out[day] = kept
    return out


def customer_days(orders: Mapping[str, OrderMark]) -> dict[str, Counts]:
    """new_customers / repeat_customers a customer contributes, from their counted orders."""
    counted = sorted((m.paid_at, order_id) for order_id, m in orders.items() if m.counted)
    if not counted:
        return {}
    first_day = kst_day(counted[0][0])
    out: dict[str, Counts] = {first_day: {"new_customers": 1}}
    for paid_at, _ in counted[1:]:
        day = kst_day(paid_at)
        if day != first_day:
            out[day] = {"repeat_customers": 1}
    return out


def _copy(ledger: Ledger) -> Ledger:
    return replace(ledger, orders={k: replace(v) for k, v in ledger.orders.items()},
                   follow=None if ledger.follow is None else replace(ledger.follow), tiers=set(ledger.tiers))


def apply_order(ledger: Ledger, facts: OrderFacts) -> Effect | None:
    """The effect of one paid order's image; None when the ledger already holds it or newer."""
    mark = ledger.orders.get(facts.order_id)
    if mark is not None and (mark.final or facts.position < mark.position):
        return None
    was = mark.counted if mark is not None else False
    if mark is not None and was == facts.counted and mark.final == facts.final:
        return None  # the same standing (a replay, or a later move such as shipped)
    new = _copy(ledger)
    new.orders[facts.order_id] = OrderMark(paid_at=facts.paid_at, counted=facts.counted, position=facts.position,
                                           final=facts.final)
    days: dict[str, Counts] = defaultdict(dict)
    posts: dict[str, tuple[int, int]] = {}
    if was != facts.counted:
        sign = 1 if facts.counted else -1
        _add(days, kst_day(facts.paid_at), facts.counts(), sign)
        if facts.post_id:
            posts[facts.post_id] = (sign, sign * facts.total)
    for day, counts in customer_days(ledger.orders).items():
        _add(days, day, counts, -1)
    for day, counts in customer_days(new.orders).items():
        _add(days, day, counts, 1)
    return Effect(ledger=new, days=_prune(days), posts=posts)


def _follow_counts(start: bool, end: bool) -> Counts:
    if not start and end:
        return {"new_followers": 1}
    if start and not end:
        return {"unfollows": 1}
    return {}


def apply_follow(ledger: Ledger, following: bool, created_at: float, at: float) -> Effect | None:
    """The effect of a follow (``following``) or unfollow of the pair at ``at``: per day, whether
    the customer followed at its end but not at its start (or the reverse). A pair's records
    arrive in order (one item); a replay or an older record is None."""
    position = (created_at, 0 if following else 1)
    prev = ledger.follow
    if prev is not None and position <= prev.position:
        return None
    day = kst_day(at)
    days: dict[str, Counts] = {}
    if prev is not None and prev.day == day:
        start = prev.start
        _add(days, day, _follow_counts(start, prev.following), -1)
    else:
        # The state the day began with: the latest known, or (first record of the pair, which
        # an unfollow can be for a follow from before insights) the opposite of this one.
        start = prev.following if prev is not None else not following
    _add(days, day, _follow_counts(start, following))
    new = _copy(ledger)
    new.follow = FollowMark(position=position, following=following, day=day, start=start)
    return Effect(ledger=new, days=_prune(days))


TIER_COUNTERS = {"regular": "regulars", "lapsed": "lapsed"}


def apply_tier(ledger: Ledger, key: str, to_tier: str, at: float) -> Effect | None:
    """A tier change (``tier_transition`` item, ``key`` its sort key): a move to regular or
    lapsed counts once on its day; other moves and replays are None."""
    counter = TIER_COUNTERS.get(to_tier)
    if counter is None or key in ledger.tiers:
        return None
    new = _copy(ledger)
    new.tiers.add(key)
    return Effect(ledger=new, days={kst_day(at): {counter: 1}})


class Store(Protocol):
    def ledger(self, shop_id: str, user_id: str) -> Ledger: ...

    def save(self, effect: Effect, shop_id: str) -> bool:
        """Store the ledger (conditional on its version) and add the counters, in one
        transaction; False when another writer moved the ledger first."""
        ...

    def post_published(self, shop_id: str, post_id: str, created_at: float) -> bool: ...

    def post_removed(self, shop_id: str, post_id: str) -> bool: ...

    def days(self, shop_id: str, first: str, last: str) -> list[Day]: ...

    def post_figures(self, shop_id: str, first: str, last: str) -> list[PostFigures]: ...


def record(store: Store, shop_id: str, user_id: str, step) -> bool:
    """Apply ``step(ledger) -> Effect | None`` to the pair's ledger, from a fresh read until the
    conditional write wins; True if anything was written."""
    for _ in range(MAX_ATTEMPTS):
        ledger = store.ledger(shop_id, user_id)
        effect = step(ledger)
        if effect is None:
            return False
        if store.save(effect, shop_id):
            return True
    raise RuntimeError(f"insights ledger {shop_id}/{user_id}: still contended after {MAX_ATTEMPTS} attempts")


# --- stream records ----------------------------------------------------------------------------


def on_order(store: Store, event_name: str, new: Mapping[str, Any] | None, old: Mapping[str, Any] | None) -> bool:
    if not counting_changed(event_name, new, old):
        return False
    facts = order_facts(new)
    assert facts is not None
    return record(store, facts.shop_id, facts.buyer_id, lambda ledger: apply_order(ledger, facts))


def on_follow(store: Store, event_name: str, new: Mapping[str, Any] | None, old: Mapping[str, Any] | None,
              record_at: float) -> bool:
    image = new if event_name == "INSERT" else old
    if event_name not in ("INSERT", "REMOVE") or image is None:
        return False
    shop_id, user_id, created = _str(image, "shop_id"), _str(image, "user_id"), _num(image, "created_at")
    following = event_name == "INSERT"
    at = created if following else max(created, record_at)
    return record(store, shop_id, user_id, lambda ledger: apply_follow(ledger, following, created, at))


def on_tier(store: Store, event_name: str, new: Mapping[str, Any] | None) -> bool:
    if event_name != "INSERT" or new is None:
        return False
    shop_id, user_id, key = _str(new, "shop_id"), _str(new, "user_id"), _str(new, "sk")
    to_tier, at = _str(new, "to_tier"), _num(new, "at")
    return record(store, shop_id, user_id, lambda ledger: apply_tier(ledger, key, to_tier, at))


def on_post(store: Store, event_name: str, new: Mapping[str, Any] | None, old: Mapping[str, Any] | None) -> bool:
    if event_name == "INSERT" and new is not None:
        return store.post_published(_str(new, "shop_id"), _str(new, "post_id"), _num(new, "created_at"))
    if event_name == "REMOVE" and old is not None:
        return store.post_removed(_str(old, "shop_id"), _str(old, "post_id"))
    return False


# --- reading -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    period: str
    counts: dict[str, int]

    def view(self) -> dict[str, Any]:
        orders, revenue = self.counts.get("orders", 0), self.counts.get("revenue", 0)
        out: dict[str, Any] = {"period": self.period}
        for name in METRICS:
            out[name] = self.counts.get(name, 0)
            if name == "revenue":
                out["average_order"] = round(revenue / orders) if orders > 0 else 0
        return out


def period_of(day: str, granularity: str) -> str:
    if granularity == "week":
        return week_of(day)
    if granularity == "month":
        return month_of(day)
    return day


def series(days: Iterable[Day], first: str, last: str, granularity: str) -> tuple[list[Point], Point]:
    """Points for every period of ``first..last`` (zeros where nothing happened) and the totals.
    A week is named by its Monday and a month by ``YYYY-MM``; the first and last periods hold
    only the range's days."""
    by_day = {d.day: d.counts for d in days}
    periods: dict[str, Counter] = {}
    total: Counter = Counter()
    for day in days_between(first, last):
        bucket = periods.setdefault(period_of(day, granularity), Counter())
        counts = by_day.get(day) or {}
        bucket.update(counts)
        total.update(counts)
    points = [Point(period, {k: int(v) for k, v in counts.items()}) for period, counts in periods.items()]
    return points, Point("total", {k: int(v) for k, v in total.items()})


def rank_posts(figures: Iterable[PostFigures], limit: int) -> list[PostFigures]:
    """The range's live posts, those that brought the most orders first (then revenue, then newest)."""
    live = [f for f in figures if f.live and f.created_at is not None]
    live.sort(key=lambda f: (f.orders, f.revenue, f.post_id), reverse=True)
    return live[:limit]


CSV_HEADER = {"period": "기간", "orders": "주문", "revenue": "매출(원)", "average_order": "평균 주문금액(원)",
              "new_followers": "새 팔로워", "unfollows": "언팔로우", "new_customers": "첫 구매 고객",
              "repeat_customers": "재구매 고객", "regulars": "새 단골", "lapsed": "발길 끊긴 단골",
              "store_link_orders": "스토어 링크 주문", "reward_cost": "리워드 비용(원)",
              "subscription_orders": "정기배송 주문", "posts": "게시물"}


def to_csv(points: Iterable[Point], totals: Point) -> str:
    """The series as CSV for a spreadsheet: a UTF-8 byte order mark first (Excel reads Korean
    headers right only with it), Korean headers with the API's field names in brackets, CRLF
    line ends (RFC 4180)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    columns = list(CSV_HEADER)
    writer.writerow([f"{CSV_HEADER[c]} ({c})" for c in columns])
    for point in [*points, totals]:
        row = point.view()
        writer.writerow([("합계" if point.period == "total" else row["period"]) if c == "period" else row[c]
                         for c in columns])
    return out.getvalue()


# --- what the owner is told --------------------------------------------------------------------


def won(amount: int) -> str:
    return f"{amount:,}원"


def _change(now: int, before: int, unit: str = "") -> str:
    diff = now - before
    if diff == 0:
        return "지난주와 같아요"
    sign = "+" if diff > 0 else "-"
    amount = won(abs(diff)) if unit == "won" else f"{abs(diff)}"
    return f"{sign}{amount}"


@dataclass(frozen=True)
class Summary:
    week: str  # the Monday of the week summarised
    title: str
    body: str
    data: dict[str, Any]


def weekly_summary(shop_name: str, week: str, this: Mapping[str, int], before: Mapping[str, int]) -> Summary:
    """Last week against the week before, in Korean: orders, revenue, new regulars, lapsed regulars."""
    def get(counts: Mapping[str, int], name: str) -> int:
        return int(counts.get(name, 0))

    o, r, g, lp = (get(this, n) for n in ("orders", "revenue", "regulars", "lapsed"))
    o0, r0, g0, lp0 = (get(before, n) for n in ("orders", "revenue", "regulars", "lapsed"))
    monday = date.fromisoformat(week)
    sunday = monday + timedelta(days=6)
    title = f"{shop_name}의 지난주 ({monday.month}/{monday.day}~{sunday.month}/{sunday.day})"
    body = (f"주문 {o}건 ({_change(o, o0)}), 매출 {won(r)} ({_change(r, r0, 'won')}), "
            f"새 단골 {g}명 ({_change(g, g0)}), 발길이 끊긴 단골 {lp}명 ({_change(lp, lp0)}).")
    data = {"week": week, "orders": o, "orders_before": o0, "revenue": r, "revenue_before": r0,
            "new_regulars": g, "new_regulars_before": g0, "lapsed": lp, "lapsed_before": lp0}
    return Summary(week=week, title=title, body=body, data=data)


@dataclass(frozen=True)
class WeeksCompared:
    posting_weeks: int
    quiet_weeks: int
    posting_orders: float  # average orders in a week with a post
    quiet_orders: float
    posting_revenue: float
    quiet_revenue: float
    posting_followers: float  # average net new followers
    quiet_followers: float


def compare_weeks(days: Iterable[Day], first: str, last: str) -> WeeksCompared:
    """Whole weeks of ``first..last`` split into weeks with a post and quiet ones, with what each
    kind brought on average."""
    points, _ = series(days, first, last, "week")
    posting = [p.counts for p in points if p.counts.get("posts", 0) > 0]
    quiet = [p.counts for p in points if p.counts.get("posts", 0) <= 0]

    def avg(weeks: list[dict[str, int]], f) -> float:
        return sum(f(w) for w in weeks) / len(weeks) if weeks else 0.0

    net = lambda w: w.get("new_followers", 0) - w.get("unfollows", 0)  # noqa: E731
    return WeeksCompared(len(posting), len(quiet), avg(posting, lambda w: w.get("orders", 0)),
                         avg(quiet, lambda w: w.get("orders", 0)), avg(posting, lambda w: w.get("revenue", 0)),
                         avg(quiet, lambda w: w.get("revenue", 0)), avg(posting, net), avg(quiet, net))


def nudge_text(shop_name: str, quiet_days: int, compared: WeeksCompared) -> tuple[str, str]:
    """The posting nudge's title and body, with what the shop's own posting weeks brought."""
    title = f"{shop_name} 소식을 기다리는 손님들이 있어요"
    head = f"마지막 게시물 이후 {quiet_days}일이 지났어요."
    c = compared
    if c.posting_weeks and c.quiet_weeks:
        body = (f"{head} 최근 게시물을 올린 주에는 주문이 평균 {c.posting_orders:.1f}건, 매출 "
                f"{won(round(c.posting_revenue))}이었고, 올리지 않은 주에는 {c.quiet_orders:.1f}건, "
                f"{won(round(c.quiet_revenue))}이었어요. 오늘 한 장 올려 보세요.")
    elif c.posting_weeks:
        body = (f"{head} 게시물을 올린 주에는 주문이 평균 {c.posting_orders:.1f}건, 매출 "
                f"{won(round(c.posting_revenue))}이었어요. 오늘 한 장 올려 보세요.")
    else:
        body = f"{head} 새 상품이나 가게의 하루를 사진 한 장으로 알려 보세요."
    return title, body


def weeks_back(day: str, weeks: int) -> tuple[str, str]:
    """The ``weeks`` whole weeks before the week of ``day``: (their first Monday, last Sunday)."""
    monday = date.fromisoformat(week_of(day))
    return (monday - timedelta(weeks=weeks)).isoformat(), (monday - timedelta(days=1)).isoformat()


def now_day(now: float) -> str:
    return kst_day(now)


def utc_day(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).date().isoformat()


# --- the weekly summary and the posting nudge ----------------------------------------------------
#
# Both are due items (``storage.insights``): a shop's first counted event of a day schedules the
# summaries of the two Mondays after it (so a shop whose week went quiet still hears "0, down
# from 5"); a post, a new shop and a change of ``posting_nudge_days`` schedule a check of the
# shop's quiet spell. The hourly job (``events.schedules.insights_notices``) sends what is due, once
# each (the inbox's per-source key), then drops it.

WEEKLY, NUDGE = "insights_weekly", "posting_nudge"
DAY_SECONDS = 86_400
LOOK_BACK_DAYS = 8
NUDGE_HOURS = (10, 20)  # a nudge waits for 10:00-20:00 KST
COMPARE_WEEKS = 12  # the posting nudge compares the shop's last 12 whole weeks


def summary_times(day: str) -> tuple[float, float]:
    """09:00 KST on the two Mondays after the week of ``day``."""
    monday = day_start(week_of(day)) + 9 * 3600
    return monday + 7 * DAY_SECONDS, monday + 14 * DAY_SECONDS


def nudge_at(quiet_since: float, days: int) -> float:
    """``days`` after ``quiet_since``, moved into the daytime window (KST) if it falls outside."""
    at = quiet_since + days * DAY_SECONDS
    local = datetime.fromtimestamp(at, KST)
    if local.hour < NUDGE_HOURS[0]:
        return local.replace(hour=NUDGE_HOURS[0], minute=0, second=0, microsecond=0).timestamp()
    if local.hour >= NUDGE_HOURS[1]:
        next_day = local + timedelta(days=1)
        return next_day.replace(hour=NUDGE_HOURS[0], minute=0, second=0, microsecond=0).timestamp()
    return at


class Due(Protocol):
    def schedule(self, kind: str, at: float, subject: str) -> None: ...

    def due(self, kind: str, now: float, look_back_days: int) -> Iterable[tuple[float, str]]: ...

    def drop_due(self, kind: str, at: float, subject: str) -> None: ...


class Shops(Protocol):
    def get_shop(self, shop_id: str) -> Any: ...


class Posts(Protocol):
    def recent_posts(self, shop_id: str, count: int) -> list[Any]: ...


class Inbox(Protocol):
    def add(self, notice: Any) -> bool: ...


@dataclass
class Context:
    store: Any  # Store and Due
    shops: Shops
    posts: Posts
    inbox: Inbox


@dataclass
class NoticeReport:
    weekly: Counter = field(default_factory=Counter)
    nudges: Counter = field(default_factory=Counter)
    stopped_early: bool = False


def send_weekly(ctx: Context, at: float, shop_id: str) -> str:
    """The summary of the week that ended before ``at``: one Query of 14 days, one notice."""
    from chalicelib.records.notifications import Notice

    shop = ctx.shops.get_shop(shop_id)
    if shop is None:
        return "no_shop"
    this_week = week_of(kst_day(at - DAY_SECONDS))
    before_week = (date.fromisoformat(this_week) - timedelta(days=7)).isoformat()
    last = (date.fromisoformat(this_week) + timedelta(days=6)).isoformat()
    days = ctx.store.days(shop_id, before_week, last)
    this: Counter = Counter()
    before: Counter = Counter()
    for d in days:
        (this if d.day >= this_week else before).update(d.counts)
    summary = weekly_summary(shop.name, this_week, this, before)
    data = {**summary.data, "shop_id": shop_id, "shop_name": shop.name, "title": summary.title,
            "body": summary.body}
    added = ctx.inbox.add(Notice(shop.owner_id, WEEKLY, f"{shop_id}#{this_week}", at, data))
    return "sent" if added else "repeat"


def check_nudge(ctx: Context, at: float, shop_id: str, now: float) -> str:
    """Nudge the owner if the shop has been quiet for its ``posting_nudge_days``; otherwise
    schedule the check for when it would have been."""
    from chalicelib.records.notifications import Notice

    shop = ctx.shops.get_shop(shop_id)
    if shop is None:
        return "no_shop"
    days = int(getattr(shop, "posting_nudge_days", 7))
    if days <= 0:
        return "off"
    latest = ctx.posts.recent_posts(shop_id, 1)
    quiet_since = float(latest[0].created_at) if latest else float(shop.created_at)
    when = nudge_at(quiet_since, days)
    if when > now:
        if abs(when - at) > 1:
            ctx.store.schedule(NUDGE, when, shop_id)
        return "not_yet"
    today = kst_day(now)
    first, last = weeks_back(today, COMPARE_WEEKS)
    compared = compare_weeks(ctx.store.days(shop_id, first, last), first, last)
    quiet_days = int((now - quiet_since) // DAY_SECONDS)
    title, body = nudge_text(shop.name, quiet_days, compared)
    source = latest[0].post_id if latest else "never"
    data = {"shop_id": shop_id, "shop_name": shop.name, "title": title, "body": body, "quiet_days": quiet_days,
            "posting_weeks": compared.posting_weeks, "quiet_weeks": compared.quiet_weeks,
            "posting_week_orders": round(compared.posting_orders, 1),
            "quiet_week_orders": round(compared.quiet_orders, 1),
            "posting_week_revenue": round(compared.posting_revenue), "quiet_week_revenue": round(compared.quiet_revenue)}
    added = ctx.inbox.add(Notice(shop.owner_id, NUDGE, f"{shop_id}#{source}", now, data))
    return "sent" if added else "repeat"


def run_notices(ctx: Context, now: float, deadline: float | None = None) -> NoticeReport:
    """Every weekly summary and posting nudge due by ``now``, each dropped once handled; what the
    deadline (``time.monotonic``) leaves stays due for the next run."""
    import time

    report = NoticeReport()
    for kind, handle, counter in ((WEEKLY, lambda at, s: send_weekly(ctx, at, s), report.weekly),
                                  (NUDGE, lambda at, s: check_nudge(ctx, at, s, now), report.nudges)):
        for at, subject in ctx.store.due(kind, now, LOOK_BACK_DAYS):
            if deadline is not None and time.monotonic() > deadline:
                report.stopped_early = True
                return report
            counter[handle(at, subject)] += 1
            ctx.store.drop_due(kind, at, subject)
    return report


def on_day_created(store: Due, event_name: str, new: Mapping[str, Any] | None) -> bool:
    """A shop's first counted event of a day: its next two weekly summaries are due."""
    if event_name != "INSERT" or new is None:
        return False
    shop_id, day = _str(new, "shop_id"), _str(new, "day")
    for at in summary_times(day):
        store.schedule(WEEKLY, at, shop_id)
    return True


def on_quiet_clock(store: Due, shops: Shops, shop_id: str, since: float) -> None:
    """A post (or a new shop, or a changed setting) restarts the quiet clock: check it then."""
    shop = shops.get_shop(shop_id)
    days = int(getattr(shop, "posting_nudge_days", 7)) if shop is not None else 0
    if days > 0:
        store.schedule(NUDGE, nudge_at(since, days), shop_id)
