"""Benchmark: a question set x methods x models, summarised like the paper's Table 3."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from tale_core.data.datasets import Dataset, load_dataset, load_samples
from tale_core.data.official import load_any
from tale_core.engine.methods import MethodSpec
from tale_core.errors import TaleError
from tale_core.experiments.table3 import load_table3, table3_items
from tale_core.providers import resolve
from tale_core.types import GenParams
from ui import bench_job, bench_view, render, services, sidebar
from ui.jobs import registry, rerun_when_finished, show_live

LIVE_EVERY_S = 1.0
METHOD_CHOICES = ("direct", "vanilla", "tale-ep", "budget", "concise", "cod")
SOURCES = ("Bundled samples", "Upload a file", "File on the server", "Table 3 preset (paper's datasets)")

st.title("Benchmark")
st.caption(
    "Run a set of questions with several methods and compare accuracy, output tokens and cost, like "
    "Table 3 of the TALE paper (its GPT-4o-mini figures are shown beside yours)."
)

sb = sidebar.current()
experiment_id = services.linked_experiment_id()


def job_view(job_id: str) -> None:
    job = registry().get(job_id)
    if job is None:
        st.warning("This benchmark is no longer running in this server.")
        return
    bench_view.progress(job.done, job.total, job.status, job.spent_usd, job.errors, job.elapsed_s())
    if job.running:
        if st.button("Cancel benchmark", key="bm_cancel"):
            registry().cancel(job_id)
    else:
        for note in job.notes:
            st.caption(note)
        if job.error:
            st.error(f"The benchmark stopped with an error: {job.error}")
    rows = job.outcome.rows if job.outcome is not None else job.snapshot()
    ds_cfg = job.config.get("dataset") or {}
    bench_view.results(rows, dataset_name=ds_cfg.get("name", ""), key="bm_job", dataset_config=ds_cfg)
    rerun_when_finished(job, "bm_watching")


if experiment_id:
    st.button("New benchmark", on_click=services.forget_linked_experiment)
    job = registry().get(experiment_id)
    if job is not None:
        st.subheader(render.md_escape(job.title))
        st.caption(bench_view.config_line(job.config))
        show_live(job, job_view, watch_key="bm_watching", every_s=LIVE_EVERY_S)
    else:
        try:
            detail, rows = bench_job.load_benchmark(experiment_id)
        except TaleError as e:
            st.error(str(e))
            st.stop()
        if detail.kind != "benchmark":
            st.warning(f"Experiment {experiment_id} is a {detail.kind}, not a benchmark.")
            st.stop()
        st.subheader(render.md_escape(detail.title))
        st.caption(bench_view.config_line(detail.config))
        total = (
            len(detail.config.get("item_ids") or [])
            * len(detail.config.get("methods") or [])
            * len(detail.config.get("models") or [])
        )
        bench_view.progress(
            len(rows),
            total or len(rows),
            detail.status,
            detail.cost_usd,
            sum(1 for r in rows if r.get("status") == "error"),
            None,
        )
        ds_cfg = detail.config.get("dataset") or {}
        bench_view.results(rows, dataset_name=ds_cfg.get("name", ""), key="bm_stored", dataset_config=ds_cfg)
    services.experiment_link(experiment_id if services.get_store() is not None else None)
    st.stop()

# ---------------------------------------------------------------- a new benchmark
source_kind = st.radio("Questions", SOURCES, horizontal=True, key="bm_source")
dataset, source, upload = None, None, None
try:
    if source_kind == SOURCES[0]:
        which = st.selectbox(
            "Sample set", list(bench_job.SAMPLE_SETS), format_func=bench_job.SAMPLE_SETS.get, key="bm_which"
        )
        dataset = load_samples(which)
        source = {"source": "samples", "which": which, "name": dataset.name}
    elif source_kind == SOURCES[1]:
        upload = st.file_uploader(
            "JSONL, JSON or CSV with question and answer fields (GSM8K style works)",
            type=["jsonl", "ndjson", "json", "csv", "tsv"],
            key="bm_upload",
        )
        if upload is None:
            st.info("Upload a file: one question per line (JSONL) or row (CSV), with 'question' and 'answer'.")
        else:
            dataset = load_dataset(upload.getvalue(), name=upload.name)
    elif source_kind == SOURCES[2]:
        path = st.text_input(
            "Path of a JSONL, JSON or CSV file, a Hugging Face save_to_disk folder or a parquet file on the server",
            key="bm_path",
        )
        if path.strip():
            dataset = load_any(path.strip())
            name = dataset.name
            if Path(path.strip()).parent.name and name.startswith(("cloze_", "single_choice_")):
                name = f"{Path(path.strip()).parent.name}/{name}"  # MathBench: the subset picks the paper row
            source = {"source": "path", "path": path.strip(), "name": name}
        else:
            st.info("Type the path of a question file on the machine that runs this app.")
    else:
        st.caption(
            "The paper's Table 3: files in the official formats on the server, each run with its official "
            "prompts. GSM8K: JSONL with answers ending in '#### N'; GSM8K-Zero: JSONL with float answers; "
            "MathBench v1: the folder holding arithmetic/, middle/, high/, college/ with cloze_en.jsonl, "
            "single_choice_en.jsonl, single_choice_cn.jsonl, ... Leave a field empty to skip that dataset."
        )
        t1, t2, t3 = st.columns(3)
        g_path = t1.text_input("GSM8K file", key="bm_t3_gsm8k").strip()
        z_path = t2.text_input("GSM8K-Zero file", key="bm_t3_zero").strip()
        m_path = t3.text_input("MathBench folder", key="bm_t3_mathbench").strip()
        per_ds = st.number_input("Questions per dataset", min_value=1, max_value=100_000, value=20, key="bm_t3_n")
        if g_path or z_path or m_path:
            sets = load_table3(
                gsm8k=g_path or None, gsm8k_zero=z_path or None, mathbench=m_path or None, limit=int(per_ds)
            )
            table3_sets = [s.name for s in sets]
            items3 = table3_items(sets)
            dataset = Dataset("Table 3", items3, "table3 preset", "mixed", "jsonl")
            source = {
                "source": "table3",
                "preset": "table3",
                "name": "Table 3",
                "files": {"gsm8k": g_path, "gsm8k_zero": z_path, "mathbench": m_path},
                "datasets": table3_sets,
                "per_dataset": int(per_ds),
            }
            st.caption(" · ".join(f"{s.name}: {len(s.dataset.items)}" for s in sets))
        else:
            st.info("Type the path of at least one dataset.")
except TaleError as e:  # DatasetError lists every problem with its line
    st.error(str(e))
    dataset = None

if dataset is not None:
    st.caption(f"{dataset.name}: {len(dataset)} question(s), {dataset.kind.replace('_', ' ')}.")
    c1, c2 = st.columns(2)
    if source_kind == SOURCES[3]:
        n, shuffle = len(dataset), False  # the per-dataset number above decides
    else:
        n = c1.number_input(
            "Questions to run", min_value=1, max_value=len(dataset), value=min(10, len(dataset)), key="bm_n"
        )
        shuffle = c2.checkbox(
            "Random sample (seed 0)", value=False, key="bm_shuffle", help="Otherwise the first questions of the file."
        )
    methods = (
        st.pills(
            "Methods",
            METHOD_CHOICES,
            selection_mode="multi",
            default=["direct", "vanilla", "tale-ep"],
            key="bm_methods",
            format_func=lambda k: "Budget N" if k == "budget" else MethodSpec(k).label,
        )
        or []
    )
    budget_n = None
    if "budget" in methods:
        budget_n = st.number_input("Budget N (tokens)", min_value=1, max_value=100_000, value=50, key="bm_budget")
    with st.expander("More settings"):
        m1, m2, m3 = st.columns(3)
        max_tokens = m1.number_input(
            "Max output tokens", min_value=16, max_value=64_000, value=1024, step=64, key="bm_max_tokens"
        )
        temperature = m2.slider("Temperature", 0.0, 2.0, 0.0, 0.1, key="bm_temperature")
        spend_cap = m3.number_input(
            "Spend cap (USD, 0 = none)",
            min_value=0.0,
            max_value=1000.0,
            value=1.0,
            step=0.5,
            format="%.2f",
            key="bm_cap",
        )
    specs = [MethodSpec("budget", budget=int(budget_n)) if k == "budget" else MethodSpec(k) for k in methods]
    calls = int(n) * len(sb.models) * sum(2 if m.key == "tale-ep" else 1 for m in specs)
    st.caption(
        f"{int(n)} question(s) x {len(specs)} method(s) x {len(sb.models)} model(s): about {calls} call(s). "
        "Deterministic calls made before are free from the cache."
    )
    problems = []
    if not sb.models:
        problems.append("Pick at least one model in the sidebar.")
    if not specs:
        problems.append("Pick at least one method.")
    start = st.button("Start benchmark", type="primary", disabled=bool(problems))
    for p in problems:
        st.info(p)
    if start and not problems:
        try:
            items = bench_job.choose_items(dataset, int(n), shuffle_seed=0 if shuffle else None)
            if source is None:  # an upload: keep it so the run can be repeated
                source = bench_job.keep_upload(dataset)
            models = {spec: resolve(spec, sb.settings) for spec in sb.models}
            job = bench_job.start_benchmark(
                items,
                specs,
                models,
                source=source,
                title=f"Benchmark: {dataset.name}, {len(items)} questions",
                params=GenParams(max_tokens=int(max_tokens), temperature=float(temperature), seed=0),
                spend_cap_usd=float(spend_cap) or None,
            )
        except TaleError as e:
            st.error(str(e))
        else:
            st.session_state["bm_watching"] = job.id
            st.query_params["experiment"] = job.id
            st.rerun()

render.recent_jobs("benchmark", "pages/benchmark.py")
