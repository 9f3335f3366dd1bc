"""Conversation (문의) requests and responses, and a shop's blocks."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, field_validator

from chalicelib.schemas.common import NOT_BLANK, Id, Out, Page, Schema, Timestamp, Trimmed, unique
from chalicelib.schemas.posts import UploadKey, _nfc
from chalicelib.schemas.relationships import TierName
from chalicelib.services.limits import MAX_MESSAGE_CHARS, MAX_MESSAGE_PHOTOS

MessageText = Annotated[str, BeforeValidator(_nfc), Field(
    min_length=1, max_length=MAX_MESSAGE_CHARS, pattern=NOT_BLANK,
    description=f"1 to {MAX_MESSAGE_CHARS} characters (not bytes), not only spaces.",
    examples=["내일 두부 두 모 맡아 주실 수 있나요?"]), Trimmed]
MessagePhotos = Annotated[list[UploadKey], Field(max_length=MAX_MESSAGE_PHOTOS, json_schema_extra={"uniqueItems": True},
                                                 description=f"At most {MAX_MESSAGE_PHOTOS} of my uploads, each once.")]
type MessageSender = Literal["customer", "shop"]


class MessageCreate(Schema):
    text: MessageText
    photos: MessagePhotos = Field(default_factory=list)

    _unique_ids = field_validator("photos")(unique)


class MessagePublic(Out):
    message_id: Id
    conversation_id: Id
    sender: MessageSender = Field(description="customer: the customer wrote it; shop: the shop's owner, as the shop.")
    text: str
    photos: list[str] = Field(description="Upload keys, as sent.")
    created_at: Timestamp


MessagePage = Page[MessagePublic]


class MyConversationPublic(Out):
    conversation_id: Id
    shop_id: Id
    shop_name: str
    last_message: MessagePublic | None
    unread_count: int = Field(description="The shop's messages I have not read (exact).")
    updated_at: Timestamp


MyConversationPage = Page[MyConversationPublic]


class ShopConversationPublic(Out):
    conversation_id: Id
    customer_id: Id
    customer_name: str
    tier: TierName
    last_message: MessagePublic | None
    unread_count: int = Field(description="The customer's messages the shop has not read (exact).")
    updated_at: Timestamp


ShopConversationPage = Page[ShopConversationPublic]


class ReadOut(Out):
    unread_count: int = Field(description="My side's unread messages in the conversation now (0).")


class BlockPublic(Out):
    shop_id: Id
    user_id: Id
    blocked: bool
    created_at: Timestamp
