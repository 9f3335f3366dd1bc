"""``storage.transactions.Transaction``: cancellation reasons come back by label.

DynamoDB reports a cancelled transaction's reasons by position, and PynamoDB sends the
items grouped by kind (condition checks, deletes, puts, updates), not in the order they
were added. These tests add items in the opposite order and check that each failure is
reported under its own label, on moto and on DynamoDB Local.
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager

import pytest

from chalicelib.storage.accounts import PROFILE, UNIQUE, _connection, guard
from chalicelib.storage.models.accounts import ShopItem, UniqueItem, UserItem, shop_pk, user_pk
from chalicelib.storage.transactions import Cancelled, Transaction


def _fresh_guard() -> UniqueItem:
    return guard("test", f"tx-{uuid.uuid4()}", "tester")


def _exists(item: UniqueItem) -> bool:
    try:
        UniqueItem.get(item.pk, UNIQUE, consistent_read=True)
        return True
    except UniqueItem.DoesNotExist:
        return False


@contextmanager
def sent_requests():
    """The parameters of every TransactWriteItems request sent meanwhile."""
    client = _connection().client
    sent: list[dict] = []

    def capture(params, **_):
        sent.append(params)

    client.meta.events.register("provide-client-params.dynamodb.TransactWriteItems", capture, unique_id="tx-capture")
    try:
        yield sent
    finally:
        client.meta.events.unregister("provide-client-params.dynamodb.TransactWriteItems", unique_id="tx-capture")


def test_labels_follow_the_order_items_are_sent_not_added(owner):
    shop, user_id = owner["shop"]["shop_id"], owner["user"]["user_id"]
    fresh = _fresh_guard()
    tx = (Transaction(_connection())
          .update(ShopItem(shop_pk(shop), PROFILE), [ShopItem.post_count.add(1)],
                  condition=ShopItem.owner_id == "somebody else", label="shop")  # added first, sent last
          .put(fresh, condition=UniqueItem.pk.does_not_exist(), label="fresh")
          .check(UserItem, user_pk(user_id), PROFILE, condition=UserItem.pk.exists(), label="user"))  # sent first
    assert tx.labels() == ["user", "fresh", "shop"]
    with pytest.raises(Cancelled) as cancelled:
        tx.commit()
    assert cancelled.value.failed == ["shop"]  # by call order it would have been "user"
    assert not _exists(fresh)


def test_a_failed_condition_check_is_named_and_old_items_are_kept_by_label(owner):
    user_id = owner["user"]["user_id"]
    taken = _fresh_guard()
    taken.save()
    fresh = _fresh_guard()
    tx = (Transaction(_connection())
          .put(taken, condition=UniqueItem.pk.does_not_exist(), label="taken", return_old=True)
          .put(fresh, condition=UniqueItem.pk.does_not_exist(), label="fresh")
          .check(UserItem, user_pk("no-such-user"), PROFILE, condition=UserItem.pk.exists(), label="nobody")
          .check(UserItem, user_pk(user_id), PROFILE, condition=UserItem.pk.exists(), label="somebody"))
    with pytest.raises(Cancelled) as cancelled:
        tx.commit()
    assert sorted(cancelled.value.failed) == ["nobody", "taken"]
    assert "fresh" not in cancelled.value and "somebody" not in cancelled.value
    assert set(cancelled.value.old_items) == {"taken"}
    assert cancelled.value.old_items["taken"]["pk"] == {"S": taken.pk}
    assert not _exists(fresh)


def test_tokens_per_attempt_and_capacity_are_sent(owner):
    fresh = _fresh_guard()
    tx = Transaction(_connection(), client_request_token=lambda attempt: f"token-{attempt}-{fresh.pk[-12:]}",
                     return_consumed_capacity="NONE")
    tx.put(fresh, condition=UniqueItem.pk.does_not_exist(), label="fresh")
    with sent_requests() as sent:
        tx.commit()
    assert _exists(fresh)
    assert sent[0]["ClientRequestToken"] == f"token-0-{fresh.pk[-12:]}"
    assert sent[0]["ReturnConsumedCapacity"] == "NONE"
