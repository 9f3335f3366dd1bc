"""Shop requests and responses."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from chalicelib.messages import describe_pattern
from chalicelib.schemas.common import NOT_BLANK, Id, Out, Schema, Timestamp, Trimmed, WholeNumber, not_null
from chalicelib.schemas.coupons import RegularPerkIn, RegularPerkOut
from chalicelib.schemas.orders import PaymentMethod
from chalicelib.schemas.store_links import RewardSettingIn, RewardSettingOut
from chalicelib.services.limits import (BANK_TRANSFER_HOURS, DEFAULT_BANK_TRANSFER_HOURS, DEFAULT_POSTING_NUDGE_DAYS,
                                        DELIVERY_FEE, FREE_OVER, POSTING_NUDGE_DAYS)

ShopName = Annotated[str, Field(min_length=1, max_length=60, pattern=NOT_BLANK, examples=["망원동 두부가게"]), Trimmed]
# The constraints come before the lower-casing so that they are what the document declares.
Handle = Annotated[
    str,
    Field(min_length=3, max_length=30,
          pattern=describe_pattern(r"^[A-Za-z0-9][A-Za-z0-9_.]*[A-Za-z0-9]$",
                                   "a handle of letters, digits, '_' and '.', starting and ending with a letter "
                                   "or digit",
                                   "영문자, 숫자, '_', '.'로 된 핸들(처음과 끝은 영문자나 숫자)"),
          description="Unique public handle: letters, digits, '_' and '.'; stored in lower case.",
          examples=["mangwon_tofu"]),
    AfterValidator(str.lower),
]
Bio = Annotated[str, Field(max_length=500), Trimmed]
Region = Annotated[str, Field(max_length=60, examples=["서울 마포구 망원동"],
                              description="Where the shop is: 시/도, 시/군/구 and 동 separated by spaces, one of the "
                                          "regions Dongne knows (`서울`, `서울 마포구`, `서울 마포구 망원동`; the "
                                          "official 시/도 name is accepted and shortened); empty for none. Unknown "
                                          "→ 422 `unknown_region`."), Trimmed]
SubscriptionDiscount = Annotated[int, Field(strict=True, ge=0, le=20, examples=[10],
                                            description="Percent off every subscription (정기배송) order, 0-20."),
                                 WholeNumber]
PostingNudgeDays = Annotated[int, Field(
    strict=True, ge=POSTING_NUDGE_DAYS[0], le=POSTING_NUDGE_DAYS[1], examples=[DEFAULT_POSTING_NUDGE_DAYS],
    description="Days without a post after which the owner is sent a `posting_nudge` with what the shop's posting "
                f"weeks brought ({POSTING_NUDGE_DAYS[0]}-{POSTING_NUDGE_DAYS[1]}; 0 = never)."), WholeNumber]

DeliveryFee = Annotated[int, Field(strict=True, ge=DELIVERY_FEE[0], le=DELIVERY_FEE[1], examples=[3000],
                                   description=f"Won per order, {DELIVERY_FEE[0]}-{DELIVERY_FEE[1]:,}."),
                        WholeNumber]
FreeOver = Annotated[int, Field(strict=True, ge=FREE_OVER[0], le=FREE_OVER[1], examples=[30000],
                                description="Delivery is free from this subtotal (won) on."), WholeNumber]
BankTransferHours = Annotated[int, Field(strict=True, ge=BANK_TRANSFER_HOURS[0], le=BANK_TRANSFER_HOURS[1],
                                         examples=[DEFAULT_BANK_TRANSFER_HOURS],
                                         description="Hours an unpaid bank-transfer order holds its stock "
                                                     f"({BANK_TRANSFER_HOURS[0]}-{BANK_TRANSFER_HOURS[1]})."),
                              WholeNumber]
PickupPlace = Annotated[str, Field(min_length=1, max_length=200, pattern=NOT_BLANK,
                                   examples=["서울 마포구 망원로 12, 1층 가게 앞"]), Trimmed]
PickupHours = Annotated[str, Field(max_length=100, examples=["매일 10:00-19:00 (월요일 휴무)"]), Trimmed]
AccountNumber = Annotated[str, Field(min_length=6, max_length=30,
                                     pattern=describe_pattern(r"^[0-9][0-9-]*[0-9]$",
                                                              "an account number of digits and hyphens",
                                                              "숫자와 '-'로 된 계좌번호"),
                                     examples=["110-123-456789"])]


class DeliveryIn(Schema):
    fee: DeliveryFee
    free_over: FreeOver | None = Field(None, description="null: never free.")


class PickupIn(Schema):
    address: PickupPlace
    hours: PickupHours = ""


class FulfilmentSettingsIn(Schema):
    """What the shop offers; a method left out or null is not offered, and at least one is."""

    delivery: DeliveryIn | None = None
    pickup: PickupIn | None = None

    @model_validator(mode="after")
    def _at_least_one(self) -> "FulfilmentSettingsIn":
        if self.delivery is None and self.pickup is None:
            raise PydanticCustomError("delivery_or_pickup", "offer delivery, pickup or both")
        return self


class BankAccountIn(Schema):
    bank: Annotated[str, Field(min_length=1, max_length=30, pattern=NOT_BLANK, examples=["신한은행"]), Trimmed]
    number: AccountNumber
    holder: Annotated[str, Field(min_length=1, max_length=30, pattern=NOT_BLANK, examples=["박두부"]), Trimmed]


class DeliveryOut(Out):
    fee: int
    free_over: int | None


class PickupOut(Out):
    address: str
    hours: str


class FulfilmentSettingsOut(Out):
    delivery: DeliveryOut | None = Field(description="null: the shop does not deliver.")
    pickup: PickupOut | None = Field(description="null: no pickup.")


class BankAccountOut(Out):
    bank: str
    number: str
    holder: str


class ShopCreate(Schema):
    name: ShopName
    handle: Handle
    bio: Bio = ""
    region: Region = ""


class ShopUpdate(Schema):
    name: ShopName | None = None
    handle: Handle | None = None
    bio: Bio | None = None
    region: Region | None = None
    subscription_discount_percent: SubscriptionDiscount | None = None
    referral_reward: RewardSettingIn | None = Field(
        None, description="What an order through a customer's store link earns them; null for none.")
    fulfilment: FulfilmentSettingsIn = Field(
        None, description="Delivery and/or pickup, replacing what was set. A shop that never set it offers pickup "
                          "at the shop only.")  # type: ignore[assignment]
    bank_account: BankAccountIn | None = Field(
        None, description="Where buyers paying by bank transfer (무통장입금) send the money; null: no bank transfer.")
    bank_transfer_hours: BankTransferHours = None  # type: ignore[assignment]
    regular_perk: RegularPerkIn | None = Field(
        None, description="단골 우대: percent off (1-50) or free shipping, applied by itself to the orders of a "
                          "customer whose tier is regular (before a coupon); null for none.")
    posting_nudge_days: PostingNudgeDays = None  # type: ignore[assignment]

    _not_null = field_validator("fulfilment", "bank_transfer_hours", "posting_nudge_days", mode="before")(not_null)


class ShopPublic(Out):
    shop_id: Id
    owner_id: str
    name: str
    handle: str
    bio: str
    region: str
    follower_count: int
    post_count: int
    created_at: Timestamp
    subscription_discount_percent: int = Field(0, description="Percent off every subscription order.")
    referral_reward: RewardSettingOut | None = Field(None, description="The store-link reward; null for none.")
    fulfilment: FulfilmentSettingsOut = Field(description="How orders are handed over (a shop that never set it: "
                                                          "pickup at the shop).")
    payment_methods: list[PaymentMethod] = Field(
        description="How buyers can pay: card always; bank_transfer when the shop has a bank account (shown on the "
                    "order's payment, not here).")
    bank_transfer_hours: int = Field(description="Hours an unpaid bank-transfer order waits for its deposit.")
    regular_perk: RegularPerkOut | None = Field(None, description="단골 우대 for regulars; null for none.")
    posting_nudge_days: int = Field(DEFAULT_POSTING_NUDGE_DAYS, description=(
        "Days without a post after which the owner is sent a `posting_nudge` (0 = never)."))
    closed_at: Timestamp | None = Field(None, description=(
        "When the owner closed their account; null while open. A closed shop takes no new orders, subscriptions "
        "or follows (409 `shop_closed`)."))


class ShopCheckoutSettings(Out):
    """The owner's own view of how the shop is paid and hands orders over, bank account included."""

    fulfilment: FulfilmentSettingsOut
    fulfilment_set: bool = Field(description="false: never set, so the default (pickup at the shop) applies.")
    bank_account: BankAccountOut | None
    bank_transfer_hours: int
    payment_methods: list[PaymentMethod]


class ShopView(ShopPublic):
    """A shop as one reader sees it (``GET /shops/{shop_id}``)."""

    following: bool = Field(description="Whether the caller follows the shop: sent with a bearer token; false "
                                        "without one (and for the owner, who cannot follow their own shop).")
