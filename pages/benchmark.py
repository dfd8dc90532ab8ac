"""Benchmark: a question set x methods x models, summarised like the paper's Table 3."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from tale_core.data.datasets import Dataset, load_dataset, load_samples, resolve_server_dir, resolve_server_path
from tale_core.errors import TaleError
from tale_core.experiments.table3 import load_table3, table3_items
from tale_core.providers import resolve
from tale_core.types import GenParams
from ui import bench_job, bench_view, hosted, method_picker, render, server_files, services, sidebar, stored
from ui.jobs import grid_job_head, open_started, registry, rerun_when_finished, show_live

LIVE_EVERY_S = 1.0
SOURCES = ("Bundled samples", "Upload a file", "File on the server", "Table 3 preset (paper's datasets)")

st.title("Benchmark")
st.caption(
    "Run a set of questions with several methods and compare accuracy, output tokens and cost, like "
    "Table 3 of the TALE paper (its GPT-4o-mini figures are shown beside yours)."
)

sb = sidebar.current()
experiment_id = services.linked_experiment_id()


def job_view(job_id: str) -> None:
    job = grid_job_head(job_id, "benchmark", bench_view.progress, cancel_key="bm_cancel")
    if job is None:
        return
    rows = job.outcome.rows if job.outcome is not None else job.snapshot()
    ds_cfg = job.config.get("dataset") or {}
    bench_view.results(rows, dataset_name=ds_cfg.get("name", ""), key="bm_job", dataset_config=ds_cfg)
    rerun_when_finished(job, "bm_watching")


if experiment_id:
    st.button("New benchmark", on_click=services.forget_linked_experiment)
    job = registry().get(experiment_id)
    if job is not None:
        st.subheader(render.md_escape(job.title))
        st.caption(render.md_escape(bench_view.config_line(job.config)))
        show_live(job, job_view, watch_key="bm_watching", every_s=LIVE_EVERY_S)
    else:
        found = stored.open_or_stop(experiment_id, "benchmark")
        st.subheader(render.md_escape(found.detail.title))
        st.caption(render.md_escape(bench_view.config_line(found.detail.config)))

        def stored_view(eid: str) -> None:
            """From the database, so a run started by another app process shows live too."""
            f = stored.open_or_stop(eid, "benchmark")
            detail, rows = f.detail, f.result
            stored.show_progress(f, bench_view.progress, sum(1 for r in rows if r.get("status") == "error"))
            ds_cfg = detail.config.get("dataset") or {}
            bench_view.results(rows, dataset_name=ds_cfg.get("name", ""), key="bm_stored", dataset_config=ds_cfg)
            stored.rerun_when_stored_run_ends(f, "bm_watching_stored")

        stored.show_live(found, stored_view, "bm_watching_stored", every_s=LIVE_EVERY_S)
    services.experiment_link(experiment_id if services.get_store() is not None else None)
    st.stop()

# ---------------------------------------------------------------- a new benchmark
sources = SOURCES if server_files.enabled() and hosted.paths_allowed() else SOURCES[:2]
source_kind = st.radio("Questions", sources, horizontal=True, key="bm_source")
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
            "File in the app's data folder (JSONL, JSON or CSV)",
            key="bm_path",
            help="Only files inside the data folder the host allowed can be read; upload anything else.",
        )
        if path.strip():
            dataset = server_files.load(path.strip())
            name = dataset.name
            if Path(path.strip()).parent.name and name.startswith(("cloze_", "single_choice_")):
                name = f"{Path(path.strip()).parent.name}/{name}"  # MathBench: the subset picks the paper row
            source = {"source": "path", "path": path.strip(), "name": name}
        else:
            st.info("Type the name of a question file in the app's data folder, e.g. gsm8k_test.jsonl.")
    else:
        st.caption(
            "The paper's Table 3 from files in the app's data folder, in the official formats, each run with "
            "its official prompts. GSM8K: JSONL with answers ending in '#### N'; GSM8K-Zero: JSONL with float "
            "answers; MathBench v1: the folder holding arithmetic/, middle/, high/, college/ with "
            "cloze_en.jsonl, single_choice_en.jsonl, single_choice_cn.jsonl, ... Leave a field empty to skip "
            "that dataset."
        )
        t1, t2, t3 = st.columns(3)
        g_path = t1.text_input("GSM8K file", key="bm_t3_gsm8k").strip()
        z_path = t2.text_input("GSM8K-Zero file", key="bm_t3_zero").strip()
        m_path = t3.text_input("MathBench folder", key="bm_t3_mathbench").strip()
        per_ds = st.number_input("Questions per dataset", min_value=1, max_value=100_000, value=20, key="bm_t3_n")
        if g_path or z_path or m_path:
            base = server_files.root()
            sets = load_table3(
                gsm8k=resolve_server_path(g_path, base) if g_path else None,
                gsm8k_zero=resolve_server_path(z_path, base) if z_path else None,
                mathbench=resolve_server_dir(m_path, base) if m_path else None,
                limit=int(per_ds),
            )
            dataset = Dataset("Table 3", table3_items(sets), "table3 preset", "mixed", "jsonl")
            source = {
                "source": "table3",
                "preset": "table3",
                "name": "Table 3",
                "files": {"gsm8k": g_path, "gsm8k_zero": z_path, "mathbench": m_path},
                "datasets": [s.name for s in sets],
                "per_dataset": int(per_ds),
            }
            st.caption(render.md_escape(" · ".join(f"{s.name}: {len(s.dataset.items)}" for s in sets)))
        else:
            st.info("Type the name of at least one dataset file (or the MathBench folder) in the data folder.")
except TaleError as e:  # DatasetError lists every problem with its line
    st.error(render.md_text(str(e)))
    dataset = None

if dataset is not None:
    st.caption(render.md_escape(f"{dataset.name}: {len(dataset)} question(s), {dataset.kind.replace('_', ' ')}."))
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
    # every picked model runs every method, so only methods all of them can run are offered
    methods = method_picker.pick(sb.models, key="bm_methods", default=["direct", "vanilla", "tale-ep"], every=True)
    method_args = method_picker.arguments(methods, prefix="bm")
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
    specs = method_picker.specs(methods, method_args)
    calls = int(n) * len(sb.models) * method_picker.calls_per_question(specs)
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
    if start and not problems and (permit := hosted.allow_run("benchmark", sb.models)):
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
                spend_cap_usd=permit.clamp(float(spend_cap) or None),
            )
        except TaleError as e:
            st.error(render.md_text(str(e)))
        else:
            open_started(job, "bm_watching")

render.recent_jobs("benchmark", "pages/benchmark.py")
