"""Budget search: find the cheapest budget that still answers correctly, the paper's way and ours."""

from __future__ import annotations

import streamlit as st

from tale_core.errors import TaleError
from tale_core.providers import resolve
from tale_core.types import GenParams
from ui import hosted, inputs, render, search_job, search_view, services, sidebar, stored, validate
from ui.jobs import open_started, registry, rerun_when_finished, show_live

LIVE_EVERY_S = 1.0

st.title("Budget search")
st.caption(
    "Find the smallest token budget that still gets the right answer. The paper's search halves the "
    "budget while the answer stays correct and shorter. Ours replays those halvings (so it never ends "
    "dearer than the paper's), then spends a few more calls looking past bumps and narrowing in on the "
    "cheapest correct budget. Both start from one vanilla CoT answer."
)

sb = sidebar.current()
experiment_id = services.linked_experiment_id()


def header(title: str, config: dict) -> None:
    st.subheader(render.md_escape(title))
    st.caption(render.md_escape(f"Model {config.get('model')} · gold answer {config.get('gold')}"))
    with st.expander("Question"):
        render.model_text(str(config.get("question", "")))


def job_view(job_id: str) -> None:
    job = registry().get(job_id)
    if job is None:
        st.warning("This search is no longer running in this server.")
        return
    if job.running:
        st.progress(0.5 if job.done else 0.1, text=f"Running ({job.extra.get('phase')}): {job.done} probe(s) so far")
        if hosted.can_edit(job_id) and st.button("Cancel search", key="se_cancel"):
            registry().cancel(job_id)
    elif job.error:
        st.error(render.md_escape(f"The search stopped with an error: {job.error}"))
    elif job.status == "cancelled":
        st.warning("Cancelled.")
    search_view.results(search_job.live_results(job), list(job.extra.get("curve") or []), key="se_job")
    rerun_when_finished(job, "se_watching")


if experiment_id:
    st.button("New search", on_click=services.forget_linked_experiment)
    job = registry().get(experiment_id)
    if job is not None:
        header(job.title, job.config)
        show_live(job, job_view, watch_key="se_watching", every_s=LIVE_EVERY_S)
    else:
        found = stored.open_or_stop(experiment_id, "search")
        detail = found.detail
        header(detail.title, detail.config)
        summary = detail.summary or {}
        results = {a: dict(r) for a, r in (summary.get("results") or {}).items()}
        for algo in results:  # runs whose summary kept no probes (e.g. the CLI's): rebuilt from the calls
            if not results[algo].get("probes"):
                results[algo]["probes"] = found.result.get(algo, [])
        if not results:
            st.info(render.md_escape(f"This search ended as '{detail.status}' before any algorithm finished."))
        search_view.results(results, summary.get("curve") or [], key="se_stored")
    services.experiment_link(experiment_id if services.get_store() is not None else None)
    st.stop()

qi = inputs.question_input("se", height=100, gold_label="Gold answer (required)")
c1, c2 = st.columns([2, 3])
spec = c1.selectbox("Model", sb.models, key="se_model") if sb.models else None
algorithms = (
    c2.pills(
        "Searches",
        list(search_job.ALGORITHMS),
        selection_mode="multi",
        default=list(search_job.ALGORITHMS),
        key="se_algorithms",
        format_func=search_job.ALGORITHMS.get,
    )
    or []
)
with st.expander("More settings"):
    m1, m2, m3 = st.columns(3)
    max_calls = m1.number_input(
        "Max calls (bracketing search)",
        min_value=2,
        max_value=30,
        value=8,
        key="se_max_calls",
        help="Caps the calls after the paper's halving chain, which always runs to its end.",
    )
    max_tokens = m2.number_input(
        "Max output tokens", min_value=16, max_value=64_000, value=1024, step=64, key="se_max_tokens"
    )
    sample_curve = m3.checkbox(
        "Also sample the curve",
        value=False,
        key="se_curve",
        help=f"{search_job.CURVE_POINTS} more budget calls on a log grid, to draw the curve the searches walk on.",
    )

problems = [p for p in (validate.question(qi.question), validate.gold(qi.gold), qi.choices_error) if p]
if not qi.gold.strip():
    problems.append("A gold answer is needed: the search keeps a budget only if the answer stays correct.")
if spec is None:
    problems.append("Pick a model in the sidebar.")
if not algorithms:
    problems.append("Pick at least one search.")
start = st.button("Start search", type="primary", disabled=bool(problems))
for p in problems:
    st.info(render.md_escape(p))

if start and not problems and hosted.allow_run("search", [spec]):
    try:
        model = resolve(spec, sb.settings)
        job = search_job.start_search(
            model,
            qi.question.strip(),
            qi.gold.strip(),
            params=GenParams(max_tokens=int(max_tokens), temperature=0.0, seed=0),
            algorithms=list(algorithms),
            title=f"Search: {qi.question.strip()[:60]}",
            sample_curve=sample_curve,
            max_calls=int(max_calls),
            choices=qi.choices,
        )
    except TaleError as e:
        st.error(render.md_text(str(e)))
    else:
        open_started(job, "se_watching")

render.recent_jobs("search", "pages/search.py")
