"""The outbound function: sends the push, e-mail and SMS messages the stream queued.

The stream's notification handler (``events.notifications.deliver``) puts one SQS message per
(notification, channel) on the outbound queue — a ``services.notification_delivery.Job`` as
JSON — and moves on: a slow or throttled SNS or SES never holds up a shard of the table's
stream (orders, follows, feeds). This function, on its own event source mapping, sends them.

* **Partial batches.** Powertools' ``BatchProcessor`` runs each message of a batch and answers
  ``{"batchItemFailures": [{"itemIdentifier": <messageId>}]}`` (the mapping sets
  ``ReportBatchItemFailures``): the messages that went out are deleted, the ones that failed
  stay on the queue. A whole batch failing is answered the same way, not raised: a provider
  outage shows in the queue and its alarm, not as function errors.
* **Retries.** A failed message becomes visible again after the queue's visibility timeout
  (``VISIBILITY_TIMEOUT_SECONDS``, six times the function's timeout as AWS advises) and is
  tried again, up to ``MAX_RECEIVE_COUNT`` receives; then SQS moves it to the dead-letter
  queue, whose alarm pages (``OutboundDeadLettersAlarm``). ``python -m devtools.redrive``
  moves it back once the cause is fixed (docs/operations.md).
* **Once.** Each message (a device, the address, the number) is claimed with a conditional
  write before the provider is called and marked sent after (``notification_delivery.send``):
  a retry sends only what failed, a duplicate or a redriven message nothing twice.
* **Bounded.** At most ``MAXIMUM_CONCURRENCY`` invocations at once (the mapping's
  ``ScalingConfig``), so a burst of notifications cannot exceed what SES and SNS accept.

The queue ARN in the decorator is a placeholder: the deployment template points the mapping at
the stack's own queue (``deploy/template.py``). Locally, ``devtools.queue_poller`` plays the
mapping against moto's SQS, calling this same function.
"""

from __future__ import annotations

import logging
from typing import Any

from chalice import Blueprint

log = logging.getLogger("dongne.notifications")

outbound_blueprint = Blueprint(__name__)

QUEUE_ARN_PLACEHOLDER = "arn:aws:sqs:ap-northeast-2:000000000000:dongne-outbound"
# Messages per invocation (SQS's most without a batching window).
BATCH_SIZE = 10
# Invocations at once: each sends one message at a time, so this bounds the providers' rate.
MAXIMUM_CONCURRENCY = 5
# Receives before a message goes to the dead-letter queue (the queue's redrive policy).
MAX_RECEIVE_COUNT = 5
# The function's timeout is 30 s (.chalice/config.json); AWS advises at least six times that,
# so a batch still running is never received twice.
VISIBILITY_TIMEOUT_SECONDS = 180


class Undelivered(Exception):
    """A job's channel refused at least one of its messages: the queue retries the job."""


def send_record(record: Any) -> None:
    """One queued job (a Powertools ``SQSRecord``): send it, log each message, raise if any failed."""
    from chalicelib import clock, observability
    from chalicelib.services.notification_delivery import Job, send
    from chalicelib.wiring import container

    if '"kind":"code"' in record.body:  # a one-time code (services.recovery), not a notification
        return send_code_record(record)
    try:
        job = Job.from_json(record.body)
    except ValueError as error:  # retrying could never succeed
        log.error("skipping an outbound message that is not a job: %s (messageId %s)", error, record.message_id)
        return
    deps = container()
    outcomes = send(deps.notifications, deps.notifications, deps.sns, deps.sns, deps.ses, job, clock.now())
    receives = record.attributes.approximate_receive_count
    for outcome in outcomes:
        fields = {"notification_id": job.notification_id, "type": job.type, "recipient_id": job.recipient_id,
                  "channel": outcome.channel, "target": outcome.target, "status": outcome.status,
                  "detail": outcome.detail, "key": job.key, "receive_count": receives}
        if outcome.status == "failed":
            observability.notification_failed(outcome.channel, job.type)
            log.warning("delivery", extra=fields)
        else:
            if outcome.status == "sent":
                observability.notification_sent(outcome.channel)
            log.info("delivery", extra=fields)
    failed = [o for o in outcomes if o.status == "failed"]
    if failed:
        raise Undelivered("; ".join(f"{o.channel} {o.target}: {o.detail}" for o in failed))


def send_code_record(record: Any) -> None:
    """One queued code (``services.recovery.CodeMessage``): send it once, log it (never the code
    or the address), raise if the provider refused it (the queue retries)."""
    import json

    from chalicelib import clock, observability
    from chalicelib.records.notifications import ChannelFailed
    from chalicelib.services.recovery import CodeMessage, send_code
    from chalicelib.wiring import container

    try:
        message = CodeMessage.from_fields(json.loads(record.body))
    except (ValueError, TypeError) as error:
        log.error("skipping an outbound message that is not a code: %s (messageId %s)", error, record.message_id)
        return
    deps = container()
    fields = {"key": message.key, "recipient_id": message.user_id, "channel": message.channel,
              "receive_count": record.attributes.approximate_receive_count}
    try:
        status = send_code(deps.notifications, deps.sns, deps.ses, message, clock.now())
    except ChannelFailed as failure:
        observability.notification_failed(message.channel, "code")
        log.warning("code delivery", extra={**fields, "status": "failed", "detail": str(failure)})
        raise Undelivered(f"{message.channel}: {failure}") from failure
    if status == "sent":
        observability.notification_sent(message.channel)
    log.info("code delivery", extra={**fields, "status": status})


def handle(event: dict[str, Any], context: Any) -> dict[str, list[dict[str, str]]]:
    """The whole function: an SQS event in, a partial batch response out."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(event=event, record_handler=send_record, processor=processor,
                                    context=context)  # type: ignore[return-value]


@outbound_blueprint.on_sqs_message(queue_arn=QUEUE_ARN_PLACEHOLDER, batch_size=BATCH_SIZE, name="outbound",
                                   maximum_concurrency=MAXIMUM_CONCURRENCY)
def outbound(event) -> dict[str, list[dict[str, str]]]:
    return handle(event.to_dict(), event.context)
