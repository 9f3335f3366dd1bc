"""The running API: ``chalice local`` in a subprocess on the suite's DynamoDB Local.

Concurrency claims are made against a real HTTP server (its threads, our threads) and a real
DynamoDB engine, never against moto. The server gets the suite's environment (tables,
endpoint, cheap argon2) and its own free port; it is stopped at the end of the session.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BACKEND

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Reply:
    status: int
    headers: dict
    body: Any


class LiveApi:
    """A tiny JSON client over urllib (thread-safe: one connection per call)."""

    def __init__(self, base: str) -> None:
        self.base = base

    def call(self, method: str, path: str, body: Any = None, *, token: str | None = None,
             headers: dict | None = None) -> Reply:
        data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json", **(headers or {})})
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, raw, got = response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as error:
            status, raw, got = error.code, error.read(), dict(error.headers)
        return Reply(status, got, json.loads(raw) if raw else None)

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.call("POST", path, body, **kw)

    def patch(self, path, body=None, **kw):
        return self.call("PATCH", path, body, **kw)

    def signup(self, name: str = "동네주민") -> dict:
        email = f"live-{time.time_ns()}-{os.getpid()}@example.kr"
        reply = self.post("/auth/signup", {"name": name, "email": email, "password": "correct horse 1"})
        assert reply.status == 201, reply.body
        return reply.body


def _free_port() -> int:
    from devtools.ddblocal import free_port

    return free_port()


def _wait(url: str, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"chalice local exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer in {timeout}s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def live_api(aws_backend, _portone_standin):
    if BACKEND != "ddblocal":
        pytest.skip("the running API is tested on DynamoDB Local (DONGNE_TEST_BACKEND=ddblocal)")
    from chalicelib.wiring import container

    settings = container().settings
    port = _free_port()
    # The suite's settings, spelled out: chalice.test.Client swaps os.environ for a copy with the
    # config's "dev" stage variables during each request, and requests racing on threads can
    # leave that copy behind (its restore is not thread-safe), so os.environ may name dev tables.
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "DONGNE_DYNAMODB_ENDPOINT": aws_backend,
           "DONGNE_TABLE_NAME": settings.table_name, "DONGNE_FEED_TABLE_NAME": settings.feed_table_name,
           "DONGNE_REGION": settings.region, "DONGNE_MEDIA_BUCKET": settings.media_bucket,
           "DONGNE_ARGON2_MEMORY_KIB": str(settings.argon2_memory_kib),
           "DONGNE_ARGON2_TIME_COST": str(settings.argon2_time_cost),
           # The order races set their scene with a dozen orders from one buyer within a minute;
           # the per-user order limit itself is tested in tests/api/test_limits.py.
           "DONGNE_RATE_ORDER": "1000/1m",
           # PortOne: the suite's stand-in, reached through the SDK as make run does
           "DONGNE_PORTONE_BASE_URL": _portone_standin.url}
    env.pop("DONGNE_LOG_LEVEL", None)
    # The suite's outbound queue lives in the test process's moto, out of the server's reach: codes
    # the server would queue are logged as not sent instead (services.recovery).
    env.pop("DONGNE_OUTBOUND_QUEUE_URL", None)
    log = Path(tempfile.mkstemp(prefix="chalice-local-", suffix=".log")[1])
    with open(log, "wb") as out:
        # The same entry point as `make run` (devtools.chalice_local): among others, its listen
        # backlog lets 50 clients connecting at once race the application, not the accept queue.
        proc = subprocess.Popen([sys.executable, "-m", "devtools.chalice_local", "--stage", "local",
                                 "--host", "127.0.0.1", "--port", str(port), "--no-autoreload"],
                                cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        _wait(f"http://127.0.0.1:{port}/health", proc, log)
        yield LiveApi(f"http://127.0.0.1:{port}")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        log.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def served(aws_backend, _portone_standin):
    """``make run``'s server (``devtools.chalice_local``: the gateway's own answers as problems) on
    the suite's DynamoDB Local and the run's PortOne stand-in, for the contract tests (fuzzing,
    the generated client). Its log is ``served.log_path``."""
    if BACKEND != "ddblocal":
        pytest.skip("the running API is tested on DynamoDB Local (DONGNE_TEST_BACKEND=ddblocal)")
    from chalicelib.wiring import container
    from devtools.live import LiveServer

    settings = container().settings
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "DONGNE_DYNAMODB_ENDPOINT": aws_backend,
           "DONGNE_TABLE_NAME": settings.table_name, "DONGNE_FEED_TABLE_NAME": settings.feed_table_name,
           "DONGNE_REGION": settings.region, "DONGNE_MEDIA_BUCKET": settings.media_bucket,
           "DONGNE_ARGON2_MEMORY_KIB": str(settings.argon2_memory_kib),
           "DONGNE_ARGON2_TIME_COST": str(settings.argon2_time_cost),
           "DONGNE_PORTONE_BASE_URL": _portone_standin.url}
    env.pop("DONGNE_LOG_LEVEL", None)
    # The suite's outbound queue lives in the test process's moto, out of the server's reach: codes
    # the server would queue are logged as not sent instead (services.recovery).
    env.pop("DONGNE_OUTBOUND_QUEUE_URL", None)
    with LiveServer(env=env) as server:
        yield server
