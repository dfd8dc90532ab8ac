"""Pictures the Learn page and classroom mode share: an elasticity curve and the TALE-EP step.

Both are drawn from the SIMULATED demo model (scripted, shaped like the paper's Figure 1), computed in
this process without calling anything or recording an experiment, and labelled as simulated.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import streamlit as st

from tale_core.analysis import charts
from tale_core.analysis.elasticity import analyze
from tale_core.engine import prompts
from tale_core.engine.methods import MethodResult, MethodSpec, run_method
from tale_core.experiments.sweep import SweepConfig, run_sweep
from tale_core.providers.scripted import SIMULATED, SIMULATED_SPEC, scripted_model

from . import render

CURVE_BUDGETS = (5, 10, 20, 30, 50, 75, 100, 200, 400)


def _model(question: str, gold: str) -> Any:
    return scripted_model(f"{SIMULATED}?latency=0", answers={question: gold})


@lru_cache(maxsize=8)
def simulated_reports(question: str, gold: str) -> dict:
    config = SweepConfig(
        question=question, gold=gold, models=(SIMULATED_SPEC,), budgets=CURVE_BUDGETS, include_reference=True
    )
    cells = run_sweep(config, {SIMULATED_SPEC: _model(question, gold)}).cells
    return analyze(cells)


def curve_figure(question: str, gold: str, *, height: int = 420, font_size: int | None = None) -> Any:
    fig = charts.elasticity_figure(
        simulated_reports(question, gold),
        title="Token elasticity (SIMULATED model shaped like the paper's Figure 1)",
    )
    fig.update_layout(height=height)
    if font_size:
        fig.update_layout(font=dict(size=font_size))
    return fig


@lru_cache(maxsize=8)
def tale_ep_run(question: str, gold: str) -> MethodResult:
    return run_method(_model(question, gold), MethodSpec.parse("tale-ep"), question, gold=gold)


def _short(prompt: str, question: str) -> str:
    """A prompt as shown to a class: the (long) question replaced by a placeholder."""
    return prompt.replace(question, "[the question]")


def tale_ep_step(question: str, gold: str) -> None:
    """The two calls of TALE-EP side by side: the estimate prompt and answer, then the budgeted call."""
    r = tale_ep_run(question, gold)
    est = r.estimate or {}
    n = est.get("parsed")
    c1, c2 = st.columns(2, border=True)
    with c1:
        st.markdown("**Step 1 · Estimate a budget** (zero-shot)")
        render.model_text(_short(prompts.user_text(prompts.estimator(question)), question))
        st.markdown(f"The model answers (below, as text), so the budget is **{n} tokens**.")
        render.model_text(str(est.get("raw") or ""))
    with c2:
        st.markdown("**Step 2 · Ask with that budget**")
        if n:
            render.model_text(_short(prompts.user_text(prompts.budget(question, int(n))), question))
        st.markdown(
            f"Answer: **{r.extracted}** ({'correct' if r.correct else 'wrong'}) in "
            f"**{r.answer_output_tokens} tokens**, plus {r.estimate_output_tokens} for the estimate."
        )
    st.markdown("*Drawn with the SIMULATED demo model (scripted); the Playground runs TALE-EP on a real one.*")
