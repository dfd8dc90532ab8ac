"""Browser flows through the real app: a sweep on the embedded model, a slow sweep that survives leaving
the page, its link opened in a fresh browser context, a bundle exported and imported, and provider errors
shown in their cells while the other cells finish. Offline: loopback only, scripted and embedded models.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.e2e.browser import (
    CHROMIUM,
    OUTBOUND,
    chromium_browser,
    fill_sweep_form,
    guarded_page,
    main_text,
    open_page,
    plotly_traces,
    screenshot,
    start_sweep,
    store_for,
    streamlit_server,
    table_rows,
    wait_idle,
)

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="system Chromium not installed")]

#: the embedded model is slow on a busy 2-core machine: generous, but bounded
EMBEDDED_TIMEOUT_MS = 180_000
BUDGETS = "5, 10, 20, 50, 100, 200, 400"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """(base URL, data folder) of one app server shared by this module's tests."""
    data = tmp_path_factory.mktemp("tale-e2e-flows")
    with streamlit_server(data) as url:
        yield url, data


@pytest.fixture(scope="module")
def browser():
    with chromium_browser() as b:
        yield b


@pytest.fixture(autouse=True)
def _no_outbound():
    OUTBOUND.clear()
    yield
    assert OUTBOUND == [], f"the browser tried to reach: {OUTBOUND[:5]}"


def _cells(page) -> list[tuple[str, ...]]:
    """The sweep's cell table (opened from its expander) as sorted (spec, budget, repeat, status, tokens)."""
    page.get_by_text(re.compile(r"^All \d+ cells$")).first.click()
    wait_idle(page)
    page.locator("[data-testid='stDataFrame']").first.wait_for(timeout=15_000)
    return sorted(tuple(r[:5]) for r in table_rows(page) if r)


def _done_cells(page) -> int:
    """Cells done so far, from the sweep's progress line ("Running: 12 of 160 cells ...")."""
    line = page.get_by_text(re.compile(r"(Running|Finished): \d+ of \d+ cells")).first.inner_text()
    return int(re.search(r": (\d+) of", line).group(1))


def test_embedded_model_sweep_draws_its_points(app, browser):
    url, data = app
    page = guarded_page(browser)
    open_page(page, f"{url}/sweep?models=local/smollm2", "Elasticity sweep")
    assert "local/smollm2" in page.locator("[data-testid='stSidebar']").inner_text()
    fill_sweep_form(page, "What is 6 times 7?", "10, 50", gold="42", reference=False, max_tokens=24)
    exp_id = start_sweep(page)
    page.get_by_text("Finished:").wait_for(timeout=EMBEDDED_TIMEOUT_MS)
    wait_idle(page)
    traces = {t["name"]: t for t in plotly_traces(page)}
    assert "local/smollm2" in traces, list(traces)
    assert traces["local/smollm2"]["x"] == [10, 50]
    assert len(traces["local/smollm2"]["y"]) == 2 and all(y > 0 for y in traces["local/smollm2"]["y"])
    assert page.locator("[data-testid='stPlotlyChart'] .scatterlayer .point").count() >= 2
    screenshot(page, "e2e-flow-embedded-sweep")
    calls = store_for(data).get_experiment(exp_id).calls
    assert len([c for c in calls if c.role == "answer"]) == 2
    assert all(c.provider == "local" and c.error is None for c in calls)
    page.context.close()


def test_slow_sweep_keeps_running_while_away_and_its_link_opens_in_a_fresh_context(app, browser):
    url, data = app
    page = guarded_page(browser)
    open_page(page, f"{url}/sweep?models=fake/slow", "Elasticity sweep")
    # 7 budgets + reference, 20 repeats, no cache: 160 calls of 0.3 s, 4 at a time (about 12 s)
    fill_sweep_form(page, "What is 6 times 7?", BUDGETS, gold="42", repeats=20, use_cache=False)
    exp_id = start_sweep(page)
    page.get_by_text("Running:").wait_for(timeout=30_000)
    left_at = _done_cells(page)
    # leave for another page, then come back: the page reattaches the sweep this session started
    page.locator("[data-testid='stSidebarNav'] a").filter(has_text="Learn").click()
    page.get_by_role("heading", name="Learn: token elasticity").wait_for(timeout=30_000)
    wait_idle(page)
    page.locator("[data-testid='stSidebarNav'] a").filter(has_text="Elasticity sweep").click()
    page.get_by_text("Sweep: What is 6 times 7?").first.wait_for(timeout=30_000)
    page.get_by_text(re.compile(r"(Running|Finished): \d+ of 160 cells")).wait_for(timeout=30_000)
    assert _done_cells(page) > left_at, "the sweep did not progress while we were on another page"
    page.get_by_text("Finished: 160 of 160 cells").wait_for(timeout=120_000)
    wait_idle(page)
    screenshot(page, "e2e-flow-slow-sweep-after-navigation")
    mine = _cells(page)
    assert mine and all(r[0] == "fake/slow" and r[3] in ("correct", "wrong") for r in mine), mine[:3]

    other = guarded_page(browser)  # a fresh context: another user with only the link
    open_page(other, f"{url}/sweep?experiment={exp_id}", "Elasticity sweep")
    other.get_by_text("Sweep: What is 6 times 7?").wait_for(timeout=30_000)
    other.get_by_text("Finished: 160 of 160 cells").wait_for(timeout=30_000)
    assert _cells(other) == mine
    assert plotly_traces(other) == plotly_traces(page)
    screenshot(other, "e2e-flow-slow-sweep-fresh-context")
    stored = [c for c in store_for(data).get_experiment(exp_id).calls if c.role in ("answer", "reference")]
    assert len(stored) == 160 and len({c.cell_id for c in stored}) == 160
    page.context.close()
    other.context.close()


def test_exported_bundle_imports_on_the_experiments_page(app, browser, tmp_path):
    url, data = app
    from db.bundle import export_bytes

    store = store_for(data)
    source = next(e for e in store.list_experiments(limit=50) if e.kind == "sweep" and e.n_calls > 0)
    bundle = tmp_path / "exported.json"
    bundle.write_bytes(export_bytes(source.id, store))
    before = store.count_experiments()

    page = guarded_page(browser)
    open_page(page, f"{url}/experiments", "Experiments")
    page.get_by_text("Import an experiment (JSON bundle)").click()
    wait_idle(page)
    page.locator("[data-testid='stFileUploader'] input[type=file]").set_input_files(str(bundle))
    page.get_by_role("button", name="Import").wait_for(timeout=30_000)
    wait_idle(page)
    page.get_by_role("button", name="Import").click()
    page.get_by_text("Imported as experiment").wait_for(timeout=30_000)
    wait_idle(page)
    assert store.count_experiments() == before + 1
    page.get_by_role("link", name="Open the imported experiment").click()
    page.get_by_text("Share", exact=True).wait_for(timeout=30_000)
    wait_idle(page)
    body = main_text(page)
    assert source.title in body and "Imported from a bundle" in body
    imported_id = page.url.split("experiment=")[1].split("&")[0]
    assert imported_id != source.id
    assert len(store.get_experiment(imported_id).calls) == source.n_calls
    screenshot(page, "e2e-flow-imported-bundle")
    # listed with the others
    open_page(page, f"{url}/experiments", "Experiments")
    assert f"{before + 1} experiment(s)" in main_text(page)
    page.context.close()


def test_provider_errors_show_in_their_cells_while_the_others_finish(app, browser):
    url, data = app
    page = guarded_page(browser)
    open_page(page, f"{url}/sweep?models=fake/elastic,fake/error", "Elasticity sweep")
    fill_sweep_form(page, "What is 6 times 7?", "10, 50", gold="42")
    exp_id = start_sweep(page)
    page.get_by_text("Finished: 6 of 6 cells").wait_for(timeout=60_000)
    wait_idle(page)
    assert "3 failed" in main_text(page)
    page.get_by_text("All 6 cells").click()
    wait_idle(page)
    rows = table_rows(page)
    screenshot(page, "e2e-flow-provider-errors")
    by_spec: dict[str, list[list[str]]] = {}
    for r in rows:
        by_spec.setdefault(r[0], []).append(r)
    assert len(by_spec["fake/elastic"]) == 3 and all(r[3] == "correct" for r in by_spec["fake/elastic"])
    assert len(by_spec["fake/error"]) == 3
    assert all(r[3] == "error" and "Scripted rate limit" in r[-1] for r in by_spec["fake/error"])
    warning = next(a for a in page.locator("[data-testid='stAlert']").all_inner_texts() if "failed" in a)
    assert "Scripted rate limit" in warning and "budget None" not in warning
    stored = store_for(data).get_experiment(exp_id).calls
    assert sum(1 for c in stored if c.error) == 3 and sum(1 for c in stored if not c.error) == 3
    page.context.close()
