"""Stream handlers of notifications: changes that tell someone something, and delivery.

Thin: decode the record, call ``services.notices`` (which notification a change means) or
``services.notification_delivery`` (which channels a written notification goes out on), log
what happened. Replays add nothing (every notification has a fixed key); a record that breaks
the event contract is logged and skipped, since retrying it could never succeed. Delivery only
queues: one SQS message per channel the recipient turned on, sent by the outbound function
(``events.outbound``) — the stream never waits on SNS or SES.
"""

from __future__ import annotations

import logging

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
    makes it unread again): queue its delivery outside the app, if its recipient wants that.

    One Query (preferences and devices) and, when a channel is on, one SendMessageBatch. A
    batch SQS refuses raises: the record is retried and queued again, harmlessly (the sender
    sends each message once, by the job's key)."""
    if change.event_name == "MODIFY":
        if not ((change.old or {}).get("read") is True and (change.new or {}).get("read") is False):
            return
    elif change.event_name != "INSERT":
        return
    from chalicelib.services.notification_delivery import plan
    from chalicelib.wiring import container

    deps = container()
    notification = change.record_new()
    jobs = plan(deps.notifications, notification)
    if not jobs:
        return
    fields = {"notification_id": notification.notification_id, "type": notification.type,
              "recipient_id": notification.recipient_id, "channels": [job.channel for job in jobs]}
    if not deps.outbound_queue.configured():
        log.warning("delivery not queued: no outbound queue is configured (DONGNE_OUTBOUND_QUEUE_URL)",
                    extra=fields)
        return
    deps.outbound_queue.enqueue({job.channel: job.to_json() for job in jobs})
    log.info("delivery queued", extra={**fields, "key": jobs[0].key})


HANDLERS = (("follow", notify), ("like", notify), ("comment", notify), ("order", notify), ("review", notify),
            ("tier_transition", notify), ("message", notify), ("notification", deliver, ("INSERT", "MODIFY")))
