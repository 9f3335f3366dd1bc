"""Feed an SQS queue to a Lambda SQS handler, outside Lambda: the outbound function's mapping.

On AWS, Lambda's event source mapping receives from the outbound queue and calls the
``outbound`` function (``chalicelib/events/outbound.py``). This module plays that part under
``make run`` (moto's SQS server) and in the tests (moto in process), so the very same handler
sees the very same event shape::

    {"Records": [{"messageId", "receiptHandle", "body", "attributes": {"ApproximateReceiveCount",
                  "SentTimestamp", ...}, "messageAttributes", "md5OfBody", "eventSource": "aws:sqs",
                  "eventSourceARN", "awsRegion"}]}

Like the mapping: up to ``batch_size`` messages per invocation; a partial batch response
(``{"batchItemFailures": [{"itemIdentifier": <messageId>}]}``) deletes the others; a raised
exception deletes none. What is not deleted comes back after the queue's visibility timeout, and
the queue's own redrive policy moves it to the dead-letter queue after ``maxReceiveCount``
receives — SQS's behaviour (moto's too), not this module's.

``ensure_queues`` makes the queue and its dead-letter queue the way the deployment template does
(``deploy/template.py``), with a visibility timeout of the caller's choice: seconds under
``make run``, 0 in the tests (a failed message is received again at once, so ``drain`` runs
its retries to the dead-letter queue without waiting).
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from typing import Any, Callable

from devtools.stream_poller import LambdaContext

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], Any], object]


def ensure_queues(sqs: Any, name: str, *, visibility_timeout: int, max_receive_count: int) -> tuple[str, str]:
    """The queue ``name`` and its dead-letter queue ``<name>-dead-letters`` (made when missing);
    returns their URLs."""
    dead = sqs.create_queue(QueueName=f"{name}-dead-letters",
                            Attributes={"MessageRetentionPeriod": "1209600"})["QueueUrl"]
    dead_arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(QueueName=name, Attributes={
        "VisibilityTimeout": str(visibility_timeout),
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": max_receive_count}),
    })["QueueUrl"]
    return url, dead


class QueuePoller:
    def __init__(self, sqs: Any, queue_url: str, handler: Handler, *, batch_size: int = 10,
                 function_name: str = "dongne-local-outbound", function_timeout: float = 30.0,
                 memory_limit_in_mb: int = 1024) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.handler = handler
        self.batch_size = batch_size
        self.function_name = function_name
        self.function_timeout = function_timeout
        self.memory_limit_in_mb = memory_limit_in_mb
        self.delivered = 0  # messages the handler took
        self.failed = 0  # deliveries it reported failed (or raised on)
        self._arn: str | None = None

    @property
    def queue_arn(self) -> str:
        if self._arn is None:  # the mapping reads it with the function's role too
            self._arn = self.sqs.get_queue_attributes(
                QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return self._arn

    def poll_once(self, strict: bool = True) -> int:
        """One receive and, if it found anything, one invocation. Returns the messages received."""
        answer = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=self.batch_size,
                                          WaitTimeSeconds=0, AttributeNames=["All"], MessageAttributeNames=["All"])
        messages = answer.get("Messages") or []
        if not messages:
            return 0
        event = {"Records": [self._record(m) for m in messages]}
        context = LambdaContext(function_name=self.function_name, aws_request_id=str(uuid.uuid4()),
                                memory_limit_in_mb=self.memory_limit_in_mb,
                                invoked_function_arn=f"arn:aws:lambda:us-east-1:000000000000:function:"
                                                     f"{self.function_name}",
                                timeout_seconds=self.function_timeout)
        try:
            response = self.handler(event, context)
        except Exception:
            self.failed += len(messages)
            if strict:
                raise
            log.exception("the outbound handler raised: %d message(s) come back after the visibility timeout",
                          len(messages))
            return len(messages)
        failed = {item.get("itemIdentifier") for item in (response or {}).get("batchItemFailures", [])} \
            if isinstance(response, dict) else set()
        done = [m for m in messages if m["MessageId"] not in failed]
        self.failed += len(messages) - len(done)
        self.delivered += len(done)
        if done:
            self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(done)])
        return len(messages)

    def drain(self, max_batches: int = 1000) -> int:
        """Invoke until a receive finds nothing (retries included, with a visibility timeout of 0);
        returns the messages received. A handler exception propagates."""
        received = 0
        for _ in range(max_batches):
            got = self.poll_once(strict=True)
            if not got:
                return received
            received += got
        raise RuntimeError(f"{self.queue_url}: still receiving after {max_batches} batches")

    def run_forever(self, interval: float = 1.0, stop_event: threading.Event | None = None) -> None:
        stop_event = stop_event or threading.Event()
        while not stop_event.is_set():
            try:
                while self.poll_once(strict=False) and not stop_event.is_set():
                    pass
            except Exception:  # the local SQS went away (Ctrl-C): try again until stopped
                log.exception("the queue poller could not receive from %s", self.queue_url)
            stop_event.wait(interval)

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes") or {},
            "messageAttributes": message.get("MessageAttributes") or {},
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": self.queue_arn.split(":")[3],
        }

