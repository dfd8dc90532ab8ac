"""Small Streamlit helpers shared by app.py and the pages (sidebar, keys, background jobs, rendering).

Everything Streamlit-specific lives here or in pages/; tale_core stays a pure library.
"""
