"""Browser smoke test: the real app in Chromium, with the scripted fake models (offline, loopback only)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.browser import CHROMIUM, OUTBOUND, chromium_page, screenshot, streamlit_server, wait_idle

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="system Chromium not installed")]

QUESTION = "Peyton has 3 apples and buys 4 more. How many apples does Peyton have?"


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    data = tmp_path_factory.mktemp("tale-e2e")
    with streamlit_server(data) as url:
        yield url


def test_playground_runs_methods_side_by_side(app_url):
    with chromium_page() as page:
        page.goto(f"{app_url}/playground")
        page.get_by_role("heading", name="Playground").wait_for(timeout=30_000)
        sidebar = page.locator("[data-testid='stSidebar']")
        assert "fake/elastic" in sidebar.inner_text()
        page.get_by_role("textbox", name="Question").fill(QUESTION)
        page.get_by_role("textbox", name="Gold answer (optional)").fill("42")
        page.get_by_role("textbox", name="Gold answer (optional)").press("Enter")
        page.get_by_role("button", name="Run", exact=True).click()
        page.get_by_text("Estimated budget: 60 tokens").wait_for(timeout=30_000)
        page.get_by_text("Summary").wait_for(timeout=30_000)
        wait_idle(page)
        body = page.locator("[data-testid='stMain']").inner_text()
        assert body.count("Correct") >= 4
        assert "out 258" in body and "out 86" in body
        assert "Saved as experiment" in body
        screenshot(page, "e2e-playground")


def test_learn_deep_link_keeps_the_sidebar(app_url):
    with chromium_page() as page:
        page.goto(f"{app_url}/learn")
        page.get_by_role("heading", name="Learn: token elasticity").wait_for(timeout=30_000)
        wait_idle(page)
        assert "Models" in page.locator("[data-testid='stSidebar']").inner_text()
        screenshot(page, "e2e-learn")


def test_sweep_draws_live_and_its_link_opens_in_another_tab(app_url):
    with chromium_page() as page:
        page.goto(f"{app_url}/sweep?models=fake/slow")
        page.get_by_role("heading", name="Elasticity sweep").wait_for(timeout=30_000)
        wait_idle(page)
        page.get_by_role("textbox", name="Question").fill("What is 6 times 7?")
        page.get_by_role("textbox", name="Gold answer (optional)").fill("42")
        page.get_by_role("textbox", name="Gold answer (optional)").press("Enter")
        page.get_by_text("Before you start").wait_for(timeout=30_000)
        wait_idle(page)
        page.get_by_role("button", name="Start sweep").click()
        page.wait_for_url("**experiment=**", timeout=30_000)
        shared = page.url
        page.locator("[data-testid='stPlotlyChart']").first.wait_for(timeout=60_000)
        page.get_by_text("Finished:").wait_for(timeout=60_000)
        wait_idle(page)
        assert "sweet spot at budget 50" in page.locator("[data-testid='stMain']").inner_text()
        screenshot(page, "e2e-sweep")
        page.get_by_role("link", name="Open it in Experiments").click()
        page.get_by_text("Share", exact=True).wait_for(timeout=30_000)
        wait_idle(page)
        assert "Sweep: What is 6 times 7?" in page.locator("[data-testid='stMain']").inner_text()
        screenshot(page, "e2e-experiment")
    with chromium_page() as other:  # a different browser: same experiment from the link alone
        other.goto(shared)
        other.get_by_text("Sweep: What is 6 times 7?").wait_for(timeout=30_000)
        other.locator("[data-testid='stPlotlyChart']").first.wait_for(timeout=30_000)


def test_every_page_loads_without_an_exception(app_url):
    with chromium_page() as page:
        for path, heading in (
            ("", "Start here"),
            ("playground", "Playground"),
            ("sweep", "Elasticity sweep"),
            ("search", "Budget search"),
            ("benchmark", "Benchmark"),
            ("experiments", "Experiments"),
            ("learn", "Learn: token elasticity"),
        ):
            page.goto(f"{app_url}/{path}")
            page.get_by_role("heading", name=heading).wait_for(timeout=30_000)
            wait_idle(page)
            assert page.locator("[data-testid='stException']").count() == 0, path
            screenshot(page, f"e2e-page-{path or 'start'}")
    assert OUTBOUND == [], f"the browser tried to reach: {OUTBOUND[:5]}"


def test_deep_link_as_first_request_of_a_fresh_server_runs_the_app_shell(tmp_path):
    """A shared link is often the very first request a server sees: it must still get app.py's sidebar."""
    with streamlit_server(tmp_path) as url, chromium_page() as page:
        page.goto(f"{url}/learn")
        page.get_by_role("heading", name="Learn: token elasticity").wait_for(timeout=30_000)
        wait_idle(page)
        assert "Models" in page.locator("[data-testid='stSidebar']").inner_text()
