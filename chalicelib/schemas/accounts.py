"""Account requests and responses."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from chalicelib.messages import describe_pattern
from chalicelib.schemas.common import NOT_BLANK, Id, Out, Schema, Timestamp, Trimmed
# E-mail: NFKC + case folding; phone: E.164. One canonical form before the uniqueness guards.
from chalicelib.services.identity import normalize_email, normalize_phone

# What the patterns admit is exactly what services.identity can bring to one form, so the
# document promises no address or number the API would then refuse:
# - e-mail: visible ASCII, or its full-width look-alikes (U+FF01-U+FF5E, which NFKC folds to
#   ASCII: ｍｉｎｊｉ＠dongne.kr is minji@dongne.kr);
# - phone: +country code and 8-15 digits, or a Korean number with its trunk 0 (9-11 digits),
#   digits optionally separated by single spaces or hyphens.
_EMAIL_CHAR = "\\x21-\\x3f\\x41-\\x7e\\uff01-\\uff1f\\uff21-\\uff5e"
EMAIL_PATTERN = f"^[{_EMAIL_CHAR}]+[@\\uff20][{_EMAIL_CHAR}]+[.\\uff0e][{_EMAIL_CHAR}]+$"
# +82 with one trunk 0 and a national number, +82 without it, another country code, or a Korean
# number with its trunk 0: exactly what services.identity.normalize_phone brings to one form.
PHONE_PATTERN = (r"^(?:\+8[ -]?2[ -]?0[ -]?[1-9](?:[ -]?[0-9]){5,11}|\+8[ -]?2[ -]?[1-9](?:[ -]?[0-9]){5,12}"
                 r"|\+[0-79](?:[ -]?[0-9]){7,14}|\+8[ -]?[013-9](?:[ -]?[0-9]){6,13}"
                 r"|0[1-9](?:[ -]?[0-9]){7,9})$")

Name = Annotated[str, Field(min_length=1, max_length=50, pattern=NOT_BLANK, description="Display name (Korean welcome)."),
                 Trimmed]
Email = Annotated[
    str,
    Field(max_length=254, pattern=describe_pattern(EMAIL_PATTERN, "an e-mail address like minji@example.kr",
                                                   "minji@example.kr 같은 이메일 주소"),
          examples=["minji@example.kr"]),
    AfterValidator(normalize_email),
]
Phone = Annotated[
    str,
    Field(max_length=20, pattern=describe_pattern(PHONE_PATTERN,
                                                  "a phone number like 010-1234-5678",
                                                  "010-1234-5678 같은 전화번호"),
          examples=["010-1234-5678"]),
    AfterValidator(normalize_phone),
]
Password = Annotated[str, Field(min_length=8, max_length=128)]
# services.store_links.VISITOR_ID_PATTERN (not imported: this module is on every cold start).
VisitorId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{32}$", description=(
    "The visitor id of an anonymous store-link visit (`POST /store-links/{code}/visits` answers it; the "
    "link's web page leaves it in the `dongne_visitor` cookie, which is read when this is absent). After "
    "the sign-up or login succeeds, that visit is bound to the account, so the account's first order from "
    "the shop is credited to the link. An id this server did not issue, or one bound to another account, "
    "is ignored; the answer is the same either way."))]


# "email or phone" in JSON Schema, as `not` so generators still see one plain object:
# NEITHER is "no string e-mail and no string phone" (absent or null), BOTH is "both strings".
_NEITHER = {"properties": {"email": {"not": {"type": "string"}}, "phone": {"not": {"type": "string"}}}}
_BOTH = {"required": ["email", "phone"],
         "properties": {"email": {"type": "string"}, "phone": {"type": "string"}}}


class SignupIn(Schema):
    """An e-mail address or a phone number (or both) to log in with."""

    model_config = ConfigDict(json_schema_extra={"not": _NEITHER})

    name: Name
    email: Email | None = None
    phone: Phone | None = None
    password: Password
    visitor_id: VisitorId | None = None

    @model_validator(mode="after")
    def _email_or_phone(self) -> "SignupIn":
        if not self.email and not self.phone:
            raise PydanticCustomError("email_or_phone", "give an e-mail address or a phone number")
        return self


class LoginIn(Schema):
    """Exactly one of `email` and `phone`."""

    model_config = ConfigDict(json_schema_extra={"not": {"anyOf": [_NEITHER, _BOTH]}})

    email: Email | None = None
    phone: Phone | None = None
    password: Annotated[str, Field(min_length=1, max_length=128)]
    visitor_id: VisitorId | None = None

    @model_validator(mode="after")
    def _email_or_phone(self) -> "LoginIn":
        if bool(self.email) == bool(self.phone):
            raise PydanticCustomError("email_xor_phone", "give either an e-mail address or a phone number")
        return self


class MeUpdate(Schema):
    name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None


class PasswordChange(Schema):
    current_password: Annotated[str, Field(min_length=1, max_length=128)]
    new_password: Password


class UserPublic(Out):
    user_id: Id
    name: str
    email: str | None
    phone: str | None
    shop_id: str | None
    created_at: Timestamp
    following_count: int = 0
    email_verified: bool = Field(False, description="The e-mail address received a code (POST /me/verify).")
    phone_verified: bool = Field(False, description="The phone number received a code (POST /me/verify).")


class AuthOut(Out):
    user: UserPublic
    token: str = Field(description="Bearer (access) token for the Authorization header; lives an hour.")
    expires_at: Timestamp
    refresh_token: str = Field(description="Exchange it at `POST /auth/refresh` for a new pair before or after the "
                                           "access token expires; it lives 60 days and works once.")
    refresh_expires_at: Timestamp
