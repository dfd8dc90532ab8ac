"""TALE Explorer: Streamlit entry point. Shared sidebar, then the page the user picked.

Run with ``streamlit run app.py`` (``make run``). The pages live in app_pages/, registered here with
st.navigation. The folder is deliberately NOT called ``pages/``: Streamlit checks for a ``pages/`` folder
beside the entry script, and on the first run of a fresh server (and in every AppTest run) it then
executes a deep-linked page file directly, skipping this script and its sidebar.
"""

from __future__ import annotations

import streamlit as st

from ui import sidebar

st.set_page_config(page_title="TALE Explorer", layout="wide")

PAGES = [
    st.Page("app_pages/playground.py", title="Playground", default=True),
    st.Page("app_pages/sweep.py", title="Elasticity sweep"),
    st.Page("app_pages/search.py", title="Budget search"),
    st.Page("app_pages/benchmark.py", title="Benchmark"),
    st.Page("app_pages/experiments.py", title="Experiments"),
    st.Page("app_pages/learn.py", title="Learn: token elasticity"),
]

page = st.navigation(PAGES)
state = sidebar.render_sidebar()
page.run()
sidebar.refresh_spend(state)
