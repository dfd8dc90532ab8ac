"""Elasticity sweep: one question, many budgets, one or more models; the curve draws itself live."""

from __future__ import annotations

import dataclasses

import streamlit as st

from tale_core.engine.method_registry import get_method
from tale_core.errors import TaleError
from tale_core.experiments.sweep import SWEEP_METHODS, SweepConfig, preview_cost
from tale_core.providers import resolve
from ui import fmt, hosted, inputs, jobs, render, services, sidebar, stored, sweep_job, sweep_view, titles, validate
from ui.jobs import registry, rerun_when_finished, show_live

#: how the page names the built-in ways of giving a budget (other sweepable methods show their label)
SWEEP_METHOD_LABELS = {
    "budget": "In the prompt (TALE)",
    "constrained": "Word limit",
    "thinking": "Thinking budget (provider)",
    "forced": "Hard budget (budget forcing)",
}

LIVE_EVERY_S = 1.0

st.title("Elasticity sweep")
st.caption(
    "Ask one question with many token budgets and watch how many tokens the model really spends. "
    "Below some budget, models stop complying and spend more again: that is token elasticity."
)

sb = sidebar.current()
experiment_id = services.linked_experiment_id()
if not experiment_id:  # back from another page: reattach the sweep this session started
    mine = jobs.session_job("sweep")
    if mine is not None:
        experiment_id = mine.id
        st.query_params["experiment"] = mine.id


# ---------------------------------------------------------------- one sweep (live or stored)
def show_job_header(title: str, config: dict) -> None:
    st.subheader(render.md_escape(title))
    st.caption(render.md_escape(sweep_view.config_line(config)))
    if config.get("question"):
        with st.expander("Question"):
            render.model_text(str(config["question"]))
            if config.get("gold"):
                st.caption(render.md_escape(f"Gold answer: {config['gold']}"))


def job_view(job_id: str) -> None:
    """Progress, cancel and results of a job in this server; a timed fragment redraws it while it runs."""
    job = registry().get(job_id)
    if job is None:
        st.warning("This sweep is no longer running in this server.")
        return
    sweep_view.progress(job.done, job.total, job.status, job.spent_usd, job.errors, job.elapsed_s())
    if job.running and hosted.can_edit(job_id):
        if st.button("Cancel sweep", key="sw_cancel"):
            registry().cancel(job_id)
            st.toast("Cancelling: calls already running will finish.")
    else:
        for note in job.notes:
            st.caption(render.md_escape(note))
        if job.error:
            st.error(render.md_escape(f"The sweep stopped with an error: {job.error}"))
    cells = job.snapshot()
    sweep_view.results(cells, key="sw_job", version=(job.id, len(cells)))
    rerun_when_finished(job, "sw_watching")


def new_sweep() -> None:
    """Back to the form, filled with the settings of the sweep just shown (to change one and go again)."""
    services.forget_linked_experiment()
    job = jobs.forget_session_job("sweep") or registry().get(experiment_id)
    if job is not None:
        sweep_view.restore_form("sw", job.config)


if experiment_id:
    st.button("New sweep", on_click=new_sweep)
    job = registry().get(experiment_id)
    if job is not None:
        show_job_header(job.title, job.config)
        show_live(job, job_view, watch_key="sw_watching", every_s=LIVE_EVERY_S)
    else:
        found = stored.open_or_stop(experiment_id, "sweep")
        show_job_header(found.detail.title, found.detail.config)

        def stored_view(eid: str) -> None:
            """From the database, so a run started by another app process shows live too."""
            f = stored.open_or_stop(eid, "sweep")
            detail, cells = f.detail, f.result
            sweep_view.progress(
                len(cells),
                f.planned or len(cells),
                detail.status,
                detail.cost_usd,
                sum(1 for c in cells if not c.result.ok),
                None,
            )
            sweep_view.results(cells, key="sw_stored", version=(eid, detail.status, len(cells)))
            stored.rerun_when_stored_run_ends(f, "sw_watching_stored")

        stored.show_live(found, stored_view, "sw_watching_stored", every_s=LIVE_EVERY_S)
    services.experiment_link(experiment_id if services.get_store() is not None else None)
    st.stop()

# ---------------------------------------------------------------- a new sweep
qi = inputs.question_input("sw", height=100)
budgets, budget_err = inputs.budget_input("sw")
c1, c2, c3 = st.columns(3)
repeats = c1.number_input(
    "Repeats per budget",
    min_value=1,
    max_value=20,
    value=1,
    key="sw_repeats",
    help="Several repeats show the spread; use temperature > 0 or they repeat exactly.",
)
spend_cap = c2.number_input(
    "Spend cap (USD, 0 = none)",
    min_value=0.0,
    max_value=1000.0,
    value=0.5,
    step=0.1,
    format="%.2f",
    key="sw_cap",
    help="The sweep stops scheduling calls once spent.",
)
include_reference = c3.checkbox(
    "Vanilla CoT reference", value=True, key="sw_reference", help="Also ask without a budget, to compare against."
)
with st.expander("More settings"):
    m1, m2, m3, m4 = st.columns(4)
    # offer only the budget kinds every chosen model has (a thinking sweep on a model without thinking
    # budgets would send the same request at every budget)
    from tale_core.providers import parse_spec
    from tale_core.providers.catalog import capabilities_for

    def _offered(m: str) -> bool:
        for spec in sb.models:
            try:
                if m not in capabilities_for(*parse_spec(spec)).sweep_methods():
                    return False
            except TaleError:
                return False
        return True

    offered = [m for m in SWEEP_METHODS if _offered(m)] or ["budget"]
    method = m1.selectbox(
        "How the budget is given",
        offered,
        key="sw_method",
        format_func=lambda k: SWEEP_METHOD_LABELS.get(k) or get_method(k).label,
        help="Only what every chosen model takes is offered: thinking budgets need a model with them, hard "
        "budgets a runtime that continues the model's text (the embedded models).",
    )
    temperature = m2.slider("Temperature", 0.0, 2.0, 0.0, 0.1, key="sw_temperature")
    seed = m3.number_input("Seed", min_value=0, max_value=2**31 - 1, value=0, key="sw_seed")
    max_tokens = m4.number_input(
        "Max output tokens", min_value=16, max_value=64_000, value=1024, step=64, key="sw_max_tokens"
    )
    use_cache = st.toggle(
        "Reuse cached answers", value=True, key="sw_use_cache", help="Deterministic calls already made are free."
    )

q_err, g_err = validate.question(qi.question), validate.gold(qi.gold)
if q_err and qi.question:  # a question was typed but cannot be used: say so right under it
    qi.question_msg.error(q_err)
if g_err:
    qi.gold_msg.error(g_err)
problems = [p for p in (q_err, g_err, budget_err, qi.choices_error) if p]
#: messages already shown where they were typed, not repeated under the Start button
shown_in_place = {p for p in (q_err if qi.question else None, g_err, budget_err, qi.choices_error) if p}
if not sb.models:
    problems.append("Pick at least one model in the sidebar.")
config = None
models = {}
if not problems:
    config = SweepConfig(
        question=qi.question.strip(),
        gold=qi.gold.strip() or None,
        models=tuple(sb.models),
        budgets=tuple(budgets),
        repeats=int(repeats),
        include_reference=include_reference,
        choices=qi.choices,
        temperature=float(temperature),
        seed=int(seed),
        max_tokens=int(max_tokens),
        spend_cap_usd=float(spend_cap) or None,
        use_cache=None if use_cache else False,
        method=method,
    )
    try:
        config.validate()
        models = {spec: resolve(spec, sb.settings) for spec in config.models}
        from tale_core.providers.capabilities import check_method_supported

        for _m in models.values():
            for _b in config.budgets:
                check_method_supported(_m, f"{config.method}:{_b}", max_tokens=config.max_tokens)
        preview = preview_cost(config, models, cache=services.call_cache(), validated=True)
    except TaleError as e:
        problems.append(str(e))
        config = None

if config is not None:
    with st.container(border=True):
        st.markdown("**Before you start**")
        p1, p2, p3 = st.columns(3)
        p1.metric("Calls", preview.calls, help=f"{preview.cached_calls} more are already cached (free).")
        p2.metric("Estimated cost", fmt.usd(preview.total_usd), help="Output tokens are a guess.")
        p3.metric("Worst case", fmt.usd(preview.worst_case_usd), help="If every call wrote max output tokens.")
        for note in preview.notes:
            st.caption(render.md_escape(note))
        if config.spend_cap_usd:
            st.caption(f"Spend cap: the sweep stops scheduling calls after {fmt.usd(config.spend_cap_usd)}.")

start = st.button("Start sweep", type="primary", disabled=config is None)
if problems and (qi.question or not sb.models):
    for p in problems:
        if p not in shown_in_place:
            st.info(render.md_escape(p))
elif problems:
    st.info("Type a question (or load an example) to see the cost preview and start.")

if (
    start
    and config is not None
    and (permit := hosted.allow_run("sweep", config.models, estimate_usd=preview.total_usd))
):
    try:
        config = dataclasses.replace(config, spend_cap_usd=permit.clamp(config.spend_cap_usd))
        settings = (
            f"{len(config.budgets)} budgets {min(config.budgets)}-{max(config.budgets)} · "
            f"{titles.models_word(config.models)}"
        )
        job = sweep_job.start_sweep(
            config, models, title=titles.run_title("Sweep", config.question, settings), validated=True
        )
    except TaleError as e:
        st.error(render.md_text(str(e)))
    else:
        st.session_state["sw_watching"] = job.id
        jobs.remember_session_job("sweep", job.id)
        st.query_params["experiment"] = job.id
        st.rerun()

render.recent_jobs("sweep", "pages/sweep.py")
