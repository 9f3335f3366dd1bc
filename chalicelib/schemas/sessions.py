"""Login (session) requests and responses."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from chalicelib.schemas.common import Out, Schema, Timestamp


class RefreshIn(Schema):
    refresh_token: Annotated[str, Field(min_length=1, max_length=4096, description=(
        "The refresh token of the last answer of `/auth/signup`, `/auth/login` or `/auth/refresh`."))]


class TokensOut(Out):
    token: str = Field(description="A new bearer (access) token; lives an hour.")
    expires_at: Timestamp
    refresh_token: str = Field(description="The login's next refresh token; the one sent is spent now (sending it "
                                           "again ends the login).")
    refresh_expires_at: Timestamp
