"""Every benchmark still runs to its end (``python -m bench.run --smoke``: tiny sizes, each on its
own in-memory DynamoDB Local), and the ones whose last line is a contract still print it.

The figures of a smoke run mean nothing (sizes of tens, a busy machine); what is checked is that
each bench finishes, exits 0 and ends with its summary line — benchmarks that are never run rot.
Timing bounds are checked only where they hold on any machine (the cold-start ratio: a module
count more than a clock)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from bench.run import BENCHES, SMOKE, command

ROOT = Path(__file__).resolve().parents[2]

LAST_LINES = {
    "bench.coldstart": r"coldstart import_app_ratio=(?P<ratio>[\d.]+) first_request_ms=\d+",
    "bench.fanout": r"fanout followers=\d+ delivered=\d+ invocations=\d+ max_invocation_s=[\d.]+ peak_rss_mb=\d+ "
                    r"wcu_per_entry=[\d.]+ hops=\d+",
    "bench.stream_cost": r"stream_cost records=\d+ invoked=\d+ used=\d+ skipped_invoked=(?P<skipped>\d+)",
    "bench.broadcast": r"broadcast recipients=\d+ delivered=\d+ .*duplicates=0",
}


def test_every_bench_has_a_smoke_size():
    assert set(SMOKE) == set(BENCHES)
    on_disk = {f"bench.{p.stem}" for p in (ROOT / "bench").glob("*.py")} - {"bench.__init__", "bench.common",
                                                                            "bench.run"}
    assert on_disk == set(BENCHES), "a bench module that make bench would never run"


@pytest.mark.parametrize("name", BENCHES)
def test_the_bench_runs_to_its_end(name):
    # As from a shell: none of this test run's own settings (tables, secrets) leak into the bench.
    env = {key: value for key, value in os.environ.items() if not key.startswith("DONGNE_")}
    result = subprocess.run(command(name, smoke=True), cwd=ROOT, capture_output=True, text=True, timeout=600,
                            env=env)
    output = result.stdout.strip()
    assert result.returncode == 0, f"{name} failed:\n{output[-3000:]}\n{result.stderr[-3000:]}"
    assert output, f"{name} printed nothing"
    last = output.splitlines()[-1]
    if name in LAST_LINES:
        found = re.fullmatch(LAST_LINES[name], last)
        assert found, f"{name} ended with {last!r}"
        if name == "bench.coldstart":
            assert float(found["ratio"]) <= 1.3
        if name == "bench.stream_cost":
            assert found["skipped"] == "0", last
