"""Many writers at once: no lost row, no "database is locked" (SQLite WAL + BEGIN IMMEDIATE, PostgreSQL)."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from db.store import Store
from tests.helpers_db import make_record

THREADS = 8
PER_THREAD = 40
ROOT = Path(__file__).resolve().parents[1]


def _hammer(fn, n_threads: int = THREADS) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(n_threads)

    def work(t: int) -> None:
        try:
            barrier.wait(timeout=30)
            fn(t)
        except BaseException as e:  # collected and asserted on
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(n_threads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    assert not any(th.is_alive() for th in threads)
    return errors


def test_threads_record_into_one_experiment(store):
    eid = store.create_experiment("sweep", "shared", {})
    stored: list[bool] = []

    def work(t: int) -> None:
        for i in range(PER_THREAD):
            stored.append(store.record_call(eid, make_record(cell_id=f"t{t}-c{i}", repeat=i)))
            # every thread also records a cell another thread owns: one of the two wins, never an error
            stored.append(store.record_call(eid, make_record(cell_id=f"t{(t + 1) % THREADS}-c{i}", repeat=i)))

    errors = _hammer(work)
    assert errors == []
    assert stored.count(True) == THREADS * PER_THREAD and stored.count(False) == THREADS * PER_THREAD
    assert len(store.calls_for(eid)) == THREADS * PER_THREAD
    assert len(store.done_cell_ids(eid)) == THREADS * PER_THREAD


def test_threads_record_into_their_own_experiments_while_others_read(store):
    ids = [store.create_experiment("sweep", f"e{t}", {}) for t in range(THREADS)]

    def work(t: int) -> None:
        for i in range(PER_THREAD):
            store.record_call(ids[t], make_record(cell_id=f"c{i}"))
            if i % 10 == 0:
                store.list_experiments(limit=20)
                store.finish_experiment(ids[t], "running", {"progress": i})
        store.finish_experiment(ids[t], "done", {"n": PER_THREAD})

    errors = _hammer(work)
    assert errors == []
    rows = store.list_experiments(limit=THREADS)
    assert sorted(r.n_calls for r in rows) == [PER_THREAD] * THREADS
    assert {r.status for r in rows} == {"done"}


_WORKER = """
import sys
from db.store import Store
from tests.helpers_db import make_record
url, eid, w = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = Store(url)
for i in range(30):
    assert s.record_call(eid, make_record(cell_id=f"p{w}-{i}"))
"""


def test_processes_write_one_sqlite_file_at_once(sqlite_url):
    s = Store(sqlite_url)
    eid = s.create_experiment("benchmark", "multi-process", {})
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, sqlite_url, eid, str(w)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(4)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [o[1][-500:] for o in outs]
    assert not any("locked" in o[1] for o in outs)
    assert len(s.calls_for(eid)) == 120
