"""Subscription taps are idempotent: a tap changes the period it was made for, once.

GIVEN a subscription whose next period the app shows, WHEN the subscriber taps "skip" several
times at once, replays the tap, or taps while the job is placing that period, THEN that one
period is skipped (or, if the job ordered it first, the tap is refused with 409
``subscription_period_passed``) and the period after it is never skipped in its place; pausing or
changing the interval twice writes once.
"""

from __future__ import annotations

import threading

import pytest

from chalicelib.services import subscriptions
from chalicelib.wiring import container
from devtools.callcount import dynamodb_calls
from tests.api.conftest import TOKEN_CHECK, assert_problem, real_dynamodb_only
from tests.api.essentials_kit import DAY, T0, make_world, race

PERIOD = 14 * DAY
TAPS = 5


@pytest.fixture
def world(api, monkeypatch):
    w = make_world(api, monkeypatch, discount=10)
    # Other tests moved the clock around the shared table: this test's job starts at its own day.
    w.run(T0 - DAY)
    return w


def at_once(calls: list) -> list:
    return race(*calls)


def outcomes(sub: dict) -> list[tuple[int, str]]:
    return [(h["period"], h["outcome"]) for h in sub["history"]]


def change_directly(world, sid: str, **change):
    """A change through the service, as a request would make it (no HTTP)."""
    return subscriptions.change(container().subscriptions, world.subscriber["user"]["user_id"], sid,
                                status=change.get("status"), every_days=change.get("every_days"),
                                skip_next=change.get("skip_next", False), skip_period=change.get("skip_period"),
                                now=world.clock.now)


# --- racing taps ---------------------------------------------------------------------------------


@real_dynamodb_only
def test_five_concurrent_taps_skip_one_period(world):
    sub = world.subscribed(first_order_at="2026-12-10T00:00:00Z")
    sid = sub["subscription_id"]
    tap = {"skip_next": True, "skip_period": sub["period"]}  # what the app sends: the period it showed
    answers = at_once([lambda: world.change(sid, tap) for _ in range(TAPS)])
    assert [a.status for a in answers] == [200] * TAPS, [a.body for a in answers]
    now = world.get(sid).body
    assert (now["period"], now["next_order_at"]) == (2, "2026-12-24T00:00:00.000Z")  # one period on, not five
    assert outcomes(now) == [(1, "skipped")]
    assert all(a.body == now for a in answers)  # every tap answers the same subscription


@real_dynamodb_only
def test_five_concurrent_taps_without_a_period_skip_the_one_they_saw(world, monkeypatch):
    """The measured race: five bare ``skip_next`` taps that all read period 1 before any of
    them wrote. Four lose the conditional write, read again, find period 1 skipped: done."""
    sid = world.subscribed(first_order_at="2026-12-10T00:00:00Z")["subscription_id"]
    store = container().subscriptions
    read, gate, seen = store.get, threading.Barrier(TAPS), threading.local()

    def first_read_together(subscription_id):
        found = read(subscription_id)
        if not getattr(seen, "read", False):  # each tap's first read; its retries go straight on
            seen.read = True
            gate.wait(30)
        return found

    monkeypatch.setattr(store, "get", first_read_together)
    answers = at_once([lambda: change_directly(world, sid, skip_next=True) for _ in range(TAPS)])
    assert all(not isinstance(a, Exception) for a in answers), answers
    monkeypatch.setattr(store, "get", read)  # only this patch: undo() would also free the test's clock
    now = world.get(sid).body
    assert (now["period"], outcomes(now)) == (2, [(1, "skipped")])
    assert {a.period for a in answers} == {2}


@real_dynamodb_only
def test_concurrent_identical_pauses_and_interval_changes_write_once(world):
    sid = world.subscribed()["subscription_id"]
    before = container().subscriptions.get(sid).revision
    answers = at_once([lambda: world.change(sid, {"status": "paused", "every_days": 21}) for _ in range(TAPS)])
    assert [a.status for a in answers] == [200] * TAPS
    after = container().subscriptions.get(sid)
    assert (after.status, after.every_days, after.revision) == ("paused", 21, before + 1)


# --- replays and lost races, step by step (both backends) ---------------------------------------


def test_a_replayed_tap_changes_nothing_and_a_fresh_tap_skips_the_following_period(world):
    sid = world.subscribed()["subscription_id"]
    first = world.change(sid, {"skip_next": True, "skip_period": 1})
    assert first.status == 200 and (first.body["period"], outcomes(first.body)) == (2, [(1, "skipped")])
    with dynamodb_calls() as calls:
        replay = world.change(sid, {"skip_next": True, "skip_period": 1})
    assert replay.status == 200 and replay.body == first.body
    assert calls.operations == TOKEN_CHECK + ["GetItem"]  # nothing written
    fresh = world.get(sid).body  # the app reads again and shows period 2
    second = world.change(sid, {"skip_period": fresh["period"]})  # skip_period alone is a skip
    assert second.status == 200
    assert (second.body["period"], second.body["next_order_at"]) == (3, "2026-12-29T00:00:00.000Z")
    assert outcomes(second.body) == [(1, "skipped"), (2, "skipped")]
    assert world.change(sid, {"skip_next": True, "skip_period": 1}).body == second.body
    assert world.change(sid, {"skip_next": True, "skip_period": 2}).body == second.body


def test_a_tap_that_lost_to_its_twin_skips_nothing_more(world, monkeypatch):
    """Two bare taps read period 1; the twin writes first. The loser reads again and finds the
    period it was made for skipped: 200, the same subscription (before: period 3)."""
    sid = world.subscribed()["subscription_id"]
    store = container().subscriptions
    save, raced = store.save, []

    def twin_writes_first(current, updated):
        if not raced:
            raced.append(None)
            raced[0] = change_directly(world, sid, skip_next=True)
        save(current, updated)

    monkeypatch.setattr(store, "save", twin_writes_first)
    answer = world.change(sid, {"skip_next": True})
    monkeypatch.setattr(store, "save", save)  # only this patch: undo() would also free the test's clock
    assert answer.status == 200, answer.body
    assert answer.body["period"] == raced[0].period == 2
    assert outcomes(world.get(sid).body) == [(1, "skipped")]


def test_a_tap_that_lost_to_the_job_is_refused_and_the_next_period_stays(world, monkeypatch):
    """The job ordered period 1 between the tap's read and its write: the tap was for period 1,
    which can no longer be skipped; period 2 is not skipped in its place (before: it was)."""
    sid = world.subscribed()["subscription_id"]  # period 1 due now
    store = container().subscriptions
    save, ran = store.save, []

    def job_places_first(current, updated):
        if not ran:
            ran.append(None)
            ran[0] = world.run()
        save(current, updated)

    monkeypatch.setattr(store, "save", job_places_first)
    answer = world.change(sid, {"skip_next": True})
    monkeypatch.setattr(store, "save", save)  # only this patch: undo() would also free the test's clock
    assert ran[0].outcomes == {"ordered": 1}
    problem = assert_problem(answer, 409)
    order_id = world.orders_of(sid)[0]["order_id"]
    assert problem["code"] == "subscription_period_passed"
    assert (problem["period"], problem["outcome"], problem["order_id"], problem["next_period"]) == (
        1, "ordered", order_id, 2)
    now = world.get(sid).body
    assert (now["period"], now["next_order_at"], outcomes(now)) == (2, "2026-12-15T00:00:00.000Z", [(1, "ordered")])
    # The app, showing period 1 still, taps again: the same answer; after a fresh read it skips period 2.
    assert assert_problem(world.change(sid, {"skip_period": 1}), 409)["code"] == "subscription_period_passed"
    korean = world.api.patch(f"/subscriptions/{sid}", {"skip_period": 1}, token=world.subscriber["token"],
                             headers={"Accept-Language": "ko"})
    assert "1회차" in assert_problem(korean, 409)["detail"]
    assert outcomes(world.change(sid, {"skip_period": 2}).body) == [(1, "ordered"), (2, "skipped")]


def test_a_tap_for_a_period_skipped_for_want_of_stock_changes_nothing(world):
    sid = world.subscribed()["subscription_id"]
    world.api.patch(f"/products/{world.beans['product_id']}", {"stock": 0}, token=world.owner["token"])
    assert world.run().outcomes == {"out_of_stock": 1}
    before = world.get(sid).body
    answer = world.change(sid, {"skip_next": True, "skip_period": 1})  # nothing was ordered: the tap's intent holds
    assert answer.status == 200 and answer.body == before and before["period"] == 2


def test_setting_what_is_set_writes_nothing(world):
    sid = world.subscribed()["subscription_id"]
    paused = world.change(sid, {"status": "paused", "every_days": 21}).body
    with dynamodb_calls() as calls:
        again = world.change(sid, {"status": "paused", "every_days": 21})
    assert again.status == 200 and again.body == paused
    assert calls.operations == TOKEN_CHECK + ["GetItem"]


@pytest.mark.parametrize("body, field, code", [
    ({"skip_period": 3}, "body.skip_period", "not_next_period"),  # a period after the one ahead
    ({"skip_next": False, "skip_period": 1}, "body.skip_next", "skip_next_false"),
    ({"skip_period": 0}, "body.skip_period", None),
    ({"skip_period": "1"}, "body.skip_period", None),
    ({"skip_period": None}, "body.skip_period", None),
    ({"skip_period": 1.5}, "body.skip_period", None),
])
def test_bad_skip_periods_are_422_and_change_nothing(world, body, field, code):
    sub = world.subscribed()
    problem = assert_problem(world.change(sub["subscription_id"], body), 422)
    assert field in {e["field"] for e in problem["errors"]}, problem
    if code:
        assert code in {e["code"] for e in problem["errors"]}, problem
    assert world.get(sub["subscription_id"]).body == sub


def test_a_paused_subscription_cannot_skip_the_period_it_shows(world):
    sid = world.subscribed()["subscription_id"]
    world.change(sid, {"status": "paused"})
    problem = assert_problem(world.change(sid, {"skip_period": 1}), 409)
    assert problem["code"] == "subscription_not_active"


def test_the_patch_documents_skip_period_and_its_409(api):
    patch = api.get("/openapi.json").body["paths"]["/subscriptions/{subscription_id}"]["patch"]
    assert "subscription_period_passed" in patch["responses"]["409"]["x-problem-codes"]
    assert "skip_period" in str(api.get("/openapi.json").body["components"]["schemas"]["SubscriptionUpdate"])
