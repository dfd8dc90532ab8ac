"""Learn and classroom mode in a real browser, as projected: at 1280x720 and 1920x1080, light and dark."""

from __future__ import annotations

import pytest

from tests.e2e.browser import (
    ARTIFACTS,
    OUTBOUND,
    chromium_browser,
    guarded_page,
    open_page,
    plotly_traces,
    streamlit_server,
    wait_idle,
)

FONT_PX = "(el) => parseFloat(getComputedStyle(el).fontSize)"


@pytest.mark.parametrize(("width", "height", "theme"), [(1280, 720, "light"), (1920, 1080, "dark")])
def test_classroom_mode_is_large_sidebar_free_and_draws_the_curve_live(tmp_path, width, height, theme):
    with (
        streamlit_server(tmp_path, extra_env={"STREAMLIT_THEME_BASE": theme}) as url,
        chromium_browser() as browser,
    ):
        page = guarded_page(browser, width=width, height=height)
        open_page(page, f"{url}/learn", "Learn: token elasticity")
        # the key explanations are body text, not 14 px captions
        what = page.get_by_text("A budget that is too small backfires").first
        assert what.evaluate(FONT_PX) >= 16
        page.get_by_role("link", name="Classroom mode").click()
        page.get_by_text("1 / 8 · The question").wait_for(timeout=30_000)
        wait_idle(page)
        assert not page.locator("[data-testid='stSidebar']").is_visible()
        body = page.get_by_text("Peyton's after-work activities: how many hours in all?")
        assert body.evaluate(FONT_PX) >= 22  # readable from the back of a room
        assert body.bounding_box()["y"] < height  # on screen without scrolling
        next_button = page.get_by_role("button", name="Next")
        for _ in range(5):
            next_button.click()
            wait_idle(page)
        page.get_by_text("6 / 8 · The whole curve, drawn live").wait_for(timeout=30_000)
        page.get_by_text("Done: 10 of 10 calls").wait_for(timeout=30_000)
        page.wait_for_function(
            "() => { const d = document.querySelector(\"[data-testid='stPlotlyChart'] .js-plotly-plot\");"
            " return d && (d.data || []).some(t => t.name === 'fake/simulated' && (t.x || []).length === 9); }",
            timeout=30_000,
        )
        curve = next(t for t in plotly_traces(page) if t["name"] == "fake/simulated")
        spent = dict(zip(curve["x"], curve["y"]))
        assert spent[10] > spent[50] < spent[400]
        box = page.locator("[data-testid='stPlotlyChart']").first.bounding_box()
        assert box["y"] + box["height"] * 0.8 < height  # the curve fits on the projected screen
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"e2e-classroom-{width}x{height}-{theme}.png"))
        next_button.click()
        wait_idle(page)
        page.get_by_text("Step 1 · Estimate a budget").wait_for(timeout=30_000)
        assert page.locator("[data-testid='stException']").count() == 0
    assert OUTBOUND == [], f"the browser tried to reach: {OUTBOUND[:5]}"
