"""Stream handlers of notifications: changes that tell someone something, and delivery.

Thin: decode the record, call ``services.notices`` (which notification a change means) or
``services.notification_delivery`` (send a written notification through the channels its
recipient turned on), log what happened. Replays add nothing (every notification has a
fixed key); a record that breaks the event contract is logged and skipped, since retrying
it could never succeed. Delivery never raises for a channel: a failure is a log line.
"""

from __future__ import annotations

import logging

from chalicelib import observability
from chalicelib.storage.stream import Change

log = logging.getLogger("dongne.notifications")


def _context():
    from chalicelib.wiring import container

    return container().notice_context


def notify(change: Change, deadline: float | None = None) -> None:
    from chalicelib.services import notices

    try:
        added = notices.HANDLERS[change.entity](_context(), change.event_name, change.new, change.old)
    except notices.Malformed as error:
        log.warning("skipping a %s record that breaks the event contract: %s (eventID %s)",
                    change.entity, error, change.event_id)
        return
    if added:
        log.info("notifications", extra={"entity": change.entity, "event": change.event_name, "added": added})


def deliver(change: Change, deadline: float | None = None) -> None:
    """A notification was written (INSERT) or a read group got new activity (MODIFY that
    makes it unread again): send it outside the app, if its recipient wants that."""
    if change.event_name == "MODIFY":
        if not ((change.old or {}).get("read") is True and (change.new or {}).get("read") is False):
            return
    elif change.event_name != "INSERT":
        return
    from chalicelib.services.notification_delivery import deliver as send
    from chalicelib.wiring import container

    deps = container()
    notification = change.record_new()
    for outcome in send(deps.notifications, deps.sns, deps.sns, deps.ses, notification):
        fields = {"notification_id": notification.notification_id, "type": notification.type,
                  "recipient_id": notification.recipient_id, "channel": outcome.channel, "target": outcome.target,
                  "status": outcome.status, "detail": outcome.detail}
        if outcome.status == "failed":
            observability.notification_failed(outcome.channel, notification.type)
            log.warning("delivery", extra=fields)  # dropped: the inbox has it, and the next notification tries again
        else:
            if outcome.status == "sent":
                observability.notification_sent(outcome.channel)
            log.info("delivery", extra=fields)


HANDLERS = (("follow", notify), ("like", notify), ("comment", notify), ("order", notify), ("review", notify),
            ("tier_transition", notify), ("message", notify), ("notification", deliver, ("INSERT", "MODIFY")))
