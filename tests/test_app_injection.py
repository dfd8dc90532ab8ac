"""Text from a user, a bundle, a model, a URL or a provider is rendered as text, never as markdown or HTML:
a hostile share link and a hostile imported bundle leave no live link or image markup on any page."""

from __future__ import annotations

import pytest

from db.bundle import import_bundle
from db.store import Store
from tests.helpers_app import new_app, no_exception
from tests.hostile import EVIL_LINK_ID, hostile_bundle, live_markup

PAGES = ["pages/experiments.py", "pages/sweep.py", "pages/benchmark.py", "pages/search.py"]


def rendered_markup(at) -> list[str]:
    """Every text the app handed to a markdown-rendering element (alerts, captions, headings, labels)."""
    out: list[str] = []
    for kind in ("markdown", "caption", "error", "warning", "info", "success", "title", "header", "subheader"):
        out += [str(el.value) for el in getattr(at, kind)]
    for kind in ("metric", "button", "expander", "tab", "text_input", "selectbox", "radio", "checkbox"):
        out += [str(getattr(el, "label", "")) for el in at.get(kind)]
    out += [str(el.proto.label) for el in at.get("page_link")]
    out += [str(getattr(el.proto, "value", "")) for el in at.get("metric")]
    return out


def assert_inert(at) -> None:
    no_exception(at)
    found = [(t, live_markup(t)) for t in rendered_markup(at) if live_markup(t)]
    assert not found, found[:3]


@pytest.mark.parametrize("page", PAGES)
def test_a_hostile_share_link_is_shown_as_text(fake_env, page):
    at = new_app(page, query={"experiment": EVIL_LINK_ID})
    assert_inert(at)
    assert rendered_markup(at)  # the page did say something (not found)


@pytest.mark.parametrize("page", ["pages/experiments.py", "pages/sweep.py"])
def test_a_hostile_bundle_is_shown_as_text(fake_env, page):
    store = Store()
    eid = import_bundle(hostile_bundle(store), store)
    at = new_app(page, query={"experiment": eid})
    assert_inert(at)
    shown = " ".join(rendered_markup(at))
    assert "evil" in shown  # the hostile text is there, as text


def test_the_list_and_compare_views_show_hostile_titles_as_text(fake_env):
    store = Store()
    a = import_bundle(hostile_bundle(store), store)
    b = import_bundle(hostile_bundle(store), store)
    assert_inert(new_app("pages/experiments.py"))
    assert_inert(new_app("pages/experiments.py", query={"compare": f"{a},{b},{EVIL_LINK_ID}"}))
