"""Product requests and responses."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from chalicelib.messages import describe_pattern
from chalicelib.schemas.common import NOT_BLANK, Id, Out, Schema, Timestamp, Trimmed, WholeNumber, not_null

# Money and counts are integers: "1000", true and 1000.5 are refused, not coerced (1000.0 is 1000).
Price = Annotated[int, Field(strict=True, ge=1, le=10_000_000, description="Integer won, 1..10,000,000.",
                             examples=[4500]), WholeNumber]
Stock = Annotated[int, Field(strict=True, ge=0, le=1_000_000, description="Units on the shelf.", examples=[20]),
                  WholeNumber]
ReorderDays = Annotated[int, Field(strict=True, ge=1, le=365,
                                   description="Essentials: days one purchase usually lasts.", examples=[7]),
                      WholeNumber]
ProductName = Annotated[str, Field(min_length=1, max_length=100, pattern=NOT_BLANK, examples=["손두부 (500g)"]), Trimmed]
Description = Annotated[str, Field(max_length=2000, examples=["국산콩 100%, 매일 새벽에 만듭니다."]), Trimmed]


class ProductKind(StrEnum):
    """`essential`: bought again and again (has `reorder_days`); `treat`: an occasional buy."""

    essential = "essential"
    treat = "treat"


Kind = ProductKind


def _no_parent_segments(value: str) -> str:
    if ".." in value:
        raise PydanticCustomError("parent_segment", "must not contain '..'")
    return value


PhotoKey = Annotated[
    str,
    Field(max_length=300, pattern=describe_pattern(r"^uploads/[0-9A-Za-z_-]{1,64}/[0-9A-Za-z_./-]{1,200}$",
                                                   "the key of an image you uploaded (uploads/<user id>/...)",
                                                   "내가 올린 사진의 키(uploads/<사용자 id>/...)"),
          description="Key of an image you uploaded (POST /uploads): uploads/<your user id>/...",
          examples=["uploads/01JDQ7ZK3M8X2V5N4P6R9T0W1Y/01JDQ80A1B2C3D4E5F6G7H8J9K.jpg"]),
    AfterValidator(_no_parent_segments),
]
Photos = Annotated[list[PhotoKey], Field(max_length=10)]


# An essential has reorder_days (an integer); a treat has none (absent or null). As `not` so that
# generators still see one plain object.
_KIND_RULE = {"not": {"anyOf": [
    {"required": ["kind"], "properties": {"kind": {"const": "essential"}, "reorder_days": {"not": {"type": "integer"}}}},
    {"required": ["kind", "reorder_days"],
     "properties": {"kind": {"const": "treat"}, "reorder_days": {"type": "integer"}}},
]}}


class ProductCreate(Schema):
    """An `essential` needs `reorder_days`; a `treat` has none."""

    model_config = ConfigDict(json_schema_extra=_KIND_RULE)

    name: ProductName
    description: Description = ""
    price: Price
    currency: Literal["KRW"] = "KRW"
    stock: Stock
    kind: Kind
    reorder_days: ReorderDays | None = None
    photos: Photos = []


class ProductUpdate(Schema):
    """Only the fields sent change. ``null`` is accepted for ``reorder_days`` only (a treat has
    none); the other fields are left out to keep them, never sent as null."""

    # Optional but not nullable: the None default only means "not sent" (see not_null).
    name: ProductName = None  # type: ignore[assignment]
    description: Description = None  # type: ignore[assignment]
    price: Price = None  # type: ignore[assignment]
    stock: Stock = None  # type: ignore[assignment]
    kind: Kind = None  # type: ignore[assignment]
    reorder_days: ReorderDays | None = None
    photos: Photos = None  # type: ignore[assignment]

    _not_null = field_validator("name", "description", "price", "stock", "kind", "photos", mode="before")(not_null)


class ProductPublic(Out):
    product_id: Id
    shop_id: str
    name: str
    description: str
    price: int
    currency: str
    stock: int
    kind: Kind
    reorder_days: int | None
    photos: list[str]
    rating_count: int
    rating_average: float | None = Field(description="Average rating (1..5, two decimals); null before any review.")
    created_at: Timestamp
    updated_at: Timestamp


class ProductSummaryPublic(Out):
    """A tagged product as a post or feed entry shows it."""

    product_id: Id
    name: str
    price: int
    currency: str
    kind: Kind
    photo: str | None
