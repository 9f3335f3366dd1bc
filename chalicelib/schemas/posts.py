"""Post, comment, like and share requests and responses."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, field_validator

from chalicelib.schemas.common import Id, Out, Schema, Timestamp
from chalicelib.services.limits import KEY_PATTERN, MAX_COMMENT_CHARS, MAX_PHOTOS, MAX_PRODUCTS, MAX_TEXT_CHARS


def _nfc(value: Any) -> Any:
    """Compose Hangul jamo into syllables first, so a limit counts what a reader sees."""
    return unicodedata.normalize("NFC", value) if isinstance(value, str) else value


PostText = Annotated[str, BeforeValidator(_nfc), Field(
    max_length=MAX_TEXT_CHARS, description=f"Up to {MAX_TEXT_CHARS} characters (not bytes); #hashtags are extracted.",
    examples=["오늘 아침 손두부 나왔어요 #망원동 #두부"])]
UploadKey = Annotated[str, Field(max_length=200, pattern=KEY_PATTERN.pattern,
                                 description="A key returned by POST /uploads to this user, after the upload.")]
ProductId = Annotated[str, Field(pattern=r"^[0-9A-HJKMNP-TV-Z]{26}$", description="A product id (ULID).")]
Photos = Annotated[list[UploadKey], Field(max_length=MAX_PHOTOS, description=f"At most {MAX_PHOTOS} photos.")]
ProductIds = Annotated[list[ProductId], Field(max_length=MAX_PRODUCTS,
                                              description=f"At most {MAX_PRODUCTS} of the shop's products.")]


def _unique(values: list[str] | None) -> list[str] | None:
    if values is not None and len(values) != len(set(values)):
        raise ValueError("lists each id once")
    return values


class PostCreate(Schema):
    text: PostText = ""
    photos: Photos = Field(default_factory=list)
    product_ids: ProductIds = Field(default_factory=list)

    _unique_ids = field_validator("photos", "product_ids")(_unique)


class PostUpdate(Schema):
    text: PostText | None = None
    photos: Photos | None = None
    product_ids: ProductIds | None = None

    _unique_ids = field_validator("photos", "product_ids")(_unique)


class TaggedProductPublic(Out):
    """A product the post tags, with its name and price when the post was written or last
    edited. The product itself (`GET /products/{product_id}`) and an order have today's price."""

    product_id: Id
    name: str
    price: int = Field(description="Integer won, as of the post's creation or last edit.")
    currency: str


class PostPublic(Out):
    post_id: Id
    shop_id: Id
    shop_name: str
    shop_handle: str
    text: str
    photos: list[str] = Field(description="Upload keys, as sent.")
    photo_urls: list[str] = Field(description="Where to load each photo from, in the same order.")
    product_ids: list[str]
    products: list[TaggedProductPublic] = Field(description="The tagged products, in `product_ids` order.")
    hashtags: list[str]
    like_count: int
    comment_count: int
    share_count: int
    created_at: Timestamp
    updated_at: Timestamp


class LikeOut(Out):
    post_id: Id
    liked: bool
    like_count: int = Field(description="As seen by this request.")


CommentText = Annotated[str, BeforeValidator(_nfc), Field(min_length=1, max_length=MAX_COMMENT_CHARS,
                                                          examples=["내일도 콩물 있나요?"])]


class CommentCreate(Schema):
    text: CommentText


class CommentPublic(Out):
    comment_id: Id
    post_id: Id
    shop_id: Id
    author_id: Id
    author_name: str = Field(description="The shop's name on a shop reply.")
    text: str
    is_shop_reply: bool = Field(description="Written by the shop's owner.")
    created_at: Timestamp


class ShareOut(Out):
    share_id: Id
    post_id: Id
    share_url: str = Field(description="The link to share: the sharer's own store link for the shop when they "
                                       "have one, else the shop's public page.")
    created_at: Timestamp
