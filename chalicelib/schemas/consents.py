"""A customer's consent to a shop's advertising (``/me/shop-preferences/{shop_id}``)."""

from __future__ import annotations

from pydantic import Field, StrictBool

from chalicelib.schemas.common import Out, Schema, Timestamp


class ShopPreferenceIn(Schema):
    marketing: StrictBool = Field(description="Consent to advertising messages (광고성 정보) from this shop.")
    marketing_at_night: StrictBool = Field(
        False, description="Also between 21:00 and 08:00 KST (a separate consent; needs `marketing: true`). "
                           "Without it, the shop's advertising that would arrive at night waits until 08:00.")


class ShopPreferenceOut(Out):
    shop_id: str
    marketing: bool = Field(description="Off until the customer turns it on.")
    marketing_at_night: bool
    consented_at: Timestamp | None = Field(description="When the consent in force was given; null while off.")
    marketing_at_night_consented_at: Timestamp | None = Field(
        description="When the night-time consent in force was given; null while off.")
