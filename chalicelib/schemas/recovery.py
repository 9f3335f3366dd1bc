"""Password reset and verification requests and responses."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from chalicelib.schemas.accounts import _BOTH, _NEITHER, Email, Password, Phone
from chalicelib.schemas.common import Out, Schema, Timestamp

Code = Annotated[str, Field(pattern=r"^[0-9]{6}$", description="The six-digit code the message carried.",
                            examples=["042917"])]
type CodeChannel = Annotated[Literal["email", "phone"], Field(
    description="Where a code goes: the account's e-mail or its phone (SMS).")]
# Exactly one of the two, as LoginIn says it.
_XOR: dict[str, Any] = {"not": {"anyOf": [_NEITHER, _BOTH]}}


class _EmailXorPhone(Schema):
    model_config = ConfigDict(json_schema_extra=_XOR)

    email: Email | None = None
    phone: Phone | None = None

    @model_validator(mode="after")
    def _email_or_phone(self) -> _EmailXorPhone:
        if bool(self.email) == bool(self.phone):
            raise PydanticCustomError("email_xor_phone", "give either an e-mail address or a phone number")
        return self

    @property
    def identifier(self) -> tuple[str, str]:
        return ("email", self.email) if self.email else ("phone", self.phone or "")


class ResetIn(_EmailXorPhone):
    """Exactly one of `email` and `phone`: where the account's reset code is sent."""


class ResetConfirmIn(_EmailXorPhone):
    """The address the code was asked for (exactly one of `email` and `phone`), the code and the
    new password."""

    code: Code
    new_password: Password


class VerifyIn(Schema):
    channel: CodeChannel | None = Field(None, description=(
        "Which address to verify; absent: the account's e-mail if it has one not yet verified, else its phone."))


class VerifyConfirmIn(Schema):
    code: Code


class CodeSentOut(Out):
    channel: CodeChannel = Field(description="Where the code goes (for a reset: the kind of address sent).")
    expires_at: Timestamp = Field(description="Until when the code works (15 minutes).")
