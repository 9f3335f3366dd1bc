"""Account requests and responses."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from chalicelib.schemas.common import Id, Out, Schema, Timestamp



def normalize_email(value: str) -> str:
    return value.strip().lower()


def normalize_phone(value: str) -> str:
    """Digits only, keeping a leading '+': '010-1234-5678' and '01012345678' are one number."""
    digits = "".join(ch for ch in value if ch.isdigit())
    return ("+" + digits) if value.strip().startswith("+") else digits


Name = Annotated[str, Field(min_length=1, max_length=50, description="Display name (Korean welcome).")]
Email = Annotated[
    str,
    Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", examples=["minji@example.kr"]),
    AfterValidator(normalize_email),
]
Phone = Annotated[
    str,
    Field(max_length=20, pattern=r"^\+?[0-9][0-9 -]{6,18}[0-9]$", examples=["010-1234-5678"]),
    AfterValidator(normalize_phone),
]
Password = Annotated[str, Field(min_length=8, max_length=128)]


class SignupIn(Schema):
    name: Name
    email: Email | None = None
    phone: Phone | None = None
    password: Password

    @model_validator(mode="after")
    def _email_or_phone(self) -> "SignupIn":
        if not self.email and not self.phone:
            raise ValueError("give an email or a phone number")
        return self


class LoginIn(Schema):
    email: Email | None = None
    phone: Phone | None = None
    password: Annotated[str, Field(min_length=1, max_length=128)]

    @model_validator(mode="after")
    def _email_or_phone(self) -> "LoginIn":
        if bool(self.email) == bool(self.phone):
            raise ValueError("give either an email or a phone number")
        return self


class MeUpdate(Schema):
    name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None


class UserPublic(Out):
    user_id: Id
    name: str
    email: str | None
    phone: str | None
    shop_id: str | None
    created_at: Timestamp
    following_count: int = 0


class AuthOut(Out):
    user: UserPublic
    token: str = Field(description="Bearer token for the Authorization header.")
    expires_at: Timestamp
