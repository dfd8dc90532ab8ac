"""The Budget estimators page's pieces: pick a dataset search, train, compare, export."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from tale_core.analysis import estimator_charts
from tale_core.data import tale_pt
from tale_core.errors import TaleError
from tale_core.estimators.learned import LearnedEstimator, TrainingExample, list_saved
from tale_core.estimators.saved import estimators_dir
from tale_core.estimators.scoring import score_against_optimum
from tale_core.estimators.simple import FixedEstimator, OracleEstimator
from tale_core.experiments.search_dataset import DatasetSearch, QuestionSearch
from ui import render, services


def searches() -> list[Any]:
    store = services.get_store()
    if store is None:
        return []
    return [e for e in store.list_experiments(kind="search-dataset", limit=200) if e.status == "done"]


def load(experiment_id: str) -> DatasetSearch | None:
    store = services.get_store()
    if store is None:
        return None
    d = store.get_experiment(experiment_id, with_calls=False)
    return DatasetSearch.from_dict(d.summary) if d.summary else None


def overview(search: DatasetSearch) -> None:
    qs = search.questions
    searched = search.searched
    c = st.columns(4)
    c[0].metric("Questions", len(qs))
    c[1].metric("Searched (vanilla CoT correct)", len(searched))
    c[2].metric("Optimum beats vanilla CoT", sum(q.beats_vanilla for q in searched))
    if searched:
        med = pd.Series([q.optimal_budget for q in searched]).median()
        c[3].metric(f"Median optimal budget (n={len(searched)})", f"{med:.0f} tokens")
    st.caption(
        f"Model {search.spec} · {search.algorithm} search · questions vanilla CoT answered wrongly are "
        "not searched (as in the paper)."
    )


def examples(qs: list[QuestionSearch]) -> list[TrainingExample]:
    return [
        TrainingExample(q.question_id, q.question, q.optimal_budget)
        for q in qs
        if q.status == "searched" and q.optimal_budget is not None
    ]


def train_and_compare(search: DatasetSearch, experiment_id: str, first_test: int, fixed: int) -> None:
    train, test = search.questions[:first_test], search.questions[first_test:]
    ex = examples(train)
    ests: list[Any] = [FixedEstimator(fixed)]
    saved = [e for e in list_saved(estimators_dir()) if e.search_experiment_id == experiment_id]
    learned = None
    try:
        learned = LearnedEstimator(
            ex, model_spec=search.spec, search_experiment_id=experiment_id, algorithm=search.algorithm
        )
        ests.append(learned)
    except TaleError as e:
        st.warning(str(e))
    ests.append(OracleEstimator({q.question_id: q.optimal_budget for q in test if q.optimal_budget}))
    scores = [score_against_optimum(e, test).to_dict() for e in ests]
    st.markdown(
        f"**Against the searched optimum** on the {len(test)} held-out questions "
        f"(trained on the first {len(train)}, of which {len(ex)} had an optimum). Error in log2 budget: "
        "1.0 means off by a factor of 2. The zero-shot LLM estimate (TALE-EP) costs a model call per "
        "question: score it with `python -m tale_core estimator score --search ID --end-to-end`."
    )
    table = pd.DataFrame(
        [
            {
                "estimator": s["label"],
                "n": s["n"],
                "mean |log2 error|": None if s["mean_abs_log2_error"] is None else round(s["mean_abs_log2_error"], 2),
                "within 2x": f"{s['within_2x']}/{s['n']}",
                "within 2x, 95% CI": ""
                if not s["within_2x_ci"]
                else f"{100 * s['within_2x_ci'][0]:.0f}-{100 * s['within_2x_ci'][1]:.0f}%",
                "over": s["over"],
                "under": s["under"],
                "no estimate": s["no_estimate"],
            }
            for s in scores
        ]
    )
    st.dataframe(table, hide_index=True, width="stretch")
    st.plotly_chart(estimator_charts.predicted_vs_optimal(scores), width="stretch")
    if learned is not None:
        st.caption(
            f"Learned estimator: ridge regression on word/character n-grams and counts of numbers and "
            f"operations; {learned.cv.folds}-fold cross-validation on its training questions: mean "
            f"|log2 error| {learned.cv.mean_abs_log2_error:.2f}, within 2x {100 * learned.cv.within_2x:.0f}%."
        )
        if st.button("Save this learned estimator", key="est_save"):
            path = learned.save(estimators_dir())
            st.success(f"Saved as {path.name}: the method 'TALE (learned budget)' can now use it for {search.spec}.")
    if saved:
        st.caption("Saved for this search: " + ", ".join(render.md_escape(e.name) for e in saved))


def export(search: DatasetSearch) -> None:
    n = len(tale_pt.usable(search.questions))
    st.markdown(
        f"**TALE-PT training data**: {n} question(s) whose budget-aware answer was correct and beat "
        "vanilla CoT. Prompt = the paper's vanilla CoT prompt; answer = the one under the optimal budget."
    )
    cols = st.columns(3)
    for col, (fmt, label) in zip(
        cols,
        (
            ("sft", "TRL SFT (messages)"),
            ("dpo", "TRL DPO (prompt/chosen/rejected)"),
            ("openai", "OpenAI chat fine-tuning"),
        ),
    ):
        col.download_button(
            label,
            tale_pt.to_jsonl(tale_pt.examples(search.questions, fmt)),
            file_name=f"tale_pt_{fmt}.jsonl",
            mime="application/jsonl",
            disabled=n == 0,
            key=f"est_dl_{fmt}",
        )
