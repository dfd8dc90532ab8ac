"""Start here in a real browser: a fresh visitor with no key sees an elasticity curve within 30 s of opening
the app, at 1280x720 and 1920x1080, in the light and the dark theme."""

from __future__ import annotations

import time

import pytest

from tests.e2e.browser import OUTBOUND, chromium_browser, guarded_page, plotly_traces, streamlit_server, wait_idle

ARTIFACTS_NAME = "e2e-start"
BUDGETS = [5, 10, 20, 30, 50, 75, 100, 200, 400]


@pytest.mark.parametrize(("width", "height", "theme"), [(1280, 720, "light"), (1920, 1080, "dark")])
def test_fresh_visitor_without_a_key_sees_an_elasticity_curve_within_30_s(tmp_path, width, height, theme):
    env = {"TALE_FAKE_MODELS": "0", "STREAMLIT_THEME_BASE": theme}  # no test models, no key: a stranger
    with streamlit_server(tmp_path, extra_env=env) as url, chromium_browser() as browser:
        page = guarded_page(browser, width=width, height=height)
        t0 = time.monotonic()
        page.goto(url)
        page.get_by_role("heading", name="Start here").first.wait_for(timeout=30_000)
        assert "SIMULATED" in page.locator("[data-testid='stMain']").inner_text()
        page.get_by_role("button", name="Run the simulated sweep").click()
        page.get_by_text("Done: 10 of 10 calls").wait_for(timeout=30_000)
        page.wait_for_function(
            "() => { const d = document.querySelector(\"[data-testid='stPlotlyChart'] .js-plotly-plot\");"
            " return d && (d.data || []).some(t => t.name === 'fake/simulated' && (t.x || []).length >= 9); }",
            timeout=30_000,
        )
        elapsed = time.monotonic() - t0
        curve = next(t for t in plotly_traces(page) if t["name"] == "fake/simulated")
        assert curve["x"] == BUDGETS
        spent = dict(zip(curve["x"], curve["y"]))
        assert spent[10] > spent[50] < spent[400], spent  # the curve bends back up: elasticity
        print(f"curve drawn {elapsed:.1f} s after opening the app ({width}x{height}, {theme})")
        assert elapsed < 30, f"the curve took {elapsed:.1f} s"
        wait_idle(page)
        page.locator("[data-testid='stPlotlyChart']").first.scroll_into_view_if_needed()
        page.screenshot(path=str(tmp_path / "shot.png"))
        from tests.e2e.browser import ARTIFACTS

        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / f"{ARTIFACTS_NAME}-{width}x{height}-{theme}.png").write_bytes((tmp_path / "shot.png").read_bytes())
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(ARTIFACTS / f"{ARTIFACTS_NAME}-top-{width}x{height}-{theme}.png"))
        assert page.locator("[data-testid='stException']").count() == 0
    assert OUTBOUND == [], f"the browser tried to reach: {OUTBOUND[:5]}"
