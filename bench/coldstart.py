"""Cold start: `import app` against `import pynamodb.models`, and the first request after it.

Each sample is a fresh interpreter (as on a Lambda cold start); the candidates alternate so
machine noise hits them alike, and a first pass before sampling writes the bytecode caches (a
deployment compiled once, as every sample here after the first). The budget (ENGINEERING.md
§4) is `import app` ≤ 1.3 × `import pynamodb.models`.

* **import app**: only the import statement. Nothing in it loads pydantic, the settings
  model, boto3/botocore, PynamoDB, Jinja2 or Powertools: route declarations name their models
  lazily (``chalicelib.api.spec.lazy_models``) and the rest is imported where it is used
  (``tests/unit/test_coldstart.py`` keeps it so).
* **first request**: a fresh interpreter imports the app and serves one signed-in request,
  ``GET /me`` through Chalice's test client (the middleware, the token check with its one
  GetItem, the response model), against a moto server in this process holding the account —
  so the child imports nothing of moto's, only what the request itself needs. The import is
  part of it: this is the time from an empty interpreter to the first answer.
* **imports only on AWS**: what only AWS loads on the first invocation, as imports (the
  Tracer's X-Ray SDK with botocore patched, and the Parameters utility with boto3 for the
  signing secret), with Lambda's environment so the SDK takes its Lambda path.

Ends with one line: ``coldstart import_app_ratio=R first_request_ms=M`` (medians).

    python -m bench.coldstart [--samples 3] [--quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

BASELINE = "pynamodb.models (baseline)"
IMPORTS = {
    BASELINE: "import pynamodb.models",
    "app": "import app",
}
ON_AWS = (
    "import os\n"
    "os.environ.update(LAMBDA_TASK_ROOT='/var/task', AWS_LAMBDA_FUNCTION_NAME='bench')\n"
    "import app\n"
    "import aws_lambda_powertools.tracing, aws_xray_sdk.core\n"
    "import aws_lambda_powertools.utilities.parameters"
)
FIRST_REQUEST = (
    "import app\n"
    "from chalice.test import Client\n"
    "with Client(app.app, stage_name='local') as client:\n"
    "    answer = client.http.get('/me', headers={{'Authorization': 'Bearer {token}'}})\n"
    "assert answer.status_code == 200, (answer.status_code, answer.body)"
)

PROGRAM = """
import time
t = time.perf_counter()
{body}
print(time.perf_counter() - t)
"""

# A local stage on fake credentials; DONGNE_DYNAMODB_ENDPOINT is added once the server runs.
ENV = {"PATH": "", "DONGNE_STAGE": "local", "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
       "AWS_DEFAULT_REGION": "ap-northeast-2", "DONGNE_TRACING": "false"}


def sample(body: str, env: dict[str, str], write_bytecode: bool = False) -> float:
    environment = dict(env) if write_bytecode else {**env, "PYTHONDONTWRITEBYTECODE": "1"}
    out = subprocess.run([sys.executable, "-c", PROGRAM.format(body=body)], cwd=ROOT, check=True,
                         capture_output=True, text=True, env=environment)
    return float(out.stdout.strip().splitlines()[-1])


def signed_in_account(endpoint: str) -> str:
    """A table on the moto server and an account in it, made through the app: its token.

    With exactly the children's settings (``ENV``): none inherited from whoever started the bench
    (a test run's table names or signing secret would sign a token the children cannot check)."""
    for name in [name for name in os.environ if name.startswith("DONGNE_")]:
        del os.environ[name]
    os.environ.update({**{k: v for k, v in ENV.items() if k != "PATH"}, "DONGNE_DYNAMODB_ENDPOINT": endpoint,
                       "DONGNE_ARGON2_MEMORY_KIB": "8192", "DONGNE_ARGON2_TIME_COST": "1"})
    sys.path.insert(0, str(ROOT))
    import boto3
    from chalice.test import Client

    from app import app
    from chalicelib import wiring
    from chalicelib.storage.tables import ensure_tables

    wiring.reset()
    settings = wiring.container().settings
    ensure_tables(boto3.client("dynamodb", region_name=settings.region, endpoint_url=endpoint),
                  settings.table_name, settings.feed_table_name)
    with Client(app, stage_name="local") as client:
        answer = client.http.post("/auth/signup", headers={"Content-Type": "application/json"},
                                  body='{"name": "콜드", "email": "cold@example.kr", "password": "cold start 1234"}')
    assert answer.status_code == 201, answer.body
    import json

    return json.loads(answer.body)["token"]


def measure(samples: int) -> dict[str, Any]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        token = signed_in_account(endpoint)
        env = {**ENV, "DONGNE_DYNAMODB_ENDPOINT": endpoint}
        bodies = {**IMPORTS, "first request (GET /me, signed in)": FIRST_REQUEST.format(token=token),
                  "app + imports only on AWS": ON_AWS}
        times: dict[str, list[float]] = {name: [] for name in bodies}
        for body in bodies.values():  # compile once: the bytecode caches every later sample reads
            sample(body, env, write_bytecode=True)
        for _ in range(samples):
            for name, body in bodies.items():
                times[name].append(sample(body, env))
    finally:
        server.stop()
    return {name: statistics.median(values) for name, values in times.items()}


def zip_size() -> str:
    package = ROOT / "build" / "prod" / "deployment.zip"
    return f"{package.stat().st_size / 1e6:.1f} MB" if package.exists() else "run `make package` first"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=3, help="fresh interpreters per candidate (median)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: one sample each")
    args = parser.parse_args(argv)
    samples = 1 if args.quick else args.samples
    medians = measure(samples)
    base = medians[BASELINE]
    print(f"\nCold start, median of {samples} fresh interpreters each (Python {sys.version.split()[0]})\n")
    print("| in a fresh interpreter | median ms | ratio to pynamodb.models |")
    print("|---|---:|---:|")
    for name, value in medians.items():
        print(f"| {name} | {value * 1000:.0f} | {value / base:.2f}× |")
    print(f"\ndeployment.zip (chalice package, prod): {zip_size()}")
    first = medians["first request (GET /me, signed in)"]
    print(f"coldstart import_app_ratio={medians['app'] / base:.2f} first_request_ms={first * 1000:.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
