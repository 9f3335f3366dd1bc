"""Conversations (문의) between a customer and a shop, and a shop's blocks.

A conversation is its customer's and its shop owner's only: to anyone else its id names
nothing (404). Services are imported inside the views (cold start: see ``chalicelib.api.follows``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint

from chalicelib.api.edge import Ctx, Router
from chalicelib.api.spec import lazy_models
from chalicelib.api.paging import page_out, start_key
from chalicelib.errors import Blocked, Forbidden, OwnShopMessage

if TYPE_CHECKING:
    from chalicelib.schemas.common import ListQuery
    from chalicelib.schemas.conversations import (
        BlockPublic, MessageCreate, MessagePage, MessagePublic, MyConversationPage, ReadOut, ShopConversationPage,
    )
else:  # pydantic models, imported on the first request that needs them
    (ListQuery,) = lazy_models("chalicelib.schemas.common", "ListQuery")
    (BlockPublic, MessageCreate, MessagePage, MessagePublic, MyConversationPage, ReadOut, ShopConversationPage) = lazy_models(
        "chalicelib.schemas.conversations", "BlockPublic", "MessageCreate", "MessagePage", "MessagePublic",
        "MyConversationPage", "ReadOut", "ShopConversationPage")

conversations_blueprint = Blueprint(__name__)
route = Router(conversations_blueprint, "conversations")


@route.route("POST", "/shops/{shop_id}/messages", status=201, body=MessageCreate, response=MessagePublic,
             errors=(OwnShopMessage, Blocked), limit="message",
             summary="Write to a shop as a customer (문의); the first message starts our conversation",
             description="One conversation per customer and shop: this adds to it. The shop's owner cannot "
                         "write to their own shop (403 `own_shop_message`); a customer the shop blocked gets "
                         "403 `blocked`.")
def create_shop_message(ctx: Ctx, shop_id: str, body: MessageCreate) -> dict:
    from chalicelib.services import conversations

    d = ctx.deps
    name = ctx.account.name if ctx.account is not None else ""
    message = conversations.write_to_shop(d.conversations, d.shops, d.media, ctx.user, name, shop_id,
                                          text=body.text, photos=body.photos, now=ctx.now, quota=ctx.quota)
    return conversations.message_out(message)


@route.route("GET", "/me/conversations", query=ListQuery, response=MyConversationPage,
             summary="My conversations with shops, latest first, each with my unread count")
def list_my_conversations(ctx: Ctx, query: ListQuery) -> dict:
    from chalicelib.services import conversations

    scope = f"conversations:{ctx.user}"
    page = conversations.my_conversations(ctx.deps.conversations, ctx.user, query.limit,
                                          start_key(ctx, query.cursor, scope))
    return page_out(ctx, page, scope, conversations.my_entry)


@route.route("GET", "/shops/{shop_id}/conversations", query=ListQuery, response=ShopConversationPage,
             errors=(Forbidden,),
             summary="The shop's conversations, latest first (owner only): each customer's name, tier and the "
                     "shop's unread count")
def list_shop_conversations(ctx: Ctx, shop_id: str, query: ListQuery) -> dict:
    from chalicelib.services import conversations

    d = ctx.deps
    scope = f"shop-conversations:{shop_id}"
    page, tiers = conversations.shop_conversations(d.conversations, d.shops, d.relationships, ctx.user, shop_id,
                                                   query.limit, start_key(ctx, query.cursor, scope), ctx.now)
    return page_out(ctx, page, scope, lambda c: conversations.shop_entry(c, tiers))


@route.route("GET", "/conversations/{conversation_id}/messages", query=ListQuery, response=MessagePage,
             summary="A conversation's messages, oldest first (its customer or the shop's owner)")
def list_conversation_messages(ctx: Ctx, conversation_id: str, query: ListQuery) -> dict:
    from chalicelib.services import conversations

    scope = f"messages:{conversation_id}"
    page = conversations.messages(ctx.deps.conversations, ctx.user, conversation_id, query.limit,
                                  start_key(ctx, query.cursor, scope))
    return page_out(ctx, page, scope, conversations.message_out)


@route.route("POST", "/conversations/{conversation_id}/messages", status=201, body=MessageCreate,
             response=MessagePublic, errors=(Blocked,), limit="message",
             summary="Write in a conversation: its customer as the customer, the shop's owner as the shop")
def create_conversation_message(ctx: Ctx, conversation_id: str, body: MessageCreate) -> dict:
    from chalicelib.services import conversations

    d = ctx.deps
    message = conversations.write(d.conversations, d.media, ctx.user, conversation_id, text=body.text,
                                  photos=body.photos, now=ctx.now, quota=ctx.quota)
    return conversations.message_out(message)


@route.route("POST", "/conversations/{conversation_id}/read", response=ReadOut,
             summary="Mark the conversation read on my side; answers my unread count (0)")
def mark_conversation_read(ctx: Ctx, conversation_id: str) -> dict:
    from chalicelib.services import conversations

    return {"unread_count": conversations.read(ctx.deps.conversations, ctx.user, conversation_id)}


@route.route("PUT", "/shops/{shop_id}/blocks/{user_id}", response=BlockPublic, errors=(Forbidden,),
             summary="Block a customer (owner only): no more messages, comments on the shop's posts or orders "
                     "from them (403 `blocked`)")
def block_customer(ctx: Ctx, shop_id: str, user_id: str) -> dict:
    from chalicelib.services import conversations

    d = ctx.deps
    block = conversations.block(d.conversations, d.shops, ctx.user, shop_id, user_id, ctx.now)
    return {"shop_id": block.shop_id, "user_id": block.user_id, "blocked": True, "created_at": block.created_at}


@route.route("DELETE", "/shops/{shop_id}/blocks/{user_id}", status=204, errors=(Forbidden,),
             summary="Unblock a customer (owner only; idempotent)")
def unblock_customer(ctx: Ctx, shop_id: str, user_id: str) -> None:
    from chalicelib.services import conversations

    conversations.unblock(ctx.deps.conversations, ctx.deps.shops, ctx.user, shop_id, user_id)
