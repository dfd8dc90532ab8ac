"""Small UI helpers that need no running app: formatting, escaping, choices, jobs, rebuild from records."""

from __future__ import annotations

import threading

from tale_core.engine.methods import MethodSpec, run_method
from tale_core.experiments import rebuild
from tale_core.experiments.sweep import SweepConfig, run_sweep
from tale_core.protocols import MemoryCache
from tale_core.providers.scripted import scripted_model
from ui import fmt
from ui.inputs import parse_choices
from ui.jobs import Job, JobRegistry
from ui.render import md_escape
from ui.state import MultiSink, SpendMeter


def test_money_and_numbers_read_well():
    assert fmt.usd(None) == "price unknown"
    assert fmt.usd(0) == "$0"
    assert fmt.usd(0.000042) == "$0.000042"
    assert fmt.usd(0.05) == "$0.0500"
    assert fmt.usd(0.5) == "$0.50"
    assert fmt.usd(1234.5) == "$1,234.50"
    assert fmt.seconds(0.25) == "250 ms" and fmt.seconds(3.21) == "3.2 s"
    assert fmt.tokens(86.0) == "86" and fmt.percent(0.666) == "67%"


def test_md_escape_makes_markup_inert():
    out = md_escape("**bold** [x](javascript:alert(1)) :material/home: <b>")
    for raw in ("**bold**", "[x](", ":material/home:", "<b>"):
        assert raw not in out


def test_parse_choices():
    assert parse_choices("") == (None, None)
    assert parse_choices("12\n10\n\n15") == (("12", "10", "15"), None)
    assert parse_choices("only one")[1]
    assert "too many" in parse_choices("\n".join(str(i) for i in range(11)))[1]


def test_spend_meter_counts_paid_calls_only():
    meter = SpendMeter()

    class Broken:
        def on_call(self, record):
            raise RuntimeError("disk full")

    sink = MultiSink([meter, Broken()])
    model = scripted_model("elastic")
    cache = MemoryCache()
    run_method(model, MethodSpec("vanilla"), "What is 6 times 7?", gold="42", cache=cache, sink=sink)
    run_method(model, MethodSpec("vanilla"), "What is 6 times 7?", gold="42", cache=cache, sink=sink)
    assert meter.calls == 1 and meter.cache_hits == 1
    assert sink.errors and "disk full" in sink.errors[0]


def test_job_registry_runs_marks_failures_and_cancels():
    reg = JobRegistry()
    gate = threading.Event()

    def slow(job: Job) -> None:
        for i in range(100):
            if job.cancel.is_set():
                job.finish("cancelled")
                return
            job.add(i)
            gate.wait(0.01)

    job = reg.start(Job(id="a", kind="sweep", title="t", config={}, total=100), slow)
    assert reg.cancel("a")
    reg.wait("a", 10)
    assert job.status == "cancelled" and job.done < 100

    def boom(job: Job) -> None:
        raise ValueError("bad")

    failed = reg.start(Job(id="b", kind="sweep", title="t", config={}), boom)
    reg.wait("b", 10)
    assert failed.status == "failed" and "bad" in failed.error
    assert {j.id for j in reg.list("sweep")} == {"a", "b"}


def test_sweep_cells_rebuilt_from_records_match_the_live_ones():
    records = []

    class Keep:
        def on_call(self, record):
            records.append(record)

    cfg = SweepConfig(question="What is 6 times 7?", gold="42", models=("fake/elastic",), budgets=(5, 50, 200))
    live = run_sweep(cfg, {"fake/elastic": scripted_model("elastic")}, sink=Keep()).cells
    rebuilt = rebuild.sweep_cells(records)
    key = lambda c: c.key.id  # noqa: E731
    assert [(c.key.id, c.result.output_tokens, c.result.status) for c in sorted(rebuilt, key=key)] == [
        (c.key.id, c.result.output_tokens, c.result.status) for c in sorted(live, key=key)
    ]


def test_a_failed_estimator_call_reads_as_an_error_not_an_unusable_estimate():
    from ui.render import estimate_note

    res = run_method(scripted_model("error"), MethodSpec.parse("tale-ep"), "What is 6 times 7?", gold="42")
    assert res.status == "error" and res.estimate["status"] == "error"
    note = estimate_note(res)
    assert note.startswith("The budget estimate call failed (") and "made no answer call" in note
    assert "unusable" not in note and "Fell back" not in note
    assert res.error_message and res.error_message in note  # the provider's reason (a rate limit here)
    bad = run_method(scripted_model("bad-estimator"), MethodSpec.parse("tale-ep"), "What is 6 times 7?", gold="42")
    assert "Fell back to" in estimate_note(bad)  # a real unreadable estimate keeps its fallback note
