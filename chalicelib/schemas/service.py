"""The service routes' answers (``GET /health``)."""

from __future__ import annotations

from pydantic import Field

from chalicelib.schemas.common import Out


class Health(Out):
    status: str = Field(examples=["ok"])
    table: str
    stage: str
