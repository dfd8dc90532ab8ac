"""TALE Explorer: Streamlit entry point. Shared sidebar, then the page the user picked.

Run with ``streamlit run app.py`` (``make run``). Pages live in pages/ and are registered here with
st.navigation, so the folder is not auto-scanned.
"""

from __future__ import annotations

import streamlit as st

from ui import sidebar

st.set_page_config(page_title="TALE Explorer", layout="wide")

PAGES = [
    st.Page("pages/playground.py", title="Playground", default=True),
    st.Page("pages/learn.py", title="Learn: token elasticity"),
]

page = st.navigation(PAGES)
state = sidebar.render_sidebar()
page.run()
sidebar.refresh_spend(state)
