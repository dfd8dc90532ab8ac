"""Budget estimators end to end on a model whose optimal budgets are known (tests/helpers_estimators.py)."""

from __future__ import annotations

import json

import pytest

from tale_core.data import tale_pt
from tale_core.estimators.learned import EstimatorError, LearnedEstimator, TrainingExample, for_model
from tale_core.estimators.llm import ZeroShotEstimator
from tale_core.estimators.scoring import end_to_end_rows, score_against_optimum, vanilla_rows
from tale_core.estimators.simple import FixedEstimator, OracleEstimator
from tale_core.experiments.benchmark import summarize
from tale_core.experiments.search import BRACKET, PAPER
from tale_core.experiments.search_dataset import DatasetSearch, search_dataset
from tale_core.protocols import MemoryCache
from tests.helpers_estimators import KnownOptimumModel, items, optimal_need

KS = [1, 2, 3, 4, 5, 6, 7, 8] * 4  # 32 questions, 8 sizes


@pytest.fixture(scope="module")
def searched() -> DatasetSearch:
    return search_dataset(KnownOptimumModel(), items(KS), algorithm=PAPER, cache=MemoryCache())


def test_dataset_search_finds_each_questions_optimum(searched):
    assert len(searched.questions) == len(KS)
    assert all(q.status == "searched" and q.beats_vanilla for q in searched.questions)
    for q, k in zip(searched.questions, KS):
        need = optimal_need(k)
        # halving from the vanilla length stops at the last budget above the elastic region: within 2x of need
        assert need <= q.optimal_budget < 2 * need, (k, q.optimal_budget)
        assert q.optimal_tokens == min(q.optimal_budget, 100 * k)
        assert q.optimal_text.endswith("]]") and q.reference_text
        assert q.probes[0]["budget"] is None  # the vanilla reference first


def test_bracket_search_over_a_dataset_lands_near_each_optimum():
    res = search_dataset(KnownOptimumModel(), items([1, 4, 8]), algorithm=BRACKET)
    for q, k in zip(res.questions, [1, 4, 8]):
        assert q.beats_vanilla and optimal_need(k) <= q.optimal_budget <= 2.5 * optimal_need(k), q.reason


def test_paper_search_over_a_dataset_and_resume_skips_done_questions():
    its = items([2, 3, 4])
    first = search_dataset(KnownOptimumModel(), its[:2], algorithm=PAPER)
    rest = search_dataset(KnownOptimumModel(), its, algorithm=PAPER, skip={q.question_id for q in first.questions})
    assert [q.question_id for q in rest.questions] == ["q2"]
    assert DatasetSearch.from_dict(first.to_dict()).to_dict() == first.to_dict()


def test_learned_estimator_recovers_the_optimal_budgets_on_held_out_questions(searched):
    train, test = searched.questions[:24], searched.questions[24:]
    est = LearnedEstimator(
        [TrainingExample(q.question_id, q.question, q.optimal_budget) for q in train],
        model_spec="fake/known-optimum",
        search_experiment_id="exp123",
    )
    score = score_against_optimum(est, test)
    assert score.n == 8 and score.no_estimate == 0
    assert score.mean_abs_log2_error < 0.5, score.rows  # well within a factor of 2 on average
    assert score.within_2x == 8
    assert score.within_2x_ci is not None and 0.6 < score.within_2x_ci[0] < 1.0
    assert est.cv.folds == 5 and est.cv.mean_abs_log2_error < 1.0
    zero = score_against_optimum(FixedEstimator(50), test)  # what TALE-EP's constant guess amounts to
    assert zero.mean_abs_log2_error > score.mean_abs_log2_error


def test_learned_budget_beats_tale_ep_on_tokens_at_equal_accuracy(searched):
    model = KnownOptimumModel()
    train, test = searched.questions[:24], searched.questions[24:]
    learned = LearnedEstimator(
        [TrainingExample(q.question_id, q.question, q.optimal_budget) for q in train],
        model_spec=model.spec,
        search_experiment_id="exp123",
    )
    rows = vanilla_rows(model.spec, test)
    rows += end_to_end_rows(model, learned, test)
    rows += end_to_end_rows(model, ZeroShotEstimator(model), test)
    oracle = OracleEstimator({q.question_id: q.optimal_budget for q in test})
    rows += end_to_end_rows(model, oracle, test)
    by = {s.method: s for s in summarize(rows)}
    assert by[learned.key].accuracy == by["vanilla"].accuracy == 1.0
    assert by["zero-shot"].accuracy is not None
    # TALE-EP's fixed "50" starves the big questions (wrong or elastic) and wastes tokens on the small ones
    assert by[learned.key].avg_output_tokens < by["zero-shot"].avg_output_tokens
    assert by[learned.key].accuracy >= by["zero-shot"].accuracy
    assert by["oracle"].avg_output_tokens <= by[learned.key].avg_output_tokens * 1.05
    assert by[learned.key].reduction_tokens_vs_vanilla > 0.7
    zs = [r for r in rows if r["method"] == "zero-shot"]
    assert all(r["estimate_output_tokens"] == 2 and r["output_tokens"] == r["answer_output_tokens"] + 2 for r in zs)


def test_artifact_round_trip_names_model_and_search(tmp_path, searched):
    ex = [TrainingExample(q.question_id, q.question, q.optimal_budget) for q in searched.questions[:12]]
    est = LearnedEstimator(ex, model_spec="fake/known-optimum", search_experiment_id="exp-abc-123")
    path = est.save(tmp_path)
    data = json.loads(path.read_text())
    assert data["format"] == "tale-learned-estimator" and data["version"] == 1
    assert data["model"] == "fake/known-optimum" and data["search_experiment_id"] == "exp-abc-123"
    again = LearnedEstimator.load(path)
    qs = [q.question for q in searched.questions[12:]]
    assert again.predict(qs) == est.predict(qs)
    assert for_model(tmp_path, "fake/known-optimum").name == est.name
    assert for_model(tmp_path, "other/model") is None


@pytest.mark.parametrize(
    "content, message",
    [
        ("not json", "not valid JSON"),
        ('{"format": "something-else"}', "Not a learned-estimator file"),
        ('{"format": "tale-learned-estimator", "version": 99}', "version 99"),
        ('{"format": "tale-learned-estimator", "version": 1, "training": [{"x": 1}]}', "Unreadable"),
    ],
)
def test_bad_artifacts_are_refused_with_a_message(tmp_path, content, message):
    p = tmp_path / "e.json"
    p.write_text(content)
    with pytest.raises(EstimatorError, match=message):
        LearnedEstimator.load(p)


def test_too_few_examples_refused():
    with pytest.raises(EstimatorError, match="at least"):
        LearnedEstimator([TrainingExample("1", "q", 10)], model_spec="m", search_experiment_id=None)


def test_tale_pt_exports_load_in_their_formats(tmp_path, searched):
    secret = "sk-test-PLANTED-SECRET-123456"
    qs = list(searched.questions)
    qs[0].optimal_text += f" {secret}"
    n = {fmt: tale_pt.write(qs, fmt, tmp_path / f"{fmt}.jsonl", secrets=[secret]) for fmt in tale_pt.FORMATS}
    assert n["openai"] == n["sft"] == n["dpo"] == len(qs)
    for fmt in tale_pt.FORMATS:
        text = (tmp_path / f"{fmt}.jsonl").read_text()
        assert secret not in text and "sk-" not in text
        lines = [json.loads(line) for line in text.splitlines()]
        for row in lines:
            if fmt == "dpo":
                assert set(row) == {"prompt", "chosen", "rejected"}
                assert [m["role"] for m in row["prompt"]] == ["system", "user"]
                assert [m["role"] for m in row["chosen"]] == ["assistant"] == [m["role"] for m in row["rejected"]]
                assert len(row["chosen"][0]["content"].split()) < len(row["rejected"][0]["content"].split())
            else:
                assert set(row) == {"messages"}
                assert [m["role"] for m in row["messages"]] == ["system", "user", "assistant"]
                assert all(isinstance(m["content"], str) and m["content"] for m in row["messages"])
                assert "use less than" not in row["messages"][1]["content"]  # the plain prompt, no budget


def test_questions_vanilla_gets_wrong_are_not_training_data():
    class Wrong(KnownOptimumModel):
        def complete(self, messages, params, on_text=None):
            c = super().complete(messages, params, on_text)
            c.text = c.text.replace("[[", "[[9").replace("]]", "9]]")
            return c

    res = search_dataset(Wrong(), items([2, 3]))
    assert [q.status for q in res.questions] == ["vanilla_wrong", "vanilla_wrong"]
    assert all(q.optimal_budget is None for q in res.questions)
    assert tale_pt.examples(res.questions, "sft") == []


def test_tale_learned_method_needs_an_estimator_then_answers_with_one_call(tmp_path, monkeypatch, searched):
    from tale_core.engine.method_registry import MethodError
    from tale_core.engine.methods import run_method
    from tale_core.providers import capabilities

    monkeypatch.setenv("TALE_ESTIMATORS_DIR", str(tmp_path / "est"))
    model = KnownOptimumModel()
    assert "learned_estimator" not in capabilities(model.spec)
    with pytest.raises(MethodError, match="No learned budget estimator"):
        run_method(model, "tale-learned", searched.questions[0].question)
    ex = [TrainingExample(q.question_id, q.question, q.optimal_budget) for q in searched.questions]
    LearnedEstimator(ex, model_spec=model.spec, search_experiment_id="e1").save(tmp_path / "est")
    assert "learned_estimator" in capabilities(model.spec)
    q = searched.questions[3]  # k = 4: optimum 50
    res = run_method(model, "tale-learned", q.question, gold=q.gold)
    assert len(res.records) == 1 and res.records[0].role == "answer"  # no estimator call
    assert res.correct is True and res.estimate["source"].startswith("fake_known-optimum")
    assert abs(res.budget_used - q.optimal_budget) <= 2 and res.output_tokens == res.budget_used
    tale_ep = run_method(model, "tale-ep", q.question, gold=q.gold)
    assert len(tale_ep.records) == 2 and tale_ep.output_tokens >= res.output_tokens


def test_tale_learned_is_offered_in_the_pickers_once_an_estimator_exists(tmp_path, monkeypatch, searched):
    from ui.method_picker import offered

    monkeypatch.setenv("TALE_ESTIMATORS_DIR", str(tmp_path / "est"))
    assert "tale-learned" not in [m.key for m in offered(["fake/elastic"])]
    ex = [TrainingExample(q.question_id, q.question, q.optimal_budget) for q in searched.questions]
    LearnedEstimator(ex, model_spec="fake/elastic", search_experiment_id="e1").save(tmp_path / "est")
    assert "tale-learned" in [m.key for m in offered(["fake/elastic"])]
    assert "tale-learned" not in [m.key for m in offered(["fake/flat"])]
