"""Which stream change means which scoring signal (the event contract → scoring events)."""

from __future__ import annotations

import pytest

from chalicelib.storage.stream import decode as to_change
from chalicelib.services.scoring import Signal
from chalicelib.services.signals import Malformed, signals_from
from tests.api.relationships_kit import records

IDS = {"$SHOP": "S1", "$USER": "U1", "$OTHER": "U2", "$OWNER": "OWNER"}
T = {"11-01": 1793523600.0, "11-02": 1793610000.0, "11-03": 1793696400.0, "11-10": 1794301200.0,
     "11-11": 1794387600.0, "11-12": 1794474000.0, "11-20": 1795165200.0}


def translate(name: str):
    events = []
    for record in records(name, IDS):
        change = to_change(record)
        events += signals_from(change.entity, change.event_name, change.new, change.old, change.at)
    return events


def test_follow_and_unfollow():
    (follow,) = translate("follow")
    assert (follow.shop_id, follow.user_id, follow.signal, follow.at) == ("S1", "U1", Signal.FOLLOW, T["11-01"])
    (unfollow,) = translate("unfollow")
    assert (unfollow.signal, unfollow.at) == (Signal.UNFOLLOW, T["11-20"])  # the removal's record time
    assert follow.event_id == f"follow#S1#U1#{T['11-01']!r}"
    assert unfollow.event_id == f"unfollow#S1#U1#{T['11-01']!r}"


def test_like_and_unlike_undo_exactly_that_like():
    (like,) = translate("like")
    (unlike,) = translate("unlike")
    assert like.signal is Signal.LIKE and like.at == T["11-02"] + 0.25
    assert unlike.signal is Signal.UNLIKE and unlike.reverses_at == like.at and unlike.at == T["11-02"] + 3600
    assert like.event_id.startswith("like#01POST") and unlike.event_id.startswith("unlike#01POST")


def test_comments_count_but_not_the_shops_own_replies():
    (comment,) = translate("comment")
    assert (comment.user_id, comment.signal, comment.event_id) == ("U1", Signal.COMMENT,
                                                                    "comment#01COMMENT000000000000000A")


def test_a_deleted_comment_takes_back_exactly_that_comment_and_replies_never_count():
    (comment,) = translate("comment")
    (deleted,) = translate("comment_deleted")  # the customer's comment and the shop's reply, removed
    assert (deleted.user_id, deleted.signal, deleted.reverses_at) == ("U1", Signal.COMMENT_DELETED, comment.at)
    assert deleted.at == comment.at + 3600 and deleted.is_reversal
    assert deleted.event_id == "comment_deleted#01COMMENT000000000000000A"


def test_a_removed_share_takes_back_exactly_that_share():
    (share,) = translate("share")
    (removed,) = translate("share_removed")
    assert (removed.signal, removed.reverses_at, removed.at) == (Signal.SHARE_REMOVED, share.at, share.at + 7200)
    assert removed.event_id == "share_removed#01SHARE00000000000000000A" and removed.is_reversal


def test_share_and_review():
    (share,) = translate("share")
    assert share.signal is Signal.SHARE and share.event_id == "share#01SHARE00000000000000000A"
    (review,) = translate("review")
    assert (review.signal, review.rating, review.at) == (Signal.REVIEW, 5, T["11-12"])


def test_an_order_counts_from_the_record_where_it_is_paid():
    (paid,) = translate("order_paid")
    assert (paid.signal, paid.user_id, paid.amount, paid.at) == (Signal.ORDER, "U1", 18000, T["11-03"] + 60)
    assert paid.event_id == "order#01ORDER0000000000000000001"
    tofu, kimchi = paid.lines
    assert (tofu.name, tofu.quantity, tofu.kind, tofu.reorder_days) == ("손두부", 2, "essential", 7)
    assert (kimchi.kind, kimchi.reorder_days) == ("treat", None)


def test_an_unpaid_order_means_nothing_whatever_becomes_of_it():
    for name in ("order_placed", "order_second", "order_cancelled_unpaid", "order_expired"):
        assert translate(name) == [], name


def test_an_order_inserted_already_paid_counts_at_once():
    record = records("order_second_paid", IDS)[0]
    record["eventName"] = "INSERT"
    del record["dynamodb"]["OldImage"]
    change = to_change(record)
    (paid,) = signals_from(change.entity, change.event_name, change.new, change.old, change.at)
    assert (paid.signal, paid.at) == (Signal.ORDER, T["11-10"] + 60)


def test_later_moves_of_a_paid_order_mean_nothing():
    record = records("order_second_paid", IDS)[0]
    image = record["dynamodb"]["NewImage"]
    record["dynamodb"]["OldImage"] = dict(image)
    record["dynamodb"]["NewImage"] = {**image, "status": {"S": "shipped"}}
    change = to_change(record)
    assert signals_from(change.entity, change.event_name, change.new, change.old, change.at) == []


def test_cancelling_a_paid_order_reverses_it_at_its_payment_time():
    (paid,) = translate("order_second_paid")
    again, cancelled = translate("order_cancelled")
    assert again == paid  # the order event again: a replay when the payment's record came first
    assert cancelled.signal is Signal.ORDER_CANCELLED
    assert cancelled.event_id == "order_cancelled#01ORDER0000000000000000002"
    assert cancelled.reverses_at == paid.at and cancelled.at == T["11-11"]  # the history entry
    assert cancelled.amount == paid.amount and cancelled.lines == paid.lines


def test_a_credited_order_is_the_referrers_when_paid_and_taken_back_when_cancelled():
    def credited(name):
        batch = records(name, IDS)
        for image in (batch[0]["dynamodb"].get("NewImage"), batch[0]["dynamodb"].get("OldImage")):
            if image is not None:
                image["via_store_link"] = {"S": "CODE1"}
                image["referrer_id"] = {"S": "U2"}
        change = to_change(batch[0])
        return signals_from(change.entity, change.event_name, change.new, change.old, change.at)

    assert credited("order_second") == []  # placed through the link, not paid: nothing yet
    paid, referral = credited("order_second_paid")
    assert (referral.signal, referral.user_id, referral.at) == (Signal.REFERRAL, "U2", paid.at)
    assert referral.event_id == "referral#01ORDER0000000000000000002"
    signals = [e.signal for e in credited("order_cancelled")]
    assert signals == [Signal.ORDER, Signal.REFERRAL, Signal.ORDER_CANCELLED, Signal.REFERRAL_CANCELLED]
    assert credited("order_cancelled_unpaid") == []


def test_a_cancelled_order_modified_again_is_not_cancelled_twice():
    record = records("order_cancelled", IDS)[0]
    record["dynamodb"]["OldImage"] = record["dynamodb"]["NewImage"]
    change = to_change(record)
    assert signals_from(change.entity, change.event_name, change.new, change.old, change.at) == []


def test_a_removal_is_never_dated_before_its_item():
    record = records("unlike", IDS)[0]
    record["dynamodb"]["ApproximateCreationDateTime"] = 0
    change = to_change(record)
    (unlike,) = signals_from(change.entity, change.event_name, change.new, change.old, change.at)
    assert unlike.at == unlike.reverses_at


def test_other_entities_mean_nothing():
    assert signals_from("post", "INSERT", {"post_id": "P"}, None, 0) == []
    assert signals_from("relationship", "MODIFY", {}, {}, 0) == []


@pytest.mark.parametrize("entity, image", [
    ("like", {"post_id": "P", "shop_id": "S", "created_at": "yesterday", "user_id": "U"}),
    ("like", {"post_id": "P", "shop_id": "S", "created_at": 1.0}),
    ("follow", {"shop_id": "S", "user_id": "", "created_at": 1.0}),
    ("order", {"order_id": "O", "shop_id": "S", "buyer_id": "U", "status": "paid", "total": -5, "created_at": 1.0,
               "paid_at": 2.0}),
    ("order", {"order_id": "O", "shop_id": "S", "buyer_id": "U", "status": "paid", "total": 5, "created_at": 1.0,
               "paid_at": 2.0, "items": "tofu"}),
    ("order", {"order_id": "O", "shop_id": "S", "buyer_id": "U", "status": "paid", "total": 5, "created_at": 1.0,
               "paid_at": "today"}),
    ("review", {"review_id": "R", "shop_id": "S", "user_id": "U", "rating": 9, "created_at": 1.0}),
    ("share", {"share_id": "X", "shop_id": "S", "user_id": "U", "created_at": float("inf")}),
])
def test_images_breaking_the_contract_are_reported(entity, image):
    with pytest.raises(Malformed):
        signals_from(entity, "INSERT", image, None, 0)
