"""`make bench`: every benchmark, one after another, each in its own interpreter.

    python -m bench.run [bench.feed ...]      # the named ones (default: all), at their full sizes
    python -m bench.run --smoke [bench.feed]  # each at a tiny size: that it runs to its end

``make test`` runs the smoke sizes (tests/devtools/test_bench_smoke.py), so a benchmark that no
longer runs fails the build instead of rotting. The figures of a smoke run mean nothing.
"""

from __future__ import annotations

import subprocess
import sys

BENCHES = ("bench.coldstart", "bench.feed", "bench.fanout", "bench.orders", "bench.relationships",
           "bench.notifications", "bench.subscriptions", "bench.hot_items", "bench.broadcast", "bench.insights",
           "bench.stream_cost")

# Each benchmark at a size that only shows it still runs to its end (seconds, not minutes).
SMOKE = {
    "bench.coldstart": ["--quick"],
    "bench.feed": ["--shops", "6", "--posts-per-shop", "2", "--followers", "20", "--rounds", "3",
                   "--naive-rounds", "1"],
    "bench.fanout": ["--followers", "300", "--model", "3000"],
    "bench.orders": ["--orders", "5", "--threads", "2", "--seconds", "0.5", "--expire", "3"],
    "bench.relationships": ["--pairs", "300", "--updates", "5", "--pages", "3"],
    "bench.notifications": ["--runs", "3", "--inbox", "20"],
    "bench.subscriptions": ["--smoke"],
    "bench.hot_items": ["--requests", "5"],
    "bench.broadcast": ["--customers", "300", "--max-invocation-s", "0"],
    "bench.insights": ["--rounds", "2"],
    "bench.stream_cost": [],
}


def command(name: str, smoke: bool = False) -> list[str]:
    return [sys.executable, "-m", name, *(SMOKE[name] if smoke else [])]


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    smoke = "--smoke" in args
    names = [a for a in args if a != "--smoke"] or list(BENCHES)
    failed = []
    for name in names:
        print(f"\n===== {name}{' (smoke size)' if smoke else ''} =====", flush=True)
        if subprocess.run(command(name, smoke)).returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
