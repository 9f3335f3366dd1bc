"""Address book requests and responses, and an order's ``fulfilment`` (in and out)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictBool, field_validator, model_validator
from pydantic_core import PydanticCustomError

from chalicelib.messages import describe_pattern
from chalicelib.schemas.accounts import Phone
from chalicelib.schemas.common import NOT_BLANK, Id, Out, Page, Schema, Timestamp, Trimmed, not_null

type FulfilmentMethod = Annotated[Literal["delivery", "pickup"], Field(
    description="`delivery` to an address, or `pickup` at the shop's place and hours.")]
Label = Annotated[str, Field(max_length=30, description="What the owner calls it (집, 회사...); may be empty.",
                             examples=["집"]), Trimmed]
Recipient = Annotated[str, Field(min_length=1, max_length=50, pattern=NOT_BLANK, examples=["김민지"]), Trimmed]
PostalCode = Annotated[str, Field(min_length=5, max_length=5,
                                  pattern=describe_pattern(r"^[0-9]{5}$", "a 5-digit postal code like 04003",
                                                           "04003 같은 5자리 우편번호"),
                                  description="The 5-digit postal code (도로명주소 우편번호).", examples=["04003"])]
Address1 = Annotated[str, Field(min_length=1, max_length=200, pattern=NOT_BLANK,
                                description="The road address (도로명주소).",
                                examples=["서울 마포구 망원로 12"]), Trimmed]
Address2 = Annotated[str, Field(max_length=100, description="Building, floor, unit (상세주소); may be empty.",
                                examples=["3층 301호"]), Trimmed]


class AddressIn(Schema):
    """A delivery address sent with an order (not saved in the book)."""

    recipient: Recipient
    phone: Phone
    postal_code: PostalCode
    address1: Address1
    address2: Address2 = ""


class AddressCreate(AddressIn):
    label: Label = ""
    is_default: StrictBool = Field(False, description="Make it the default (the first address always is).")


class AddressUpdate(Schema):
    """Only the fields sent change; none may be null. `is_default: true` makes this address the
    default (the old default stops being it); `false` on the default is refused (422)."""

    # Optional but not nullable: the None default only means "not sent" (see not_null).
    label: Label = None  # type: ignore[assignment]
    recipient: Recipient = None  # type: ignore[assignment]
    phone: Phone = None  # type: ignore[assignment]
    postal_code: PostalCode = None  # type: ignore[assignment]
    address1: Address1 = None  # type: ignore[assignment]
    address2: Address2 = None  # type: ignore[assignment]
    is_default: StrictBool = None  # type: ignore[assignment]

    _not_null = field_validator("label", "recipient", "phone", "postal_code", "address1", "address2", "is_default",
                                mode="before")(not_null)


class AddressPublic(Out):
    address_id: Id
    label: str
    recipient: str
    phone: str = Field(description="E.164 (+821012345678), normalised like an account's.")
    postal_code: str
    address1: str
    address2: str
    is_default: bool
    created_at: Timestamp
    updated_at: Timestamp


AddressPage = Page[AddressPublic]


# --- an order's fulfilment ------------------------------------------------------------------------------


class FulfilmentIn(Schema):
    """How the order reaches the buyer: `{method: delivery, address_id}` (a saved address),
    `{method: delivery, address: {...}}`, or `{method: pickup}` (at the shop's place and hours).
    Delivery with neither address → 422 `address_required`; a method the shop does not offer →
    422 `fulfilment_unavailable`."""

    method: FulfilmentMethod
    address_id: Id | None = Field(None, description="delivery: one of my saved addresses (copied onto the order).")
    address: AddressIn | None = Field(None, description="delivery: an address not saved in my address book.")

    @model_validator(mode="after")
    def _one_address(self) -> "FulfilmentIn":
        if self.method == "pickup" and (self.address_id is not None or self.address is not None):
            raise PydanticCustomError("not_for_pickup", "pickup takes no address")
        if self.address_id is not None and self.address is not None:
            raise PydanticCustomError("address_or_id", "send either address_id or address, not both")
        return self


class AddressOut(Out):
    recipient: str
    phone: str
    postal_code: str
    address1: str
    address2: str


class FulfilmentOut(Out):
    """An order's fulfilment as placed: the delivery address, or the pickup place and hours
    (copied from the address book or the shop when the order was placed)."""

    method: FulfilmentMethod
    address: AddressOut | None = Field(description="delivery: where to (shown to the buyer and the shop's owner).")
    pickup_address: str | None = Field(description="pickup: the shop's pickup place.")
    pickup_hours: str | None = Field(description="pickup: when (free text; may be empty).")
