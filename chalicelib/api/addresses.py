"""My address book (배송지): list, add, edit, delete.

Every route works on the caller's own book (``USER#<user_id>`` / ``ADDRESSES``): an id that is
not in it — another user's, or deleted — names nothing (404).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint

from chalicelib.api.edge import Ctx, Router
from chalicelib.api.spec import lazy_models
from chalicelib.errors import TooManyAddresses, Unavailable

if TYPE_CHECKING:
    from chalicelib.schemas.addresses import AddressCreate, AddressPage, AddressPublic, AddressUpdate
    from chalicelib.schemas.common import ListQuery
else:  # pydantic models, imported on the first request that needs them
    (AddressCreate, AddressPage, AddressPublic, AddressUpdate) = lazy_models(
        "chalicelib.schemas.addresses", "AddressCreate", "AddressPage", "AddressPublic", "AddressUpdate")
    (ListQuery,) = lazy_models("chalicelib.schemas.common", "ListQuery")

addresses_blueprint = Blueprint(__name__)
route = Router(addresses_blueprint, "addresses")


@route.route("GET", "/me/addresses", query=ListQuery, response=AddressPage,
             summary="My saved delivery addresses, oldest first, the default marked (at most 20)")
def list_my_addresses(ctx: Ctx, query: ListQuery) -> dict:
    from chalicelib.services import addresses

    scope = f"addresses:{ctx.user}"
    after = ctx.deps.cursors.decode(query.cursor, scope)
    rows = addresses.entries(addresses.list_addresses(ctx.deps.addresses, ctx.user))
    if after is not None:  # the book is one item: a page is the slice after the last id shown
        rows = [row for row in rows if row["address_id"] > str(after.get("address_id", ""))]
    page, more = rows[:query.limit], len(rows) > query.limit
    last = {"address_id": page[-1]["address_id"]} if more else None
    return {"items": page, "next_cursor": ctx.deps.cursors.encode(last, scope)}


@route.route("POST", "/me/addresses", status=201, body=AddressCreate, response=AddressPublic,
             errors=(TooManyAddresses, Unavailable),
             summary="Save a delivery address (the first is the default; is_default: true makes it so)")
def add_my_address(ctx: Ctx, body: AddressCreate) -> dict:
    from chalicelib.services import addresses

    fields = body.model_dump(exclude={"is_default"})
    book, address_id = addresses.add_address(ctx.deps.addresses, ctx.user, fields, is_default=body.is_default,
                                             now=ctx.now)
    return addresses.entry(book, address_id)


@route.route("PATCH", "/me/addresses/{address_id}", body=AddressUpdate, response=AddressPublic, errors=(Unavailable,),
             summary="Edit one of my addresses; is_default: true makes it the default")
def update_my_address(ctx: Ctx, address_id: str, body: AddressUpdate) -> dict:
    from chalicelib.services import addresses

    changes = body.model_dump(exclude_unset=True)
    book = addresses.edit_address(ctx.deps.addresses, ctx.user, address_id, changes, ctx.now)
    return addresses.entry(book, address_id)


@route.route("DELETE", "/me/addresses/{address_id}", status=204, errors=(Unavailable,),
             summary="Delete one of my addresses (orders placed with it keep their copy)")
def delete_my_address(ctx: Ctx, address_id: str) -> None:
    from chalicelib.services import addresses

    addresses.remove_address(ctx.deps.addresses, ctx.user, address_id, ctx.now)
