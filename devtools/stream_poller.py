"""Feed a table's DynamoDB stream to a Lambda stream handler, outside Lambda.

``chalice local`` serves HTTP only; in AWS, Lambda's event source mapping reads
the stream and calls our handler. This module plays that part locally (against
DynamoDB Local) and in tests (against moto), so the very same handler code sees
the very same event shape::

    {"Records": [{"eventID", "eventName", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
                  "awsRegion", "dynamodb": {...as GetRecords returns it...}, "eventSourceARN"}]}

Differences from the raw GetRecords output are the ones Lambda's JSON makes:
``ApproximateCreationDateTime`` is epoch seconds and binary attributes are
base64 strings.

Like the event source mapping, it reads each shard in order, starts a child
shard only once its parent is finished, and on a failing batch retries it a few
times before skipping it (``run_forever``). ``drain`` is the deterministic
variant for tests: it reads everything there is, once, and lets handler errors
propagate (the failed batch is read again by the next ``drain``).

CLI::

    python -m devtools.stream_poller --endpoint http://127.0.0.1:8000 --table NAME --handler app:handle_stream
"""

from __future__ import annotations

import argparse
import base64
import functools
import importlib
import logging
import signal
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Literal

from botocore.exceptions import ClientError

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
Handler = Callable[[dict[str, Any], Any], object]
StartAt = Literal["TRIM_HORIZON", "LATEST"]


class StreamPollerError(RuntimeError):
    """The table has no stream, or the stream cannot be read."""


@dataclass
class LambdaContext:
    """The few context attributes handlers and Powertools read; enough to run them locally."""

    function_name: str = "stream-poller"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    memory_limit_in_mb: int = 128
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:000000000000:function:stream-poller"
    timeout_seconds: float = 900.0
    _started: float = field(default_factory=time.monotonic, init=False, repr=False)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._started + self.timeout_seconds - time.monotonic()) * 1000))


@dataclass
class _Shard:
    """Read position in one shard.

    ``resume`` is where a new iterator starts when we have none (first read, an
    expired iterator, or a batch to re-read): a start position at first, then
    ``AFTER_SEQUENCE_NUMBER`` of the last delivered record.
    """

    shard_id: str
    parent_id: str | None
    resume: tuple[str, str | None]
    iterator: str | None = None
    done: bool = False


class StreamPoller:
    """Reads one table's stream and calls ``handler(event, context)`` once per batch.

    ``start_at`` applies to the shards found at the first discovery only: shards
    that appear later (a shard split, a re-created table or stream) are read from
    their start, or records written before we noticed them would be lost.
    Positions are kept in memory; a new poller starts over at ``start_at``, which
    is why ``LATEST`` suits restarts of a local server with a persistent database.
    Not thread-safe: use one poller from one thread.
    """

    def __init__(
        self,
        dynamodb_client: Any,
        streams_client: Any,
        table_name: str,
        handler: Handler,
        batch_size: int = 100,
        start_at: StartAt = "TRIM_HORIZON",
        function_name: str = "stream-poller",
        max_attempts: int = 3,
        retry_delay: float = 0.5,
    ) -> None:
        if not 1 <= batch_size <= 1000:
            raise ValueError("batch_size must be 1..1000 (the GetRecords limit)")
        if start_at not in ("TRIM_HORIZON", "LATEST"):
            raise ValueError("start_at must be TRIM_HORIZON or LATEST")
        self.dynamodb = dynamodb_client
        self.streams = streams_client
        self.table_name = table_name
        self.handler = handler
        self.batch_size = batch_size
        self.start_at: StartAt = start_at
        self.function_name = function_name
        self.max_attempts = max_attempts
        self.retry_delay = retry_delay
        self.stream_arn: str | None = None
        self._shards: dict[str, _Shard] = {}

    def drain(self) -> int:
        """Deliver every record written so far; return how many.

        A handler exception propagates; that batch is delivered again by the
        next ``drain``.
        """
        return self._drain(strict=True)

    def reacquire(self) -> None:
        """Drop the shard iterators; the next read gets fresh ones from the recorded positions.

        For moto, whose failed transactions restore a deep copy of its tables, stream
        included, which leaves iterators pointing at a shard nobody writes to any more.
        """
        for shard in self._shards.values():
            shard.iterator = None

    def run_forever(self, interval: float = 0.5, stop_event: threading.Event | None = None) -> None:
        """Poll until ``stop_event`` is set, surviving handler and connection errors.

        Errors are logged once per distinct message so that, e.g., a table that
        does not exist yet does not flood the log every ``interval``.
        """
        stop = stop_event or threading.Event()
        last_error: str | None = None
        while not stop.is_set():
            count = 0
            try:
                count = self._drain(strict=False)
                last_error = None
            except Exception as exc:  # keep the local server alive whatever happens
                if str(exc) != last_error:
                    log.warning("polling the %s stream failed, will retry: %s", self.table_name, exc,
                                exc_info=not isinstance(exc, (ClientError, StreamPollerError)))
                    last_error = str(exc)
                # Iterators may be void now (e.g. DynamoDB Local restarted); our positions are not.
                for shard in self._shards.values():
                    shard.iterator = None
            if count == 0:  # sleep only when idle so a backlog drains at full speed
                stop.wait(interval)

    # -- reading ------------------------------------------------------------------

    def _drain(self, strict: bool) -> int:
        self._discover()
        total = 0
        progressed = True
        while progressed:  # a parent finishing unblocks its children: go round again
            progressed = False
            for shard in list(self._shards.values()):
                parent = self._shards.get(shard.parent_id or "")
                if shard.done or (parent is not None and not parent.done):
                    continue
                total += self._read_shard(shard, strict)
                progressed = progressed or shard.done
        return total

    def _discover(self) -> None:
        """Find the table's current stream and any shard we have not seen yet."""
        table = self.dynamodb.describe_table(TableName=self.table_name)["Table"]
        arn = table.get("LatestStreamArn")
        if arn is None:
            raise StreamPollerError(f"table {self.table_name} has no stream (StreamSpecification)")
        first = self.stream_arn is None
        if arn != self.stream_arn:
            if not first:
                log.info("%s has a new stream %s; reading it from the start", self.table_name, arn)
            self.stream_arn, self._shards = arn, {}
        start = self.start_at if first else "TRIM_HORIZON"
        kwargs: dict[str, Any] = {"StreamArn": arn}
        while True:
            description = self.streams.describe_stream(**kwargs)["StreamDescription"]
            for raw in description.get("Shards", []):
                if raw["ShardId"] not in self._shards:
                    self._shards[raw["ShardId"]] = _Shard(raw["ShardId"], raw.get("ParentShardId"), (start, None))
            if not description.get("LastEvaluatedShardId"):
                break
            kwargs["ExclusiveStartShardId"] = description["LastEvaluatedShardId"]
        for shard in self._shards.values():
            # Pin LATEST now: acquired lazily, it would skip writes made until then.
            if shard.iterator is None and shard.resume[0] == "LATEST":
                self._acquire(shard)

    def _acquire(self, shard: _Shard) -> None:
        kind, sequence = shard.resume
        kwargs = {"StreamArn": self.stream_arn, "ShardId": shard.shard_id, "ShardIteratorType": kind}
        if sequence is not None:
            kwargs["SequenceNumber"] = sequence
        shard.iterator = self.streams.get_shard_iterator(**kwargs)["ShardIterator"]

    def _read_shard(self, shard: _Shard, strict: bool) -> int:
        """Read one shard up to its tip (open shard) or its end (closed shard)."""
        count = 0
        while not shard.done:
            try:
                if shard.iterator is None:
                    self._acquire(shard)
                response = self.streams.get_records(ShardIterator=shard.iterator, Limit=self.batch_size)
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                if code == "ExpiredIteratorException":
                    shard.iterator = None  # iterators live 15 minutes; resume from our position
                    continue
                if code == "TrimmedDataAccessException":
                    log.warning("%s: records past the 24h retention were lost; resuming at the oldest",
                                shard.shard_id)
                    shard.resume, shard.iterator = ("TRIM_HORIZON", None), None
                    continue
                if code == "ResourceNotFoundException":
                    shard.done = True  # shard (or stream) deleted
                    break
                raise
            records = response.get("Records", [])
            if records:
                self._deliver(shard, records, strict)
                shard.resume = ("AFTER_SEQUENCE_NUMBER", records[-1]["dynamodb"]["SequenceNumber"])
                count += len(records)
            shard.iterator = response.get("NextShardIterator")
            if shard.iterator is None:
                shard.done = True  # closed shard, fully read
            elif not records:
                break  # at the tip of an open shard
        return count

    def _deliver(self, shard: _Shard, records: list[dict[str, Any]], strict: bool) -> None:
        first_seq = records[0]["dynamodb"]["SequenceNumber"]
        last_seq = records[-1]["dynamodb"]["SequenceNumber"]
        attempts = 1 if strict else max(1, self.max_attempts)
        for attempt in range(1, attempts + 1):
            event = {"Records": [self._lambda_record(r) for r in records]}  # fresh: handlers may mutate it
            try:
                self.handler(event, LambdaContext(function_name=self.function_name))
                log.info("%s: delivered %d record(s) %s..%s", self.table_name, len(records), first_seq, last_seq)
                return
            except Exception:
                if strict:
                    shard.resume, shard.iterator = ("AT_SEQUENCE_NUMBER", first_seq), None
                    raise
                if attempt < attempts:
                    log.warning("%s: handler failed on %s..%s (attempt %d/%d), retrying",
                                self.table_name, first_seq, last_seq, attempt, attempts, exc_info=True)
                    time.sleep(self.retry_delay * attempt)
                else:
                    log.error("%s: handler failed on %s..%s %d times; skipping these %d record(s)",
                              self.table_name, first_seq, last_seq, attempts, len(records), exc_info=True)

    def _lambda_record(self, raw: dict[str, Any]) -> dict[str, Any]:
        dynamodb = {key: _json_shape(value) for key, value in raw["dynamodb"].items()}
        record = {
            "eventID": raw["eventID"],
            "eventName": raw["eventName"],
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": raw.get("awsRegion") or self.streams.meta.region_name,
            "dynamodb": dynamodb,
            "eventSourceARN": self.stream_arn,
        }
        if "userIdentity" in raw:  # TTL deletions
            record["userIdentity"] = raw["userIdentity"]
        return record


def _json_shape(value: Any) -> Any:
    """Undo boto3's parsing where Lambda's JSON event differs: epoch seconds and base64 binaries."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
        seconds = aware.timestamp()
        return int(seconds) if seconds.is_integer() else seconds
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {key: _json_shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_shape(item) for item in value]
    return value


def load_handler(spec: str) -> Handler:
    """Import ``module:attribute`` (attribute may be dotted), with the repo root importable."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"handler must look like module:attribute, got {spec!r}")
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    target: Any = functools.reduce(getattr, attribute.split("."), importlib.import_module(module_name))
    if not callable(target):
        raise TypeError(f"{spec} is not callable")
    return target


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    from devtools.ddblocal import REGION, local_client

    parser = argparse.ArgumentParser(prog="python -m devtools.stream_poller",
                                     description="Deliver a DynamoDB stream to a Lambda stream handler, locally.")
    parser.add_argument("--endpoint", required=True, help="DynamoDB (Local) endpoint URL")
    parser.add_argument("--table", required=True)
    parser.add_argument("--handler", required=True, help="module:attribute, e.g. app:handle_stream")
    parser.add_argument("--region", default=REGION)
    parser.add_argument("--start-at", choices=["TRIM_HORIZON", "LATEST"], default="TRIM_HORIZON")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between polls when idle")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler = load_handler(args.handler)
    poller = StreamPoller(
        local_client("dynamodb", args.endpoint, args.region),
        local_client("dynamodbstreams", args.endpoint, args.region),
        args.table,
        handler,
        batch_size=args.batch_size,
        start_at=args.start_at,
        function_name=args.handler,
    )
    # Shells start `cmd &` jobs with SIGINT ignored; a `make run` Ctrl-C must still reach us.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    log.info("polling the %s stream at %s for %s (Ctrl-C to stop)", args.table, args.endpoint, args.handler)
    try:
        poller.run_forever(args.interval)
    except KeyboardInterrupt:
        log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
