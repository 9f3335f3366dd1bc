"""Move the outbound messages the dead-letter queue holds back to the outbound queue.

A push, e-mail or SMS whose channel kept failing (``MAX_RECEIVE_COUNT`` receives, see
``chalicelib/events/outbound.py``) waits in ``OutboundDeadLetters`` and its alarm pages. Once
the cause is fixed (SES out of its sandbox, a quota raised, a provider back)::

    python -m devtools.redrive --stage prod          # the stack dongne-prod
    python -m devtools.redrive --stage local         # make run's queue (or $DONGNE_OUTBOUND_QUEUE_URL)

Deployed stages: the stack's output ``OutboundQueueUrl`` names the queue, its redrive policy the
dead-letter queue, and SQS's own redrive (``StartMessageMoveTask``, destination left out: back
to the source queue) moves the messages; the command waits until the task is done and prints
how many moved (``--no-wait`` returns at once). The caller needs ``sqs:StartMessageMoveTask``,
``sqs:ListMessageMoveTasks``, ``sqs:GetQueueAttributes``, ``sqs:ReceiveMessage`` and
``sqs:DeleteMessage`` on the dead-letter queue and ``sqs:SendMessage`` on the outbound queue.

Locally there is no ``StartMessageMoveTask`` (moto has none): the same move is made by hand —
each message received from the dead-letter queue is sent to the outbound queue as a new message
and deleted — which is what the move task does. The sender sends each message once whatever
happened before (``notification_delivery.send``), so a redrive never sends twice what went out.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

LOCAL_QUEUE = "dongne-local-outbound"


def dead_letter_queue(sqs: Any, queue_url: str) -> tuple[str, str, str]:
    """``(queue ARN, dead-letter queue URL, dead-letter queue ARN)`` from the queue's redrive policy."""
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn", "RedrivePolicy"])
    attributes = attributes["Attributes"]
    if "RedrivePolicy" not in attributes:
        raise SystemExit(f"{queue_url} has no dead-letter queue (no RedrivePolicy)")
    dead_arn = json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"]
    _, _, _, _, account, name = dead_arn.split(":", 5)
    dead_url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
    return attributes["QueueArn"], dead_url, dead_arn


def move_by_hand(sqs: Any, dead_url: str, queue_url: str) -> int:
    """Receive each dead letter, send it to the queue as a new message, delete it; returns how many."""
    moved = 0
    while True:
        messages = sqs.receive_message(QueueUrl=dead_url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                       MessageAttributeNames=["All"]).get("Messages") or []
        if not messages:
            return moved
        entries = [{"Id": str(n), "MessageBody": m["Body"],
                    **({"MessageAttributes": m["MessageAttributes"]} if m.get("MessageAttributes") else {})}
                   for n, m in enumerate(messages)]
        answer = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        sent = {entry["Id"] for entry in answer.get("Successful") or []}
        done = [{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages) if str(n) in sent]
        if done:
            sqs.delete_message_batch(QueueUrl=dead_url, Entries=done)
        moved += len(done)
        if len(done) < len(messages):
            raise SystemExit(f"moved {moved}; SQS refused the rest: {answer.get('Failed')}")


def move_task(sqs: Any, dead_arn: str, wait: bool, poll_seconds: float = 5.0) -> int | None:
    """SQS's own redrive of the dead-letter queue back to its source; how many moved (None: not waited)."""
    handle = sqs.start_message_move_task(SourceArn=dead_arn)["TaskHandle"]
    print(f"started the move task {handle}", flush=True)
    if not wait:
        return None
    while True:
        tasks = sqs.list_message_move_tasks(SourceArn=dead_arn, MaxResults=1).get("Results") or []
        task = tasks[0] if tasks else {}
        status = task.get("Status")
        if status in ("COMPLETED", "CANCELLED", "FAILED"):
            if status != "COMPLETED":
                raise SystemExit(f"the move task ended {status}: {task.get('FailureReason', '')}")
            return int(task.get("ApproximateNumberOfMessagesMoved", 0))
        time.sleep(poll_seconds)


def local_queue(sqs_endpoint: str | None) -> tuple[Any, str]:
    """The SQS client and outbound queue of this environment: ``$DONGNE_OUTBOUND_QUEUE_URL`` (and
    ``$DONGNE_SQS_ENDPOINT``) when set, else ``make run``'s queue on its moto server."""
    import boto3

    from chalicelib.settings import get_settings

    settings = get_settings()
    if settings.outbound_queue_url:
        endpoint = sqs_endpoint or settings.sqs_endpoint
        sqs = boto3.client("sqs", region_name=settings.region, endpoint_url=endpoint)
        return sqs, settings.outbound_queue_url
    from devtools.run import REGION, RunConfig

    endpoint = sqs_endpoint or f"http://127.0.0.1:{RunConfig.from_env().s3_port}"
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    sqs = boto3.client("sqs", region_name=REGION, endpoint_url=endpoint)
    return sqs, sqs.get_queue_url(QueueName=LOCAL_QUEUE)["QueueUrl"]


def stack_queue(stack: str, region: str | None) -> tuple[Any, str]:
    import boto3

    outputs = boto3.client("cloudformation", region_name=region).describe_stacks(StackName=stack)["Stacks"][0]
    found = {o["OutputKey"]: o["OutputValue"] for o in outputs.get("Outputs", [])}
    if "OutboundQueueUrl" not in found:
        raise SystemExit(f"the stack {stack} has no output OutboundQueueUrl")
    return boto3.client("sqs", region_name=region), found["OutboundQueueUrl"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", choices=["local", "dev", "prod"], required=True)
    parser.add_argument("--stack", help="the stack's name (default: dongne-<stage>)")
    parser.add_argument("--region", help="the stack's region (default: the AWS configuration's)")
    parser.add_argument("--endpoint", help="local only: the SQS endpoint (default: make run's moto server)")
    parser.add_argument("--no-wait", action="store_true", help="deployed stages: do not wait for the move task")
    args = parser.parse_args(argv)
    if args.stage == "local":
        sqs, queue_url = local_queue(args.endpoint)
    else:
        sqs, queue_url = stack_queue(args.stack or f"dongne-{args.stage}", args.region)
    _, dead_url, dead_arn = dead_letter_queue(sqs, queue_url)
    waiting = sqs.get_queue_attributes(QueueUrl=dead_url, AttributeNames=["ApproximateNumberOfMessages"])
    print(f"{dead_arn}: about {waiting['Attributes']['ApproximateNumberOfMessages']} message(s) waiting", flush=True)
    if args.stage == "local":
        moved: int | None = move_by_hand(sqs, dead_url, queue_url)
    else:
        moved = move_task(sqs, dead_arn, wait=not args.no_wait)
    if moved is not None:
        print(f"redrive: moved {moved} message(s) back to {queue_url}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
