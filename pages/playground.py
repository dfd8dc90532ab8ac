"""Playground: one question, several methods side by side, for each model picked in the sidebar."""

from __future__ import annotations

import streamlit as st

from tale_core.engine.methods import MethodSpec
from tale_core.errors import TaleError
from tale_core.experiments.playground import PlaygroundConfig
from tale_core.providers import parse_spec, resolve
from tale_core.providers.capabilities import UnsupportedMethod, check_method_supported
from tale_core.providers.catalog import capabilities_for
from tale_core.types import GenParams
from ui import inputs, method_cards, playground_job, render, services, sidebar, validate

METHOD_CHOICES = (
    "direct",
    "vanilla",
    "tale-ep",
    "budget",
    "concise",
    "cod",
    "constrained",
    "thinking",
    "effort",
    "forced",
)
DEFAULT_METHODS = ["direct", "vanilla", "tale-ep", "budget"]
RESULTS_KEY = "pg_results"
GENERIC_LABELS = {
    "budget": "Budget N",
    "constrained": "Constrained CoT",
    "thinking": "Thinking budget",
    "effort": "Reasoning effort",
    "forced": "Hard budget (budget forcing)",
}

st.title("Playground")
st.caption(
    "Ask one question several ways and compare the answers, the tokens they spent and what they cost. "
    "TALE-EP first asks the model to estimate a token budget, then asks again with that budget."
)

sb = sidebar.current()

qi = inputs.question_input("pg")
question, gold, question_msg, gold_msg = qi.question, qi.gold, qi.question_msg, qi.gold_msg


def offered_methods(models: list[str]) -> list[str]:
    """Thinking budgets, effort and hard budgets only when a picked model has them (its capabilities)."""
    caps = [capabilities_for(*parse_spec(m)) for m in models]
    needs = {"thinking": "thinking", "effort": "effort", "forced": "hard_budget"}
    return [k for k in METHOD_CHOICES if k not in needs or any(getattr(c, needs[k]) for c in caps)]


def effort_choices(models: list[str]) -> list[str]:
    """Every effort level some picked model names, weakest first."""
    from tale_core.providers.capabilities import ALL_EFFORT_LEVELS

    levels = {lv for m in models for lv in capabilities_for(*parse_spec(m)).effort_levels}
    return [lv for lv in ALL_EFFORT_LEVELS if lv in levels] or ["low", "medium", "high"]


methods = st.pills(
    "Methods",
    offered_methods(sb.models),
    selection_mode="multi",
    default=DEFAULT_METHODS,
    key="pg_methods",
    format_func=lambda k: GENERIC_LABELS.get(k) or MethodSpec(k).label,
)
methods = methods or []
knobs = st.columns(4)
budget_n = words = thinking_budget = effort = hard_budget = None
if "budget" in methods:
    budget_n = knobs[0].number_input(
        "Budget N (tokens)",
        min_value=1,
        max_value=100_000,
        value=50,
        step=10,
        key="pg_budget",
        help="The prompt says 'use less than N tokens'.",
    )
if "constrained" in methods:
    words = knobs[1].number_input(
        "Word limit (Constrained CoT)", min_value=1, max_value=10_000, value=50, key="pg_words"
    )
if "thinking" in methods:
    thinking_budget = knobs[2].number_input(
        "Thinking budget (tokens)",
        min_value=1024,
        max_value=64_000,
        value=2048,
        step=256,
        key="pg_thinking",
        help="Anthropic extended thinking: at least 1024 and below the max output tokens.",
    )
if "effort" in methods:
    effort = knobs[3].selectbox(
        "Reasoning effort",
        effort_choices(sb.models),
        key="pg_effort",
        help="By the provider's own names; a model that lacks the level chosen says so on its card.",
    )
if "forced" in methods:
    hard_budget = st.number_input(
        "Hard budget N (tokens)",
        min_value=1,
        max_value=100_000,
        value=100,
        step=10,
        key="pg_forced",
        help="Budget forcing: the model reasons for at most N tokens, then 'Final Answer:' is forced.",
    )

with st.expander("More settings"):
    t1, t2, t3, t4 = st.columns(4)
    max_tokens = t1.number_input(
        "Max output tokens",
        min_value=16,
        max_value=64_000,
        value=1024,
        step=64,
        key="pg_max_tokens",
        help="Hard cap sent to the provider (not the TALE budget).",
    )
    temperature = t2.slider("Temperature", 0.0, 2.0, 0.0, 0.1, key="pg_temperature")
    seed = t3.number_input("Seed", min_value=0, max_value=2**31 - 1, value=0, key="pg_seed")
    use_cache = t4.toggle(
        "Reuse cached answers",
        value=True,
        key="pg_use_cache",
        help="Deterministic calls (temperature 0, fixed seed) already made are free.",
    )

run = st.button("Run", type="primary", disabled=not sb.models)
if not sb.models:
    st.info("Pick a model in the sidebar to run. Without API keys, local/smollm2 runs on this machine.")


def spec_for(key: str) -> MethodSpec:
    if key == "budget":
        return MethodSpec(key, budget=int(budget_n))
    if key == "constrained":
        return MethodSpec(key, budget=int(words))
    if key == "thinking":
        return MethodSpec(key, budget=int(thinking_budget))
    if key == "effort":
        return MethodSpec(key, effort=effort)
    if key == "forced":
        return MethodSpec(key, budget=int(hard_budget))
    return MethodSpec(key)


def per_row(n: int) -> int:
    """Four cards fit a row; more wrap by three."""
    return n if 1 <= n <= 4 else 3


def unsupported(method: MethodSpec, spec: str) -> str | None:
    """Why ``method`` cannot run on model ``spec`` (None when it can)."""
    try:
        check_method_supported(capabilities_for(*parse_spec(spec)), method)
    except UnsupportedMethod as e:
        return str(e).replace("this model", spec)
    return None


ran_now = False
if run:
    q_err, g_err = validate.question(question), validate.gold(gold)
    if q_err:
        question_msg.error(q_err)
    if g_err:
        gold_msg.error(g_err)
    if not methods:
        st.error("Pick at least one method.")
    if not (q_err or g_err or qi.choices_error) and methods:
        specs = [spec_for(k) for k in methods]
        params = GenParams(max_tokens=int(max_tokens), temperature=float(temperature), seed=int(seed))
        config = PlaygroundConfig(
            question=question.strip(),
            methods=tuple(specs),
            models=tuple(sb.models),
            gold=gold.strip() or None,
            choices=qi.choices,
            params=params,
            use_cache=None if use_cache else False,
        )
        # a click during streaming interrupts this script run: the experiment is then closed as cancelled
        with playground_job.recording(config, question.strip()[:80]) as rec:
            for spec in sb.models:
                st.subheader(render.md_escape(spec))
                slots = method_cards.card_grid([m.label for m in specs], per_row=per_row(len(specs)))
                try:
                    model = resolve(spec, sb.settings)
                except TaleError as e:
                    for s in slots:
                        method_cards.show_message(s, str(e))
                    continue
                rec.runs[spec] = []
                for method, slot in zip(specs, slots):
                    why = unsupported(method, spec)
                    if why:
                        method_cards.show_message(slot, why, status="ungraded")
                        continue
                    method_cards.run_into_card(
                        slot, lambda on_text, m=method, mdl=model: rec.one(mdl, m, on_text=on_text)
                    )
        runs, exp_id = rec.runs, rec.experiment_id
        st.session_state[RESULTS_KEY] = {"question": question.strip(), "runs": runs, "experiment": exp_id}
        ran_now = True


def summary(last: dict) -> None:
    """The table under the cards, and where the run was saved."""
    rows = [{"model": spec, **r.to_row()} for spec, rs in last["runs"].items() for r in rs]
    if rows:
        st.markdown("**Summary**")
        render.rows_table(
            rows,
            columns=[
                "model",
                "spec",
                "status",
                "extracted",
                "output_tokens",
                "input_tokens",
                "cost_usd",
                "latency_s",
                "cache_hit",
            ],
            key="pg_summary",
        )
    services.experiment_link(last.get("experiment"))


last = st.session_state.get(RESULTS_KEY)
if last and not ran_now:  # a rerun (any widget): redraw the last results without calling the models again
    if last.get("question") != (question or "").strip():
        st.caption("Results below are for an earlier question.")
    for spec, results in last["runs"].items():
        st.subheader(render.md_escape(spec))
        labels = [r.method.label for r in results]
        for slot, r in zip(method_cards.card_grid(labels, per_row=per_row(len(labels))), results):
            method_cards.show_result(slot, r)
if last:
    summary(last)
