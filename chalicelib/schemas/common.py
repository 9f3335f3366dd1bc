"""Shared schema pieces: the base models, timestamps, ids, pages and list queries."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, WithJsonSchema
from pydantic_core import PydanticCustomError

from chalicelib.ids import iso
from chalicelib.messages import describe_pattern
from chalicelib.services.limits import SPACE

T = TypeVar("T")


class Schema(BaseModel):
    """Base of every request body model.

    ``extra="forbid"``: only allow-listed fields are writable (mass assignment) and a typo
    is a 422, not a silently ignored field. ``defer_build``: validators are built on first
    use, keeping them off the cold-start import path. Strings are taken as sent (no
    trimming), so what the document declares (lengths, patterns) is exactly what is accepted.
    """

    model_config = ConfigDict(extra="forbid", defer_build=True)


class Query(BaseModel):
    """Base of query-string models: parameters the model does not declare (``utm_source``,
    a cache-buster ``_``) are ignored, as the contract says."""

    model_config = ConfigDict(extra="ignore", defer_build=True)


class Out(BaseModel):
    """Base of response models: built from records (attributes), extra fields ignored.
    Every field is always sent, so the document marks every one required."""

    model_config = ConfigDict(from_attributes=True, defer_build=True,
                              json_schema_serialization_defaults_required=True)


# Epoch seconds inside, ISO 8601 UTC string on the wire.
Timestamp = Annotated[
    float,
    PlainSerializer(iso, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time", "examples": ["2026-11-23T04:31:00.000Z"]}),
]

Id = Annotated[str, Field(min_length=1, max_length=64,
                          pattern=describe_pattern(r"^[0-9A-Za-z_-]+$", "an id (letters, digits, '_' and '-')",
                                                   "id (영문자, 숫자, '_', '-')"))]


# White space, spelled out (services.limits.SPACE): patterns never say `\s`.
# Text that must say something: not empty, not only spaces. Checked as sent (so the document
# declares exactly what is accepted), then stored without surrounding spaces.
NOT_BLANK = describe_pattern(f"[^{SPACE}]", "text that is not only spaces", "공백만이 아닌 글")
BLANK = f"^[{SPACE}]*$"
Trimmed = AfterValidator(str.strip)

# An enum is a named type (``type X = Literal[...]``): the document then has it once, as the component
# ``X`` every model using it refers to, and a generated client has one ``X`` rather than one per field.
type AmountKind = Annotated[Literal["percent", "fixed"], Field(
    description="`percent`: a percentage of what the goods cost, rounded down; `fixed`: a number of won.")]


def _whole_number(value: Any) -> Any:
    """JSON has one number type: ``2.0`` is the integer 2 (JSON Schema agrees), ``2.5`` is not.
    Strings and booleans stay refused by the strict ``int`` that follows."""
    if isinstance(value, float) and value.is_integer() and abs(value) <= 2**53:
        return int(value)
    return value


# Money and counts: an integer by value, never "1000" or true (strict), never 1000.5.
WholeNumber = BeforeValidator(_whole_number)

_ISO_DATE_TIME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}")


def _date_time_text(value: Any) -> Any:
    """A date-time is ISO 8601 text, as the document says (``format: date-time``). Left to
    itself pydantic also reads a number, or a string of digits, as Unix seconds: ``1893456000``
    would be a date 30 years from a typo. Python callers may hand over a ``datetime``."""
    if isinstance(value, datetime) or (isinstance(value, str) and _ISO_DATE_TIME.match(value)):
        return value
    raise PydanticCustomError("datetime_type", "Input should be a date-time in ISO 8601 with a time zone")


# A date-time a client sends: ISO 8601 text with a time zone, never a number (422 ``wrong_type``).
DateTimeIn = Annotated[AwareDatetime, BeforeValidator(_date_time_text)]

_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _date_text(value: Any) -> Any:
    """A day is ``YYYY-MM-DD`` (pydantic alone reads ``1699920000`` as Unix seconds too)."""
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DATE.match(value)):
        return value
    raise PydanticCustomError("date_type", "Input should be a date, YYYY-MM-DD")


DateIn = Annotated[date, BeforeValidator(_date_text)]


def unique(values: list[Any] | None) -> list[Any] | None:
    """A list validator: each item once (declared as ``uniqueItems``)."""
    if values is not None and len(values) != len(set(values)):
        raise PydanticCustomError("duplicate", "lists an item more than once")
    return values


def not_null(value: Any) -> Any:
    """A ``mode="before"`` field validator for update fields that are optional but not
    nullable: sent as null is refused (leaving the field out keeps the current value)."""
    if value is None:
        raise PydanticCustomError("not_null", "cannot be null; leave the field out to keep it")
    return value


class Page(Out, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(None, description="Pass as ?cursor= for the next page; null at the end.")

    @classmethod
    def model_parametrized_name(cls, params: tuple[type[Any], ...]) -> str:
        """``Page[FeedItemPublic]`` is published as ``FeedPage``, ``Page[ShopPublic]`` as ``ShopPage``."""
        name = getattr(params[0], "__name__", str(params[0]))
        for suffix in ("Public", "ListItem", "Item"):
            name = name.removesuffix(suffix)
        return f"{name}Page"


class ListQuery(Query):
    limit: int = Field(20, ge=1, le=100, description="Page size (1..100).")
    cursor: str | None = Field(None, min_length=1, max_length=2048,
                               description="Opaque cursor from the previous page.")
