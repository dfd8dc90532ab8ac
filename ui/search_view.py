"""Drawing budget-search results (live or stored): the two algorithms side by side and their paths."""

from __future__ import annotations

import streamlit as st

from tale_core.analysis import charts

from . import fmt, render
from .search_job import ALGORITHMS

PROBE_COLUMNS = [
    "step",
    "phase",
    "budget",
    "output_tokens",
    "status",
    "extracted",
    "accepted",
    "note",
    "cost_usd",
    "cache_hit",
]


def _summary_card(algo: str, res: dict) -> None:
    with st.container(border=True):
        st.markdown(f"**{ALGORITHMS.get(algo, algo)}**")
        if res.get("running"):
            st.caption(f"Running: {len(res.get('probes') or [])} call(s) so far.")
            return
        chosen = res.get("chosen_budget")
        c1, c2, c3 = st.columns(3)
        c1.metric("Chosen budget", "none" if chosen is None else f"{chosen}")
        c2.metric(
            "Tokens spent",
            fmt.tokens(res.get("chosen_tokens")),
            help="Output tokens of the answer at the chosen budget.",
        )
        savings = res.get("savings")
        c3.metric("Saved vs vanilla", "-" if savings is None or chosen is None else fmt.percent(savings))
        st.caption(
            f"{res.get('calls', 0)} call(s), {fmt.tokens(res.get('total_output_tokens'))} output tokens in "
            f"all, cost {fmt.usd(res.get('total_cost_usd'))}."
        )
        if res.get("reason"):
            st.caption(render.md_escape(str(res["reason"])))


def results(results_by_algo: dict[str, dict], curve: list[dict], *, key: str) -> None:
    if not results_by_algo:
        st.info("No calls finished yet: the vanilla CoT reference comes first.")
        return
    cols = st.columns(max(1, len(results_by_algo)))
    for col, (algo, res) in zip(cols, results_by_algo.items()):
        with col:
            _summary_card(algo, res)
    first = next(iter(results_by_algo.values()))
    ref = (first.get("probes") or [{}])[0]
    ref_tokens = ref.get("output_tokens") if ref.get("budget") is None and ref.get("status") != "error" else None
    paths = {ALGORITHMS.get(a, a): r.get("probes") or [] for a, r in results_by_algo.items()}
    probe_points = [
        p
        for r in results_by_algo.values()
        for p in (r.get("probes") or [])
        if p.get("budget") is not None and p.get("status") != "error"
    ]
    curve_points = curve or probe_points
    chosen = {
        ALGORITHMS.get(a, a): (r["chosen_budget"], r.get("chosen_tokens") or 0)
        for a, r in results_by_algo.items()
        if r.get("chosen_budget") is not None
    }
    st.plotly_chart(
        charts.search_path_figure(paths, curve=curve_points, reference_tokens=ref_tokens, chosen=chosen),
        key=f"{key}_path",
    )
    st.caption(
        "Numbers are the order of the calls; a cross marks a rejected probe; green = correct, "
        "red = wrong; a star marks each search's choice. The grey line is every budget tried"
        + (" plus the sampled curve." if curve else ".")
    )
    for algo, res in results_by_algo.items():
        with st.expander(f"Calls of {ALGORITHMS.get(algo, algo)}"):
            rows = [
                dict(p, budget="vanilla CoT" if p.get("budget") is None else str(p.get("budget")))
                for p in res.get("probes") or []
            ]
            render.rows_table(rows, columns=PROBE_COLUMNS, key=f"{key}_{algo}_probes")
