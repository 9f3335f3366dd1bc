"""``GET /me/export``: everything Dongne holds about the caller (개인정보 열람), in the shapes the
app's own routes answer, never a secret (password hash, token version, billing key, codes)."""

from __future__ import annotations

from pydantic import Field

from chalicelib.schemas.accounts import UserPublic
from chalicelib.schemas.addresses import AddressPublic
from chalicelib.schemas.common import Out, Timestamp
from chalicelib.schemas.conversations import MyConversationPublic
from chalicelib.schemas.coupons import HeldCouponPublic
from chalicelib.schemas.follows import FollowedShop
from chalicelib.schemas.notifications import NotificationPublic, PreferencesOut
from chalicelib.schemas.orders import OrderPublic
from chalicelib.schemas.payment_methods import CardOut
from chalicelib.schemas.relationships import MyShop
from chalicelib.schemas.store_links import LedgerEntryOut, StoreLinkPublic
from chalicelib.schemas.subscriptions import ReorderPublic, SubscriptionPublic


class DevicePublic(Out):
    device_id: str
    platform: str
    updated_at: Timestamp


class ConsentChange(Out):
    shop_id: str
    marketing: bool
    marketing_at_night: bool
    at: Timestamp


class Continuation(Out):
    kind: str = Field(description="Which list of this export stopped at its bound.")
    path: str = Field(description="The route that lists the rest: call it with `cursor` (and `limit=100`).")
    cursor: str


class ExportOut(Out):
    exported_at: Timestamp
    profile: UserPublic
    following: list[FollowedShop]
    my_shops: list[MyShop] = Field(description="Shops I have a relationship with, strongest first.")
    orders: list[OrderPublic] = Field(description="My orders, newest first (each names its review, if any).")
    subscriptions: list[SubscriptionPublic]
    reorders: list[ReorderPublic]
    store_links: list[StoreLinkPublic]
    rewards_balance: int
    rewards_pending: int
    rewards: list[LedgerEntryOut]
    notifications: list[NotificationPublic]
    notification_settings: PreferencesOut
    devices: list[DevicePublic] = Field(description="Devices registered for push (their push tokens are not "
                                                    "shown: they are the push service's, not mine).")
    conversations: list[MyConversationPublic] = Field(description="My conversations with shops as my list shows "
                                                                  "them; the messages are at each conversation's "
                                                                  "own route.")
    coupons: list[HeldCouponPublic]
    addresses: list[AddressPublic]
    card: CardOut
    consents: list[ConsentChange] = Field(description="Every marketing consent given or withdrawn, per shop.")
    truncated: list[Continuation] = Field(description="Lists longer than the export's bound (10 pages of 100 "
                                                      "per list): where to read the rest. Empty for a full export.")
    not_included: list[str] = Field(description="What Dongne holds about me that this export does not list yet.")
