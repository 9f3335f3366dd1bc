"""A saved card (``/me/payment-methods/card``): the PortOne billing key in, its description out."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from chalicelib.messages import describe_pattern
from chalicelib.schemas.common import Out, Schema, Timestamp

BillingKey = Annotated[str, Field(min_length=1, max_length=200,
                                  pattern=describe_pattern(r"^[A-Za-z0-9][A-Za-z0-9_.:=+-]*$",
                                                           "a billing key (letters, digits and _ . : = + -)",
                                                           "빌링키 (영문자, 숫자와 _ . : = + -)"),
                                  description="The billing key (빌링키) PortOne issued for this customer's card "
                                              "(issued in PortOne's client SDK with `customer.id` = the user's id).",
                                  examples=["billing-key-0192a7c4"])]


class CardIn(Schema):
    billing_key: BillingKey


class CardOut(Out):
    """The saved card as PortOne described it; the billing key itself is never shown back."""

    saved: bool = Field(description="Whether a card is saved: subscription periods are then charged to it; "
                                    "otherwise they wait for a bank transfer.")
    issuer: str | None = Field(description="The card's issuer as PortOne names it (e.g. `SHINHAN`), when known.")
    last4: str | None = Field(description="The card number's last four digits, when known.")
    saved_at: Timestamp | None
