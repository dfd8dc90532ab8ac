"""TALE Explorer: Streamlit entry point. Shared sidebar, then the page the user picked.

Run with ``make run`` (``python -m ui.launch``). The pages live in pages/, registered here with
st.navigation. Streamlit's legacy multipage mode would otherwise kick in because of that folder's name
and run a deep-linked page file without this script; ui.launch switches it off before the server
starts, and the line below does so for every later run when the app is started with plain
``streamlit run app.py``.
"""

from __future__ import annotations

import streamlit as st

from ui import hosted, sidebar
from ui.launch import keep_legacy_pages_mode_off

keep_legacy_pages_mode_off()

st.set_page_config(page_title="TALE Explorer", layout="wide")

PAGES = [
    st.Page("pages/start.py", title="Start here", default=True),
    st.Page("pages/playground.py", title="Playground"),
    st.Page("pages/sweep.py", title="Elasticity sweep"),
    st.Page("pages/search.py", title="Budget search"),
    st.Page("pages/benchmark.py", title="Benchmark"),
    st.Page("pages/estimators.py", title="Budget estimators"),
    st.Page("pages/experiments.py", title="Experiments"),
    st.Page("pages/learn.py", title="Learn: token elasticity"),
]

page = st.navigation(PAGES)
state = sidebar.render_sidebar()
hosted.restrict_settings(state.settings)  # hosted mode: endpoints a visitor added never read server variables
hosted.sidebar_panel()  # hosted mode only: the visitor's rules, usage, access code and the host's sign-in
page.run()
sidebar.refresh_spend(state)
