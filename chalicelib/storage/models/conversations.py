"""Conversations (문의) between a customer and a shop, their messages, and a shop's blocks."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import BooleanAttribute, ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute

from chalicelib.storage.base import MainItem

CONVERSATION_SK = "CONVERSATION"
MESSAGE_PREFIX = "MSG#"
BLOCK_PREFIX = "BLOCK#"


def conversation_pk(conversation_id: str) -> str:
    return f"CONV#{conversation_id}"


def message_sk(message_id: str) -> str:
    return f"{MESSAGE_PREFIX}{message_id}"


def my_conversations_gsi(user_id: str) -> str:
    return f"USER#{user_id}#CONVERSATIONS"


def shop_conversations_gsi(shop_id: str) -> str:
    return f"SHOP#{shop_id}#CONVERSATIONS"


def block_sk(user_id: str) -> str:
    return f"{BLOCK_PREFIX}{user_id}"


class LastMessageMap(MapAttribute):
    """The latest message, copied onto the conversation for the lists (text as sent)."""

    message_id = UnicodeAttribute()
    sender = UnicodeAttribute()
    sender_id = UnicodeAttribute()
    text = UnicodeAttribute()
    photos: ListAttribute[Any] = ListAttribute(of=UnicodeAttribute, default=list)
    created_at = NumberAttribute()


class ConversationItem(MainItem, discriminator="conversation"):
    """One conversation per (customer, shop).

    Key design: ``pk = CONV#<conversation_id>``, ``sk = CONVERSATION``; the id is derived from
    the pair (``services.conversations.conversation_id``), so racing first messages write the
    same item: each message is one TransactWriteItems whose UpdateItem creates the conversation
    if absent (``if_not_exists``) and moves its counters, so there is never a second one.
    ``gsi1`` = ``USER#<customer_id>#CONVERSATIONS`` / ``<updated_at>#<conversation_id>`` (my
    conversations, latest first); ``gsi2`` = ``SHOP#<shop_id>#CONVERSATIONS`` / the same sort
    key (the shop's inbox, owner only). ``customer_unread`` / ``shop_unread`` are exact: a
    message adds 1 to the other side's count in its own transaction; reading sets one's own
    side to 0. ``owner_id`` is copied from the shop so a participant check needs no shop read.
    """

    conversation_id = UnicodeAttribute()
    shop_id = UnicodeAttribute()
    shop_name = UnicodeAttribute()
    owner_id = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    customer_name = UnicodeAttribute()
    last_message = LastMessageMap(null=True)
    customer_unread = NumberAttribute(default=0)
    shop_unread = NumberAttribute(default=0)
    created_at = NumberAttribute()
    updated_at = NumberAttribute()


class MessageItem(MainItem, discriminator="message"):
    """One message of a conversation.

    Key design: ``pk = CONV#<conversation_id>``, ``sk = MSG#<message_id>`` (ULIDs: a Query
    reads a conversation's messages oldest first). Written with ``attribute_not_exists`` in the
    transaction that moves the conversation. ``recipient_id`` (the other side) and the names are
    copied for the stream: INSERT = a ``message`` notification to the recipient.
    """

    message_id = UnicodeAttribute()
    conversation_id = UnicodeAttribute()
    shop_id = UnicodeAttribute()
    shop_name = UnicodeAttribute()
    customer_name = UnicodeAttribute()
    sender = UnicodeAttribute()
    sender_id = UnicodeAttribute()
    recipient_id = UnicodeAttribute()
    text = UnicodeAttribute()
    photos: ListAttribute[Any] = ListAttribute(of=UnicodeAttribute, default=list)
    created_at = NumberAttribute()
    automatic = BooleanAttribute(null=True)  # the shop's automatic message (aftercare, a broadcast)


class BlockItem(MainItem, discriminator="shop_block"):
    """The shop blocked ``user_id``: no messages, comments on its posts or orders from them.

    Key design: ``pk = SHOP#<shop_id>``, ``sk = BLOCK#<user_id>`` (in the shop's partition). The
    writes it stops do not read it: each checks its absence as one more item of the transaction
    it already sends (ConditionCheck ``attribute_not_exists``), so a block costs them no call.
    """

    shop_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    created_at = NumberAttribute()


class SentItem(MainItem, discriminator="sent"):
    """A shop's automatic message was sent for this moment (records.conversations.Once).

    Key design: the moment's own key (e.g. ``pk = BROADCAST#<id>``, ``sk = TO#<user_id>``), put
    with ``attribute_not_exists`` in the transaction that writes the message: a replayed or
    racing send of the same moment cancels whole, so a customer never gets it twice.
    """

    message_id = UnicodeAttribute()
    conversation_id = UnicodeAttribute()
    created_at = NumberAttribute()

