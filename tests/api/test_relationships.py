"""Relationships: stream events in the contract's shape → pairs → ranked lists and the card.

GIVEN hand-built stream records (tests/fixtures/relationships) delivered to the real handler,
WHEN the owner and the customer read through the HTTP API, THEN the lists, tiers and card say
what a corner-store owner would remember.
"""

from __future__ import annotations

import math

import pytest

from chalicelib.services.relationships import CONFIG
from chalicelib.services.scoring import period_of
from chalicelib.wiring import container
from chalicelib.storage.models.relationships import RelationshipItem, rel_pk, rel_sk
from devtools.callcount import dynamodb_calls
from tests.api.conftest import TOKEN_CHECK, assert_problem, real_dynamodb_only
from tests.api.relationships_kit import DAY, JOURNEY, NOW, make_world


@pytest.fixture
def world(api, monkeypatch):
    return make_world(api, monkeypatch)


def stored(world, user_id: str | None = None) -> RelationshipItem:
    container().relationships  # binds the models
    return RelationshipItem.get(rel_pk(world.shop_id), rel_sk(user_id or world.customer["user"]["user_id"]),
                                consistent_read=True)


# --- the journey from the issue --------------------------------------------------------------


def test_regular_customer_is_first_and_the_card_explains_why(world):
    world.send(*JOURNEY)

    listing = world.customers()
    assert listing.status == 200, listing.body
    items = listing.body["items"]
    assert [i["name"] for i in items] == ["김민지", "최서연"]
    first, second = items
    assert first["tier"] == "regular" and first["order_count"] == 2
    assert first["last_order_at"] == "2026-11-10T09:01:00.000Z"  # paid then
    assert second["tier"] == "potential" and second["order_count"] == 0 and second["following"] is True
    assert first["strength"] > second["strength"] > 0

    card = world.card()
    assert card.status == 200, card.body
    body = card.body
    assert body["tier"] == "regular" and "2 orders" in body["tier_reason"]
    assert body["strength"] == first["strength"]
    assert math.isclose(sum(body["breakdown"].values()), body["strength"], abs_tol=1e-9)
    parts = body["breakdown"]
    assert parts["follow"] > 0 and parts["engagement"] > 0 and parts["orders"] > parts["money"] > 0
    assert parts["reviews"] > 0 and parts["referrals"] == 0
    assert body["order_count"] == 2 and body["total_spent"] == 18000 + 8000
    assert body["first_order_at"] == "2026-11-03T09:01:00.000Z"
    assert body["last_order_at"] == "2026-11-10T09:01:00.000Z"
    assert body["became_regular_at"] == "2026-11-10T09:01:00.000Z"
    assert body["usual_interval_days"] == 7.0
    assert body["customer_since"] == "2026-11-01T09:00:00.000Z"
    assert [f["name"] for f in body["favourite_products"]][0] == "손두부"  # in both orders
    assert {f["name"]: f["quantity"] for f in body["favourite_products"]} == {"손두부": 3, "콩물": 1, "묵은지": 1}
    # Essentials whose cycle ran out by 11-23: tofu (7 days after 11-10) and soy milk (3 days).
    due = {d["name"]: d for d in body["reorder_due"]}
    assert set(due) == {"손두부", "콩물"}  # 묵은지 is a treat: never "due"
    assert due["손두부"]["due_at"] == "2026-11-17T09:01:00.000Z" and due["손두부"]["overdue_days"] == 6.0
    assert due["손두부"]["usual_interval_days"] == 7.0 and due["손두부"]["times_bought"] == 2
    assert [(h["from_tier"], h["to_tier"], h["milestone"]) for h in body["tier_history"]] == [
        ("potential", "first_time", "first_order"), ("first_time", "regular", "became_regular")]
    assert body["note"] == "" and body["note_updated_at"] is None

    other = world.card(world.other["user"]["user_id"]).body
    assert other["tier"] == "potential" and other["tier_reason"].startswith("Follows the shop")
    assert other["breakdown"]["follow"] == other["strength"] > 0

    mine = world.api.get("/me/shops", token=world.customer["token"])
    assert mine.status == 200
    assert [(s["shop_id"], s["name"], s["handle"], s["tier"]) for s in mine.body["items"]] == [
        (world.shop_id, "망원동 두부가게", world.shop["handle"], "regular")]
    assert mine.body["items"][0]["strength"] == first["strength"]


def test_tier_filter_lists_one_tier(world):
    world.send(*JOURNEY)
    regular = world.customers("?tier=regular").body["items"]
    potential = world.customers("?tier=potential").body["items"]
    assert [i["name"] for i in regular] == ["김민지"]
    assert [i["name"] for i in potential] == ["최서연"]
    assert world.customers("?tier=first_time").body["items"] == []
    assert world.customers("?tier=lapsed").body["items"] == []


def test_strength_decays_with_time_and_halves_every_half_life(world):
    world.send("follow")
    now = world.card().body["strength"]
    world.travel_to(NOW + 30 * DAY)
    later = world.card().body["strength"]
    assert math.isclose(later, now / 2, abs_tol=0.011)


# --- each entity of the contract ---------------------------------------------------------------


@pytest.mark.parametrize("fixture, part", [
    ("follow", "follow"), ("like", "engagement"), ("comment", "engagement"), ("share", "engagement"),
    ("order_paid", "orders"), ("review", "reviews"),
])
def test_each_entity_scores_its_part(world, fixture, part):
    world.send(fixture)
    card = world.card()
    assert card.status == 200, card.body
    nonzero = {name for name, value in card.body["breakdown"].items() if value > 0}
    assert part in nonzero
    assert nonzero <= {part, "money"}


def test_comment_weighs_more_than_like_and_shop_replies_do_not_count(world):
    world.send("comment")  # the customer's comment and the owner's reply
    # Late in its 30-day engagement period the comment meets the period's cap (2 points measured
    # at the period's start): it counts 2 · 2^(−x) for x of the way through (more than a like's 1).
    config, at = CONFIG, 1793610600
    start = period_of(at, config) * config.engagement_period_seconds
    capped = min(2.0 * 2 ** ((at - start) / config.half_life_seconds), config.engagement_cap)
    worth = capped * 2 ** (-(at - start) / config.half_life_seconds)
    assert 1.0 < worth <= 2.0
    assert world.card().body["breakdown"]["engagement"] == pytest.approx(
        worth * 2 ** (-(NOW - at) / config.half_life_seconds), abs=0.01)
    assert world.card(world.owner["user"]["user_id"]).status == 404


def test_the_owners_own_actions_make_no_relationship(world):
    world.send("owner_like")
    assert_problem(world.card(world.owner["user"]["user_id"]), 404)
    assert world.customers().body["items"] == []


def test_a_record_breaking_the_contract_is_skipped(world):
    world.send("malformed")
    assert world.customers().body["items"] == []


def test_an_order_counts_when_it_is_paid_and_later_moves_add_nothing(world):
    from chalicelib.events.stream import dispatch
    from tests.api.relationships_kit import records

    world.send("order_placed")  # placed, not paid: no customer yet
    assert_problem(world.card(), 404)
    world.send("order_paid")
    before = stored(world)
    assert before.state.order_count == 1 and before.state.order_times == [1793696460.0]
    shipped = records("order_paid", world.ids)
    shipped[0]["dynamodb"]["OldImage"] = dict(shipped[0]["dynamodb"]["NewImage"])
    shipped[0]["dynamodb"]["NewImage"]["status"] = {"S": "shipped"}
    assert dispatch(shipped) == []
    after = stored(world)
    assert after.version == before.version and after.state.as_dict() == before.state.as_dict()


def test_two_unpaid_orders_leave_a_potential_customer_and_paying_makes_a_regular_once(world):
    from chalicelib.storage.models.relationships import TierTransitionItem

    world.send("follow", "order_placed", "order_second")
    card = world.card().body
    assert card["tier"] == "potential" and card["order_count"] == 0 and card["total_spent"] == 0
    assert card["tier_history"] == [] and card["favourite_products"] == [] and card["reorder_due"] == []
    world.send("order_paid", "order_second_paid")
    world.send("order_paid", "order_second_paid")  # replayed
    card = world.card().body
    assert card["tier"] == "regular" and card["order_count"] == 2 and card["total_spent"] == 26000
    user_id = world.customer["user"]["user_id"]
    prefix = TierTransitionItem.sk.startswith(f"TRANSITION#{user_id}#")
    assert [(t.to_tier, t.milestone) for t in TierTransitionItem.query(rel_pk(world.shop_id), prefix)] == [
        ("first_time", "first_order"), ("regular", "became_regular")]


def test_an_unpaid_order_cancelled_or_expired_leaves_nothing(world):
    world.send("order_second", "order_cancelled_unpaid")
    assert_problem(world.card(), 404)
    world.send("order_second", "order_expired")
    assert_problem(world.card(), 404)
    world.send("follow")
    before = stored(world)
    world.send("order_cancelled_unpaid", "order_expired")
    after = stored(world)
    assert after.version == before.version and after.state.as_dict() == before.state.as_dict()


# --- reversals, replays and arrival order ----------------------------------------------------


def test_cancellation_reverses_the_order(world):
    world.send("follow", "like", "order_placed", "order_paid", "review")
    expected = world.card().body
    world.send("order_second", "order_second_paid")
    assert world.card().body["tier"] == "regular"
    world.send("order_cancelled")  # a paid order cancelled: a refund
    before = stored(world)
    world.send("order_cancelled", "order_second_paid")  # replays, whatever their order
    assert stored(world).version == before.version
    card = world.card().body
    assert card["tier"] == "first_time" and card["order_count"] == 1 and card["total_spent"] == 18000
    assert card["breakdown"] == expected["breakdown"] and card["strength"] == expected["strength"]
    assert {f["name"] for f in card["favourite_products"]} == {"손두부", "묵은지"}
    assert {f["name"]: f["orders"] for f in card["favourite_products"]}["손두부"] == 1
    assert [d["name"] for d in card["reorder_due"]] == ["손두부"]  # bought 11-03, due 11-10
    assert [h["to_tier"] for h in card["tier_history"]] == ["first_time", "regular", "first_time"]


def test_unlike_and_unfollow_take_their_points_back(world):
    world.send("like", "unlike")
    assert world.card().body["strength"] == 0
    assert world.customers().body["items"] == []  # nothing left: off the lists, card kept
    world.send("follow", "unfollow")
    card = world.card().body
    assert card["following"] is False and card["breakdown"]["follow"] == 0


def test_a_reversal_for_a_stranger_creates_nothing(world):
    world.send("unfollow", "unlike", "order_cancelled_unpaid")
    assert_problem(world.card(), 404)


def test_a_cancellation_delivered_before_the_payment_ends_in_the_same_state(api, monkeypatch):
    from chalicelib.storage.models.relationships import TierTransitionItem

    def history(world):
        user_id = world.customer["user"]["user_id"]
        prefix = TierTransitionItem.sk.startswith(f"TRANSITION#{user_id}#")
        return [(t.from_tier, t.to_tier, t.at) for t in TierTransitionItem.query(rel_pk(world.shop_id), prefix)]

    ordered = make_world(api, monkeypatch)
    ordered.send("follow", "order_paid", "order_second", "order_second_paid", "order_cancelled")
    late = make_world(api, monkeypatch)  # the payment's record failed and came back after the cancellation
    late.send("follow", "order_paid", "order_second", "order_cancelled", "order_second_paid")
    alone = make_world(api, monkeypatch)  # the cancellation before anything of the pair
    alone.send("order_cancelled", "follow", "order_paid", "order_second_paid")
    a = ordered.card().body
    assert a["tier"] == "first_time" and a["order_count"] == 1 and a["total_spent"] == 18000
    b = late.card().body
    for key in ("tier", "strength", "breakdown", "order_count", "total_spent", "first_order_at",
                "last_order_at", "became_regular_at", "favourite_products", "reorder_due", "tier_history"):
        assert a[key] == b[key], key
    assert history(ordered) == history(late)
    c = alone.card().body  # here order 2 is counted and taken back before order 1 is counted at all
    for key in ("tier", "strength", "breakdown", "order_count", "total_spent", "first_order_at",
                "last_order_at", "became_regular_at", "reorder_due"):
        assert a[key] == c[key], key
    # A favourite keeps no purchase times, so a cancellation cannot give back the date of the
    # purchase before: in order, tofu keeps 11-10 (the cancelled order's date); here, 11-03.
    def drop_dates(favourites):
        return [{k: v for k, v in f.items() if k != "last_bought_at"} for f in favourites]

    assert drop_dates(a["favourite_products"]) == drop_dates(c["favourite_products"])


def test_replayed_records_are_no_ops(world):
    world.send(*JOURNEY)
    before = stored(world)
    card = world.card().body
    world.send(*JOURNEY)  # Lambda retrying the batches
    world.send("review", "order_second_paid", "order_paid", "follow")  # and re-delivering single records
    after = stored(world)
    assert after.version == before.version
    assert after.state.as_dict() == before.state.as_dict()
    assert world.card().body == card


def test_arrival_order_does_not_matter(api, monkeypatch):
    ordered = make_world(api, monkeypatch)
    ordered.send("follow", "like", "share", "order_placed", "order_paid", "order_second", "order_second_paid",
                 "review")
    shuffled = make_world(api, monkeypatch)
    shuffled.send("review", "order_second_paid", "share", "follow", "order_paid", "order_second", "like",
                  "order_placed")
    a, b = ordered.card().body, shuffled.card().body
    for key in ("tier", "strength", "breakdown", "order_count", "total_spent", "first_order_at", "last_order_at",
                "became_regular_at", "favourite_products", "reorder_due"):
        assert a[key] == b[key], key


# --- tier transitions and lapsing -------------------------------------------------------------


def test_tier_changes_are_written_for_notifications(world):
    from chalicelib.storage.models.relationships import TierTransitionItem

    world.send(*JOURNEY)
    user_id = world.customer["user"]["user_id"]
    prefix = TierTransitionItem.sk.startswith(f"TRANSITION#{user_id}#")
    items = list(TierTransitionItem.query(rel_pk(world.shop_id), prefix))
    assert [(t.from_tier, t.to_tier, t.milestone) for t in items] == [
        ("potential", "first_time", "first_order"), ("first_time", "regular", "became_regular")]


def sweep_progress_at(when: float) -> None:
    """Other tests move the clock around the shared table: set where this test's sweeps start
    (as if the hourly job had run until ``when``)."""
    from chalicelib.services.relationships import day_of

    container().relationships.set_sweep_watermark(day_of(when), when)


def test_the_sweep_moves_a_regular_who_stopped_coming_to_lapsed(world):
    from chalicelib.events.schedules import run_lapse_sweep

    world.send(*JOURNEY)
    lapses_at = stored(world).lapse_at
    sweep_progress_at(lapses_at - DAY)
    assert lapses_at == pytest.approx(1794301260.0 + 60 * DAY)

    world.travel_to(lapses_at - 1)
    run_lapse_sweep()
    assert stored(world).tier == "regular" and world.card().body["tier"] == "regular"

    world.travel_to(lapses_at + 3600)
    # Before the sweep: the card and the unfiltered list already say lapsed; the regular
    # list no longer shows the customer.
    assert world.card().body["tier"] == "lapsed"
    assert world.customers("?tier=regular").body["items"] == []
    report = run_lapse_sweep()
    assert report.lapsed >= 1  # this customer, and any other test's regular due by now
    lapsed = world.customers("?tier=lapsed").body["items"]
    assert [i["name"] for i in lapsed] == ["김민지"]
    card = world.card().body
    assert card["tier"] == "lapsed" and "none for 60 days" in card["tier_reason"] and card["lapses_at"] is None
    assert card["tier_history"][-1]["to_tier"] == "lapsed"
    assert card["tier_history"][-1]["at"] == "2027-01-09T09:01:00.000Z"
    assert stored(world).gsi4pk is None  # nothing left for the sweep to do
    assert run_lapse_sweep().due == 0


def test_a_pair_under_the_old_unsharded_lapse_key_is_still_swept(world):
    from chalicelib.events.schedules import run_lapse_sweep
    from chalicelib.storage.buckets import shard_of

    world.send(*JOURNEY)
    item = stored(world)
    day = item.gsi4pk.split("#")[1]
    assert item.gsi4pk == f"LAPSE#{day}#{shard_of(f'{item.shop_id}#{item.user_id}')}"
    # As the code before the sharding wrote it: under the bare day bucket.
    item.update(actions=[type(item).gsi4pk.set(f"LAPSE#{day}")])
    sweep_progress_at(item.lapse_at - DAY)
    world.travel_to(item.lapse_at + 3600)
    assert run_lapse_sweep().lapsed >= 1
    assert stored(world).tier == "lapsed" and stored(world).gsi4pk is None
    assert run_lapse_sweep().due == 0


def test_a_lapsed_regular_who_orders_again_comes_back(world):
    from chalicelib.events.schedules import run_lapse_sweep

    world.send("order_paid", "order_second_paid")
    sweep_progress_at(NOW + 40 * DAY)
    world.travel_to(NOW + 70 * DAY)
    run_lapse_sweep()
    assert world.card().body["tier"] == "lapsed"
    assert world.customers("?tier=lapsed").body["items"][0]["name"] == "김민지"
    # A new order, paid (a fixture re-dated: orders are identified by id, so this is a new one).
    from tests.api.relationships_kit import paid_order
    from chalicelib.events.stream import dispatch

    assert dispatch(paid_order(world.ids, "01ORDER0000000000000000003", NOW + 69 * DAY)) == []
    card = world.card().body
    assert card["tier"] == "regular" and card["tier_history"][-1]["milestone"] == "came_back"
    assert [i["name"] for i in world.customers("?tier=regular").body["items"]] == ["김민지"]


def test_a_lapse_the_sweep_has_not_seen_yet_is_recorded_with_the_comeback(world):
    from chalicelib.events.stream import dispatch
    from tests.api.relationships_kit import paid_order

    world.send("order_paid", "order_second_paid")  # regular, lapses on 2027-01-09
    world.travel_to(NOW + 70 * DAY)  # no sweep has run
    assert dispatch(paid_order(world.ids, "01ORDER0000000000000000004", NOW + 69 * DAY)) == []
    history = world.card().body["tier_history"]
    assert [(h["from_tier"], h["to_tier"], h["milestone"]) for h in history[-2:]] == [
        ("regular", "lapsed", None), ("lapsed", "regular", "came_back")]
    assert history[-2]["at"] == "2027-01-09T09:01:00.000Z"


# --- the owner's note --------------------------------------------------------------------------


def test_the_owner_writes_a_private_note(world):
    world.send("follow")
    user_id = world.customer["user"]["user_id"]
    path = f"/shops/{world.shop_id}/customers/{user_id}/note"
    answer = world.api.put(path, {"note": "두부는 부드러운 것만. 화요일 오후에 주로 들름."}, token=world.owner["token"])
    assert answer.status == 200 and answer.body["note"].startswith("두부는")
    card = world.card().body
    assert card["note"] == "두부는 부드러운 것만. 화요일 오후에 주로 들름." and card["note_updated_at"]
    # The stream keeps scoring; the note is untouched.
    world.send("like")
    assert world.card().body["note"] == card["note"]
    assert world.api.put(path, {"note": ""}, token=world.owner["token"]).status == 200
    assert world.card().body["note"] == ""


# --- who may see what (BOLA) ------------------------------------------------------------------


def test_only_the_owner_sees_customers_cards_and_notes(world):
    world.send(*JOURNEY)
    user_id = world.customer["user"]["user_id"]
    for token in (world.customer["token"], world.other["token"]):
        assert_problem(world.customers(token=token), 403)
        assert_problem(world.customers("?tier=regular", token=token), 403)
        assert_problem(world.card(token=token), 403)
        assert_problem(world.api.put(f"/shops/{world.shop_id}/customers/{user_id}/note", {"note": "x"},
                                     token=token), 403)
    assert world.card().body["note"] == ""
    assert world.api.get(f"/shops/{world.shop_id}/customers").status == 401  # no token at all


def test_my_shops_are_my_own(world):
    world.send(*JOURNEY)
    mine = world.api.get("/me/shops", token=world.other["token"]).body["items"]
    assert [(s["shop_id"], s["tier"]) for s in mine] == [(world.shop_id, "potential")]
    assert world.api.get("/me/shops", token=world.owner["token"]).body["items"] == []


# --- bad input -----------------------------------------------------------------------------------


def test_bad_input_is_answered_4xx_and_writes_nothing(world):
    world.send(*JOURNEY)
    user_id = world.customer["user"]["user_id"]
    note = f"/shops/{world.shop_id}/customers/{user_id}/note"
    token = world.owner["token"]
    assert_problem(world.api.put(note, {"note": "가" * 1001}, token=token), 422)
    assert_problem(world.api.put(note, {"note": 5}, token=token), 422)
    assert_problem(world.api.put(note, {"note": "x", "user_id": "someone"}, token=token), 422)
    assert_problem(world.api.put(note, raw="{not json", token=token), 400)
    assert world.card().body["note"] == ""
    assert_problem(world.customers("?tier=vip"), 422)
    assert_problem(world.customers("?limit=0"), 422)
    assert_problem(world.customers("?limit=101"), 422)
    assert_problem(world.customers("?limit=99999999999999999999999"), 422)
    assert_problem(world.customers("?cursor=forged.cursor"), 400)
    assert_problem(world.api.get("/me/shops?cursor=x" + "y" * 3000, token=token), 422)
    assert_problem(world.card("01NOSUCHUSER0000000000000"), 404)
    assert_problem(world.api.put(f"/shops/{world.shop_id}/customers/01NOSUCHUSER0000000000000/note", {"note": "x"},
                                 token=token), 404)
    assert_problem(world.api.get("/shops/01NOSUCHSHOP0000000000000/customers", token=token), 404)
    assert_problem(world.api.get("/shops/no%20such/customers", token=token), 404)


def test_a_cursor_only_continues_the_list_it_came_from(api, monkeypatch):
    world = make_world(api, monkeypatch)
    world.send(*JOURNEY)
    first = world.customers("?limit=1").body
    assert first["next_cursor"]
    cursor = first["next_cursor"]
    second = world.customers(f"?limit=1&cursor={cursor}").body
    assert [i["name"] for i in first["items"] + second["items"]] == ["김민지", "최서연"]
    assert_problem(world.customers(f"?limit=1&tier=potential&cursor={cursor}"), 400)
    assert_problem(world.api.get(f"/me/shops?cursor={cursor}", token=world.owner["token"]), 400)
    elsewhere = make_world(api, monkeypatch)
    assert_problem(elsewhere.customers(f"?limit=1&cursor={cursor}"), 400)


def test_pages_list_every_customer_once_strongest_first(api, monkeypatch):
    world = make_world(api, monkeypatch)
    people = [world.customer, world.other] + [api.signup(name=f"손님{n}") for n in range(5)]
    from chalicelib.events.stream import dispatch
    from tests.api.relationships_kit import records

    for n, person in enumerate(people):  # a like each, one day later each: later is stronger
        batch = records("like", {**world.ids, "$USER": person["user"]["user_id"]})
        image = batch[0]["dynamodb"]["NewImage"]
        image["created_at"]["N"] = str(NOW - 20 * DAY + n * DAY)
        dispatch(batch)
    seen, cursor = [], None
    while True:
        page = world.customers(f"?limit=2{'&cursor=' + cursor if cursor else ''}").body
        seen += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert [i["user_id"] for i in seen] == [p["user"]["user_id"] for p in reversed(people)]
    strengths = [i["strength"] for i in seen]
    assert strengths == sorted(strengths, reverse=True)


# --- cost ----------------------------------------------------------------------------------------


def test_call_budgets(world, monkeypatch):
    from chalicelib.events import insights as insight_handlers
    from chalicelib.events import notifications as notification_handlers
    from chalicelib.events import stream as stream_module

    # Without the notification and insights handlers (their calls are budgeted in their own tests).
    theirs = {entry[1] for entry in (*notification_handlers.HANDLERS, *insight_handlers.HANDLERS)}
    monkeypatch.setattr(stream_module, "_ROUTES", {entity: tuple(h for h in handlers if h.handler not in theirs)
                                                   for entity, handlers in stream_module._routes().items()})
    world.send("follow")
    user_id = world.customer["user"]["user_id"]
    with dynamodb_calls() as calls:
        world.send("like")  # an existing pair, no tier change
    assert calls.operations == ["GetItem", "PutItem"]
    with dynamodb_calls() as calls:
        world.send("order_placed")  # placed, not paid: no handler reads or writes anything
    assert calls.operations == []
    with dynamodb_calls() as calls:
        world.send("order_paid")  # potential -> first_time: the pair and its transition
    # ... then the store-link handler issues the buyer's link: the guard, the buyer's name, the issue,
    # and hands it to her (the store_link notice, written once with its key: one transaction);
    # then the reorder items (events.subscriptions): one BatchGetItem, a PutItem per new essential.
    assert calls.operations == ["GetItem", "TransactWriteItems", "GetItem", "GetItem", "TransactWriteItems",
                                "TransactWriteItems", "BatchGetItem", "PutItem"]
    with dynamodb_calls() as calls:
        world.send("order_paid")  # a replay: read, recognised, nothing written
    # ... the link exists: its bought products are a set, so adding them again changes nothing; the
    # record is the one that issued it, so the notice is handed again and refused by its key (a
    # crash between the issue and the notice loses nothing).
    assert calls.operations == ["GetItem", "GetItem", "UpdateItem", "TransactWriteItems", "BatchGetItem"]
    with dynamodb_calls() as calls:
        assert world.customers().status == 200
    assert calls.operations == TOKEN_CHECK + ["GetItem", "Query"]  # the shop (ownership), then one Query
    with dynamodb_calls() as calls:
        assert world.customers("?tier=first_time").status == 200
    assert calls.operations == TOKEN_CHECK + ["GetItem", "Query"]
    with dynamodb_calls() as calls:
        assert world.card().status == 200
    # Shop, pair and note together; then the customer's subscriptions at the shop (one Query).
    assert calls.operations == TOKEN_CHECK + ["BatchGetItem", "Query"]
    with dynamodb_calls() as calls:
        assert world.api.get("/me/shops", token=world.customer["token"]).status == 200
    assert calls.operations == TOKEN_CHECK + ["Query"]
    with dynamodb_calls() as calls:
        assert world.api.put(f"/shops/{world.shop_id}/customers/{user_id}/note", {"note": "단골"},
                             token=world.owner["token"]).status == 200
    assert calls.operations == TOKEN_CHECK + ["UpdateItem", "GetItem", "TransactWriteItems"]  # the note limit first


def test_reader_strengths_for_the_ranked_feed(world):
    from chalicelib.services.relationship_reads import reader_strengths

    world.send(*JOURNEY)
    store = container().relationships
    user_id = world.customer["user"]["user_id"]
    with dynamodb_calls() as calls:
        strengths = reader_strengths(store, user_id, [world.shop_id, "01NOSUCHSHOP0000000000000", world.shop_id], NOW)
    assert calls.operations == ["BatchGetItem"]
    assert list(strengths) == [world.shop_id, "01NOSUCHSHOP0000000000000"]
    assert strengths["01NOSUCHSHOP0000000000000"] == 0.0
    assert strengths[world.shop_id] == pytest.approx(world.card().body["strength"], abs=0.01)


# --- through the table's real stream, and under concurrency ------------------------------------


@real_dynamodb_only  # moto does not implement DescribeStream for this table's stream
def test_a_follow_written_to_the_table_reaches_the_pair_through_its_stream(world, aws_backend):
    """End to end: an item in the contract's shape, the table's stream, the poller, the handler."""
    import boto3

    from chalicelib.events.stream import stream
    from devtools.stream_poller import StreamPoller

    settings = container().settings
    kwargs = {"region_name": settings.region, "endpoint_url": aws_backend}
    client = boto3.client("dynamodb", **kwargs)
    poller = StreamPoller(client, boto3.client("dynamodbstreams", **kwargs), settings.table_name, stream,
                          start_at="LATEST")
    poller.drain()  # pin the stream's tip: earlier tests' records are not this test's
    user_id = world.customer["user"]["user_id"]
    client.put_item(TableName=settings.table_name, Item={
        "pk": {"S": f"SHOP#{world.shop_id}"}, "sk": {"S": f"FOLLOWER#{user_id}"}, "entity": {"S": "follow"},
        "shop_id": {"S": world.shop_id}, "user_id": {"S": user_id}, "created_at": {"N": str(NOW - DAY)}})
    assert poller.drain() >= 1
    card = world.card().body
    assert card["following"] is True and card["breakdown"]["follow"] == pytest.approx(3 * 2 ** (-1 / 30), abs=0.01)
    client.delete_item(TableName=settings.table_name,
                       Key={"pk": {"S": f"SHOP#{world.shop_id}"}, "sk": {"S": f"FOLLOWER#{user_id}"}})
    poller.drain()
    assert world.card().body["following"] is False


@real_dynamodb_only
def test_concurrent_signals_on_one_pair_are_each_applied_once(world):
    """Stream shards run in parallel: likes, a comment and an order racing on one pair, some
    delivered twice. Conditional writes make the losers re-read; nothing is lost or doubled."""
    from concurrent.futures import ThreadPoolExecutor

    from chalicelib.events.stream import dispatch
    from tests.api.relationships_kit import records

    world.send("follow")
    batches = []
    for n in range(12):
        batch = records("like", world.ids)
        image = batch[0]["dynamodb"]["NewImage"]
        image["post_id"]["S"] = f"01POST{n:020d}"
        batches.append(batch)
    batches += [records("comment", world.ids), records("order_paid", world.ids)]
    batches += batches[:4]  # re-deliveries racing their originals
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(dispatch, batches))
    card = world.card().body
    # Twelve likes and a comment in one 30-day period are worth that period's cap; that each was
    # applied exactly once is the seen-list's length below.
    from chalicelib.services.scoring import RelationshipState, Signal, apply, breakdown_at

    expected = RelationshipState()
    for signal, at in [(Signal.LIKE, 1793610000.25)] * 12 + [(Signal.COMMENT, 1793610600.0)]:
        expected, _ = apply(expected, signal, at, config=CONFIG)
    assert card["breakdown"]["engagement"] == pytest.approx(breakdown_at(expected, NOW, CONFIG)["engagement"], abs=0.01)
    assert card["order_count"] == 1 and card["total_spent"] == 18000
    assert len(stored(world).seen) == 1 + 12 + 1 + 1
