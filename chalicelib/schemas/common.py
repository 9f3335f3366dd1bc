"""Shared schema pieces: the base model, timestamps, money, pages and list queries."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from chalicelib.ids import iso

T = TypeVar("T")


class Schema(BaseModel):
    """Base of every request and response model.

    ``extra="forbid"``: only allow-listed fields are writable (mass assignment) and a typo
    is a 422, not a silently ignored field. ``defer_build``: validators are built on first
    use, keeping them off the cold-start import path.
    """

    model_config = ConfigDict(extra="forbid", defer_build=True, str_strip_whitespace=True)


class Out(BaseModel):
    """Base of response models: built from records (attributes), extra fields ignored."""

    model_config = ConfigDict(from_attributes=True, defer_build=True)


# Epoch seconds inside, ISO 8601 UTC string on the wire.
Timestamp = Annotated[
    float,
    PlainSerializer(iso, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time", "examples": ["2026-11-23T04:31:00.000Z"]}),
]

Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_-]+$")]


class Page(Out, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(None, description="Pass as ?cursor= for the next page; null at the end.")


class ListQuery(Schema):
    limit: int = Field(20, ge=1, le=100, description="Page size (1..100).")
    cursor: str | None = Field(None, max_length=2048, description="Opaque cursor from the previous page.")
