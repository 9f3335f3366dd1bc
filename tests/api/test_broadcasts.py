"""Broadcasts through the HTTP API and the stream: a shop's message to a segment of its
customers, each once, in their conversation; advertising only with consent, marked, and held
until 08:00 KST at night; bounded chunks that resume and replay safely. Runs on moto and on
DynamoDB Local."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from chalicelib import wiring as deps
from chalicelib.ids import iso
from chalicelib.records.relationships import Pair, RelationshipState, Tier
from chalicelib.services.broadcasts import KST
from tests.api.conftest import assert_problem
from tests.clock import TestClock

DAY = 86400.0


def _at_kst(hour: int, minute: int = 0, days_ahead: int = 1) -> float:
    """``hour``:``minute`` KST on a day after the real today (the test's own, whatever the date)."""
    from chalicelib import clock as app_clock

    day = datetime.fromtimestamp(app_clock.now(), KST).date() + timedelta(days=days_ahead)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=KST).timestamp()


@pytest.fixture
def clock(monkeypatch):
    """Held still at 14:00 KST tomorrow (a daytime broadcast) until the test moves it."""
    return TestClock(monkeypatch, _at_kst(14))


def follow(api, person, shop_id):
    assert api.put(f"/shops/{shop_id}/follow", token=person["token"]).status in (200, 201)


def broadcast(api, owner, body, status=202) -> dict:
    answer = api.post(f"/shops/{owner['shop']['shop_id']}/broadcasts", body, token=owner["token"])
    assert answer.status == status, answer.body
    return answer.body


def progress(api, owner, broadcast_id) -> dict:
    answer = api.get(f"/shops/{owner['shop']['shop_id']}/broadcasts/{broadcast_id}", token=owner["token"])
    assert answer.status == 200, answer.body
    return answer.body


def shop_messages(api, person) -> list[str]:
    """The shop messages in the person's conversations (one conversation per shop here)."""
    texts = []
    for conversation in api.get("/me/conversations", token=person["token"]).body["items"]:
        page = api.get(f"/conversations/{conversation['conversation_id']}/messages", token=person["token"]).body
        texts += [m["text"] for m in page["items"] if m["sender"] == "shop"]
    return texts


def consent(api, person, shop_id, marketing=True, at_night=False):
    answer = api.put(f"/me/shop-preferences/{shop_id}", {"marketing": marketing, "marketing_at_night": at_night},
                     token=person["token"])
    assert answer.status == 200, answer.body


def test_a_broadcast_reaches_each_customer_of_the_tier_once_in_their_conversation(api, owner, clock, drain_stream):
    shop_id = owner["shop"]["shop_id"]
    people = [api.signup(name=f"손님{n}") for n in range(3)]
    for person in people:
        follow(api, person, shop_id)
    outsider = api.signup(name="지나가는 사람")
    drain_stream()
    accepted = broadcast(api, owner, {"audience": {"tier": "potential"}, "text": "  내일은 쉬어요. 모레 뵐게요!  "})
    assert accepted["status"] == "sending" and accepted["recipients"] is None
    drain_stream()
    drain_stream()  # a replay of everything sends nothing again
    for person in people:
        assert shop_messages(api, person) == ["내일은 쉬어요. 모레 뵐게요!"]
        [conversation] = api.get("/me/conversations", token=person["token"]).body["items"]
        assert conversation["unread_count"] == 1 and conversation["shop_id"] == shop_id
        notes = [n for n in api.get("/me/notifications", token=person["token"]).body["items"] if n["type"] == "message"]
        assert [(n["title"], n["body"]) for n in notes] == [
            (f"{owner['shop']['name']}에서 메시지가 왔어요", "내일은 쉬어요. 모레 뵐게요!")]
    assert shop_messages(api, outsider) == []
    done = progress(api, owner, accepted["broadcast_id"])
    assert {k: done[k] for k in ("status", "recipients", "delivered", "skipped_no_consent", "held_until")} == {
        "status": "done", "recipients": 3, "delivered": 3, "skipped_no_consent": 0, "held_until": None}
    assert done["audience"] == {"tier": "potential", "essential_due": None, "user_ids": None}


def test_advertising_goes_only_to_consenting_customers_marked_and_with_how_to_refuse(api, owner, clock,
                                                                                     drain_stream):
    shop_id, shop_name = owner["shop"]["shop_id"], owner["shop"]["name"]
    yes, no, withdrew = (api.signup(name=n) for n in ("동의함", "안함", "철회함"))
    for person in (yes, no, withdrew):
        follow(api, person, shop_id)
    consent(api, yes, shop_id)
    consent(api, withdrew, shop_id)
    consent(api, withdrew, shop_id, marketing=False)
    drain_stream()
    accepted = broadcast(api, owner, {"audience": {"user_ids": [p["user"]["user_id"] for p in (yes, no, withdrew)]},
                                      "text": "이번 주 콩물 20% 할인해요", "advertising": True})
    assert accepted["recipients"] == 3
    drain_stream()
    [text] = shop_messages(api, yes)
    assert text.startswith(f"(광고) {shop_name}\n이번 주 콩물 20% 할인해요") and "무료 수신거부" in text.splitlines()[-1]
    assert shop_messages(api, no) == [] and shop_messages(api, withdrew) == []
    done = progress(api, owner, accepted["broadcast_id"])
    assert (done["status"], done["recipients"], done["delivered"], done["skipped_no_consent"]) == ("done", 3, 1, 2)


def test_advertising_at_22_kst_waits_until_08_for_customers_without_night_consent(api, owner, clock,
                                                                                  drain_stream):
    from chalicelib.events.schedules import run_broadcast_release

    shop_id = owner["shop"]["shop_id"]
    day, night = api.signup(name="낮에만"), api.signup(name="밤에도")
    for person in (day, night):
        follow(api, person, shop_id)
    consent(api, day, shop_id)
    consent(api, night, shop_id, at_night=True)
    drain_stream()
    clock.now = _at_kst(22)
    accepted = broadcast(api, owner, {"audience": {"tier": "potential"}, "text": "내일 아침 두부 예약받아요",
                                      "advertising": True})
    drain_stream()
    assert len(shop_messages(api, night)) == 1 and shop_messages(api, day) == []
    held = progress(api, owner, accepted["broadcast_id"])
    morning = clock.now + 10 * 3600  # 08:00 KST the next day
    assert (held["status"], held["delivered"]) == ("held", 1)
    assert held["held_until"] == iso(morning)

    clock.now = morning - 60  # 07:59: still waiting
    assert run_broadcast_release().started == 0
    drain_stream()
    assert shop_messages(api, day) == []
    clock.now = morning + 30
    assert run_broadcast_release().started == 1
    assert run_broadcast_release().started == 0  # once
    drain_stream()
    drain_stream()
    assert len(shop_messages(api, day)) == 1 and len(shop_messages(api, night)) == 1
    done = progress(api, owner, accepted["broadcast_id"])
    assert (done["status"], done["recipients"], done["delivered"], done["held_until"]) == ("done", 2, 2, None)


def _lapsed_pairs(shop: dict, count: int, now: float) -> list[Pair]:
    from chalicelib.ids import new_id
    from chalicelib.services import relationships as rel

    pairs = []
    for n in range(count):
        state = RelationshipState(parts={"orders": 3.0}, updated_at=now - 100 * DAY, order_count=2, total_spent=24000,
                                  first_order_at=now - 130 * DAY, order_times=(now - 130 * DAY, now - 100 * DAY),
                                  became_regular_at=now - 100 * DAY, tier=Tier.REGULAR)
        pair = Pair(shop_id=shop["shop_id"], user_id=new_id(), customer_name=f"단골{n:02d}", shop_name=shop["name"],
                    shop_handle=shop["handle"], state=state, tier=Tier.REGULAR, created_at=now - 130 * DAY)
        pairs.append(rel.settle(pair, now)[0])
    assert {p.tier for p in pairs} == {Tier.LAPSED}
    deps.container().relationships.load([(p, rel.list_rank(p)) for p in pairs], now)
    return pairs


def test_a_big_audience_goes_in_bounded_chunks_and_a_replayed_chunk_sends_nothing_twice(api, owner, clock, request,
                                                                                       monkeypatch, drain_stream):
    from chalicelib.records.broadcasts import Chunk
    from chalicelib.services.broadcasts import run_chunk

    monkeypatch.setenv("DONGNE_BROADCAST_CHUNK_SIZE", "10")
    # Chunks end by their size here, never by the invocation's time budget (a busy machine).
    monkeypatch.setenv("DONGNE_STREAM_BUDGET_SECONDS", "60")
    deps.reset()
    request.addfinalizer(deps.reset)
    pairs = _lapsed_pairs(owner["shop"], 25, clock.now)
    accepted = broadcast(api, owner, {"audience": {"tier": "lapsed"}, "text": "요즘 안 보이셔서요. 잘 지내시죠?"})
    drain_stream()
    done = progress(api, owner, accepted["broadcast_id"])
    assert (done["status"], done["recipients"], done["delivered"]) == ("done", 25, 25)
    store = deps.container().broadcasts
    _, chunks = store.progress(accepted["broadcast_id"])
    assert [(c.seq, c.seen, c.delivered, c.last) for c in chunks] == [(0, 10, 10, False), (1, 10, 10, False),
                                                                      (2, 5, 5, True)]
    # A replayed chunk and an overlapping run of it: nothing is sent twice, nothing enqueued twice.
    for _ in range(2):
        report = run_chunk(store, deps.container().consents, Chunk(accepted["broadcast_id"], 0, 1, chunks[1].after, 0),
                           now=clock.now, size=10, clock=lambda: 0.0)
        assert (report.seen, report.delivered, report.continued) == (10, 0, False)
    drain_stream()
    again = progress(api, owner, accepted["broadcast_id"])
    assert (again["recipients"], again["delivered"]) == (25, 25)
    conversations = deps.container().conversations
    from chalicelib.services.conversations import conversation_id

    for pair in pairs:
        page = conversations.messages(conversation_id(pair.shop_id, pair.user_id), 10, None)
        assert [m.text for m in page.items] == ["요즘 안 보이셔서요. 잘 지내시죠?"]


def test_a_blocked_customer_gets_no_broadcast(api, owner, user, clock, drain_stream):
    shop_id = owner["shop"]["shop_id"]
    follow(api, user, shop_id)
    drain_stream()
    assert api.put(f"/shops/{shop_id}/blocks/{user['user']['user_id']}", token=owner["token"]).status == 200
    accepted = broadcast(api, owner, {"audience": {"user_ids": [user["user"]["user_id"]]}, "text": "안내드려요"})
    drain_stream()
    assert shop_messages(api, user) == []
    done = progress(api, owner, accepted["broadcast_id"])
    assert (done["status"], done["recipients"], done["delivered"]) == ("done", 1, 0)


@pytest.mark.parametrize("body, code", [
    ({"audience": {}, "text": "안녕하세요"}, None),
    ({"audience": {"tier": "regular", "essential_due": True}, "text": "안녕하세요"}, None),
    ({"audience": {"essential_due": False}, "text": "안녕하세요"}, None),
    ({"audience": {"tier": None}, "text": "안녕하세요"}, None),
    ({"audience": {"tier": "vip"}, "text": "안녕하세요"}, None),
    ({"audience": {"tier": "regular"}, "text": "   "}, None),
    ({"audience": {"tier": "regular"}, "text": "가" * 1001}, None),
    ({"audience": {"user_ids": []}, "text": "안녕하세요"}, None),
    ({"audience": {"user_ids": ["a", "a"]}, "text": "안녕하세요"}, None),
    ({"audience": {"tier": "regular"}, "text": "안녕하세요", "advertising": "yes"}, None),
    ({"audience": {"tier": "regular"}, "text": "안녕하세요", "send_to_all": True}, None),
])
def test_bad_broadcasts_are_422_and_send_nothing(api, owner, clock, body, code, drain_stream):
    problem = assert_problem(api.post(f"/shops/{owner['shop']['shop_id']}/broadcasts", body, token=owner["token"]),
                             422)
    if code is not None:
        assert code in {e.get("code") for e in problem.get("errors", [])} | {problem["code"]}


def test_only_the_owner_broadcasts_or_reads_one_and_broadcasts_are_limited_per_day(api, owner, user, clock,
                                                                                   monkeypatch):
    shop_id = owner["shop"]["shop_id"]
    body = {"audience": {"tier": "regular"}, "text": "안녕하세요"}
    assert assert_problem(api.post(f"/shops/{shop_id}/broadcasts", body, token=user["token"]), 403)["code"] == "forbidden"
    accepted = broadcast(api, owner, body)
    assert assert_problem(api.get(f"/shops/{shop_id}/broadcasts/{accepted['broadcast_id']}", token=user["token"]),
                          403)["code"] == "forbidden"
    assert assert_problem(api.get(f"/shops/{shop_id}/broadcasts/NOSUCHBROADCAST", token=owner["token"]),
                          404)["code"] == "not_found"
    for _ in range(4):
        broadcast(api, owner, body)
    limited = api.post(f"/shops/{shop_id}/broadcasts", body, token=owner["token"])
    assert assert_problem(limited, 429)["code"] == "rate_limited"



def test_a_coupon_goes_with_the_message_once_to_consenting_recipients_only(api, owner, clock, drain_stream):
    shop_id = owner["shop"]["shop_id"]
    yes, no = api.signup(name="동의함"), api.signup(name="안함")
    for person in (yes, no):
        follow(api, person, shop_id)
    consent(api, yes, shop_id)
    drain_stream()
    coupon = api.post(f"/shops/{shop_id}/coupons", {
        "name": "다시 만나요 쿠폰", "kind": "fixed", "value": 2000, "min_subtotal": 0, "starts_at": iso(clock.now - 60),
        "ends_at": iso(clock.now + 7 * DAY), "max_redemptions": 100}, token=owner["token"]).body
    # Not marked advertising: a coupon makes it so (consent only, "(광고)").
    accepted = broadcast(api, owner, {"audience": {"tier": "potential"}, "text": "다시 뵙고 싶어요",
                                      "coupon_id": coupon["coupon_id"]})
    drain_stream()
    drain_stream()
    assert [c["coupon_id"] for c in api.get("/me/coupons", token=yes["token"]).body["items"]] == [coupon["coupon_id"]]
    assert api.get("/me/coupons", token=no["token"]).body["items"] == [] and shop_messages(api, no) == []
    assert shop_messages(api, yes)[0].startswith("(광고) ")
    done = progress(api, owner, accepted["broadcast_id"])
    assert (done["advertising"], done["delivered"], done["skipped_no_consent"]) == (True, 1, 1)
    # Another shop's coupon is no coupon of this one; an ended one cannot go out.
    other = api.signup(name="다른 가게")
    other_shop = api.open_shop(other["token"], name="옆집", handle=f"next{int(clock.now) % 100000}")
    theirs = api.post(f"/shops/{other_shop['shop_id']}/coupons", {
        "name": "옆집 쿠폰", "kind": "percent", "value": 5, "min_subtotal": 0, "starts_at": iso(clock.now - 60),
        "ends_at": iso(clock.now + DAY), "max_redemptions": 5}, token=other["token"]).body
    body = {"audience": {"tier": "potential"}, "text": "쿠폰 드려요", "coupon_id": theirs["coupon_id"]}
    assert assert_problem(api.post(f"/shops/{shop_id}/broadcasts", body, token=owner["token"]), 404)["code"] == "not_found"
    short = api.post(f"/shops/{shop_id}/coupons", {
        "name": "오늘만", "kind": "percent", "value": 5, "min_subtotal": 0, "starts_at": iso(clock.now - 60),
        "ends_at": iso(clock.now + 3600), "max_redemptions": 5}, token=owner["token"]).body
    clock.now += 2 * 3600
    body["coupon_id"] = short["coupon_id"]
    assert assert_problem(api.post(f"/shops/{shop_id}/broadcasts", body, token=owner["token"]),
                          409)["code"] == "coupon_ended"


def test_a_chunk_out_of_time_half_way_hands_its_page_on_and_the_counts_stay_exact(api, owner, clock, monkeypatch,
                                                                                  drain_stream):
    from chalicelib.records.broadcasts import Chunk
    from chalicelib.services.broadcasts import run_chunk
    from chalicelib.storage import broadcasts as storage

    _lapsed_pairs(owner["shop"], 6, clock.now)
    monkeypatch.setattr(storage, "GROUP", 2)
    monkeypatch.setattr(storage, "WORKERS", 1)
    store = deps.container().broadcasts
    accepted = broadcast(api, owner, {"audience": {"tier": "lapsed"}, "text": "잘 지내시죠?"})
    ticks = iter([0.0, 0.0, 0.0, 10.0])  # the chunk's start, two rounds of transactions, then past the deadline
    first = Chunk(accepted["broadcast_id"], 0, 0, None, clock.now)
    report = run_chunk(store, deps.container().consents, first, now=clock.now, size=200,
                       clock=lambda: next(ticks, 10.0), deadline=5.0)
    assert (report.delivered, report.continued, report.action) == (4, True, "delivered part, handed on")
    drain_stream()  # the stream runs the first chunk again (nothing new) and the continuation
    done = progress(api, owner, accepted["broadcast_id"])
    assert (done["status"], done["recipients"], done["delivered"]) == ("done", 6, 6)
