"""A sweep recorded into the database, run as a separate process by tests/test_db_resume.py.

    python -m tests.helpers_db_sweep URL start      -> prints the new experiment id, then runs the sweep
    python -m tests.helpers_db_sweep URL resume ID  -> runs only the cells not stored yet

The last line printed is JSON: the cell ids this process ran and how many it skipped.
"""

from __future__ import annotations

import json
import sys

from db.recorder import Recorder
from db.store import Store
from tale_core.experiments.sweep import SweepConfig, run_sweep
from tale_core.providers import resolve

SPEC = "fake/slow?latency=0.25&concurrency=1"
CONFIG = SweepConfig(
    question="What is 6 x 7?",
    gold="42",
    models=(SPEC,),
    budgets=(5, 10, 20, 40, 80, 160, 320),
    repeats=1,
    include_reference=True,
)


def main(argv: list[str]) -> int:
    url, mode = argv[0], argv[1]
    store = Store(url)
    if mode == "start":
        rec = Recorder.start("sweep", "resume test", CONFIG.to_dict(), store=store)
        print(rec.id, flush=True)
    else:
        rec = Recorder.resume(argv[2], store=store)
    config = SweepConfig.from_dict(store.get_experiment(rec.id, with_calls=False).config)
    skip = rec.done_cell_ids()
    outcome = run_sweep(config, {SPEC: resolve(SPEC)}, cache=rec.cache, sink=rec.sink, skip=skip)
    rec.finish(outcome.status, {"cells": len(outcome.cells), "skipped": outcome.skipped})
    print(
        json.dumps(
            {"ran": sorted(c.key.id for c in outcome.cells), "skipped": outcome.skipped, "status": outcome.status}
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
