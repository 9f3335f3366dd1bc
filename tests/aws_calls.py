"""Every AWS call the app makes while the suites run, as the IAM permission it needs and the
Lambda function whose role needs it.

``install()`` adds a handler to botocore's global history recorder, which every client of
every session (boto3's, PynamoDB's) reports each API call to, with its service, operation
and parameters, before it is sent. The handler:

1. **attributes** the call to a packaged function by walking the Python stack: the outermost
   frame in ``chalicelib/events/schedules.py`` → the scheduled function running it
   (LapseSweep, SubscriptionOrders, OrderDeadlines, BroadcastRelease, Aftercare, InsightsNotices),
   ``chalicelib/events/outbound.py`` → Outbound (the sender of queued push, e-mail and SMS), elsewhere in
   ``chalicelib/events/`` → Stream, in ``chalicelib/api/`` (a request) → APIHandler. The stream poller
   (``devtools/stream_poller.py``) plays Lambda's event source mapping, which reads the
   stream with the Stream function's role: its reads of the app's stream are Stream's; likewise
   the queue poller (``devtools/queue_poller.py``) plays the outbound queue's mapping, whose
   receives and deletes on the outbound queue are Outbound's.
   Anything else — test fixtures and devtools creating tables and buckets, tests calling
   repositories directly — is not a deployed function's call and is not recorded. A task a
   function hands to a thread pool (``S3Media.stat_many``) keeps the submitter's function.
2. **maps** it to the IAM actions and resources it needs (``permissions``), with resource ARNs
   written in ``Fn::Sub`` syntax over the template's logical ids (``${MainTable}``,
   ``${MediaBucket}``...) so ``deploy.iam_check`` resolves them exactly as it resolves the
   template's own ``Fn::Sub``/``Fn::GetAtt`` — the suites' table names (``dongne-test``) become
   the prod stage's.
3. **appends** each new (function, call, action, resource) row to a JSON-lines file
   (``build/aws-calls.jsonl``, or ``$DONGNE_TEST_AWS_CALLS``), as soon as it is first seen:
   both suites of ``make test`` append to it, and so do the ``chalice local`` servers the
   integration tests start (``tests/awscalls_site/sitecustomize.py`` installs this module in
   those subprocesses), which are stopped with a signal and never run exit handlers.

``make test`` then checks the packaged template against the file (``python -m deploy.iam_check``).
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PATH = ROOT / "build" / "aws-calls.jsonl"
ENV = "DONGNE_TEST_AWS_CALLS"

# ARN prefixes in Fn::Sub syntax, resolved by deploy.iam_check like the template's own.
DYNAMODB_ARN = "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}"
S3_ARN = "arn:${AWS::Partition}:s3:::"
# The template's logical ids of the app's tables and bucket (deploy/template.py).
MAIN_TABLE, FEED_TABLE, MEDIA_BUCKET = "MainTable", "FeedTable", "MediaBucket"
SIGNING_SECRET, PORTONE_SECRET = "SigningSecret", "PortOneSecret"
OUTBOUND_QUEUE = "OutboundQueue"

# DynamoDB's transactions are authorized per item, by the item's own action.
TRANSACT_ITEM_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                         "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}
# S3 operations whose IAM action has another name (the rest are s3:<Operation>).
S3_ACTIONS = {"HeadObject": "GetObject", "HeadBucket": "ListBucket", "ListObjectsV2": "ListBucket",
              "ListObjects": "ListBucket"}
# Stream operations the event source mapping performs (the poller's DescribeTable, which
# finds the stream ARN, is not one: the mapping is configured with the ARN).
STREAM_READS = {"DescribeStream", "GetShardIterator", "GetRecords", "ListStreams"}
# What the outbound queue's event source mapping does with the Outbound function's role.
QUEUE_READS = {"GetQueueAttributes", "ReceiveMessage", "DeleteMessage", "DeleteMessageBatch",
               "ChangeMessageVisibility", "ChangeMessageVisibilityBatch"}
# SQS operations whose IAM action has another name: a batch is authorized as its single action.
SQS_ACTIONS = {"SendMessageBatch": "SendMessage", "DeleteMessageBatch": "DeleteMessage",
               "ChangeMessageVisibilityBatch": "ChangeMessageVisibility"}


# --- attribution -------------------------------------------------------------------------

def _relative(filename: str) -> str | None:
    try:
        relative = Path(filename).resolve().relative_to(ROOT)
    except ValueError:
        return None
    text = relative.as_posix()
    return None if text.startswith(".venv/") else text


_PATHS: dict[str, str | None] = {}
# The scheduled functions of chalicelib/events/schedules.py, by the code that runs each.
SCHEDULED = {"lapse_sweep": "LapseSweep", "run_lapse_sweep": "LapseSweep", "run_reorder_reminders": "LapseSweep",
             "subscription_orders": "SubscriptionOrders", "run_subscription_orders": "SubscriptionOrders",
             "order_deadlines": "OrderDeadlines", "run_order_deadlines": "OrderDeadlines",
             "broadcast_release": "BroadcastRelease", "run_broadcast_release": "BroadcastRelease",
             "aftercare": "Aftercare", "run_aftercare": "Aftercare",
             "insights_notices": "InsightsNotices", "run_insights_notices": "InsightsNotices"}


def _entry_point(frame: Any) -> str | None:
    """The packaged function whose entry point this frame is part of, if any."""
    filename = frame.f_code.co_filename
    if filename not in _PATHS:
        _PATHS[filename] = _relative(filename)
    path = _PATHS[filename]
    if path is None or not path.startswith("chalicelib/"):
        return None
    if path == "chalicelib/events/schedules.py":
        return SCHEDULED.get(frame.f_code.co_name)
    if path == "chalicelib/events/outbound.py":
        return "Outbound"
    if path.startswith("chalicelib/events/"):
        return "Stream"
    if path.startswith("chalicelib/api/"):
        return "APIHandler"
    return None


def _frames(start: Any) -> Iterator[Any]:
    frame = start
    while frame is not None:
        yield frame
        frame = frame.f_back


def _shared_inherited() -> threading.local:
    """One thread-local for every copy of this module in a process: the test run imports it as
    ``tests.aws_calls`` and, in processes started with ``awscalls_site`` on their path (pytest-xdist's
    workers too), as ``dongne_test_aws_calls``; whichever wraps the pool first sets what the other reads."""
    import concurrent.futures.thread as pool_module

    shared = getattr(pool_module, "_dongne_inherited", None)
    if shared is None:
        shared = threading.local()
        pool_module._dongne_inherited = shared  # type: ignore[attr-defined]
    return shared


_inherited = _shared_inherited()


def attribute(start: Any) -> tuple[str | None, str, Any]:
    """``(function, site, poller)`` for the call whose innermost frame is ``start``.

    The outermost entry-point frame wins (a view calls services that call storage; the
    view's function is the Lambda function). ``poller`` is the StreamPoller whose own read
    this is, when no app frame is on the stack.
    """
    function, site, poller = None, "", None
    for frame in _frames(start):
        found = _entry_point(frame)
        if found is not None:
            function, site = found, f"{_PATHS[frame.f_code.co_filename]}:{frame.f_code.co_name}"
        elif poller is None and frame.f_code.co_filename.endswith(("devtools/stream_poller.py",
                                                                  "devtools/queue_poller.py")):
            poller = frame.f_locals.get("self")
    if function is None and getattr(_inherited, "function", None) is not None:
        function, site = _inherited.function, _inherited.site
    return function, site, poller


def _install_thread_inheritance() -> None:
    """Tasks submitted to a thread pool keep the submitting function (and site)."""
    from concurrent.futures import ThreadPoolExecutor

    if getattr(ThreadPoolExecutor.submit, "_keeps_function", False):
        return
    original = ThreadPoolExecutor.submit

    def submit(self, fn, /, *args, **kwargs):
        function, site, _ = attribute(sys._getframe(1))
        if function is None:
            return original(self, fn, *args, **kwargs)

        def run(*a, **kw):
            saved = getattr(_inherited, "function", None), getattr(_inherited, "site", "")
            _inherited.function, _inherited.site = function, site
            try:
                return fn(*a, **kw)
            finally:
                _inherited.function, _inherited.site = saved

        return original(self, run, *args, **kwargs)

    submit._keeps_function = True  # type: ignore[attr-defined]
    ThreadPoolExecutor.submit = submit  # type: ignore[method-assign]


# --- IAM mapping -------------------------------------------------------------------------

class Names:
    """The suite's physical names → the template's logical ids."""

    def __init__(self, main_table: str, feed_table: str, media_bucket: str, outbound_queue: str | None = None) -> None:
        self.tables = {main_table: MAIN_TABLE, feed_table: FEED_TABLE}
        self.buckets = {media_bucket: MEDIA_BUCKET}
        self.main_table = main_table
        self.outbound_queue = outbound_queue

    @classmethod
    def current(cls) -> Names:
        from chalicelib.settings import get_settings

        s = get_settings()
        return cls(s.table_name, s.feed_table_name, s.media_bucket, s.outbound_queue_url)

    def queue(self, url: str) -> str:
        """The outbound queue's URL → ``${OutboundQueue.Arn}``; another queue by its name."""
        if url and url == self.outbound_queue:
            return f"${{{OUTBOUND_QUEUE}.Arn}}"
        return f"arn:${{AWS::Partition}}:sqs:${{AWS::Region}}:${{AWS::AccountId}}:{url.rstrip('/').rsplit('/', 1)[-1]}"

    def table(self, name: str) -> str:
        logical = self.tables.get(name)
        return f"{DYNAMODB_ARN}:table/" + (f"${{{logical}}}" if logical else name)

    def stream(self, arn: str) -> str:
        # arn:aws:dynamodb:REGION:ACCOUNT:table/NAME/stream/LABEL
        table = arn.split(":table/", 1)[-1].split("/stream/", 1)[0]
        if table == self.main_table:
            return f"${{{MAIN_TABLE}.StreamArn}}"
        return arn

    def secret(self, secret_id: str) -> str:
        """The signing secret (``DONGNE_SECRET_ARN``) → ``${SigningSecret}``, PortOne's
        (``DONGNE_PORTONE_SECRET_ARN``) → ``${PortOneSecret}`` (a secret's Ref is its ARN)."""
        from chalicelib.settings import get_settings

        settings = get_settings()
        known = {settings.secret_arn: SIGNING_SECRET, settings.portone_secret_arn: PORTONE_SECRET}
        known.pop(None, None)
        return f"${{{known[secret_id]}}}" if secret_id in known else secret_id

    def bucket(self, name: str) -> str:
        logical = self.buckets.get(name)
        return S3_ARN + (f"${{{logical}}}" if logical else name)


def permissions(service: str, operation: str, params: dict[str, Any], names: Names,
                stream_arn: str | None = None) -> list[tuple[str, str]]:
    """The ``(action, resource)`` pairs IAM evaluates for one call."""
    if service == "dynamodb":
        if operation == "TransactWriteItems" or operation == "TransactGetItems":
            pairs = []
            for item in params.get("TransactItems", []):
                ((kind, body),) = item.items()
                pairs.append((f"dynamodb:{TRANSACT_ITEM_ACTIONS[kind]}", names.table(body["TableName"])))
            return pairs
        if operation in ("BatchGetItem", "BatchWriteItem"):
            return [(f"dynamodb:{operation}", names.table(t)) for t in params.get("RequestItems", {})]
        if "TableName" in params:
            resource = names.table(params["TableName"])
            if params.get("IndexName"):
                resource += f"/index/{params['IndexName']}"
            return [(f"dynamodb:{operation}", resource)]
        return [(f"dynamodb:{operation}", "*")]
    if service == "dynamodbstreams":  # the Streams API is authorized as dynamodb:*
        if operation == "ListStreams":
            return [("dynamodb:ListStreams", "*")]
        arn = params.get("StreamArn") or stream_arn or "*"
        return [(f"dynamodb:{operation}", names.stream(arn) if arn != "*" else arn)]
    if service == "s3":
        action = "s3:" + S3_ACTIONS.get(operation, operation)
        if operation == "PresignedPost":
            # No call to record: the client POSTs the file to S3 later, and S3 authorizes that
            # upload as s3:PutObject by the role that signed the form (see install()).
            action = "s3:PutObject"
        bucket = params.get("Bucket")
        if bucket is None:
            return [(action, "*")]
        resource = names.bucket(bucket)
        if "Key" in params and action != "s3:ListBucket":
            resource += "/" + params["Key"]
        return [(action, resource)]
    if service == "sqs":
        return [("sqs:" + SQS_ACTIONS.get(operation, operation), names.queue(params.get("QueueUrl", "")))]
    if service == "secretsmanager" and "SecretId" in params:
        return [(f"secretsmanager:{operation}", names.secret(params["SecretId"]))]
    if service == "sns":
        # SNS authorizes on the ARN the call names: the platform application when creating an
        # endpoint, the endpoint itself after that; a text to a phone number has no ARN.
        arn = params.get("PlatformApplicationArn") or params.get("EndpointArn") or params.get("TargetArn") \
            or params.get("TopicArn")
        return [(f"sns:{operation}", _regional(arn) if arn else "*")]
    if service == "sesv2":
        # The v2 API's SendEmail is authorized as ses:SendEmail on the sending identity.
        sender = (params.get("FromEmailAddress") or "").rpartition("<")[2].rstrip(">")
        return [(f"ses:{operation}", f"arn:${{AWS::Partition}}:ses:${{AWS::Region}}:${{AWS::AccountId}}:identity/{sender}")]
    return [(f"{service}:{operation}", "*")]


def _regional(arn: str) -> str:
    """An ARN recorded against moto's region and account, in the template's Fn::Sub terms."""
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return arn
    return f"arn:${{AWS::Partition}}:{parts[2]}:${{AWS::Region}}:${{AWS::AccountId}}:{parts[5]}"


# --- recording ---------------------------------------------------------------------------

class Recorder:
    def __init__(self, path: Path, suite: str) -> None:
        self.path = path
        self.suite = suite
        self._seen: set[tuple[str, ...]] = set()
        self._lock = threading.Lock()

    def emit(self, event_type: str, payload: dict[str, Any], source: str) -> None:
        if event_type != "API_CALL":
            return
        try:
            self.record(payload["service"], payload["operation"], payload.get("params") or {}, sys._getframe(1))
        except Exception as error:  # noqa: BLE001 — botocore swallows handler errors: make them a row the check fails on
            self._write({"error": f"{type(error).__name__}: {error}", "call": f"{payload.get('service')}."
                         f"{payload.get('operation')}"})

    def record(self, service: str, operation: str, params: dict[str, Any], frame: Any) -> None:
        function, site, poller = attribute(frame)
        stream_arn = None
        if function is None and poller is not None and service == "sqs" and operation in QUEUE_READS:
            if params.get("QueueUrl") != Names.current().outbound_queue:
                return  # another queue (a redrive's dead-letter queue, a poller test's own)
            function, site = "Outbound", "event source mapping (devtools/queue_poller.py)"
        if function is None:
            if poller is None or service != "dynamodbstreams" or operation not in STREAM_READS:
                return  # not a deployed function's call
            if getattr(poller, "table_name", None) != Names.current().main_table:
                return  # a poller test's own table
            function, site, stream_arn = "Stream", "event source mapping (devtools/stream_poller.py)", \
                poller.stream_arn
        names = Names.current()
        for action, resource in permissions(service, operation, params, names, stream_arn):
            key = (function, f"{service}.{operation}", action, resource)
            with self._lock:
                if key in self._seen:
                    continue
                self._seen.add(key)
            self._write({"function": function, "call": key[1], "action": action, "resource": resource,
                         "site": site, "suite": self.suite})

    def _write(self, row: dict[str, Any]) -> None:
        line = json.dumps(row, ensure_ascii=False) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as out:
                out.write(line)


_recorder: Recorder | None = None


def install(path: Path | str | None = None, suite: str = "") -> Recorder | None:
    """Record from now on (idempotent). ``path`` defaults to ``$DONGNE_TEST_AWS_CALLS`` or
    ``build/aws-calls.jsonl``; an empty ``$DONGNE_TEST_AWS_CALLS`` turns recording off."""
    global _recorder
    if _recorder is not None:
        return _recorder
    if path is None:
        path = os.environ.get(ENV, str(DEFAULT_PATH))
    if not path:
        return None
    from botocore import history, signers

    _recorder = Recorder(Path(path), suite or os.environ.get("DONGNE_TEST_BACKEND", "moto"))
    recorder = history.get_global_history_recorder()
    recorder.add_handler(_recorder)
    recorder.enable()
    _install_thread_inheritance()

    # A presigned POST is signed here and performed later by the browser: record the signing
    # as the upload it authorizes. S3 clients get the method at class creation (after this).
    presign = signers.generate_presigned_post
    if not getattr(presign, "_recorded", False):
        def generate_presigned_post(self, Bucket, Key, *args, **kwargs):
            if _recorder is not None:
                try:
                    _recorder.record("s3", "PresignedPost", {"Bucket": Bucket, "Key": Key}, sys._getframe(1))
                except Exception as error:  # noqa: BLE001 — a row the check fails on, never a failed upload
                    _recorder._write({"error": f"{type(error).__name__}: {error}", "call": "s3.PresignedPost"})
            return presign(self, Bucket, Key, *args, **kwargs)

        generate_presigned_post._recorded = True  # type: ignore[attr-defined]
        signers.generate_presigned_post = generate_presigned_post
    return _recorder


def install_for_tests() -> Recorder | None:
    """What ``tests/conftest.py`` calls first: record here and in the Python subprocesses the
    suites start (``awscalls_site/sitecustomize.py`` on their ``PYTHONPATH``)."""
    os.environ.setdefault(ENV, str(DEFAULT_PATH))
    if os.environ[ENV]:
        site = str(Path(__file__).resolve().parent / "awscalls_site")
        paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != site]
        os.environ["PYTHONPATH"] = os.pathsep.join([site, *paths])
    return install()
