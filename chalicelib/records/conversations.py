"""Plain records of conversations (문의): a customer and a shop writing to each other, and the
shop's blocks. Passed between storage and services; no framework types."""

from __future__ import annotations

from dataclasses import dataclass

CUSTOMER = "customer"
SHOP = "shop"


@dataclass(frozen=True)
class Message:
    message_id: str
    conversation_id: str
    sender: str  # customer | shop
    sender_id: str
    text: str
    photos: tuple[str, ...]
    created_at: float


@dataclass(frozen=True)
class Conversation:
    """One per (customer, shop). ``customer_unread`` / ``shop_unread``: the messages of the
    other side that side has not read (exact: moved in the transaction that adds a message)."""

    conversation_id: str
    shop_id: str
    shop_name: str
    owner_id: str
    customer_id: str
    customer_name: str
    last_message: Message | None
    customer_unread: int
    shop_unread: int
    created_at: float
    updated_at: float

    def side_of(self, user_id: str) -> str | None:
        """``customer``, ``shop`` or None (not a participant)."""
        if user_id == self.customer_id:
            return CUSTOMER
        if user_id == self.owner_id:
            return SHOP
        return None


@dataclass(frozen=True)
class Block:
    shop_id: str
    user_id: str
    created_at: float


@dataclass(frozen=True)
class Once:
    """Makes a shop's automatic message (an aftercare note, one recipient of a broadcast) happen
    at most once: a guard item written in the message's own transaction on condition that it
    does not exist yet. ``pk`` / ``sk`` name the moment (a broadcast and its recipient; an
    automation, its customer and the order it answers)."""

    pk: str
    sk: str
