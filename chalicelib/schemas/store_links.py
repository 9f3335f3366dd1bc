"""One-person store requests and responses: store links, the landing, rewards, referrals."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, GetJsonSchemaHandler, StrictBool, StrictInt, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from chalicelib.schemas.common import AmountKind, Id, Out, Page, Schema, Timestamp
from chalicelib.services.limits import LINK_CODE_LENGTH, REWARD_FIXED, REWARD_PERCENT

PERCENT_MIN, PERCENT_MAX = REWARD_PERCENT
FIXED_MIN, FIXED_MAX = REWARD_FIXED

LinkCode = Annotated[str, Field(min_length=4, max_length=32, pattern=r"^[0-9A-Za-z_-]+$",
                                description=f"A store link's code ({LINK_CODE_LENGTH} characters).",
                                examples=["k7m2x9qa4t"])]

type LedgerEntryStatus = Annotated[Literal["pending", "confirmed", "cancelled"], Field(
    description="`pending` until the friend's order is delivered, then `confirmed`; `cancelled` with the order.")]
type LedgerEntryReason = Annotated[Literal["referral", "delivered", "order_cancelled", "given_to_friend"],
                                   Field(description="Why the entry was written.")]
type ReferralRewardStatus = Annotated[Literal["pending", "confirmed", "cancelled", "none"], Field(
    description="The referrer's reward, as a ledger entry's status; `none`: no reward was set.")]


class PercentReward(Schema):
    """A store-link reward of a percentage of the friend's order (its subtotal, rounded down)."""

    kind: Literal["percent"]
    value: StrictInt = Field(ge=PERCENT_MIN, le=PERCENT_MAX, examples=[5])


class FixedReward(Schema):
    """A store-link reward of a number of won, never more than the friend's order's subtotal."""

    kind: Literal["fixed"]
    value: StrictInt = Field(ge=FIXED_MIN, le=FIXED_MAX, examples=[1000])


class RewardSettingIn(Schema):
    """What the shop pays the owner of a store link for a friend's order: a `percent` of the subtotal
    (rounded down) or a `fixed` number of won, never more than the subtotal.

    Validated here, as one model, so a value out of its kind's bounds is one problem on the setting
    (`invalid`); documented as what it is, a union on `kind` of :class:`PercentReward` and
    :class:`FixedReward`, so the document states each kind's bounds."""

    kind: AmountKind
    value: StrictInt = Field(description=f"percent: {PERCENT_MIN}-{PERCENT_MAX} (of the subtotal, rounded down); "
                                         f"fixed: {FIXED_MIN:,}-{FIXED_MAX:,} won. Never more than the order's "
                                         "subtotal.", examples=[5])

    @model_validator(mode="after")
    def _in_bounds(self) -> "RewardSettingIn":
        low, high = REWARD_PERCENT if self.kind == "percent" else REWARD_FIXED
        if not low <= self.value <= high:
            unit = "" if self.kind == "percent" else " won"
            raise ValueError(f"a {self.kind} reward is {low:,}-{high:,}{unit}")
        return self

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        # The kinds as components (a reference each), the way pydantic writes a discriminated union.
        generator = handler.generate_json_schema  # type: ignore[attr-defined]
        kinds: dict[str, type[Schema]] = {"percent": PercentReward, "fixed": FixedReward}
        refs = {kind: generator.generate_inner(model.__pydantic_core_schema__) for kind, model in kinds.items()}
        return {"description": "What the shop pays the owner of a store link for a friend's order, by `kind`.",
                "oneOf": list(refs.values()),
                "discriminator": {"propertyName": "kind", "mapping": {k: ref["$ref"] for k, ref in refs.items()}}}


class RewardSettingOut(Out):
    kind: AmountKind
    value: int


class StoreLinkPublic(Out):
    """One of my store links, with what it brought."""

    code: LinkCode
    url: str = Field(description="The link to share (its public landing).")
    shop_id: Id
    shop_name: str
    visits: int = Field(description="Distinct visitors per UTC day, summed (the owner's own visits do not count).")
    orders: int = Field(description="Orders credited to the link, cancelled ones taken off.")
    rewards: int = Field(description="Won confirmed: friends' orders delivered.")
    pending_rewards: int = Field(description="Won waiting for the friends' orders to be delivered.")
    give_reward_to_friend: bool
    created_at: Timestamp


class StoreLinkUpdate(Schema):
    give_reward_to_friend: StrictBool = Field(description="true: my reward becomes the friend's discount on their "
                                                          "order (my ledger shows a zero entry).")


class LandingProductOut(Out):
    product_id: Id
    name: str
    price: int
    currency: str
    kind: str
    photo_url: str | None
    in_stock: bool
    bought: bool = Field(description="The link's owner bought it.")
    recommended: bool = Field(description="The owner reviewed it with 4 or 5 stars.")
    note: str | None = Field(description="A line of the owner's review.")


class LandingShop(Out):
    shop_id: Id
    name: str
    handle: str
    region: str


class StoreLinkLanding(Out):
    """A store link's public page: whose store, which shop, what they bought and recommend.
    Never an e-mail, a phone number or a user id."""

    code: LinkCode
    url: str
    owner_name: str = Field(description="The display name of the link's owner.", examples=["김민지"])
    shop: LandingShop
    products: list[LandingProductOut]
    friend_discount: RewardSettingOut | None = Field(
        description="What a friend ordering through this link saves, when its owner gives the reward away.")


class VisitIn(Schema):
    """An optional body: the visitor id this device had from an earlier visit, to keep one."""

    visitor_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{32}$", description=(
        "The `visitor_id` an earlier anonymous visit answered (or left in the `dongne_visitor` cookie). One this "
        "server did not issue is replaced by a new one."))] | None = None


class VisitOut(Out):
    visitor_id: str | None = Field(description=(
        "Anonymous visits: the visitor id to send as `visitor_id` with `POST /auth/signup` or `POST /auth/login`, "
        "so the visit binds to that account (also left in the `dongne_visitor` cookie). Signed in: null (the "
        "visit is the account's already)."))


class LedgerEntryOut(Out):
    entry_id: Id
    code: LinkCode
    order_id: Id
    amount: int = Field(description="Won; 0 when the reward was given to the friend.")
    status: LedgerEntryStatus
    reason: LedgerEntryReason
    created_at: Timestamp


class RewardsPage(Page[LedgerEntryOut]):
    """My reward ledger, newest entry first. Entries are appended, never rewritten."""

    balance: int = Field(description="Won confirmed (the sum of confirmed entries).")
    pending: int = Field(description="Won waiting for delivery.")
    currency: str = "KRW"


class ReferralOut(Out):
    order_id: Id
    code: LinkCode
    referrer_id: Id = Field(description="The customer whose link brought the order.")
    referrer_name: str
    buyer_id: Id
    subtotal: int
    discount: int
    total: int
    reward: int | None = Field(description="Won the referrer earns (0 when given to the friend); null: no reward "
                                           "was set when the order was placed.")
    given_to_friend: bool
    reward_status: ReferralRewardStatus
    order_status: str
    created_at: Timestamp
