"""A shop's aftercare automations (``/shops/{shop_id}/automations``): the owner's own words."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field, StrictBool

from chalicelib.schemas.common import NOT_BLANK, Out, Schema, Timestamp, Trimmed, WholeNumber
from chalicelib.schemas.posts import _nfc

MAX_AUTOMATION_CHARS = 500
AFTER_DAYS = (1, 30)

AutomationText = Annotated[str, BeforeValidator(_nfc), Field(
    min_length=1, max_length=MAX_AUTOMATION_CHARS, pattern=NOT_BLANK,
    description=f"The shop's own words: 1 to {MAX_AUTOMATION_CHARS} characters (not bytes), not only spaces; "
                "stored without surrounding spaces.",
    examples=["첫 주문 감사합니다! 정성껏 준비해서 보내드릴게요."]), Trimmed]
AfterDays = Annotated[int, Field(
    strict=True, ge=AFTER_DAYS[0], le=AFTER_DAYS[1],
    description=f"Days after the order is delivered ({AFTER_DAYS[0]}..{AFTER_DAYS[1]})."), WholeNumber]


class AutomationIn(Schema):
    enabled: StrictBool
    text: AutomationText


class ReviewRequestIn(AutomationIn):
    after_days: AfterDays


class AutomationsIn(Schema):
    """All three, replaced whole (PUT): read them with GET, change what you want, send them back."""

    first_order_thanks: AutomationIn = Field(
        description="Sent once per customer, when their first order at the shop is paid.")
    review_request: ReviewRequestIn = Field(
        description="Sent once per order, `after_days` after it is delivered (not for an order cancelled "
                    "or refunded before then).")
    welcome_back: AutomationIn = Field(
        description="Sent when a lapsed customer's paid order brings them back (once per lapse).")


class AutomationOut(Out):
    enabled: bool = Field(description="Off until the owner turns it on.")
    text: str = Field(description="The words sent; a suggested text until the owner writes their own.")


class ReviewRequestOut(AutomationOut):
    after_days: int


class AutomationsOut(Out):
    shop_id: str
    first_order_thanks: AutomationOut
    review_request: ReviewRequestOut
    welcome_back: AutomationOut
    updated_at: Timestamp | None = Field(description="When the owner last saved them; null: never (the defaults).")
