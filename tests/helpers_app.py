"""Shared helpers for the app's AppTest tests: a fresh app with scripted fake models, element finders."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from ui.launch import keep_legacy_pages_mode_off

# As `make run` does: pages/ holds st.navigation pages, not Streamlit's legacy multipage folder.
# AppTest re-detects that folder on every run, so the switch has to hold across runs here.
keep_legacy_pages_mode_off()

REPO_ROOT = Path(__file__).resolve().parent.parent
APP = REPO_ROOT / "app.py"
TIMEOUT = 60


@pytest.fixture
def fake_env(monkeypatch):
    """Scripted fake models on, and no process-wide Streamlit caches left from another test's data dir."""
    monkeypatch.setenv("TALE_FAKE_MODELS", "1")
    st.cache_resource.clear()
    st.cache_data.clear()
    yield
    st.cache_resource.clear()
    st.cache_data.clear()


def new_app(
    page: str | None = None, *, models: Iterable[str] | None = ("fake/elastic",), query: dict[str, str] | None = None
) -> AppTest:
    """A run AppTest of app.py, optionally on another page, with the sidebar models preset
    (``models=None`` leaves the sidebar's own default)."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    if models is not None:
        at.session_state["models"] = list(models)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    if page:
        at.switch_page(page).run()
    return at


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def button(at: AppTest, label: str):
    matches = [b for b in at.button if b.label == label]
    assert matches, f"no button {label!r}; have {[b.label for b in at.button]}"
    return matches[0]


def badges(at: AppTest) -> list[str]:
    """Badge labels in page order, e.g. ["Correct", "Wrong"]."""
    out = []
    for m in at.markdown:
        v = str(m.value)
        if "-badge[" in v:
            out.append(v.split("-badge[", 1)[1].rstrip("]"))
    return out


def unescape(text: str) -> str:
    """Markdown source as a reader sees it (the app backslash-escapes user and model text)."""
    return re.sub(r"\\(.)", r"\1", text)


def captions(at: AppTest) -> list[str]:
    """Caption texts as displayed (escapes removed; a multi-line caption is one entry)."""
    return [unescape(str(c.value)) for c in at.caption]


def texts(at: AppTest) -> list[str]:
    return [str(t.value) for t in at.text]


def errors(at: AppTest) -> list[str]:
    return [str(e.value) for e in at.error]


def chart_specs(at: AppTest) -> list[dict]:
    """The plotly figure JSON of every chart on the page."""
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def all_values(at: AppTest) -> str:
    """Every visible string value on the page, joined: to check a secret is never shown."""
    parts = []
    for kind in ("markdown", "caption", "text", "error", "warning", "info", "success", "metric", "code"):
        for el in getattr(at, kind):
            parts.append(str(getattr(el, "value", "")))
    for el in at.get("plotly_chart"):
        parts.append(el.proto.spec)
    for el in at.get("arrow_data_frame"):
        parts.append(str(el.proto))
    return "\n".join(parts)
