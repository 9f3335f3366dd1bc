"""Insights through the API: what the owner learns, counted once from the stream.

GIVEN a shop with followers, posts and paid, cancelled and unpaid orders, WHEN the stream has
run (and runs again over the same records), THEN ``GET /shops/{id}/insights`` counts paid
orders only, on the KST day they were paid, takes back a cancellation, counts followers net
per day and posts that still exist; a year of days is the token check and one Query; the CSV
opens in a spreadsheet; the posts route ranks posts by the orders they brought; the weekly
summary and the posting nudge reach the owner once. Runs on moto and on DynamoDB Local.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.events.stream import dispatch
from devtools.callcount import dynamodb_calls
from tests.api.commerce import advance, make_product, paid, placed
from tests.api.conftest import TOKEN_CHECK, assert_problem, create_post
from tests.clock import TestClock

KST = timezone(timedelta(hours=9))
DAY = 86_400.0


def kst_day(at: float) -> str:
    return datetime.fromtimestamp(at, KST).date().isoformat()


@pytest.fixture
def clock(monkeypatch):
    # The app's clock, stopped at the next whole minute (tokens issued just before stay valid).
    from chalicelib import clock as app_clock

    return TestClock(monkeypatch, (app_clock.now() // 60 + 1) * 60)


@pytest.fixture
def shop(api, owner, clock):
    return {**owner, "id": owner["shop"]["shop_id"], "tofu": make_product(api, owner, price=5000)["product_id"],
            "clock": clock}


def insights(api, shop: dict, query: str = "", path: str = "insights"):
    answer = api.get(f"/shops/{shop['id']}/{path}{'?' + query if query else ''}", token=shop["token"])
    assert answer.status == 200, answer.body
    return answer.body


def point(body: dict, period: str) -> dict:
    [found] = [p for p in body["series"] if p["period"] == period]
    return found


def test_paid_orders_followers_customers_and_posts_counted_once_and_cancellations_taken_back(
        api, shop, user, clock, stream):
    today = kst_day(clock.now)
    assert api.put(f"/shops/{shop['id']}/follow", token=user["token"]).status == 200
    post = create_post(api, shop)
    first = paid(api, shop, user, shop["id"], (shop["tofu"], 2), via_post_id=post["post_id"])
    placed(api, user, shop["id"], (shop["tofu"], 1))  # never paid: counts nothing
    clock.now += 3600
    second = paid(api, shop, user, shop["id"], (shop["tofu"], 1))
    cancelled = paid(api, shop, user, shop["id"], (shop["tofu"], 3))
    advance(api, shop, cancelled["order_id"], "cancelled")
    # Following, unfollowing and following again the same day is one new follower.
    assert api.delete(f"/shops/{shop['id']}/follow", token=user["token"]).status == 204
    assert api.put(f"/shops/{shop['id']}/follow", token=user["token"]).status == 200
    stream()
    body = insights(api, shop, f"from={today}&to={today}")
    expected = {"period": today, "orders": 2, "revenue": first["total"] + second["total"],
                "average_order": round((first["total"] + second["total"]) / 2), "new_followers": 1, "unfollows": 0,
                "new_customers": 1, "repeat_customers": 0, "regulars": 1, "lapsed": 0, "store_link_orders": 0,
                "reward_cost": 0, "subscription_orders": 0, "posts": 1}
    assert body["series"] == [expected] and body["totals"] == {**expected, "period": "total"}
    dispatch(list(stream.seen))  # every record again (out of order and replays: tests/unit/test_insights.py)
    assert insights(api, shop, f"from={today}&to={today}")["series"] == [expected]
    ranked = insights(api, shop, f"from={today}&to={today}", path="insights/posts")["posts"]
    assert [(p["post_id"], p["orders"], p["revenue"]) for p in ranked] == [(post["post_id"], 1, first["total"])]
    # The next day: a repeat customer, and the post deleted takes its count back from its own day.
    clock.now += DAY
    paid(api, shop, user, shop["id"], (shop["tofu"], 1))
    assert api.delete(f"/posts/{post['post_id']}", token=shop["token"]).status == 204
    stream()
    tomorrow = kst_day(clock.now)
    body = insights(api, shop, f"from={today}&to={tomorrow}")
    assert [(p["period"], p["orders"], p["new_customers"], p["repeat_customers"], p["posts"]) for p in body["series"]] \
        == [(today, 2, 1, 0, 0), (tomorrow, 1, 0, 1, 0)]


def test_a_year_by_week_or_month_is_the_token_check_and_one_query_with_every_period(api, shop, clock):
    last = datetime.fromisoformat(kst_day(clock.now)).date()
    first = last - timedelta(days=365)
    for granularity, periods in (("day", 366), ("week", None), ("month", None)):
        with dynamodb_calls() as calls:
            body = insights(api, shop, f"from={first}&to={last}&granularity={granularity}")
        assert calls.operations == TOKEN_CHECK + ["Query"], granularity
        assert (body["from"], body["to"], body["granularity"]) == (first.isoformat(), last.isoformat(), granularity)
        assert all(p["orders"] == 0 and p["average_order"] == 0 for p in body["series"])
        if periods:
            assert len(body["series"]) == periods
    weeks = insights(api, shop, f"from={first}&to={last}&granularity=week")["series"]
    assert all(datetime.fromisoformat(p["period"]).weekday() == 0 for p in weeks[1:])
    months = [p["period"] for p in insights(api, shop, f"from={first}&to={last}&granularity=month")["series"]]
    assert months[0] == first.isoformat()[:7] and months[-1] == last.isoformat()[:7] and len(months) == 13
    default = insights(api, shop)
    assert default["to"] == last.isoformat() and len(default["series"]) == 30


@pytest.mark.parametrize("query, field", [
    ("from=2025-01-01&to=2026-01-02", "query.to"), ("from=2026-02-01&to=2026-01-01", "query.to"),
    ("from=2026-13-01", "query.from"), ("to=yesterday", "query.to"), ("granularity=year", "query.granularity"),
    ("from=2000-01-01", "query.to"), ("limit=0", None),
])
def test_a_bad_range_is_422_with_the_field(api, shop, query, field):
    problem = assert_problem(api.get(f"/shops/{shop['id']}/insights?{query}", token=shop["token"]),
                             422 if field else 200) if field else None
    if field is None:  # limit is not a parameter of the series: ignored
        return
    assert problem["code"] == "validation_failed"
    assert any(e["field"].startswith(field) for e in problem["errors"]), problem


@pytest.mark.parametrize("query", ["to=0333-07-30", "from=0001-01-01&to=0001-01-31", "from=1969-12-31&to=1970-01-01"])
def test_a_range_before_the_first_post_is_empty_not_an_error(api, shop, query):
    # the posts' ranking bounds its Query by post ids (ULIDs), which start at 1970
    for path in ("insights", "insights/posts"):
        body = insights(api, shop, query, path=path)
        assert body.get("posts", []) == [] and all(p["orders"] == 0 for p in body.get("series", []))


def test_only_the_owner_reads_them(api, shop, user):
    for path in ("insights", "insights/posts", "insights.csv"):
        assert assert_problem(api.get(f"/shops/{shop['id']}/{path}", token=user["token"]), 403)["code"] == "forbidden"
        assert_problem(api.get(f"/shops/01NOSUCHSHOP0000000000000/{path}", token=shop["token"]), 404)
        assert api.get(f"/shops/{shop['id']}/{path}").status == 401


def test_the_csv_opens_in_a_spreadsheet_with_korean_headers(api, shop, user, clock, stream):
    paid(api, shop, user, shop["id"], (shop["tofu"], 1))
    stream()
    today = kst_day(clock.now)
    answer = api.get(f"/shops/{shop['id']}/insights.csv?from={today}&to={today}", token=shop["token"])
    assert answer.status == 200
    headers = {k.lower(): v for k, v in answer.headers.items()}
    assert headers["content-type"] == "text/csv; charset=utf-8"
    assert headers["content-disposition"].startswith("attachment; filename=")
    raw = answer.raw
    assert raw.startswith(b"\xef\xbb\xbf")  # the byte order mark Excel needs for UTF-8
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert rows[0][:3] == ["기간 (period)", "주문 (orders)", "매출(원) (revenue)"] and len(rows[0]) == 14
    assert rows[1][0] == today and rows[1][1] == "1" and rows[-1][0] == "합계"
    assert b"\r\n" in raw


class OnlyMine:
    """The insights store with the due items of one shop only: the job run as the schedule runs it,
    without touching other tests' shops on a shared DynamoDB Local table."""

    def __init__(self, store, shop_id: str) -> None:
        self.store, self.shop_id = store, shop_id

    def __getattr__(self, name):
        return getattr(self.store, name)

    def due(self, kind, now, look_back_days):
        return [(at, subject) for at, subject in self.store.due(kind, now, look_back_days) if subject == self.shop_id]


def test_weekly_summary_on_monday_and_posting_nudge_once(api, shop, user, clock, stream, monkeypatch):
    from dataclasses import replace

    from chalicelib.events import schedules
    from chalicelib.services import insights as service

    # The scheduled function itself (its AWS calls are the InsightsNotices role's), over this shop.
    run_notices = service.run_notices
    monkeypatch.setattr(service, "run_notices", lambda deps, now, **kw: run_notices(
        replace(deps, store=OnlyMine(deps.store, shop["id"])), now, **kw))

    def run_insights_notices(now: float):
        return schedules.run_insights_notices(now=now)

    paid(api, shop, user, shop["id"], (shop["tofu"], 2))
    assert api.patch(f"/shops/{shop['id']}", {"posting_nudge_days": 3}, token=shop["token"]).status == 200
    create_post(api, shop)
    stream()
    # Posted now: nudged once the 3 days are over (in the daytime in Korea), once, in Korean.
    due = service.nudge_at(clock.now, 3)
    assert run_insights_notices(now=clock.now + 2 * DAY).nudges.get("sent", 0) == 0
    assert run_insights_notices(now=due + 60).nudges["sent"] == 1
    assert run_insights_notices(now=due + DAY).nudges.get("sent", 0) == 0
    notes = api.get("/me/notifications", token=shop["token"]).body["items"]
    [nudge] = [n for n in notes if n["type"] == "posting_nudge"]
    assert "3일" in nudge["body"] and nudge["data"]["quiet_days"] == 3
    # The next Monday 09:00 KST: the summary of this week against the one before, once.
    monday = service.summary_times(kst_day(clock.now))[0]
    assert datetime.fromtimestamp(monday, KST).strftime("%a %H:%M") == "Mon 09:00"
    assert run_insights_notices(now=monday - 60).weekly.get("sent", 0) == 0
    for _ in range(2):
        run_insights_notices(now=monday)
    notes = api.get("/me/notifications", token=shop["token"]).body["items"]
    [weekly] = [n for n in notes if n["type"] == "insights_weekly"]
    assert "주문 1건" in weekly["body"] and weekly["data"]["orders"] == 1 and weekly["data"]["orders_before"] == 0
    # Off: a shop with 0 is never nudged.
    assert api.patch(f"/shops/{shop['id']}", {"posting_nudge_days": 0}, token=shop["token"]).body[
        "posting_nudge_days"] == 0


@pytest.mark.parametrize("seed", [7, 2026])
def test_random_streams_give_the_recount_on_the_real_tables(aws_backend, seed):
    """The property of tests/unit/test_insights.py, one world at a time, on the real repository."""
    import random
    import uuid

    from chalicelib.wiring import container
    from tests.unit.test_insights import apply, counted, deliveries, make_world, recount

    rng = random.Random(seed)
    world = make_world(rng, shop_id=f"S{uuid.uuid4().hex[:12]}", customers=3, orders=8)
    store = container().insights
    apply(store, deliveries(rng, world))
    assert counted(store, world) == recount(world)


def test_a_paid_order_costs_one_read_and_one_transaction_and_its_replay_one_read(aws_backend):
    """The insights handler's budget per record (bench/insights.py has its write units)."""
    from chalicelib.services import insights as service
    from chalicelib.wiring import container

    store = container().insights
    order = {"order_id": "O1", "shop_id": "S-budget", "buyer_id": "U1", "status": "paid", "total": 9000,
             "paid_at": 1_800_000_000, "updated_at": 1_800_000_000, "history": [{}, {}]}
    with dynamodb_calls() as calls:
        service.on_order(store, "MODIFY", order, {"paid_at": None})
    assert calls.operations == ["GetItem", "TransactWriteItems"]
    with dynamodb_calls() as calls:
        service.on_order(store, "MODIFY", order, {"paid_at": None})
    assert calls.operations == ["GetItem"]
    with dynamodb_calls() as calls:  # shipped: decided from the record's images alone
        service.on_order(store, "MODIFY", {**order, "status": "shipped", "history": [{}, {}, {}]}, order)
    assert calls.operations == []
