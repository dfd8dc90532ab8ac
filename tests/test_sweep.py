"""Budget sweeps on scripted models: order, streaming, cancel, spend cap, errors, cache, resume, concurrency."""

import dataclasses
import threading
import time

import pytest

from tale_core.accounting.pricing import Price
from tale_core.experiments.sweep import (
    CellKey,
    SweepConfig,
    SweepError,
    iter_sweep,
    plan_cells,
    preview_cost,
    run_sweep,
)
from tale_core.protocols import MemoryCache
from tale_core.providers.scripted import ScriptedModel, scripted_model

Q = "Tom has 40 marbles and finds 2. How many marbles?"


def cfg(models=("fake/elastic",), budgets=(10, 50, 100), **kw):
    return SweepConfig(question=Q, gold="42", models=tuple(models), budgets=tuple(budgets), **kw)


def models_for(config):
    return {s: scripted_model(s.split("/", 1)[1]) for s in config.models}


class ListSink:
    def __init__(self):
        self.records, self.lock = [], threading.Lock()

    def on_call(self, record):
        with self.lock:
            self.records.append(record)


class GatedModel(ScriptedModel):
    """Answers the first call at once; later calls wait until the test opens the gate (bounded wait)."""

    def __init__(self):
        super().__init__(scripted_model("elastic?concurrency=1").curve, model="gated")
        self.gate = threading.Event()
        self.gate_timed_out = False

    def complete(self, messages, params, on_text=None):
        if self.calls >= 1 and not self.gate.wait(timeout=5):
            self.gate_timed_out = True
        return super().complete(messages, params, on_text)


def test_plan_order_reference_first_then_budgets_descending():
    c = cfg(models=("fake/elastic", "fake/flat"), repeats=2)
    ids = [k.id for k in plan_cells(c)]
    assert ids[:8] == [
        "fake/elastic|ref|0",
        "fake/elastic|100|0",
        "fake/elastic|50|0",
        "fake/elastic|10|0",
        "fake/elastic|ref|1",
        "fake/elastic|100|1",
        "fake/elastic|50|1",
        "fake/elastic|10|1",
    ]
    assert len(ids) == 16 and ids[8] == "fake/flat|ref|0"
    assert [k.id for k in plan_cells(cfg(include_reference=False))] == [
        "fake/elastic|100|0",
        "fake/elastic|50|0",
        "fake/elastic|10|0",
    ]
    assert CellKey.from_id("fake/slow?latency=1|ref|3") == CellKey("fake/slow?latency=1", None, 3)


def test_run_sweep_results_and_rows():
    c = cfg(models=("fake/elastic", "fake/compliant"), budgets=(5, 10, 50))
    sink = ListSink()
    out = run_sweep(c, models_for(c), sink=sink)
    assert out.status == "done" and out.errors == 0 and len(out.cells) == 8 == out.planned
    by = {cell.key.id: cell for cell in out.cells}
    assert by["fake/elastic|ref|0"].result.output_tokens == 258
    assert by["fake/elastic|10|0"].result.output_tokens == 157
    assert by["fake/compliant|10|0"].result.status == "wrong"
    row = by["fake/elastic|50|0"].to_row()
    assert row["budget"] == 50 and row["output_tokens"] == 86 and row["correct"] is True and not row["is_reference"]
    assert by["fake/elastic|ref|0"].to_row()["is_reference"]
    assert len(sink.records) == 8 and {r.role for r in sink.records} == {"reference", "answer"}
    assert all(r.extra["cell"] for r in sink.records)


def test_repeats_use_distinct_seeds():
    c = cfg(budgets=(50,), repeats=3)
    m = models_for(c)
    out = run_sweep(c, m, cache=MemoryCache())
    assert m["fake/elastic"].calls == 6
    assert sorted({cell.result.records[0].params.seed for cell in out.cells}) == [0, 1, 2]


def test_iter_sweep_yields_before_the_sweep_ends():
    c = SweepConfig(question=Q, gold="42", models=("fake/gated",), budgets=(10, 20, 30))
    gated = GatedModel()
    gen = iter_sweep(c, {"fake/gated": gated})
    first = next(gen)  # would block until the gate times out if cells were not streamed
    assert first.key.is_reference and gated.calls <= 2
    gated.gate.set()
    rest = list(gen)
    assert len(rest) == 3 and not gated.gate_timed_out


def test_iter_sweep_returns_outcome():
    c = cfg()

    def consume():
        outcome = yield from iter_sweep(c, models_for(c))
        return outcome

    g = consume()
    cells = []
    try:
        while True:
            cells.append(next(g))
    except StopIteration as stop:
        assert stop.value.status == "done" and len(stop.value.cells) == len(cells) == 4


def test_cancel_from_on_cell_stops_new_calls():
    c = cfg(models=("fake/elastic?concurrency=1",), budgets=(5, 10, 20, 50, 100))
    m = models_for(c)
    cancel = threading.Event()
    seen = []

    def on_cell(cell):
        seen.append(cell)
        if len(seen) == 2:
            cancel.set()

    out = run_sweep(c, m, on_cell=on_cell, cancel=cancel)
    assert out.status == "cancelled" and m[c.models[0]].calls == 2 and len(out.cells) == 2


def test_cancel_with_concurrency_bounds_extra_calls():
    c = cfg(models=("fake/slow?latency=0.01&concurrency=3",), budgets=tuple(range(5, 65, 5)))
    m = models_for(c)
    cancel = threading.Event()
    at_cancel = []

    def on_cell(cell):
        if not cancel.is_set():
            at_cancel.append(m[c.models[0]].calls)
            cancel.set()

    out = run_sweep(c, m, on_cell=on_cell, cancel=cancel)
    assert out.status == "cancelled"
    assert m[c.models[0]].calls <= at_cancel[0] + 2  # only calls already in flight on other workers
    assert len(out.cells) == m[c.models[0]].calls < out.planned


def test_cancel_before_start_runs_nothing():
    c = cfg()
    m = models_for(c)
    ev = threading.Event()
    ev.set()
    out = run_sweep(c, m, cancel=ev)
    assert out.status == "cancelled" and out.cells == [] and m["fake/elastic"].calls == 0


def test_spend_cap_stops_scheduling():
    c = cfg(models=("fake/elastic?concurrency=1",), budgets=(10, 50, 100, 200), spend_cap_usd=500.0)
    prices = {c.models[0]: Price(1_000_000.0, 1_000_000.0, "test", "-")}  # $1 per token
    m = models_for(c)
    out = run_sweep(c, m, price_overrides=prices)
    # reference: 258 out + ~32 in > 250; the second cell passes $500
    assert out.status == "spend_cap" and len(out.cells) == 2 and m[c.models[0]].calls == 2
    assert out.spent_usd >= 500 and any("spend cap" in n for n in out.notes)
    assert out.spent_usd == sum(cell.result.cost_usd for cell in out.cells)


def test_cached_calls_do_not_count_against_the_cap():
    c = cfg(models=("fake/elastic?concurrency=1",), budgets=(10, 50), spend_cap_usd=500.0)
    prices = {c.models[0]: Price(1_000_000.0, 1_000_000.0, "test", "-")}
    cache = MemoryCache()
    run_sweep(cfg(models=c.models, budgets=(10, 50)), models_for(c), cache=cache, price_overrides=prices)
    out = run_sweep(c, models_for(c), cache=cache, price_overrides=prices)
    assert out.status == "done" and out.spent_usd == 0 and all(cell.result.cache_hit for cell in out.cells)


def test_error_cells_do_not_stop_the_sweep_and_are_never_cached():
    c = cfg(models=("fake/flaky?concurrency=1",), budgets=(5, 10, 20, 50, 100))
    m, cache = models_for(c), MemoryCache()
    out = run_sweep(c, m, cache=cache)
    assert out.status == "done" and len(out.cells) == 6 and out.errors == 2
    errs = [cell for cell in out.cells if cell.result.status == "error"]
    assert all(e.to_row()["error_kind"] == "server_error" for e in errs)
    assert len(cache) == 4
    healed = ScriptedModel(dataclasses.replace(m[c.models[0]].curve, fail_every=0), model="flaky?concurrency=1")
    again = run_sweep(c, {c.models[0]: healed}, cache=cache)
    assert sum(cell.result.cache_hit for cell in again.cells) == 4 and again.errors == 0 and healed.calls == 2


def test_always_failing_model():
    c = cfg(models=("fake/error", "fake/elastic"))
    out = run_sweep(c, models_for(c))
    assert out.status == "done" and out.errors == 4 and len(out.cells) == 8


def test_second_identical_sweep_is_served_from_cache():
    c = cfg(models=("fake/elastic", "fake/compliant"), repeats=2)
    cache = MemoryCache()
    run_sweep(c, models_for(c), cache=cache)
    m2 = models_for(c)
    out = run_sweep(c, m2, cache=cache)
    assert all(m.calls == 0 for m in m2.values())
    assert all(cell.result.cache_hit for cell in out.cells) and len(out.cells) == 16


def test_sampling_sweep_skips_cache_unless_asked():
    c = cfg(temperature=0.7)
    cache = MemoryCache()
    run_sweep(c, models_for(c), cache=cache)
    assert len(cache) == 0
    run_sweep(cfg(temperature=0.7, use_cache=True), models_for(c), cache=cache)
    assert len(cache) == 4


def test_resume_with_skip():
    c = cfg(models=("fake/elastic?concurrency=1",), budgets=(5, 10, 20, 50))
    cancel = threading.Event()
    first = run_sweep(
        c, models_for(c), cancel=cancel, on_cell=lambda cell: cancel.set() if cell.key.budget == 50 else None
    )
    done = {cell.key.id for cell in first.cells}
    assert first.status == "cancelled" and len(done) == 2
    m = models_for(c)
    second = run_sweep(c, m, skip=done)
    assert second.status == "done" and second.skipped == 2 and m[c.models[0]].calls == 3
    assert done | {cell.key.id for cell in second.cells} == {k.id for k in plan_cells(c)}


def test_concurrency_limit_respected():
    c = cfg(models=("fake/slow?latency=0.02&concurrency=2",), budgets=tuple(range(5, 45, 5)))
    m = models_for(c)
    run_sweep(c, m)
    assert 1 <= m[c.models[0]].max_in_flight <= 2
    c1 = cfg(models=("fake/slow?latency=0.01&concurrency=1",), budgets=(5, 10, 20))
    m1 = models_for(c1)
    run_sweep(c1, m1)
    assert m1[c1.models[0]].max_in_flight == 1


def test_closing_the_generator_early_stops_new_calls():
    c = SweepConfig(question=Q, gold="42", models=("fake/gated",), budgets=(5, 10, 20, 50))
    gated = GatedModel()
    gen = iter_sweep(c, {"fake/gated": gated})
    next(gen)  # the worker is now inside call 2, held at the gate
    gen.close()
    gated.gate.set()
    for _ in range(500):  # bounded wait for the in-flight call to finish
        if gated.in_flight == 0 and gated.calls >= 2:
            break
        time.sleep(0.01)
    assert gated.calls == 2


def test_failing_callback_and_sink_do_not_kill_the_sweep():
    class BadSink:
        def on_call(self, record):
            raise RuntimeError("disk full")

    c = cfg()
    out = run_sweep(c, models_for(c), sink=BadSink(), on_cell=lambda cell: 1 / 0)
    # every cell ran (none was lost to the exceptions) and every one is an error cell: the run failed
    assert out.status == "failed" and out.errors == 4 and len(out.cells) == 4
    assert "disk full" in out.cells[0].result.error["message"]
    assert any("on_cell failed" in n for n in out.notes)


def test_thinking_and_constrained_sweeps():
    out = run_sweep(cfg(method="thinking", budgets=(100, 200), max_tokens=1024), models_for(cfg()))
    think = [c for c in out.cells if not c.key.is_reference]
    assert {c.result.records[0].params.thinking_budget for c in think} == {100, 200}
    out = run_sweep(cfg(method="constrained", budgets=(30,)), models_for(cfg()))
    assert "30 words" in [c for c in out.cells if c.key.budget][0].result.records[0].messages[1].content


@pytest.mark.parametrize(
    "kw,msg",
    [
        (dict(question=" "), "empty"),
        (dict(models=()), "at least one model"),
        (dict(models=("nope",)), "provider/model"),
        (dict(models=("fake/a", "fake/a")), "twice"),
        (dict(budgets=()), "No budgets"),
        (dict(budgets=(0, 5)), "at least 1"),
        (dict(repeats=0), "Repeats"),
        (dict(temperature=3), "Temperature"),
        (dict(max_tokens=0), "Max tokens"),
        (dict(spend_cap_usd=0), "spend cap"),
        (dict(method="tale-ep"), "Sweep method"),
        (dict(seed="x"), "seed"),
        (dict(method="thinking", budgets=(2048,), max_tokens=1024), "below max tokens"),
        (dict(choices=("only",)), "2 to 26"),
    ],
)
def test_validation_messages(kw, msg):
    base = dict(question=Q, gold="42", models=("fake/elastic",), budgets=(10,))
    base.update(kw)
    with pytest.raises(SweepError, match=msg):
        SweepConfig(**base).validate()


def test_config_dict_roundtrip_and_normalisation():
    c = SweepConfig(question=Q, gold=None, models=["fake/elastic"], budgets=[50, 10, 10], choices=None)
    assert c.budgets == (10, 50) and c.models == ("fake/elastic",)
    assert SweepConfig.from_dict(c.to_dict()) == c
    assert SweepConfig.from_dict({"question": Q, "models": ["fake/flat"], "budgets": "10, 20", "x": 1}).budgets == (
        10,
        20,
    )
    with pytest.raises(SweepError):
        SweepConfig.from_dict({"question": Q, "models": ["fake/flat"], "budgets": "ten"})
    with pytest.raises(SweepError):
        run_sweep(c, {})


def test_preview_cost():
    c = cfg(models=("fake/elastic",), budgets=(10, 50), repeats=2)
    prices = {"fake/elastic": Price(1.0, 2.0, "test", "-")}
    p = preview_cost(c, models_for(c), price_overrides=prices)
    assert p.calls == 6 and p.is_estimate and p.input_tokens_estimate > 0
    assert p.output_tokens_estimate == 2 * (450 + 80 + 80)
    assert p.total_usd == pytest.approx((p.input_tokens_estimate * 1 + p.output_tokens_estimate * 2) / 1e6)
    assert p.worst_case_usd >= p.total_usd

    class Unpriced(ScriptedModel):
        provider = "compat:test"

    u = preview_cost(cfg(models=("compat:test/x",)), {"compat:test/x": Unpriced(scripted_model("flat").curve, "x")})
    assert u.total_usd is None and any("No known price" in n for n in u.notes)

    cache = MemoryCache()
    run_sweep(c, models_for(c), cache=cache)
    again = preview_cost(c, models_for(c), cache=cache, price_overrides=prices)
    assert again.calls == 0 and again.cached_calls == 6 and again.total_usd == 0
