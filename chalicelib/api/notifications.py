"""Notifications: my inbox, reading it, my preferences and my push devices.

Every route works on the caller's own partition (``INBOX#<user_id>``): an id that is not
theirs names nothing, so nobody reads or marks another person's notifications.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint

from chalicelib.api.edge import Ctx, Router, take_quota
from chalicelib.api.spec import lazy_models
from chalicelib.api.paging import start_key
from chalicelib.errors import TooManyDevices, Unavailable

if TYPE_CHECKING:
    from chalicelib.schemas.notifications import (
        DeviceIn, DeviceOut, InboxPagePublic, NotificationsQuery, PreferencesIn, PreferencesOut, ReadIn, UnreadOut,
    )
else:  # pydantic models, imported on the first request that needs them
    (DeviceIn, DeviceOut, InboxPagePublic, NotificationsQuery, PreferencesIn, PreferencesOut, ReadIn, UnreadOut) = lazy_models(
        "chalicelib.schemas.notifications", "DeviceIn", "DeviceOut", "InboxPagePublic", "NotificationsQuery",
        "PreferencesIn", "PreferencesOut", "ReadIn", "UnreadOut")

notifications_blueprint = Blueprint(__name__)
route = Router(notifications_blueprint, "notifications")


@route.route("GET", "/me/notifications", query=NotificationsQuery, response=InboxPagePublic,
             summary="My notifications, newest first, with the exact unread count")
def list_my_notifications(ctx: Ctx, query: NotificationsQuery) -> dict:
    from chalicelib.services import notifications

    scope = f"notifications:{ctx.user}:{'unread' if query.unread else 'all'}"
    page = notifications.inbox_page(ctx.deps.notifications, ctx.user, unread_only=query.unread, limit=query.limit,
                                    start_key=start_key(ctx, query.cursor, scope))
    return {"items": page.items, "unread_count": page.unread_count,
            "next_cursor": ctx.deps.cursors.encode(page.last_key, scope)}


@route.route("POST", "/me/notifications/read", body=ReadIn, response=UnreadOut,
             summary="Mark some ({ids}) or all ({all: true}) of my notifications read")
def mark_notifications_read(ctx: Ctx, body: ReadIn) -> UnreadOut:
    from chalicelib.services import notifications

    store = ctx.deps.notifications
    if body.all:
        count = notifications.mark_all_read(store, ctx.user, ctx.now)
    else:
        count = notifications.mark_read(store, ctx.user, body.ids or [], ctx.now)
    return UnreadOut(unread_count=count)


@route.route("GET", "/me/notification-settings", response=PreferencesOut,
             summary="Which channels (push, e-mail, SMS) and types reach me outside the app")
def get_notification_settings(ctx: Ctx) -> PreferencesOut:
    from chalicelib.services import notification_delivery as delivery

    prefs = delivery.get_preferences(ctx.deps.notifications, ctx.user)
    return PreferencesOut.model_validate({"channels": prefs.channels, "types": prefs.types})


@route.route("PUT", "/me/notification-settings", body=PreferencesIn, response=PreferencesOut,
             summary="Set my channels and types (outbound channels are off until turned on)")
def set_notification_settings(ctx: Ctx, body: PreferencesIn) -> PreferencesOut:
    from chalicelib.services import notification_delivery as delivery

    prefs = delivery.put_preferences(ctx.deps.notifications, ctx.user, body.channels.model_dump(), body.types,
                                     ctx.now)
    return PreferencesOut.model_validate({"channels": prefs.channels, "types": prefs.types})


@route.route("PUT", "/me/devices/{device_id}", body=DeviceIn, response=DeviceOut, errors=(TooManyDevices, Unavailable),
             limit="device",
             summary="Register this device's push token (idempotent)")
def set_my_device(ctx: Ctx, device_id: str, body: DeviceIn) -> DeviceOut:
    from chalicelib.records.notifications import ChannelFailed
    from chalicelib.services import notification_delivery as delivery

    take_quota(ctx)  # before SNS is asked
    try:
        device = delivery.register_device(ctx.deps.notifications, ctx.deps.sns, ctx.user, device_id, body.platform,
                                          body.token, ctx.now)
    except ChannelFailed as failure:
        raise Unavailable("The push service did not answer; retry shortly.", retry_after=5) from failure
    return DeviceOut(device_id=device.device_id, platform=device.platform, token=device.token)


@route.route("DELETE", "/me/devices/{device_id}", status=204, limit="device",
             summary="Stop push notifications to this device (idempotent)")
def delete_my_device(ctx: Ctx, device_id: str) -> None:
    from chalicelib.services import notification_delivery as delivery

    take_quota(ctx)
    delivery.remove_device(ctx.deps.notifications, ctx.deps.sns, ctx.user, device_id)
