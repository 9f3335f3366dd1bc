"""`make bench`: every benchmark, one after another, each in its own interpreter."""

from __future__ import annotations

import subprocess
import sys

BENCHES = ("bench.coldstart", "bench.feed", "bench.fanout", "bench.orders", "bench.relationships",
           "bench.notifications", "bench.subscriptions", "bench.hot_items", "bench.broadcast", "bench.insights")


def main() -> int:
    failed = 0
    for name in sys.argv[1:] or BENCHES:
        print(f"\n===== {name} =====", flush=True)
        failed += subprocess.run([sys.executable, "-m", name]).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
