"""Broadcast requests and responses (``/shops/{shop_id}/broadcasts``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, StrictBool, field_validator

from chalicelib.schemas.common import NOT_BLANK, Id, Out, Schema, Timestamp, Trimmed, unique
from chalicelib.schemas.posts import _nfc
from chalicelib.schemas.relationships import TierName
from chalicelib.services.limits import MAX_BROADCAST_CHARS

MAX_CHOSEN = 1000

type BroadcastStatus = Annotated[Literal["sending", "held", "done"], Field(
    description="`sending`, `held` (a pass waits for the morning) or `done`.")]

BroadcastText = Annotated[str, BeforeValidator(_nfc), Field(
    min_length=1, max_length=MAX_BROADCAST_CHARS, pattern=NOT_BLANK,
    description=f"1 to {MAX_BROADCAST_CHARS} characters, not only spaces. For advertising, the \"(광고)\" line and "
                "how to refuse are added around it.",
    examples=["민지님, 요즘 두부 생각 안 나세요? 이번 주 손두부 새로 들어왔어요."]), Trimmed]


class TierAudience(Schema):
    tier: TierName = Field(description="Every customer of this tier, e.g. lapsed.")


class EssentialDueAudience(Schema):
    essential_due: Literal[True] = Field(description="Customers whose essential of the shop is due now.")


class ChosenAudience(Schema):
    user_ids: list[Id] = Field(min_length=1, max_length=MAX_CHOSEN, json_schema_extra={"uniqueItems": True},
                               description=f"Chosen customers (at most {MAX_CHOSEN}); those who are not the shop's "
                                           "customers are not reached.")

    _unique_ids = field_validator("user_ids")(unique)


# Exactly one of the three, as the document says it (each shape allows no other field).
AudienceIn = TierAudience | EssentialDueAudience | ChosenAudience


class BroadcastCreate(Schema):
    audience: AudienceIn = Field(description="Exactly one of `{tier}`, `{essential_due: true}` or `{user_ids}`.")
    text: BroadcastText
    advertising: StrictBool = Field(False, description="광고성 정보: only to customers who consented, with "
                                                       "\"(광고)\", the shop's name and how to refuse; held until "
                                                       "08:00 KST at night without night-time consent.")
    coupon_id: Id | None = Field(None, description="A coupon of the shop given with the message to each "
                                                   "recipient (held at most once). A coupon is a promotion: the "
                                                   "broadcast is then advertising whatever `advertising` says.")


class BroadcastAccepted(Out):
    broadcast_id: Id
    status: Literal["sending"]
    recipients: int | None = Field(description="For chosen customers, how many were named; for a segment, null "
                                                "until counted (see GET).")


class AudienceOut(Out):
    tier: TierName | None = None
    essential_due: bool | None = None
    user_ids: list[str] | None = None


class BroadcastProgress(Out):
    broadcast_id: Id
    status: BroadcastStatus = Field(
        description="held: a morning pass waits until `held_until` (advertising that reached 21:00–08:00 KST).")
    recipients: int = Field(description="Audience members gone through so far (of the latest pass).")
    delivered: int = Field(description="Messages delivered, each recipient once (exact).")
    skipped_no_consent: int = Field(description="Advertising not sent: no consent to the shop's advertising.")
    held_until: Timestamp | None
    audience: AudienceOut
    text: str = Field(description="The message as each recipient reads it.")
    advertising: bool
    coupon_id: Id | None
    created_at: Timestamp
