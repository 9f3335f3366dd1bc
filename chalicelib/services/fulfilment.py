"""How an order reaches its buyer: what a shop offers, what delivery costs, and the order's
``Fulfilment`` resolved from what the buyer asked for. Pure functions on records.

A shop that never set ``fulfilment`` (every shop opened before checkout) offers **pickup at
the shop only**: the place is the shop's name and region, the hours unsaid. Delivery is never
assumed: it has a cost only the owner can name. Bank transfer is offered exactly when the shop
has set a bank account.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from chalicelib.errors import AddressRequired, FieldProblem, FulfilmentUnavailable, Invalid
from chalicelib.records.accounts import FulfilmentSettings, PickupOption, Shop
from chalicelib.records.addresses import AddressBook
from chalicelib.records.commerce import Address, Fulfilment

DELIVERY = "delivery"
PICKUP = "pickup"
METHODS = (DELIVERY, PICKUP)
CARD = "card"
BANK_TRANSFER = "bank_transfer"


class AddressBooks(Protocol):
    def get_book(self, user_id: str) -> AddressBook: ...


def settings_of(shop: Shop) -> FulfilmentSettings:
    """The shop's fulfilment as it applies: its own, or the default (pickup at the shop)."""
    if shop.fulfilment is not None:
        return shop.fulfilment
    place = f"{shop.name} ({shop.region})" if shop.region else shop.name
    return FulfilmentSettings(delivery=None, pickup=PickupOption(address=place, hours=""))


def offered(shop: Shop) -> set[str]:
    """``{"delivery", "pickup"}`` or one of them: what the shop hands orders over by."""
    settings = settings_of(shop)
    return {method for method, option in ((DELIVERY, settings.delivery), (PICKUP, settings.pickup)) if option}


def payment_methods(shop: Shop) -> list[str]:
    """How the shop can be paid: by card always, by bank transfer when it has set an account."""
    return [CARD, BANK_TRANSFER] if shop.bank_account is not None else [CARD]


def check_method(shop: Shop, method: str) -> None:
    """``FulfilmentUnavailable`` (422 ``fulfilment_unavailable``) unless the shop offers ``method``."""
    available = sorted(offered(shop))
    if method not in available:
        raise FulfilmentUnavailable(f"This shop does not offer {method}; it offers {' and '.join(available)}.",
                                    extra={"offered": available},
                                    params={"method": method, "offered_text": " and ".join(available)})


def shipping_fee(shop: Shop, method: str, subtotal: int) -> int:
    """Won the order adds for handing it over: the delivery fee, or 0 when ``subtotal`` (the
    order's subtotal, before any discount) reaches the shop's ``free_over``; pickup is free.
    A method the shop does not offer raises ``FulfilmentUnavailable``."""
    check_method(shop, method)
    delivery = settings_of(shop).delivery
    if method != DELIVERY or delivery is None:
        return 0
    if delivery.free_over is not None and subtotal >= delivery.free_over:
        return 0
    return delivery.fee


def resolve_fulfilment(shop: Shop, choice: Mapping[str, Any], user_id: str, books: AddressBooks) -> Fulfilment:
    """The order's ``Fulfilment`` from the request's ``fulfilment`` (``FulfilmentIn`` dumped):

    * ``{method: pickup}`` → pickup at the shop's place and hours, copied;
    * ``{method: delivery, address: {...}}`` → that address, as sent (already normalised);
    * ``{method: delivery, address_id}`` → the buyer's saved address, copied (one read of the
      book, only in this case); an id that is not in the buyer's book (unknown, deleted or
      another user's) → 422 on ``body.fulfilment.address_id``;
    * delivery with neither → 422 ``address_required``.

    The method is checked first: a method the shop does not offer → 422 ``fulfilment_unavailable``.
    """
    method = choice["method"]
    check_method(shop, method)
    if method == PICKUP:
        pickup = settings_of(shop).pickup
        assert pickup is not None  # offered
        return Fulfilment(method=PICKUP, pickup_address=pickup.address, pickup_hours=pickup.hours)
    address, address_id = choice.get("address"), choice.get("address_id")
    if address:
        return Fulfilment(method=DELIVERY, address=Address(
            recipient=address["recipient"], phone=address["phone"], postal_code=address["postal_code"],
            address1=address["address1"], address2=address.get("address2") or ""))
    if not address_id:
        raise AddressRequired("Delivery needs an address: send fulfilment.address_id (a saved address) or "
                              "fulfilment.address.")
    saved = books.get_book(user_id).get(address_id)
    if saved is None:
        raise Invalid("The request body has invalid fields.", errors=[FieldProblem(
            "body.fulfilment.address_id", "Not one of your saved addresses.", code="no_such_address")])
    return Fulfilment(method=DELIVERY, address=saved.as_address())
