"""The one grid runner: concurrency per model, cancel, spend cap, skip, statuses, error cells, streaming."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import pytest

from tale_core.engine.runner import (
    CANCELLED,
    DONE,
    FAILED,
    SPEND_CAP,
    Cell,
    Runner,
    cell_of,
    finish_quietly,
    store_status,
    stream_text,
)


@dataclass
class Res:
    cell: str
    spent_usd: float = 0.0
    ok: bool = True


class Gauge:
    """Counts cells running at once, per model."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now: dict[str, int] = {}
        self.peak: dict[str, int] = {}
        self.started: list[str] = []

    def cell(self, cid: str, spec: str, *, sleep: float = 0.02, spent: float = 0.0, ok: bool = True) -> Cell[Res]:
        def work() -> Res:
            with self.lock:
                self.started.append(cid)
                self.now[spec] = self.now.get(spec, 0) + 1
                self.peak[spec] = max(self.peak.get(spec, 0), self.now[spec])
            time.sleep(sleep)
            with self.lock:
                self.now[spec] -= 1
            return Res(cid, spent, ok)

        return Cell(cid, spec, work)


def err(cell: Cell[Res], e: BaseException) -> Res:
    return Res(cell.id, 0.0, ok=False)


def test_per_model_concurrency_and_models_side_by_side():
    g = Gauge()
    cells = [g.cell(f"a{i}", "a") for i in range(8)] + [g.cell(f"b{i}", "b") for i in range(8)]
    limits = {"a": 3, "b": 1}
    out = Runner(cells, concurrency=lambda s: limits[s], on_error=err).run()
    assert out.status == DONE and len(out.finished) == 16 and out.errors == 0
    assert g.peak == {"a": 3, "b": 1}
    # plan order per model is kept for starting cells
    assert [c for c in g.started if c.startswith("b")] == [f"b{i}" for i in range(8)]


def test_the_limit_is_read_before_every_dispatch():
    g = Gauge()
    limit = {"a": 1}
    cells = [g.cell(f"a{i}", "a") for i in range(8)]

    def on_cell(fin):
        limit["a"] = 4  # a provider that raises its limit while the run goes on

    Runner(cells, concurrency=lambda s: limit[s], on_error=err, on_cell=on_cell).run()
    assert g.peak["a"] == 4


def test_skip_runs_only_the_missing_cells():
    g = Gauge()
    cells = [g.cell(f"a{i}", "a", sleep=0) for i in range(5)]
    out = Runner(cells, concurrency=lambda s: 2, on_error=err, skip={"a1", "a3"}).run()
    assert out.status == DONE and out.skipped == 2 and out.planned == 5 and out.missing == 0
    assert sorted(g.started) == ["a0", "a2", "a4"]


def test_spend_cap_stops_new_cells_and_is_its_own_status():
    g = Gauge()
    cells = [g.cell(f"a{i}", "a", sleep=0, spent=0.01) for i in range(10)]
    out = Runner(cells, concurrency=lambda s: 4, on_error=err, spend_cap_usd=0.025).run()
    assert out.status == SPEND_CAP and store_status(out.status) == CANCELLED
    assert 3 <= len(out.finished) <= 4 < 10  # the first wave, then nothing once the cap is in sight
    assert out.spent_usd == pytest.approx(0.01 * len(out.finished))
    assert any("spend cap" in n for n in out.notes)


def test_cancel_before_start_and_from_a_callback():
    g = Gauge()
    ev = threading.Event()
    ev.set()
    out = Runner([g.cell("a0", "a")], concurrency=lambda s: 1, on_error=err, cancel=ev).run()
    assert out.status == CANCELLED and out.finished == [] and g.started == []

    ev2 = threading.Event()
    cells = [g.cell(f"c{i}", "c", sleep=0) for i in range(6)]
    out = Runner(cells, concurrency=lambda s: 1, on_error=err, cancel=ev2, on_cell=lambda f: ev2.set()).run()
    assert out.status == CANCELLED and len(out.finished) == 1 and out.missing == 5


def test_every_cell_failed_is_failed_and_some_failed_is_done():
    g = Gauge()
    out = Runner(
        [g.cell(f"a{i}", "a", sleep=0, ok=False) for i in range(3)], concurrency=lambda s: 2, on_error=err
    ).run()
    assert out.status == FAILED and out.errors == 3 and store_status(out.status) == FAILED
    mixed = [g.cell("b0", "b", sleep=0, ok=False), g.cell("b1", "b", sleep=0)]
    assert Runner(mixed, concurrency=lambda s: 1, on_error=err).run().status == DONE


def test_an_exception_in_a_cell_is_an_error_result_not_a_crash():
    def boom() -> Res:
        raise RuntimeError("disk full")

    seen: list[str] = []
    out = Runner(
        [Cell("x", "a", boom), Cell("y", "a", lambda: Res("y"))],
        concurrency=lambda s: 1,
        on_error=lambda c, e: seen.append(str(e)) or Res(c.id, ok=False),
    ).run()
    assert seen == ["disk full"] and out.status == DONE and out.errors == 1 and len(out.finished) == 2


def test_generator_yields_live_and_closing_it_stops_new_cells():
    gate = threading.Event()
    started: list[int] = []

    def work(i: int):
        def run() -> Res:
            started.append(i)
            if i > 0:
                gate.wait(5)
            return Res(str(i))

        return run

    runner = Runner([Cell(str(i), "a", work(i)) for i in range(5)], concurrency=lambda s: 1, on_error=err)
    gen = runner.iter()
    first = next(gen)  # arrives while the second cell is still blocked
    assert first.result.cell == "0" and len(started) <= 2
    gen.close()
    gate.set()
    time.sleep(0.05)
    assert len(started) == 2 and runner.outcome().status == CANCELLED


def test_cell_ids_read_the_new_and_the_old_key():
    assert cell_of({"cell": "a|1|0"}) == "a|1|0"
    assert cell_of({"cell_id": "a|q1|vanilla"}) == "a|q1|vanilla"
    assert cell_of({}) is None and cell_of(None) is None


def test_finish_quietly_maps_statuses_and_swallows_storage_errors():
    class Rec:
        def __init__(self, fail: bool) -> None:
            self.fail, self.got = fail, None

        def finish(self, status="done", summary=None):
            if self.fail:
                raise OSError("database is locked")
            self.got = (status, summary)

    ok = Rec(False)
    assert finish_quietly(ok, SPEND_CAP, {"n": 1}) and ok.got == ("cancelled", {"n": 1})
    assert finish_quietly(Rec(True), DONE) is False
    assert finish_quietly(None, DONE) is False


def test_stream_text_yields_pieces_then_the_result_and_raises_errors():
    def work(on_text):
        on_text("a")
        on_text("b")
        return 42

    assert list(stream_text(work)) == ["a", "b", 42]

    def bad(on_text):
        on_text("x")
        raise ValueError("nope")

    gen = stream_text(bad)
    assert next(gen) == "x"
    with pytest.raises(ValueError, match="nope"):
        next(gen)
