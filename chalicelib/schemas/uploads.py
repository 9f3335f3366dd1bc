"""Upload requests and responses."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from chalicelib.schemas.common import Out, Schema, Timestamp


class ImageType(StrEnum):
    """The image types that can be uploaded."""

    jpeg = "image/jpeg"
    png = "image/png"
    webp = "image/webp"
    heic = "image/heic"


class UploadCreate(Schema):
    content_type: ImageType = Field(
        description="The image's type; the upload must be sent with exactly this Content-Type.")


class UploadOut(Out):
    upload_url: str = Field(description="POST a multipart form here: every `fields` entry, then `file` last.")
    fields: dict[str, str]
    key: str = Field(description="Pass it in a post's `photos` once uploaded.")
    content_type: str
    max_bytes: int = Field(description="The size cap the upload policy enforces.")
    expires_at: Timestamp
