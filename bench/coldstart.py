"""Cold-start imports: `import app` against `import pynamodb.models`, measured side by side.

Each sample is a fresh interpreter (as on a Lambda cold start) timing only the import
statement; the candidates alternate so machine noise hits them alike. The budget
(ENGINEERING.md §4) is `import app` ≤ 1.3 × `import pynamodb.models`. "app + first
request" also imports what the first request of each kind loads lazily (storage, signing,
and Powertools' Logger and Metrics, which the middleware builds on its first invocation), so
the whole cold path is visible too; "on AWS" adds what only runs there (the X-Ray SDK behind
the Tracer, the Parameters utility and boto3 for the signing secret).

    python -m bench.coldstart [--samples 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CANDIDATES = {
    "pynamodb.models (baseline)": "import pynamodb.models",
    "app": "import app",
    "app + first request": (
        "import app\n"
        "import chalicelib.storage.accounts, chalicelib.storage.shops, chalicelib.storage.models\n"
        "import chalicelib.services.signing\n"
        # the middleware's first invocation: Powertools' Logger, formatter and Metrics
        "import aws_lambda_powertools.logging.logger, aws_lambda_powertools.logging.formatter\n"
        "import aws_lambda_powertools.metrics"
    ),
    # On AWS only: the Tracer (X-Ray SDK, botocore patched) and the secret (the Parameters
    # utility and boto3); measured with Lambda's environment so the SDK takes its Lambda path.
    "app + first request on AWS": (
        "import os\n"
        "os.environ.update(LAMBDA_TASK_ROOT='/var/task', AWS_LAMBDA_FUNCTION_NAME='bench')\n"
        "import app\n"
        "import chalicelib.storage.accounts, chalicelib.storage.shops, chalicelib.storage.models\n"
        "import chalicelib.services.signing\n"
        "import aws_lambda_powertools.logging.logger, aws_lambda_powertools.logging.formatter\n"
        "import aws_lambda_powertools.metrics, aws_lambda_powertools.tracing, aws_xray_sdk.core\n"
        "import aws_lambda_powertools.utilities.parameters"
    ),
}

PROGRAM = """
import time
t = time.perf_counter()
{body}
print(time.perf_counter() - t)
"""


def sample(body: str) -> float:
    out = subprocess.run([sys.executable, "-c", PROGRAM.format(body=body)], cwd=ROOT, check=True,
                         capture_output=True, text=True, env={"PYTHONDONTWRITEBYTECODE": "1", "PATH": ""})
    return float(out.stdout.strip().splitlines()[-1])


def measure(samples: int) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in CANDIDATES}
    for name, body in CANDIDATES.items():  # warm the bytecode caches once
        sample(body)
    for _ in range(samples):
        for name, body in CANDIDATES.items():
            times[name].append(sample(body))
    return {name: statistics.median(values) for name, values in times.items()}


def zip_size() -> str:
    package = ROOT / "build" / "prod" / "deployment.zip"
    return f"{package.stat().st_size / 1e6:.1f} MB" if package.exists() else "run `make package` first"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=15)
    args = parser.parse_args(argv)
    medians = measure(args.samples)
    base = medians["pynamodb.models (baseline)"]
    print(f"\nCold-start imports, median of {args.samples} fresh interpreters each (Python {sys.version.split()[0]})\n")
    print("| import | median ms | ratio to pynamodb.models |")
    print("|---|---:|---:|")
    for name, value in medians.items():
        print(f"| {name} | {value * 1000:.0f} | {value / base:.2f}× |")
    print(f"\ndeployment.zip (chalice package, prod): {zip_size()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
