"""A customer's saved payment method: the card a subscription's periods are charged to."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SavedCard:
    """A PortOne billing key (빌링키) the customer registered, checked with PortOne when saved.

    ``billing_key`` charges the card through the server only; it is never shown back. What is
    shown is what PortOne said of the card: its issuer and last four digits, when it said."""

    user_id: str
    billing_key: str
    saved_at: float
    issuer: str | None = None
    last4: str | None = None
