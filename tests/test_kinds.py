"""Experiment kinds: typed configs read from stored dicts (old and new), planners on the runner, rebuilds from
stored calls that match the live results, and benchmark repeats."""

from __future__ import annotations

import threading

import pytest

from tale_core.engine.methods import MethodSpec
from tale_core.errors import TaleError
from tale_core.experiments import kinds, rebuild
from tale_core.experiments.benchmark import run_benchmark
from tale_core.experiments.playground import PlaygroundConfig, run_playground
from tale_core.experiments.search_plan import SearchConfig, SearchQuestion, run_search
from tale_core.experiments.sweep import SweepConfig
from tale_core.protocols import MemoryCache
from tale_core.providers.scripted import scripted_model
from tale_core.types import GenParams

Q = "What is 6 times 7?"
ITEMS = [
    {"id": f"q{i}", "question": f"Question {i}: how many apples in basket {i}?", "answer": str(40 + i)} for i in (1, 2)
]
ANSWERS = {it["question"]: it["answer"] for it in ITEMS}


class Keep:
    def __init__(self) -> None:
        self.records: list = []
        self.lock = threading.Lock()

    def on_call(self, record) -> None:
        with self.lock:
            self.records.append(record)


# configs stored before the kinds existed (as pages and the CLI wrote them)
OLD = {
    "sweep": {"question": Q, "gold": "42", "models": ["fake/elastic"], "budgets": [50, 10], "repeats": 2},
    "search": {
        "question": Q,
        "gold": "42",
        "model": "fake/elastic",
        "algorithms": ["paper", "bracket"],
        "params": {"max_tokens": 512, "temperature": 0.0, "seed": 0},
        "max_calls": 6,
    },
    "benchmark": {
        "dataset": {"source": "samples", "name": "samples"},
        "item_ids": ["1", "2", "3"],
        "methods": ["vanilla", "tale-ep"],
        "models": ["fake/elastic", "fake/flat"],
        "params": {"max_tokens": 256, "temperature": 0.0, "seed": 0},
        "spend_cap_usd": None,
    },
    "playground": {"question": Q, "gold": "42", "models": ["fake/elastic"], "methods": ["vanilla", "budget:50"]},
}


@pytest.mark.parametrize("name, size", [("sweep", 6), ("search", 2), ("benchmark", 12), ("playground", 2)])
def test_every_kind_reads_its_stored_config_and_sizes_its_plan(name, size):
    k = kinds.kind(name)
    config = kinds.config_of(name, OLD[name])
    assert k.plan_size(config) == size
    again = k.from_dict(config.to_dict())
    assert again == config  # the stored form round-trips


def test_the_stored_form_is_unchanged_for_one_question_searches():
    c = kinds.config_of("search", OLD["search"])
    assert isinstance(c, SearchConfig) and c.question.question == Q and c.params.max_tokens == 512
    d = c.to_dict()
    same = {k: d[k] for k in OLD["search"] if k != "params"}
    assert same == {k: v for k, v in OLD["search"].items() if k != "params"} and "questions" not in d
    assert GenParams.from_dict(d["params"]) == GenParams.from_dict(OLD["search"]["params"])


def test_bad_configs_and_kinds_say_what_is_wrong():
    with pytest.raises(TaleError, match="Unknown experiment kind"):
        kinds.kind("nope")
    with pytest.raises(TaleError, match="gold answer"):
        kinds.config_of("search", {**OLD["search"], "gold": ""})
    with pytest.raises(TaleError, match="Repeats"):
        kinds.config_of("benchmark", {**OLD["benchmark"], "repeats": 0})
    assert kinds.kind("bench").name == "benchmark"


def test_benchmark_repeats_use_seed_plus_r_and_rebuild_matches_live():
    sink, m = Keep(), scripted_model("elastic", answers=ANSWERS)
    out = run_benchmark(
        ITEMS, [MethodSpec("vanilla")], {"fake/elastic": m}, params=GenParams(seed=7), repeats=3, sink=sink
    )
    assert out.status == "done" and len(out.rows) == 6 and m.calls == 6
    assert [r["repeat"] for r in out.rows] == [0, 1, 2, 0, 1, 2]
    assert sorted({r.params.seed for r in sink.records}) == [7, 8, 9]
    assert {r.extra["cell"] for r in sink.records} == {r["cell_id"] for r in out.rows}
    assert "fake/elastic|q1|vanilla|2" in {r["cell_id"] for r in out.rows}
    config = kinds.BenchmarkConfig(
        {"source": "x"}, ("q1", "q2"), (MethodSpec("vanilla"),), ("fake/elastic",), GenParams(seed=7), None, 3
    )
    rows = kinds.KINDS["benchmark"].rebuild(config, sink.records)
    key = ("cell_id", "item_id", "repeat", "status", "output_tokens")
    assert [tuple(r[k] for k in key) for r in rows] == [tuple(r[k] for k in key) for r in out.rows]


def test_benchmark_skip_resumes_with_repeats():
    done = {"fake/elastic|q1|vanilla", "fake/elastic|q1|vanilla|1"}
    m = scripted_model("elastic", answers=ANSWERS)
    out = run_benchmark(ITEMS, [MethodSpec("vanilla")], {"fake/elastic": m}, repeats=2, skip=done)
    assert out.status == "done" and m.calls == 2 and {r["item_id"] for r in out.rows} == {"q2"}


def test_benchmark_spend_cap_is_the_runners():
    import tale_core.accounting.pricing as pricing

    orig = pricing.cost_usd
    pricing.cost_usd = lambda *a, **k: 0.01  # type: ignore[assignment]
    try:
        m = scripted_model("elastic?concurrency=1", answers=ANSWERS)
        out = run_benchmark(
            ITEMS, [MethodSpec("vanilla"), MethodSpec("direct")], {"fake/elastic": m}, spend_cap_usd=0.015
        )
    finally:
        pricing.cost_usd = orig  # type: ignore[assignment]
    assert out.status == "spend_cap" and len(out.rows) == 2 < 4 and out.spent_usd == pytest.approx(0.02)


def test_playground_runs_methods_side_by_side_and_rebuilds():
    sink = Keep()
    config = PlaygroundConfig(
        question=Q, gold="42", methods=(MethodSpec("vanilla"), MethodSpec("budget", 50)), models=("fake/elastic",)
    )
    out = run_playground(config, {"fake/elastic": scripted_model("elastic")}, sink=sink, cache=MemoryCache())
    assert out.status == "done" and [r.method.to_str() for r in out.runs["fake/elastic"]] == ["vanilla", "budget:50"]
    again = rebuild.playground_runs(sink.records, config.models)
    assert [(r.method.to_str(), r.output_tokens, r.status) for r in again["fake/elastic"]] == [
        (r.method.to_str(), r.output_tokens, r.status) for r in out.runs["fake/elastic"]
    ]


def test_search_over_many_questions_runs_one_chain_per_question():
    config = SearchConfig(
        questions=(SearchQuestion(Q, "42", "a"), SearchQuestion("What is 5 times 8?", "40", "b")),
        model="fake/elastic",
        algorithms=("paper", "bracket"),
    ).validate()
    sink, seen = Keep(), []
    out = run_search(
        config,
        scripted_model("elastic"),
        sink=sink,
        cache=MemoryCache(),
        on_result=lambda i, a, r: seen.append((i, a)),
    )
    assert out.status == "done" and [q.question.id for q in out.questions] == ["a", "b"]
    assert sorted(seen) == [(0, "bracket"), (0, "paper"), (1, "bracket"), (1, "paper")]
    assert all(set(q.results) == {"paper", "bracket"} for q in out.questions)
    # every question has one shared reference, and rebuilt probes match the live ones
    refs = [r for r in sink.records if (r.extra or {}).get("search") == "shared"]
    assert sorted(r.question_id for r in refs) == ["a", "b"]
    mine = [r for r in sink.records if r.question_id == "a"]
    probes = rebuild.search_probes(mine, ["paper"])["paper"]
    assert [p["budget"] for p in probes] == [p.budget for p in out.questions[0].results["paper"].probes]
    assert kinds.config_of("search", config.to_dict()) == config


def test_sweep_config_is_validated_once_per_start(monkeypatch):
    from tale_core.experiments import sweep as sweep_mod

    calls = []
    orig = SweepConfig.validate

    def counting(self):
        calls.append(1)
        return orig(self)

    monkeypatch.setattr(SweepConfig, "validate", counting)
    c = SweepConfig(question=Q, gold="42", models=("fake/elastic",), budgets=(50,)).validate()
    models = {"fake/elastic": scripted_model("elastic")}
    sweep_mod.preview_cost(c, models, validated=True)
    sweep_mod.run_sweep(c, models, validated=True)
    assert len(calls) == 1
