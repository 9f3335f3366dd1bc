"""Post, comment, like and share requests and responses."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, Field, field_validator

from chalicelib.messages import describe_pattern
from chalicelib.schemas.common import BLANK, NOT_BLANK, Id, Out, Schema, Timestamp, Trimmed, unique
from chalicelib.services.limits import KEY_PATTERN, MAX_COMMENT_CHARS, MAX_PHOTOS, MAX_PRODUCTS, MAX_TEXT_CHARS


def _nfc(value: Any) -> Any:
    """Compose Hangul jamo into syllables first, so a limit counts what a reader sees."""
    return unicodedata.normalize("NFC", value) if isinstance(value, str) else value


PostText = Annotated[str, BeforeValidator(_nfc), Field(
    max_length=MAX_TEXT_CHARS, description=f"Up to {MAX_TEXT_CHARS} characters (not bytes); #hashtags are extracted.",
    examples=["오늘 아침 손두부 나왔어요 #망원동 #두부"]), Trimmed]
UploadKey = Annotated[str, Field(max_length=200,
                                 pattern=describe_pattern(KEY_PATTERN.pattern,
                                                          "the key of an image you uploaded (POST /uploads)",
                                                          "내가 올린 사진의 키(POST /uploads)"),
                                 description="A key returned by POST /uploads to this user, after the upload.")]
ProductId = Annotated[str, Field(pattern=describe_pattern(r"^[0-9A-HJKMNP-TV-Z]{26}$", "a product id (a ULID)",
                                                          "상품 id(ULID)"),
                                 description="A product id (ULID).")]
# Each photo and product once: declared (uniqueItems) and checked (``unique``).
Photos = Annotated[list[UploadKey], Field(max_length=MAX_PHOTOS, json_schema_extra={"uniqueItems": True},
                                          description=f"At most {MAX_PHOTOS} photos, each once.")]
ProductIds = Annotated[list[ProductId], Field(max_length=MAX_PRODUCTS, json_schema_extra={"uniqueItems": True},
                                              description=f"At most {MAX_PRODUCTS} of the shop's products, each once.")]
_unique = unique


class PostCreate(Schema):
    """Text, photos or both: a post with neither (or only spaces) is refused."""

    # Not (no text or blank text, and no photos): a `text` that says something, or a photo. Blank
    # is `services.limits.SPACE`'s, which the service checks (422 `text_or_photo` on `body.text`).
    model_config = ConfigDict(json_schema_extra={"not": {"properties": {"text": {"pattern": BLANK},
                                                                        "photos": {"maxItems": 0}}}})

    text: PostText = ""
    photos: Photos = Field(default_factory=list)
    product_ids: ProductIds = Field(default_factory=list)

    _unique_ids = field_validator("photos", "product_ids")(_unique)


class PostUpdate(Schema):
    """Only what is sent changes (null: unchanged). The post must keep text or a photo: a blank `text`
    with `photos: []` is always refused, either one alone when the post has not the other (422
    `text_or_photo`)."""

    model_config = ConfigDict(json_schema_extra={"not": {
        "required": ["text", "photos"],
        "properties": {"text": {"type": "string", "pattern": BLANK}, "photos": {"type": "array", "maxItems": 0}}}})

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


CommentText = Annotated[str, BeforeValidator(_nfc), Field(min_length=1, max_length=MAX_COMMENT_CHARS, pattern=NOT_BLANK,
                                                          examples=["내일도 콩물 있나요?"]), Trimmed]


class CommentCreate(Schema):
    text: CommentText


class CommentPublic(Out):
    comment_id: Id
    post_id: Id
    shop_id: Id
    author_id: Id
    author_name: str = Field(description="The shop's name on a shop reply; \"탈퇴한 회원\" when the author closed "
                                         "their account.")
    author_closed: bool = Field(False, description="The author closed their account (their name is hidden).")
    text: str
    is_shop_reply: bool = Field(description="Written by the shop's owner.")
    created_at: Timestamp


class ShareOut(Out):
    share_id: Id
    post_id: Id
    share_url: str = Field(description="The web page to share (absolute; a preview in KakaoTalk): the sharer's "
                                       "own store link's page (`/l/{code}`) when they have one for the shop, "
                                       "else the post's page (`/p/{post_id}`).")
    created_at: Timestamp


class PostView(PostPublic):
    """A post as one reader sees it (``GET /posts/{post_id}``)."""

    liked: bool = Field(description="Whether the caller likes the post: sent with a bearer token; false without one.")
