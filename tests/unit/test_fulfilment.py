"""Fulfilment rules on plain records: what a shop offers, the delivery fee, an order's fulfilment.

GIVEN a shop's settings (or none), WHEN an order asks for delivery or pickup, THEN the fee, the
copied address or place, and the problems (``fulfilment_unavailable``, ``address_required``, an
unknown ``address_id``) are what docs/checkout.md says.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from pydantic import ValidationError

from chalicelib.errors import AddressRequired, FulfilmentUnavailable, Invalid
from chalicelib.records.accounts import DeliveryOption, FulfilmentSettings, PickupOption, Shop
from chalicelib.records.addresses import AddressBook, SavedAddress
from chalicelib.records.commerce import Address, BankAccount, Fulfilment
from chalicelib.schemas.addresses import FulfilmentIn
from chalicelib.services import fulfilment

SHOP = Shop(shop_id="S1", owner_id="O1", name="망원동 두부가게", handle="tofu", bio="", region="서울 마포구",
            follower_count=0, post_count=0, created_at=0.0)
BOTH = replace(SHOP, fulfilment=FulfilmentSettings(delivery=DeliveryOption(fee=3000, free_over=30000),
                                                   pickup=PickupOption(address="망원로 12", hours="10-19시")))
DELIVERY_ONLY = replace(SHOP, fulfilment=FulfilmentSettings(delivery=DeliveryOption(fee=2500)))
HOME = SavedAddress(address_id="A1", label="집", recipient="김민지", phone="+821012345678", postal_code="04003",
                    address1="서울 마포구 망원로 1", address2="101호", created_at=1.0, updated_at=1.0)


class Books:
    def __init__(self, *books: AddressBook) -> None:
        self.books = {book.user_id: book for book in books}
        self.reads = 0

    def get_book(self, user_id: str) -> AddressBook:
        self.reads += 1
        return self.books.get(user_id, AddressBook(user_id=user_id))


BOOKS = Books(AddressBook(user_id="U1", addresses=(HOME,), default_id="A1", version=1))


def choice(**body) -> dict:
    """A request's ``fulfilment`` as the order route hands it on: validated, then dumped."""
    return FulfilmentIn.model_validate(body).model_dump()


def test_a_shop_that_never_set_it_offers_pickup_at_the_shop_only():
    assert fulfilment.offered(SHOP) == {"pickup"}
    settings = fulfilment.settings_of(SHOP)
    assert settings.delivery is None and settings.pickup == PickupOption(address="망원동 두부가게 (서울 마포구)", hours="")
    assert fulfilment.settings_of(replace(SHOP, region="")).pickup.address == "망원동 두부가게"
    assert fulfilment.shipping_fee(SHOP, "pickup", 10_000) == 0
    with pytest.raises(FulfilmentUnavailable) as raised:
        fulfilment.check_method(SHOP, "delivery")
    assert raised.value.status == 422 and raised.value.code == "fulfilment_unavailable"
    assert raised.value.extra == {"offered": ["pickup"]}


def test_offered_methods_and_payment_methods():
    assert fulfilment.offered(BOTH) == {"delivery", "pickup"}
    assert fulfilment.offered(DELIVERY_ONLY) == {"delivery"}
    assert fulfilment.payment_methods(SHOP) == ["card"]
    assert fulfilment.payment_methods(replace(SHOP, bank_account=BankAccount("신한", "110-1", "박두부"))) == [
        "card", "bank_transfer"]


@pytest.mark.parametrize("subtotal, fee", [(0, 3000), (29_999, 3000), (30_000, 0), (30_001, 0), (1_000_000, 0)])
def test_delivery_is_free_from_free_over_on(subtotal, fee):
    assert fulfilment.shipping_fee(BOTH, "delivery", subtotal) == fee
    assert fulfilment.shipping_fee(BOTH, "pickup", subtotal) == 0


def test_delivery_without_free_over_always_costs_the_fee_and_a_zero_fee_is_free():
    assert fulfilment.shipping_fee(DELIVERY_ONLY, "delivery", 10_000_000) == 2500
    free = replace(SHOP, fulfilment=FulfilmentSettings(delivery=DeliveryOption(fee=0)))
    assert fulfilment.shipping_fee(free, "delivery", 1) == 0
    with pytest.raises(FulfilmentUnavailable):
        fulfilment.shipping_fee(DELIVERY_ONLY, "pickup", 1000)


def test_pickup_copies_the_shop_place_and_reads_no_address_book():
    books = Books()
    got = fulfilment.resolve_fulfilment(BOTH, choice(method="pickup"), "U1", books)
    assert got == Fulfilment(method="pickup", pickup_address="망원로 12", pickup_hours="10-19시")
    assert books.reads == 0


def test_delivery_to_a_saved_address_copies_it():
    got = fulfilment.resolve_fulfilment(BOTH, choice(method="delivery", address_id="A1"), "U1", BOOKS)
    assert got == Fulfilment(method="delivery", address=Address("김민지", "+821012345678", "04003",
                                                                 "서울 마포구 망원로 1", "101호"))


def test_delivery_to_an_address_sent_with_the_order_normalises_the_phone():
    body = choice(method="delivery", address={"recipient": " 최서연 ", "phone": "010-9876-5432",
                                              "postal_code": "06236", "address1": "서울 강남구 테헤란로 1"})
    got = fulfilment.resolve_fulfilment(DELIVERY_ONLY, body, "U2", Books())
    assert got.address == Address("최서연", "+821098765432", "06236", "서울 강남구 테헤란로 1", "")


def test_delivery_without_an_address_is_address_required():
    with pytest.raises(AddressRequired) as raised:
        fulfilment.resolve_fulfilment(BOTH, choice(method="delivery"), "U1", BOOKS)
    assert raised.value.status == 422 and raised.value.code == "address_required"


@pytest.mark.parametrize("user_id, address_id", [("U1", "NOPE"), ("U2", "A1")])  # unknown; another user's
def test_an_address_id_not_in_the_buyers_book_is_a_field_problem(user_id, address_id):
    with pytest.raises(Invalid) as raised:
        fulfilment.resolve_fulfilment(BOTH, choice(method="delivery", address_id=address_id), user_id, BOOKS)
    assert raised.value.code == "validation_failed"
    assert [(p.field, p.code) for p in raised.value.errors] == [("body.fulfilment.address_id", "no_such_address")]


def test_the_method_is_checked_before_the_address():
    with pytest.raises(FulfilmentUnavailable):
        fulfilment.resolve_fulfilment(SHOP, choice(method="delivery"), "U1", BOOKS)


@pytest.mark.parametrize("body, code", [
    ({"method": "pickup", "address_id": "A1"}, "not_for_pickup"),
    ({"method": "delivery", "address_id": "A1", "address": {"recipient": "a", "phone": "010-1234-5678",
                                                            "postal_code": "04003", "address1": "b"}},
     "address_or_id"),
    ({"method": "courier"}, "literal_error"),
    ({"method": "delivery", "address": {"recipient": "a", "phone": "010-1234-5678", "postal_code": "4003",
                                        "address1": "b"}}, "string_too_short"),
    ({"method": "delivery", "note": "x"}, "extra_forbidden"),
])
def test_fulfilment_in_refuses_shapes_that_name_no_one_fulfilment(body, code):
    with pytest.raises(ValidationError) as raised:
        FulfilmentIn.model_validate(body)
    assert code in {e["type"] for e in raised.value.errors()}
