"""Budget estimators: how good is a budget guess, and can a cheap learned one replace TALE-EP's extra call?"""

from __future__ import annotations

import streamlit as st

from ui import estimators_view as view
from ui import render, services

st.title("Budget estimators")
st.caption(
    "TALE-EP spends a whole model call guessing a budget. Here a dataset search (the optimal budget of every "
    "question) scores estimators against that optimum, trains a learned estimator that needs no call, and "
    "exports the budget-aware answers as TALE-PT fine-tuning data."
)

runs = view.searches()
if not runs:
    st.info("No dataset search yet. Run one from the command line, for example:")
    st.code("python -m tale_core search-dataset --model local/qwen2.5-coder-1.5b --dataset FILE.jsonl --limit 40")
    st.stop()

labels = {r.id: f"{r.title} · {r.created_at:%Y-%m-%d %H:%M} · {r.id}" for r in runs}
ids = list(labels)
linked = services.linked_experiment_id()
exp_id = st.selectbox(
    "Dataset search",
    ids,
    index=ids.index(linked) if linked in ids else 0,
    format_func=lambda i: labels[i],
    key="est_pick",
)
search = view.load(exp_id)
if search is None or not search.questions:
    st.warning("This search has no stored results.")
    st.stop()
st.subheader(render.md_escape(labels[exp_id]))
view.overview(search)
n = len(search.questions)
c1, c2 = st.columns(2)
first_test = c1.slider(
    "Train on the first N questions (the rest are held out)",
    1,
    max(1, n - 1),
    value=max(1, int(n * 0.6)),
    key="est_split",
)
fixed = int(c2.number_input("Fixed budget to compare", min_value=1, max_value=100_000, value=50, key="est_fixed"))
view.train_and_compare(search, exp_id, first_test, fixed)
view.export(search)
