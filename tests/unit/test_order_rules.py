"""The pure rules of commerce: lifecycle table, line merging, pricing, request fingerprints."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import pytest

from chalicelib.records.commerce import Order, Product, StatusChange
from chalicelib.records.common import Page
from chalicelib.records.store_links import Settlement
from chalicelib.errors import Conflict, Forbidden, Invalid
from chalicelib.services import orders
from chalicelib.services.orders import BUYER, OWNER, Status

S = Status
# The lifecycle as the API contract states it, written out independently of TRANSITIONS.
# POST /orders/{id}/status only: card payments, 구매확정 and expiry have their own paths.
EXPECTED = {
    (S.PENDING_PAYMENT, S.PAID): {OWNER},
    (S.PAID, S.SHIPPED): {OWNER},
    (S.PAID, S.READY_FOR_PICKUP): {OWNER},
    (S.SHIPPED, S.DELIVERED): {OWNER},
    (S.READY_FOR_PICKUP, S.DELIVERED): {OWNER},
    (S.PENDING_PAYMENT, S.CANCELLED): {OWNER, BUYER},
    (S.PAID, S.CANCELLED): {OWNER, BUYER},
}


@pytest.mark.parametrize("current,target,role", list(itertools.product(S, S, (OWNER, BUYER))))
def test_every_move_for_every_role(current, target, role):
    allowed = EXPECTED.get((current, target))
    if allowed is None:
        with pytest.raises(Conflict):
            orders.check_transition(current, target, role)
    elif role not in allowed:
        with pytest.raises(Forbidden):
            orders.check_transition(current, target, role)
    else:
        orders.check_transition(current, target, role)


def test_terminal_states_have_no_exit_and_only_cancel_restocks():
    exits = {current for current, _ in orders.TRANSITIONS}
    assert S.DELIVERED not in exits and S.CANCELLED not in exits
    assert orders.RESTOCKING == {S.CANCELLED}
    assert {target for current, target in orders.TRANSITIONS if target == S.CANCELLED} == {S.CANCELLED}
    assert (S.SHIPPED, S.CANCELLED) not in orders.TRANSITIONS  # no cancel once it left the shop


def test_lines_naming_one_product_are_merged_in_first_mention_order():
    assert orders.aggregate([("b", 2), ("a", 1), ("b", 3)]) == {"b": 5, "a": 1}
    assert list(orders.aggregate([("b", 2), ("a", 1), ("b", 3)])) == ["b", "a"]


def test_merged_quantity_over_the_cap_is_invalid():
    assert orders.aggregate([("a", 500), ("a", 499)]) == {"a": 999}
    with pytest.raises(Invalid):
        orders.aggregate([("a", 500), ("a", 500)])


def test_product_count_cap_and_empty_order():
    assert len(orders.aggregate([(f"p{i}", 1) for i in range(orders.MAX_PRODUCTS)])) == orders.MAX_PRODUCTS
    with pytest.raises(Invalid) as error:
        orders.aggregate([(f"p{i}", 1) for i in range(orders.MAX_PRODUCTS + 1)])
    assert "at most 40" in error.value.detail
    with pytest.raises(Invalid):
        orders.aggregate([])


def test_transaction_sizes_fit_dynamodb_limit():
    n = orders.MAX_PRODUCTS
    assert 2 + n <= 100 and 1 + n <= 100 and 1 + 2 * n <= 100


def _product(pid: str, shop: str = "S1", price: int = 1000) -> Product:
    return Product(product_id=pid, shop_id=shop, owner_id="O", name=f"상품 {pid}", description="", price=price,
                   stock=5, kind="treat", reorder_days=None, photos=(), created_at=0.0, updated_at=0.0)


def test_prices_come_from_the_products():
    lines, subtotal = orders.price_lines("S1", {"a": _product("a", price=4500), "b": _product("b", price=2000)},
                                         {"a": 2, "b": 1})
    assert [(line.product_id, line.price, line.quantity, line.line_total) for line in lines] == [
        ("a", 4500, 2, 9000), ("b", 2000, 1, 2000)]
    assert subtotal == 11000


def test_unknown_and_foreign_products_are_named():
    with pytest.raises(Invalid) as error:
        orders.price_lines("S1", {"a": _product("a"), "f": _product("f", shop="S2")}, {"a": 1, "f": 1, "x": 1})
    messages = [problem.message for problem in error.value.errors]
    assert messages == ["f: not a product of this shop", "x: not a product of this shop"]


def test_largest_order_total_is_an_exact_integer():
    biggest = orders.MAX_PRODUCTS * orders.MAX_QUANTITY * 10_000_000
    assert biggest < 2**53


def test_request_hash_is_about_meaning_not_spelling():
    a = orders.request_hash("order", {"shop_id": "S", "items": [("a", 1)], "via_post_id": None})
    b = orders.request_hash("order", {"via_post_id": None, "items": [("a", 1)], "shop_id": "S"})
    assert a == b
    assert a != orders.request_hash("order", {"shop_id": "S", "items": [("a", 2)], "via_post_id": None})
    assert a != orders.request_hash("reorder", {"shop_id": "S", "items": [("a", 1)], "via_post_id": None})


class FakeOrdersStore:
    """Serves a catalogue whose price changes under the order ``stale_times`` times."""

    def __init__(self, stale_times: int) -> None:
        self.stale_times = stale_times
        self.price = 1000
        self.placed: list = []

    def load_catalog(self, shop_id, product_ids, link_code=None):
        from chalicelib.records.accounts import Shop

        shop = Shop(shop_id="S1", owner_id="O", name="가게", handle="h", bio="", region="", follower_count=0,
                    post_count=0, created_at=0.0)
        return shop, {"a": _product("a", price=self.price)}, None

    def place(self, order, record, versions, referral=None, remembered=None, quota=None, *, shop_version=None):
        from chalicelib.errors import StaleCatalog

        assert versions == {"a": 0.0}
        if self.stale_times:
            self.stale_times -= 1
            self.price += 500  # an owner's edit the transaction's version check caught
            raise StaleCatalog("changed")
        self.placed.append(order)
        return record

    def get_order(self, order_id: str) -> Order | None:
        raise NotImplementedError('FakeOrdersStore does not get_order')

    def move(self, order: Order, change: StatusChange, restock: bool, settlement: Settlement | None = None, *,
             updated: Order | None = None, due: tuple[str, float] | None = None) -> Order:
        raise NotImplementedError('FakeOrdersStore does not move')

    def list_buyer_orders(self, user_id: str, start_key: dict | None, limit: int) -> Page:
        raise NotImplementedError('FakeOrdersStore does not list_buyer_orders')

    def list_shop_orders(self, shop_id: str, status: str | None, start_key: dict | None, limit: int) -> Page:
        raise NotImplementedError('FakeOrdersStore does not list_shop_orders')


if TYPE_CHECKING:  # `make typecheck`: each fake keeps the contract of what it stands for
    _store: orders.OrdersStore = FakeOrdersStore(0)


def test_an_order_is_priced_again_after_a_stale_read():
    store = FakeOrdersStore(stale_times=2)
    order, replayed = orders.place_order(store, "U", shop_id="S1", lines=[("a", 2)], via_post_id=None, key="k",
                                         now=1.0)
    assert not replayed and order.total == 2 * 2000 and store.placed == [order]


def test_a_catalogue_that_keeps_changing_is_a_409():
    from chalicelib.errors import StaleCatalog

    store = FakeOrdersStore(stale_times=orders.CATALOG_ATTEMPTS)
    with pytest.raises(StaleCatalog) as error:
        orders.place_order(store, "U", shop_id="S1", lines=[("a", 1)], via_post_id=None, key="k", now=1.0)
    assert error.value.status == 409 and store.placed == []
