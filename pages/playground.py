"""Playground: one question, several methods side by side, for each model picked in the sidebar."""

from __future__ import annotations

import streamlit as st

from tale_core.engine.prompts import PAPER, PROMPT_STYLES
from tale_core.errors import TaleError
from tale_core.experiments.playground import PlaygroundConfig
from tale_core.providers import resolve
from tale_core.types import GenParams
from ui import (
    exports,
    hosted,
    inputs,
    method_cards,
    method_picker,
    playground_job,
    render,
    services,
    sidebar,
    titles,
    validate,
)

DEFAULT_METHODS = ["direct", "vanilla", "tale-ep", "budget"]
RESULTS_KEY = "pg_results"

st.title("Playground")
st.caption(
    "Ask one question several ways and compare the answers, the tokens they spent and what they cost. "
    "TALE-EP first asks the model to estimate a token budget, then asks again with that budget."
)

sb = sidebar.current()

qi = inputs.question_input("pg")
question, gold, question_msg, gold_msg = qi.question, qi.gold, qi.question_msg, qi.gold_msg


methods = method_picker.pick(sb.models, key="pg_methods", default=DEFAULT_METHODS)
# effort levels by the picked models' own names; a model that lacks the level chosen says so on its card
method_args = method_picker.arguments(methods, prefix="pg", models=sb.models)

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
    prompt_style = st.selectbox(
        "Prompt style",
        list(PROMPT_STYLES),
        index=list(PROMPT_STYLES).index(PAPER),
        format_func=PROMPT_STYLES.__getitem__,
        key="pg_prompt_style",
        help="paper: the TALE paper's templates. plain: the same without the answer-format line, which small "
        "local models follow better (Qwen2.5-Coder-1.5B skips its reasoning under the paper's format line).",
    )

run = st.button("Run", type="primary", disabled=not sb.models)
if not sb.models:
    st.info("Pick a model in the sidebar to run. Without API keys, local/smollm2 runs on this machine.")


def per_row(n: int) -> int:
    """Four cards fit a row; more wrap by three."""
    return n if 1 <= n <= 4 else 3


ran_now = False
if run:
    q_err, g_err = validate.question(question), validate.gold(gold)
    if q_err:
        question_msg.error(q_err)
    if g_err:
        gold_msg.error(g_err)
    if not methods:
        st.error("Pick at least one method.")
    if not (q_err or g_err or qi.choices_error) and methods and hosted.allow_run("playground", sb.models):
        specs = method_picker.specs(methods, method_args)
        params = GenParams(max_tokens=int(max_tokens), temperature=float(temperature), seed=int(seed))
        config = PlaygroundConfig(
            question=question.strip(),
            methods=tuple(specs),
            models=tuple(sb.models),
            gold=gold.strip() or None,
            choices=qi.choices,
            params=params,
            use_cache=None if use_cache else False,
            prompt_style=prompt_style,
        )
        # a click during streaming interrupts this script run: the experiment is then closed as cancelled
        title = titles.run_title(
            "Playground",
            question,
            f"{len(specs)} method{'s' if len(specs) != 1 else ''} · {titles.models_word(sb.models)}",
        )
        with playground_job.recording(config, title) as rec:
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
                    why = method_picker.unsupported(method, spec)
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
    rows = exports.playground_summary(last["runs"])
    if rows:
        st.markdown("**Summary**")
        render.rows_table(rows, key="pg_summary", column_config={"Model": st.column_config.TextColumn(width="medium")})
        exports.download_row(rows, name="playground-summary", key="pg_summary_dl", label="summary")
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
