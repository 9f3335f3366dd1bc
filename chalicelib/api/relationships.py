"""Relationships: my shops, a shop's customers (ranked), the customer card and the owner's note.

The services are imported inside the views: scoring and its records cost ~25 ms to import,
which the API's cold start (every other route) should not pay.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint

from chalicelib.api.edge import Ctx, Router, take_quota
from chalicelib.api.spec import lazy_models
from chalicelib.api.paging import page_out, start_key
from chalicelib.errors import Forbidden

if TYPE_CHECKING:
    from chalicelib.schemas.common import ListQuery, Page
    from chalicelib.schemas.relationships import (
        CustomerCard, CustomerListItem, CustomersQuery, MyShop, NoteIn, NoteOut,
    )
else:  # pydantic models, imported on the first request that needs them
    ListQuery, Page = lazy_models("chalicelib.schemas.common", "ListQuery", "Page")
    (CustomerCard, CustomerListItem, CustomersQuery, MyShop, NoteIn, NoteOut) = lazy_models(
        "chalicelib.schemas.relationships", "CustomerCard", "CustomerListItem", "CustomersQuery", "MyShop", "NoteIn",
        "NoteOut")

relationships_blueprint = Blueprint(__name__)
route = Router(relationships_blueprint, "relationships")


@route.route("GET", "/me/shops", query=ListQuery, response=Page[MyShop],
             summary="My shops, strongest relationship first")
def list_my_shops(ctx: Ctx, query: ListQuery) -> Page[MyShop]:
    from chalicelib.services import relationship_reads

    scope = f"my-shops:{ctx.user}"
    page = relationship_reads.my_shops_page(ctx.deps.relationships, ctx.user, limit=query.limit,
                                            start_key=start_key(ctx, query.cursor, scope), now=ctx.now)
    return Page[MyShop].model_validate(page_out(ctx, page, scope))


@route.route("GET", "/shops/{shop_id}/customers", query=CustomersQuery, response=Page[CustomerListItem],
             errors=(Forbidden,), summary="The shop's customers, strongest relationship first (owner only)")
def list_shop_customers(ctx: Ctx, shop_id: str, query: CustomersQuery) -> Page[CustomerListItem]:
    from chalicelib.services import relationship_reads
    from chalicelib.services.scoring import Tier

    scope = f"customers:{shop_id}:{query.tier or '*'}"
    page = relationship_reads.customers_page(ctx.deps.shops, ctx.deps.relationships, ctx.user, shop_id,
                                             tier=Tier(query.tier) if query.tier else None, limit=query.limit,
                                             start_key=start_key(ctx, query.cursor, scope), now=ctx.now)
    return Page[CustomerListItem].model_validate(page_out(ctx, page, scope))


@route.route("GET", "/shops/{shop_id}/customers/{user_id}", response=CustomerCard, errors=(Forbidden,),
             summary="The customer card: tier, strength and why, orders, favourites, reorders due, subscriptions, "
                     "note (owner only)")
def get_customer_card(ctx: Ctx, shop_id: str, user_id: str) -> CustomerCard:
    from dataclasses import replace

    from chalicelib.services import relationship_reads, subscriptions

    card = relationship_reads.customer_card(ctx.deps.shops, ctx.deps.relationships, ctx.user, shop_id, user_id,
                                            ctx.now)
    subscribed = subscriptions.of_customer(ctx.deps.subscriptions, shop_id, user_id)  # after the owner check
    return CustomerCard.model_validate(replace(card, subscriptions=tuple(subscribed)))


@route.route("PUT", "/shops/{shop_id}/customers/{user_id}/note", body=NoteIn, response=NoteOut, errors=(Forbidden,),
             limit="note",
             summary="Write the owner's private note about a customer (owner only)")
def set_customer_note(ctx: Ctx, shop_id: str, user_id: str, body: NoteIn) -> NoteOut:
    from chalicelib.services import relationship_reads

    take_quota(ctx)
    note = relationship_reads.set_note(ctx.deps.shops, ctx.deps.relationships, ctx.user, shop_id, user_id,
                                       body.note, ctx.now)
    return NoteOut(note=note.text, updated_at=note.updated_at)
