"""Conversations (문의): a customer writes to a shop, the shop's owner answers.

One conversation per (customer, shop): its id is derived from the pair, so the first message
and any message racing it write the same conversation (see ``storage.models.conversations``).
Only its two participants — the customer and the shop's owner — see it or write in it; to
anyone else it does not exist (404). Each side has an exact unread count: a message adds one
to the other side's, in the message's own transaction; reading sets one's own to 0.

A shop's owner may block a customer (``PUT /shops/{id}/blocks/{user_id}``): that customer's
messages to the shop, comments on its posts and orders from it are refused (403 ``blocked``)
by a check inside the transaction each of them already writes.
"""

from __future__ import annotations

import base64
from dataclasses import replace
import hashlib
from collections.abc import Sequence
from typing import Any, Protocol

from chalicelib.errors import Blocked, NotFound, OwnShopMessage
from chalicelib.ids import new_id
from chalicelib.records.accounts import Shop
from chalicelib.records.common import Page
from chalicelib.records.conversations import CUSTOMER, SHOP, Block, Conversation, Message, Once
from chalicelib.records.rates import Ticket
from chalicelib.records.relationships import Pair, Tier
from chalicelib.services.shops import ShopsStore, get_shop, owned_shop
from chalicelib.services.uploads import MediaStore, check_photos


class ConversationsStore(Protocol):
    def get(self, conversation_id: str) -> Conversation | None: ...
    def send(self, conversation: Conversation, message: Message, recipient_id: str,
             quota: Ticket | None = None, once: Once | None = None) -> bool: ...
    def read(self, conversation: Conversation, side: str) -> int: ...
    def messages(self, conversation_id: str, limit: int, start_key: dict | None) -> Page: ...
    def of_customer(self, user_id: str, limit: int, start_key: dict | None) -> Page: ...
    def of_shop(self, shop_id: str, limit: int, start_key: dict | None) -> Page: ...
    def block(self, block: Block) -> Block: ...
    def unblock(self, shop_id: str, user_id: str) -> bool: ...


class Customers(Protocol):
    """The shop's relationships: what it knows of its customers (their tier)."""

    def pairs_of_shop(self, shop_id: str, user_ids: Sequence[str]) -> list[Pair]: ...


def conversation_id(shop_id: str, customer_id: str) -> str:
    """The pair's conversation id: 26 characters of Crockford-style base32 of a hash of the
    pair (the same length as other ids; it reveals neither id)."""
    digest = hashlib.sha256(f"conversation:{shop_id}:{customer_id}".encode()).digest()
    text = base64.b32encode(digest).decode().rstrip("=")
    return text[:26]


def _not_found() -> NotFound:
    return NotFound("No such conversation.")


def _message(conversation_id: str, sender: str, sender_id: str, text: str, photos: Sequence[str],
             now: float) -> Message:
    return Message(message_id=new_id(), conversation_id=conversation_id, sender=sender, sender_id=sender_id,
                   text=text, photos=tuple(photos), created_at=now)


def write_to_shop(store: ConversationsStore, shops: ShopsStore, media: MediaStore, user_id: str, user_name: str,
                  shop_id: str, *, text: str, photos: Sequence[str], now: float,
                  quota: Ticket | None = None) -> Message:
    """A customer's message to a shop: the conversation is created with the first one. One
    GetItem (the shop), HeadObject per photo, one TransactWriteItems. The shop's owner → 403
    ``own_shop_message``; a blocked customer → 403 ``blocked``."""
    shop = get_shop(shops, shop_id)
    if shop.owner_id == user_id:
        raise OwnShopMessage("A shop's owner cannot write to their own shop as a customer.")
    check_photos(media, user_id, list(photos))
    conversation = _new_conversation(shop, user_id, user_name, now)
    message = _message(conversation.conversation_id, CUSTOMER, user_id, text, photos, now)
    store.send(conversation, message, shop.owner_id, quota)
    return message


def _new_conversation(shop: Shop, customer_id: str, customer_name: str, now: float) -> Conversation:
    return shop_conversation(shop.shop_id, shop.name, shop.owner_id, customer_id, customer_name, now)


def shop_conversation(shop_id: str, shop_name: str, owner_id: str, customer_id: str, customer_name: str,
                      now: float) -> Conversation:
    """The (customer, shop) conversation as a first message creates it (an existing one keeps its
    names and creation time: storage only fills in what is absent)."""
    return Conversation(conversation_id=conversation_id(shop_id, customer_id), shop_id=shop_id,
                        shop_name=shop_name, owner_id=owner_id, customer_id=customer_id,
                        customer_name=customer_name, last_message=None, customer_unread=0, shop_unread=0,
                        created_at=now, updated_at=now)


def shop_message(conversation: Conversation, text: str, now: float, message_id: str | None = None) -> Message:
    """A message from the shop (its owner) in ``conversation``; ``message_id`` a given id (a
    broadcast's: one message per conversation, so the id itself keeps it from being sent twice)."""
    message = _message(conversation.conversation_id, SHOP, conversation.owner_id, text, (), now)
    return message if message_id is None else replace(message, message_id=message_id)


def shop_says(store: ConversationsStore, shop: Shop, customer_id: str, customer_name: str, text: str, *,
              once: Once, now: float) -> bool:
    """The shop's automatic message to one customer (an aftercare note, a broadcast), at most
    once per ``once`` moment: one TransactWriteItems, no read. The conversation is created if
    the customer never wrote. False when that moment was already sent or the shop blocked the
    customer (nothing is written then)."""
    conversation = _new_conversation(shop, customer_id, customer_name, now)
    message = _message(conversation.conversation_id, SHOP, shop.owner_id, text, (), now)
    try:
        return store.send(conversation, message, customer_id, once=once)
    except Blocked:
        return False


def participant(store: ConversationsStore, user_id: str, conversation_id: str) -> tuple[Conversation, str]:
    """The conversation and the caller's side in it; 404 for anyone but its two participants."""
    conversation = store.get(conversation_id)
    side = conversation.side_of(user_id) if conversation is not None else None
    if conversation is None or side is None:
        raise _not_found()
    return conversation, side


def write(store: ConversationsStore, media: MediaStore, user_id: str, conversation_id: str, *, text: str,
          photos: Sequence[str], now: float, quota: Ticket | None = None) -> Message:
    """A message in an existing conversation, as its customer or as the shop (its owner). One
    GetItem, HeadObject per photo, one TransactWriteItems."""
    conversation, side = participant(store, user_id, conversation_id)
    check_photos(media, user_id, list(photos))
    message = _message(conversation_id, side, user_id, text, photos, now)
    recipient = conversation.owner_id if side == CUSTOMER else conversation.customer_id
    store.send(conversation, message, recipient, quota)
    return message


def messages(store: ConversationsStore, user_id: str, conversation_id: str, limit: int,
             start_key: dict | None) -> Page:
    """Oldest first; a participant only. One GetItem, one Query."""
    participant(store, user_id, conversation_id)
    return store.messages(conversation_id, limit, start_key)


def read(store: ConversationsStore, user_id: str, conversation_id: str) -> int:
    """Mark the caller's side read; its unread count now (0). One GetItem, one UpdateItem."""
    conversation, side = participant(store, user_id, conversation_id)
    return store.read(conversation, side)


def my_conversations(store: ConversationsStore, user_id: str, limit: int, start_key: dict | None) -> Page:
    """The caller's conversations as a customer, latest first: one Query."""
    return store.of_customer(user_id, limit, start_key)


def shop_conversations(store: ConversationsStore, shops: ShopsStore, customers: Customers, user_id: str,
                       shop_id: str, limit: int, start_key: dict | None, now: float) -> tuple[Page, dict[str, Tier]]:
    """The shop's conversations, latest first (owner only), and each customer's tier: one
    GetItem (the shop), one Query, one BatchGetItem (the page's relationships)."""
    from chalicelib.services.relationships import CONFIG
    from chalicelib.services.scoring import tier_at

    owned_shop(shops, user_id, shop_id)
    page = store.of_shop(shop_id, limit, start_key)
    pairs = customers.pairs_of_shop(shop_id, [c.customer_id for c in page.items]) if page.items else []
    tiers = {p.user_id: tier_at(p.state, max(now, p.state.updated_at), CONFIG) for p in pairs}
    return page, tiers


def block(store: ConversationsStore, shops: ShopsStore, user_id: str, shop_id: str, blocked_id: str,
          now: float) -> Block:
    """Owner only: one GetItem (the shop), one PutItem."""
    owned_shop(shops, user_id, shop_id)
    return store.block(Block(shop_id=shop_id, user_id=blocked_id, created_at=now))


def unblock(store: ConversationsStore, shops: ShopsStore, user_id: str, shop_id: str, blocked_id: str) -> None:
    """Owner only, idempotent: one GetItem (the shop), one DeleteItem."""
    owned_shop(shops, user_id, shop_id)
    store.unblock(shop_id, blocked_id)


def message_out(message: Message) -> dict[str, Any]:
    return {"message_id": message.message_id, "conversation_id": message.conversation_id,
            "sender": message.sender, "text": message.text, "photos": list(message.photos),
            "created_at": message.created_at}


def my_entry(conversation: Conversation) -> dict[str, Any]:
    last = conversation.last_message
    return {"conversation_id": conversation.conversation_id, "shop_id": conversation.shop_id,
            "shop_name": conversation.shop_name, "last_message": message_out(last) if last else None,
            "unread_count": conversation.customer_unread, "updated_at": conversation.updated_at}


def shop_entry(conversation: Conversation, tiers: dict[str, Tier]) -> dict[str, Any]:
    last = conversation.last_message
    return {"conversation_id": conversation.conversation_id, "customer_id": conversation.customer_id,
            "customer_name": conversation.customer_name,
            "tier": tiers.get(conversation.customer_id, Tier.POTENTIAL).value,
            "last_message": message_out(last) if last else None, "unread_count": conversation.shop_unread,
            "updated_at": conversation.updated_at}

