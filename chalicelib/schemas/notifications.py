"""Notification requests and responses: the inbox, reading, preferences and push devices."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StrictBool, model_validator
from pydantic_core import PydanticCustomError

from chalicelib.schemas.common import Id, ListQuery, Out, Schema, Timestamp

# The types a person can switch off for outbound channels (services.notifications.TYPES).
type NotificationTypeName = Literal["new_follower", "new_order", "order_status", "comment", "shop_reply", "review",
                               "reward", "reorder_due", "regular_lapsed", "like", "milestone",
                               "subscription_skipped", "subscription_upcoming", "store_link", "message",
                               "coupon", "insights_weekly", "posting_nudge"]

NotificationType = Field(description=(
    "new_follower, new_order, order_status, comment, shop_reply, review, reward (data.moment: bought, confirmed), "
    "reorder_due, regular_lapsed, "
    "like, milestone (data.milestone: first_follower, first_order, first_review, tenth_regular, became_regular), "
    "and the types other features add (subscription_skipped, subscription_upcoming, store_link: the buyer's "
    "own link after a first paid order at a shop, data.url and data.share_text; message: a message in a "
    "conversation; coupon: a shop gave me a coupon, data.coupon_id, name, kind, value, ends_at; insights_weekly: "
    "my shop's last week against the week before, data.orders, revenue, new_regulars, lapsed and their *_before; "
    "posting_nudge: my shop has not posted for posting_nudge_days, data.quiet_days and what posting weeks "
    "brought)."), examples=["new_follower"])

type DevicePlatform = Annotated[Literal["ios", "android"], Field(
    description="The device's platform.")]


class NotificationsQuery(ListQuery):
    unread: bool = Field(False, description="Only unread notifications.")


class NotificationPublic(Out):
    notification_id: Id
    type: str = NotificationType
    title: str = Field(examples=["고객님이 팔로잉 하셨습니다"])
    body: str = Field(examples=["김민지 외 3명이 망원동 두부가게를 팔로잉 하셨습니다."])
    created_at: Timestamp
    updated_at: Timestamp = Field(description="The latest activity (a group grows in place).")
    read: bool
    data: dict[str, Any] = Field(description="What the app links to: ids, names, amounts; grouped types add "
                                             "count and actors [{user_id, name}] (the first few).")


class InboxPagePublic(Out):
    items: list[NotificationPublic]
    next_cursor: str | None = Field(None, description="Pass as ?cursor= for the next page; null at the end.")
    unread_count: int = Field(description="Exact: every unread notification, a group counted once.")


# Exactly one of `ids` and `all`, as the document says it (JSON Schema: neither, nor both).
_NONE_GIVEN = {"properties": {"ids": {"not": {"type": "array"}}, "all": {"not": {"const": True}}}}
_BOTH_GIVEN = {"required": ["ids", "all"], "properties": {"ids": {"type": "array"}, "all": {"const": True}}}


class ReadIn(Schema):
    """Exactly one of `ids` and `all: true`."""

    model_config = ConfigDict(json_schema_extra={"not": {"anyOf": [_NONE_GIVEN, _BOTH_GIVEN]}})

    ids: list[Id] | None = Field(None, min_length=1, max_length=100, description="Notifications to mark read.")
    all: Literal[True] | None = Field(None, description="Mark every notification read.")

    @model_validator(mode="after")
    def _one_of(self) -> "ReadIn":
        if (self.ids is None) == (self.all is None):
            raise PydanticCustomError("ids_or_all", "send either ids or all: true")
        return self


class UnreadOut(Out):
    unread_count: int


class Channels(Schema):
    push: StrictBool = False
    email: StrictBool = False
    sms: StrictBool = False


class PreferencesIn(Schema):
    channels: Channels = Field(default_factory=Channels, description="Outbound channels; off unless turned on.")
    types: dict[NotificationTypeName, StrictBool] = Field(default_factory=dict, max_length=40,
                                   description="Per type: false keeps it out of push, e-mail and SMS (the inbox "
                                               "keeps every notification). Types left out are on.")


class ChannelsOut(Out):
    push: bool
    email: bool
    sms: bool


class PreferencesOut(Out):
    channels: ChannelsOut
    types: dict[str, bool]


class DeviceIn(Schema):
    platform: DevicePlatform
    token: str = Field(min_length=8, max_length=4096, pattern=r"^[!-~]+$",
                       description="The APNs device token or FCM registration token.")


class DeviceOut(Out):
    device_id: Id
    platform: DevicePlatform
    token: str
