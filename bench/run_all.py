"""Run every benchmark one after another (`make bench`); each writes its results under bench/results/.

They are run in sequence on purpose: these machines are small and shared, and benchmarks that run side
by side measure each other. Expect well over an hour in all (the GSM8K runs on the embedded models
dominate); pass names to run a subset, e.g. `python -m bench.run_all local_overhead db_scale`.
"""

from __future__ import annotations

import subprocess
import sys
import time

BENCHES = {
    "local_overhead": ["-m", "bench.local_overhead"],
    "db_scale": ["-m", "bench.db_scale"],
    "app_render": ["-m", "bench.app_render"],
    "search_compare": ["bench/search_compare.py"],
    "tale_gsm8k": ["bench/tale_gsm8k.py"],
    "batch_gsm8k": ["bench/batch_gsm8k.py"],
    "concurrency": ["bench/concurrency.py"],
    "budget_forcing": ["bench/budget_forcing.py"],
    "estimators_gsm8k": ["-m", "bench.estimators_gsm8k"],
}


def main(argv: list[str] | None = None) -> int:
    names = list(argv if argv is not None else sys.argv[1:]) or list(BENCHES)
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHES)}", file=sys.stderr)
        return 2
    failed = []
    for name in names:
        t0 = time.monotonic()
        print(f"== {name}", flush=True)
        rc = subprocess.call([sys.executable, *BENCHES[name]])
        print(f"== {name}: exit {rc} after {time.monotonic() - t0:.0f} s", flush=True)
        if rc:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
