"""Feed a table's DynamoDB stream to a Lambda stream handler, outside Lambda.

``chalice local`` serves HTTP only; in AWS, Lambda's event source mapping reads
the stream and calls our handler. This module plays that part locally (against
DynamoDB Local) and in tests (against moto), so the very same handler code sees
the very same event shape::

    {"Records": [{"eventID", "eventName", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
                  "awsRegion", "dynamodb": {...as GetRecords returns it...}, "eventSourceARN"}]}

Differences from the raw GetRecords output are the ones Lambda's JSON makes:
``ApproximateCreationDateTime`` is epoch seconds and binary attributes are
base64 strings. One repair for DynamoDB Local, whose stream sends an empty map
attribute as ``{}`` where DynamoDB sends ``{"M": {}}`` (a value no decoder accepts):
images carry ``{"M": {}}``, as Lambda would.

Like the event source mapping, it reads each shard in order, starts a child
shard only once its parent is finished, and:

* keeps its position: with a ``PositionFile`` it checkpoints the last processed
  sequence number of each shard after every batch (keyed by stream ARN) and a new
  poller resumes after it, so a restart replays nothing; shards it has no position
  for are read from their start;
* honours partial batch responses (``{"batchItemFailures": [{"itemIdentifier":
  <SequenceNumber>}]}``, ``ReportBatchItemFailures``): the records before the lowest
  failing one are checkpointed and the batch is delivered again from that record. A
  raised exception (or an identifier that is not in the batch) fails the whole batch;
* in ``run_forever``, gives up on a record after ``max_attempts`` deliveries
  (MaximumRetryAttempts = ``max_attempts - 1``): it is logged at WARNING, appended to
  the failure file (the local stand-in for the mapping's on-failure destination, one
  JSON line in the shape Lambda sends there) and the poller moves on. A batch that
  keeps raising is split in two first (BisectBatchOnFunctionError), so only the
  record that fails alone is skipped.

``drain`` is the deterministic variant for tests: it reads everything there is,
once, never waits and never skips. A handler exception propagates; reported
failures raise ``BatchItemFailures`` after the records before them are
checkpointed. Either way the next ``drain`` delivers again from the failed record.

CLI::

    python -m devtools.stream_poller --endpoint http://127.0.0.1:8000 --table NAME --handler app:handle_stream \
        [--positions .local/stream-positions.json] [--failures .local/stream-failures.jsonl]
"""

from __future__ import annotations

import argparse
import base64
import functools
import importlib
import json
import logging
import os
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
# The deployed function's timeout (``lambda_timeout`` in .chalice/config.json).
FUNCTION_TIMEOUT_SECONDS = 30.0


class StreamPollerError(RuntimeError):
    """The table has no stream, or the stream cannot be read."""


class BatchItemFailures(RuntimeError):
    """``drain``: the handler reported failed records (a partial batch response)."""

    def __init__(self, table: str, sequence_numbers: list[str]) -> None:
        super().__init__(f"{table}: the handler reported failed record(s) {', '.join(sequence_numbers)}")
        self.sequence_numbers = sequence_numbers


@dataclass
class LambdaContext:
    """The few context attributes handlers and Powertools read; enough to run them locally."""

    function_name: str = "stream-poller"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    memory_limit_in_mb: int = 128
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:000000000000:function:stream-poller"
    timeout_seconds: float = FUNCTION_TIMEOUT_SECONDS
    _started: float = field(default_factory=time.monotonic, init=False, repr=False)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._started + self.timeout_seconds - time.monotonic()) * 1000))


class PositionFile:
    """The poller's checkpoints on disk, like an event source mapping's: one JSON file.

    ``{"streams": {<stream ARN>: {"table": name, "shards": {<shard id>: <last processed
    sequence number>}, "delivered": n, "skipped": n}}}``. ``delivered`` counts the records
    handed on successfully over the file's life and ``skipped`` those given up on, so a
    replay shows up as more deliveries than the stream has records. Written whole after
    every batch through a temporary file and a rename, so a crash leaves the old or the new
    file, never half of one. Only the current stream of a table is kept.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._data = self._load()

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
            if not isinstance(data.get("streams"), dict):
                raise ValueError("no 'streams' object")
            return data
        except FileNotFoundError:
            return {"streams": {}}
        except (OSError, ValueError) as exc:
            log.warning("ignoring the unreadable stream position file %s (%s); streams are read from their start",
                        self.path, exc)
            return {"streams": {}}

    def stream_of(self, table: str) -> str | None:
        """The stream ARN positions were saved for, for ``table`` (None if never)."""
        for arn, entry in self._data["streams"].items():
            if entry.get("table") == table:
                return arn
        return None

    def shards(self, stream_arn: str) -> dict[str, str]:
        return dict(self._data["streams"].get(stream_arn, {}).get("shards", {}))

    def counts(self, stream_arn: str) -> tuple[int, int]:
        entry = self._data["streams"].get(stream_arn, {})
        return int(entry.get("delivered", 0)), int(entry.get("skipped", 0))

    def save(self, table: str, stream_arn: str, shard_id: str, sequence: str,
             delivered: int = 0, skipped: int = 0, filtered: int = 0) -> None:
        streams = self._data["streams"]
        for arn in [arn for arn, entry in streams.items() if entry.get("table") == table and arn != stream_arn]:
            del streams[arn]  # the table was re-created: its old stream is gone
        entry = streams.setdefault(stream_arn, {"table": table, "shards": {}, "delivered": 0, "skipped": 0})
        entry["shards"][shard_id] = sequence
        entry["delivered"] = int(entry.get("delivered", 0)) + delivered
        entry["skipped"] = int(entry.get("skipped", 0)) + skipped
        entry["filtered"] = int(entry.get("filtered", 0)) + filtered  # dropped by the filter, unseen
        entry["updated_at"] = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        self._write()

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with open(temporary, "w") as out:
            json.dump(self._data, out, indent=1, sort_keys=True)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.path)


@dataclass
class _Shard:
    """Read position in one shard.

    ``resume`` is where a new iterator starts when we have none (first read, an
    expired iterator, or a batch to re-read): a start position at first, then
    ``AFTER_SEQUENCE_NUMBER`` of the last processed record, or ``AT_SEQUENCE_NUMBER``
    of a record to deliver again. ``failing`` is the record being retried and how many
    times it was delivered; ``limit`` narrows the batches while a failing batch is split
    (until the records past ``narrow_until`` are reached).
    """

    shard_id: str
    parent_id: str | None
    resume: tuple[str, str | None]
    iterator: str | None = None
    done: bool = False
    failing: tuple[str, bool, int] | None = None  # (sequence number, whole batch?, deliveries)
    limit: int | None = None
    narrow_until: int | None = None


class StreamPoller:
    """Reads one table's stream and calls ``handler(event, context)`` once per batch.

    ``start_at`` applies to a stream we have no saved position for, at the first
    discovery only: shards that appear later (a shard split, a re-created table or
    stream) are read from their start, or records written before we noticed them would
    be lost. Without ``positions`` the positions are kept in memory only.
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
        positions: PositionFile | Path | str | None = None,
        failures_path: Path | str | None = None,
        function_timeout: float = FUNCTION_TIMEOUT_SECONDS,
        memory_limit_in_mb: int = 128,
        filter_criteria: dict[str, Any] | None = None,
    ) -> None:
        if not 1 <= batch_size <= 1000:
            raise ValueError("batch_size must be 1..1000 (the GetRecords limit)")
        if start_at not in ("TRIM_HORIZON", "LATEST"):
            raise ValueError("start_at must be TRIM_HORIZON or LATEST")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.dynamodb = dynamodb_client
        self.streams = streams_client
        self.table_name = table_name
        self.handler = handler
        self.batch_size = batch_size
        self.start_at: StartAt = start_at
        self.function_name = function_name
        self.max_attempts = max_attempts
        self.retry_delay = retry_delay
        self.positions = PositionFile(positions) if isinstance(positions, (str, Path)) else positions
        self.failures_path = Path(failures_path) if failures_path is not None else None
        self.function_timeout = function_timeout
        self.memory_limit_in_mb = memory_limit_in_mb
        # Lambda's event filtering: records no pattern matches are dropped unseen (checkpointed).
        self.patterns = [json.loads(f["Pattern"]) for f in (filter_criteria or {}).get("Filters", [])]
        self.filtered = 0  # records dropped by the filter
        self.stream_arn: str | None = None
        self.delivered = 0  # records handed on successfully by this poller
        self.skipped = 0  # records given up on by this poller
        self._shards: dict[str, _Shard] = {}
        self._stop = threading.Event()

    def drain(self) -> int:
        """Deliver every record written so far; return how many.

        A handler exception propagates and ``BatchItemFailures`` is raised when the handler
        reports failed records; either way the next ``drain`` delivers again from the
        failed record (the records before it are checkpointed).
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
        stop = self._stop = stop_event or threading.Event()
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
                if not strict and self._stop.is_set():
                    return total
                total += self._read_shard(shard, strict)
                progressed = progressed or shard.done
        return total

    def _discover(self) -> None:
        """Find the table's current stream and any shard we have not seen yet."""
        table = self.dynamodb.describe_table(TableName=self.table_name)["Table"]
        arn = table.get("LatestStreamArn")
        if arn is None:
            raise StreamPollerError(f"table {self.table_name} has no stream (StreamSpecification)")
        saved: dict[str, str] = {}
        start: str = "TRIM_HORIZON"  # shards we have no position for: from their start
        shards = self._shards
        if arn != self.stream_arn:
            if self.stream_arn is not None:  # re-created while we poll (tests do it all the time on moto)
                log.info("%s has a new stream (%s); reading it from the start", self.table_name, _label(arn))
            else:
                previous = self.positions.stream_of(self.table_name) if self.positions is not None else None
                if previous == arn:
                    saved = self.positions.shards(arn)
                elif previous is not None:
                    log.warning("%s has a new stream (%s; the table was re-created?): the positions saved for its "
                                "stream of %s no longer apply; reading the new stream from the start", self.table_name,
                                _label(arn), _label(previous))
                else:
                    start = self.start_at
            shards = {}
        listed: set[str] = set()
        kwargs: dict[str, Any] = {"StreamArn": arn}
        while True:
            description = self.streams.describe_stream(**kwargs)["StreamDescription"]
            for raw in description.get("Shards", []):
                shard_id = raw["ShardId"]
                listed.add(shard_id)
                if shard_id in shards:
                    continue
                if shard_id in saved:
                    resume: tuple[str, str | None] = ("AFTER_SEQUENCE_NUMBER", saved[shard_id])
                else:
                    resume = (start, None)
                shards[shard_id] = _Shard(shard_id, raw.get("ParentShardId"), resume)
            if not description.get("LastEvaluatedShardId"):
                break
            kwargs["ExclusiveStartShardId"] = description["LastEvaluatedShardId"]
        self.stream_arn, self._shards = arn, shards  # only once the whole stream is known
        if saved:
            gone = sorted(set(saved) - listed)
            if gone:
                log.warning("%s: saved position(s) for shard(s) %s no longer in the stream (trimmed); "
                            "reading its other shards from their saved positions or start",
                            self.table_name, ", ".join(gone))
            kept = len(saved) - len(gone)
            if kept:
                log.info("%s: resuming the stream from saved positions (%d shard(s))", self.table_name, kept)
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
            if not strict and self._stop.is_set():
                break
            if shard.iterator is None:
                try:
                    self._acquire(shard)
                except ClientError as exc:
                    code = exc.response.get("Error", {}).get("Code")
                    if code == "ResourceNotFoundException":
                        shard.done = True  # shard (or stream) deleted
                        break
                    if code in ("TrimmedDataAccessException", "ValidationException") and shard.resume[1]:
                        self._restart_shard(shard, code)  # the saved position is not in the shard any more
                        continue
                    raise
            try:
                response = self.streams.get_records(ShardIterator=shard.iterator, Limit=shard.limit or self.batch_size)
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                if code == "ExpiredIteratorException":
                    shard.iterator = None  # iterators live 15 minutes; resume from our position
                    continue
                if code == "TrimmedDataAccessException":
                    self._restart_shard(shard, code)
                    continue
                if code == "ResourceNotFoundException":
                    shard.done = True  # shard (or stream) deleted
                    break
                shard.iterator = None  # whatever else: run_forever retries from our position
                raise
            records = response.get("Records", [])
            if records:
                kept = [r for r in records if self.wanted(r)]
                passed = self._deliver(shard, kept, strict) if kept else 0
                count += passed
                if passed < len(kept):
                    shard.iterator = None  # deliver again from shard.resume (the failed record)
                    continue
                if len(kept) < len(records):  # checkpoint after the last one, the dropped ones counted
                    self._passed(shard, records, filtered=len(records) - len(kept))
            shard.iterator = response.get("NextShardIterator")
            if shard.iterator is None:
                shard.done = True  # closed shard, fully read
            elif not records:
                break  # at the tip of an open shard
        return count

    def _restart_shard(self, shard: _Shard, code: str) -> None:
        """Our position in ``shard`` cannot be read (past the 24 h retention): go on from its oldest record."""
        log.warning("%s: position %s in %s is no longer readable (%s); reading the shard from its oldest record",
                    self.table_name, shard.resume[1], shard.shard_id, code)
        shard.resume, shard.iterator = ("TRIM_HORIZON", None), None

    # -- delivering ----------------------------------------------------------------

    def _deliver(self, shard: _Shard, records: list[dict[str, Any]], strict: bool) -> int:
        """Call the handler on one batch; return how many records are done with (checkpointed or skipped)."""
        event = {"Records": [self._lambda_record(r) for r in records]}  # fresh: handlers may mutate it
        context = LambdaContext(function_name=self.function_name, timeout_seconds=self.function_timeout,
                                memory_limit_in_mb=self.memory_limit_in_mb,
                                invoked_function_arn=f"arn:aws:lambda:{self._region()}:000000000000:function:"
                                                     f"{self.function_name}")
        error: Exception | None = None
        try:
            failed_at = self._first_failure(self.handler(event, context), records)
        except Exception as exc:
            if strict:
                shard.resume, shard.iterator = ("AT_SEQUENCE_NUMBER", _sequence(records[0])), None
                raise
            error, failed_at = exc, 0
        if failed_at is None:
            self._passed(shard, records)
            log.debug("%s: delivered %d record(s) %s..%s", self.table_name, len(records), _sequence(records[0]),
                      _sequence(records[-1]))
            return len(records)
        whole = error is not None or failed_at < 0
        failed_at = max(failed_at, 0)
        if failed_at:
            self._passed(shard, records[:failed_at])
        failing = records[failed_at]
        sequence = _sequence(failing)
        shard.resume, shard.iterator = ("AT_SEQUENCE_NUMBER", sequence), None
        if strict:
            raise BatchItemFailures(self.table_name, [sequence] if not whole else
                                    [_sequence(r) for r in records])
        size = len(records) - failed_at if whole else 1
        previous = shard.failing
        attempt = previous[2] + 1 if previous is not None and previous[:2] == (sequence, whole) else 1
        shard.failing = (sequence, whole, attempt)
        what = f"batch {sequence}..{_sequence(records[-1])}" if whole and size > 1 else f"record {sequence}"
        reason = f"{type(error).__name__}: {error}" if error is not None else (
            "reported failed" if not whole else "reported an identifier not in the batch")
        if attempt < self.max_attempts:
            log.warning("%s: %s failed (%s), attempt %d/%d; delivering it again", self.table_name, what, reason,
                        attempt, self.max_attempts, exc_info=error is not None and attempt == 1)
            self._stop.wait(self.retry_delay * attempt)
            return failed_at
        if size > 1:  # BisectBatchOnFunctionError: retry each half on its own
            shard.failing = None
            shard.limit = max(1, size // 2)
            shard.narrow_until = max(shard.narrow_until or 0, int(_sequence(records[-1])))
            log.warning("%s: %s failed %d times (%s); splitting it to find the failing record", self.table_name,
                        what, attempt, reason)
            return failed_at
        shard.failing = None
        log.warning("%s: giving up on record %s (%s %s) after %d attempts (%s); it is logged to %s",
                    self.table_name, sequence, failing.get("eventName"), failing.get("dynamodb", {}).get("Keys"),
                    attempt, reason, self.failures_path or "nowhere (no failure file)")
        self._record_failure(shard, failing, attempt, context, error)
        self._passed(shard, [failing], skipped=True)
        return failed_at + 1

    def _first_failure(self, response: object, records: list[dict[str, Any]]) -> int | None:
        """Index of the lowest failed record named by a partial batch response; None: all done.

        Like Lambda: an identifier that is empty or not in the batch fails the whole batch
        (returned as -1).
        """
        if not isinstance(response, dict):
            return None
        failures = response.get("batchItemFailures")
        if not failures:
            return None
        position = {_sequence(record): index for index, record in enumerate(records)}
        indexes = []
        for failure in failures:
            identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if not identifier or identifier not in position:
                return -1
            indexes.append(position[identifier])
        return min(indexes)

    def wanted(self, record: dict[str, Any]) -> bool:
        """Whether the filter lets ``record`` through (no filter: every record)."""
        return not self.patterns or any(matches(pattern, record) for pattern in self.patterns)

    def _passed(self, shard: _Shard, records: list[dict[str, Any]], skipped: bool = False,
                filtered: int = 0) -> None:
        """Checkpoint after ``records``: handled, given up on when ``skipped``, or (``filtered``
        > 0) a batch of which that many were dropped by the filter and the rest delivered
        already."""
        last = _sequence(records[-1])
        shard.resume = ("AFTER_SEQUENCE_NUMBER", last)
        if shard.failing is not None and int(shard.failing[0]) <= int(last):
            shard.failing = None
        if shard.narrow_until is not None and int(last) >= shard.narrow_until:
            shard.limit = shard.narrow_until = None
        if skipped:
            self.skipped += len(records)
        elif filtered:
            self.filtered += filtered
        else:
            self.delivered += len(records)
        if self.positions is not None and self.stream_arn is not None:
            self.positions.save(self.table_name, self.stream_arn, shard.shard_id, last,
                                delivered=0 if skipped or filtered else len(records),
                                skipped=len(records) if skipped else 0, filtered=filtered)

    def _record_failure(self, shard: _Shard, record: dict[str, Any], attempts: int, context: LambdaContext,
                        error: Exception | None) -> None:
        """One line in the shape Lambda sends to an on-failure destination, plus what failed."""
        if self.failures_path is None:
            return
        arrival = record.get("dynamodb", {}).get("ApproximateCreationDateTime")
        arrived = arrival.astimezone(timezone.utc).isoformat() if isinstance(arrival, datetime) else arrival
        line = {
            "requestContext": {"requestId": context.aws_request_id, "functionArn": context.invoked_function_arn,
                               "condition": "RetryAttemptsExhausted", "approximateInvokeCount": attempts},
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST",
                                **({"functionError": "Unhandled"} if error is not None else {})},
            "version": "1.0",
            "timestamp": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "DDBStreamBatchInfo": {
                "shardId": shard.shard_id, "startSequenceNumber": _sequence(record),
                "endSequenceNumber": _sequence(record), "approximateArrivalOfFirstRecord": arrived,
                "approximateArrivalOfLastRecord": arrived, "batchSize": 1, "streamArn": self.stream_arn,
            },
            # Not in Lambda's message (it names the records only): what we know locally.
            "record": {"eventID": record.get("eventID"), "eventName": record.get("eventName"),
                       "Keys": _json_shape(record.get("dynamodb", {}).get("Keys"))},
            "error": f"{type(error).__name__}: {error}" if error is not None else "reported in batchItemFailures",
        }
        self.failures_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.failures_path, "a") as out:
            out.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")

    def _region(self) -> str:
        return getattr(getattr(self.streams, "meta", None), "region_name", None) or "us-east-1"

    def _lambda_record(self, raw: dict[str, Any]) -> dict[str, Any]:
        dynamodb = {key: _json_shape(value) for key, value in raw["dynamodb"].items()}
        for image in ("Keys", "NewImage", "OldImage"):
            if image in dynamodb:
                dynamodb[image] = {name: _attribute(value) for name, value in dynamodb[image].items()}
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


def _attribute(value: Any) -> Any:
    """One attribute value, with DynamoDB Local's empty map (``{}``) as DynamoDB's ``{"M": {}}``."""
    if not isinstance(value, dict):
        return value
    if not value:
        return {"M": {}}
    if "M" in value and isinstance(value["M"], dict):
        return {"M": {name: _attribute(item) for name, item in value["M"].items()}}
    if "L" in value and isinstance(value["L"], list):
        return {"L": [_attribute(item) for item in value["L"]]}
    return value


def _label(stream_arn: str) -> str:
    """A stream ARN's label (its creation time): enough to tell two streams of a table apart in a log line."""
    return stream_arn.rsplit("/stream/", 1)[-1]


def _sequence(record: dict[str, Any]) -> str:
    return record["dynamodb"]["SequenceNumber"]


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


_ABSENT = object()


def matches(pattern: Any, value: Any) -> bool:
    """Lambda's event-filter matching, for the patterns used here: a map matches a map whose
    keys match; a list is a choice of rules, any of which may match the value at that place — a
    string, number, boolean or null equal to the value, or ``{"exists": true}`` /
    ``{"exists": false}``: whether the event has a plain value (not a map or a list) there.

    As in Lambda (and EventBridge), patterns are matched on the event's leaves: a key missing
    from the event matches only rules that ask for absence, so ``{"NewImage": {"quiet": {"S":
    [{"exists": false}]}}}`` matches an image with no ``quiet`` and one whose ``quiet`` is not a
    string; and ``exists`` looks at a leaf only (``{"quiet": [{"exists": true}]}`` does not match a
    map there). Prefix, suffix, numeric, anything-but and ``$or`` are not used, and refused."""
    if isinstance(pattern, dict):
        if not pattern:
            raise ValueError("an empty map in a filter pattern")
        inner = value if isinstance(value, dict) else {}
        return all(matches(p, inner.get(key, _ABSENT)) for key, p in pattern.items())
    if isinstance(pattern, list):
        return any(_rule(p, value) for p in pattern)
    raise ValueError(f"unsupported filter pattern {pattern!r}")


def _rule(rule: Any, value: Any) -> bool:
    leaf = value is not _ABSENT and not isinstance(value, (dict, list))
    if isinstance(rule, dict):
        if set(rule) != {"exists"} or not isinstance(rule["exists"], bool):
            raise ValueError(f"unsupported filter rule {rule!r}")
        return leaf == rule["exists"]
    if isinstance(rule, (str, int, float, bool)) or rule is None:
        return leaf and value == rule and isinstance(value, bool) == isinstance(rule, bool)
    raise ValueError(f"unsupported filter rule {rule!r}")


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
    parser.add_argument("--positions", type=Path, help="checkpoint file: resume there after a restart")
    parser.add_argument("--failures", type=Path, help="append records given up on to this JSON-lines file")
    parser.add_argument("--max-attempts", type=int, default=3, help="deliveries of a failing record before skipping it")
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
        max_attempts=args.max_attempts,
        positions=args.positions,
        failures_path=args.failures,
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
