"""Kill -9 during a recorded sweep, then resume: only the missing cells run, each cell is stored once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from db.recorder import Recorder
from db.store import Store
from tale_core.experiments.sweep import SweepConfig, plan_cells, run_sweep
from tale_core.providers.scripted import scripted_model
from tests.helpers_db_sweep import CONFIG

ROOT = Path(__file__).resolve().parents[1]


def _worker(*args: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-m", "tests.helpers_db_sweep", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_kill_dash_nine_then_resume_runs_only_missing_cells(db_url):
    store = Store(db_url)
    planned = {k.id for k in plan_cells(CONFIG)}
    proc = _worker(db_url, "start")
    try:
        eid = proc.stdout.readline().strip()
        assert eid, proc.stderr.read()
        deadline = time.monotonic() + 60
        while len(store.done_cell_ids(eid)) < 3:
            assert time.monotonic() < deadline, "the sweep never stored 3 cells"
            assert proc.poll() is None, proc.stderr.read()
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    done_before = store.done_cell_ids(eid)
    assert 3 <= len(done_before) < len(planned), "kill came too late to test a resume"
    assert store.get_experiment(eid, with_calls=False).status == "running"  # it never finished
    rows_before = {c.id for c in store.calls_for(eid)}

    res = _worker(db_url, "resume", eid)
    out, err = res.communicate(timeout=120)
    assert res.returncode == 0, err
    report = json.loads(out.strip().splitlines()[-1])
    assert set(report["ran"]) == planned - done_before  # only the missing cells ran
    assert report["skipped"] == len(done_before) and report["status"] == "done"

    d = store.get_experiment(eid)
    assert d.status == "done"
    assert store.done_cell_ids(eid) == planned
    ok_cells = [c.cell_id for c in d.calls if c.ok]
    assert sorted(ok_cells) == sorted(planned)  # each cell stored exactly once
    assert rows_before <= {c.id for c in d.calls}  # nothing recorded before the kill was lost


def test_cancelled_sweep_resumes_in_process_without_duplicates(sqlite_url):
    store = Store(sqlite_url)
    config = SweepConfig(
        question="What is 6 x 7?", gold="42", models=("fake/elastic", "fake/flat"), budgets=(10, 20, 50, 100), repeats=2
    )
    models = {s: scripted_model(s.split("/", 1)[1]) for s in config.models}
    cancel = threading.Event()
    seen = []

    def on_cell(cell):
        seen.append(cell.key.id)
        if len(seen) >= 5:
            cancel.set()

    rec = Recorder.start("sweep", "cancel then resume", config.to_dict(), store=store)
    first = run_sweep(config, models, cache=rec.cache, sink=rec.sink, on_cell=on_cell, cancel=cancel)
    rec.finish(first.status)
    assert first.status == "cancelled"
    done = store.done_cell_ids(rec.id)
    assert done == {c.key.id for c in first.cells if c.result.ok}

    again = Recorder.resume(rec.id, store=store)
    calls_before = sum(m.calls for m in models.values())
    second = run_sweep(config, models, cache=again.cache, sink=again.sink, skip=again.done_cell_ids())
    again.finish(second.status)
    planned = {k.id for k in plan_cells(config)}
    assert second.status == "done" and {c.key.id for c in second.cells} == planned - done
    assert sum(m.calls for m in models.values()) - calls_before == len(planned - done)
    assert store.done_cell_ids(rec.id) == planned
    assert len([c for c in store.calls_for(rec.id) if c.ok]) == len(planned)


def test_rerun_of_a_finished_sweep_is_free_from_the_cache(sqlite_url):
    store = Store(sqlite_url)
    config = SweepConfig(question="What is 6 x 7?", gold="42", models=("fake/elastic",), budgets=(10, 50))
    model = scripted_model("elastic")
    rec = Recorder.start("sweep", "base", config.to_dict(), store=store)
    rec.finish(run_sweep(config, {"fake/elastic": model}, cache=rec.cache, sink=rec.sink).status)
    n = model.calls
    child = store.rerun(rec.id)
    again = Recorder(store, child)
    cfg = SweepConfig.from_dict(store.get_experiment(child).config)
    out = run_sweep(cfg, {"fake/elastic": model}, cache=again.cache, sink=again.sink)
    again.finish(out.status)
    assert model.calls == n and all(c.result.cache_hit for c in out.cells)
    assert store.get_experiment(child).parent_id == rec.id and store.spend(child) == 0.0
