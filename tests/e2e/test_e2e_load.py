"""Load through the real app: 8 browser contexts (8 Streamlit sessions) start sweeps at once against a slow
loopback OpenAI-compatible server on one app server. Every cell of every sweep must be stored exactly once,
and every page must stay responsive while the sweeps run. Sizes are modest so this takes about a minute.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.e2e.browser import (
    CHROMIUM,
    OUTBOUND,
    chromium_browser,
    fill_sweep_form,
    guarded_page,
    open_page,
    screenshot,
    store_for,
    streamlit_server,
    wait_idle,
)
from tests.fakeservers import FakeOpenAI

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="system Chromium not installed")]

SESSIONS = 8
BUDGETS = "10, 20, 50, 100, 200"  # + the vanilla reference: 6 cells per sweep
CELLS = 6
LATENCY_S = 8.0  # per answer
#: the endpoint's calls at once, shared by all sessions (one limiter per provider and key): 48 calls take
#: three rounds (24 s or more), so the sweeps are still running while every user switches page
ENDPOINT_CONCURRENCY = 16
#: a page switch must show its heading within this, however busy the server is
RESPONSIVE_S = 20.0


def test_eight_sessions_sweep_at_once_every_cell_stored_once_and_pages_stay_responsive(tmp_path):
    with FakeOpenAI() as srv:
        srv.default = srv.hang(
            LATENCY_S, then=srv.chat("We add them up. Answer: [[42]]", prompt_tokens=30, completion_tokens=8)
        )
        endpoints = json.dumps(
            [{"name": "fakehttp", "base_url": srv.base_url, "models": ["m"], "concurrency": ENDPOINT_CONCURRENCY}]
        )
        with streamlit_server(tmp_path, extra_env={"TALE_ENDPOINTS": endpoints}) as url, chromium_browser() as browser:
            OUTBOUND.clear()
            pages = []
            for i in range(SESSIONS):  # one fresh context each: 8 independent users
                page = guarded_page(browser, height=1400)
                open_page(page, f"{url}/sweep?models=compat:fakehttp/m", "Elasticity sweep")
                # a different question per user, so no answer comes from another user's cache
                fill_sweep_form(page, f"What is {i + 2} times 7?", BUDGETS, gold="42")
                pages.append(page)

            for page in pages:  # start all 8 within a second or two
                page.get_by_role("button", name="Start sweep").click()
            ids = []
            for page in pages:
                page.wait_for_url("**experiment=**", timeout=30_000)
                ids.append(page.url.split("experiment=")[1].split("&")[0])
            assert len(set(ids)) == SESSIONS

            # while they run, every user switches page: each must see its heading in bounded time
            switched_at = time.monotonic()
            for page in pages:
                page.locator("[data-testid='stSidebarNav'] a").filter(has_text="Learn").click()
            waits = []
            for page in pages:
                page.get_by_role("heading", name="Learn: token elasticity").wait_for(timeout=RESPONSIVE_S * 1000)
                waits.append(time.monotonic() - switched_at)
            store = store_for(tmp_path)
            still_running = sum(1 for i in ids if store.get_experiment(i, with_calls=False).status == "running")
            assert still_running >= 1, (
                f"every sweep ended before the page switches ({waits}): the check saw no load; "
                f"{time.monotonic() - switched_at:.1f} s"
            )
            assert max(waits) < RESPONSIVE_S, waits
            print(f"page switches of {SESSIONS} sessions under load took {min(waits):.1f}-{max(waits):.1f} s")

            for exp_id, page in zip(ids, pages):  # back to each sweep: it finished on its own
                page.goto(f"{url}/sweep?experiment={exp_id}")
                page.get_by_text(f"Finished: {CELLS} of {CELLS} cells").wait_for(timeout=120_000)
            wait_idle(pages[-1])
            screenshot(pages[-1], "e2e-load-sweep-8-of-8")
            assert OUTBOUND == [], OUTBOUND[:5]

            for exp_id in ids:
                detail = store.get_experiment(exp_id)
                cells = [c for c in detail.calls if c.role in ("answer", "reference")]
                assert detail.status == "done", (exp_id, detail.status)
                assert len(cells) == CELLS, (exp_id, len(cells))
                assert len({c.cell_id for c in cells}) == CELLS, "a cell was stored twice"
                assert all(c.error is None and c.extracted_answer == "42" for c in cells)
                assert not any(c.cache_hit for c in cells)
            chat_calls = [r for r in srv.requests if r.path.rstrip("/").endswith("/chat/completions")]
            assert len(chat_calls) == SESSIONS * CELLS, "a cell was asked more (or less) than once"
