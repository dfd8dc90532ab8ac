"""Two app processes on one PostgreSQL database: a run survives the process that started it.

A sweep started in Chromium on process A is watched live on process B (B reads the database: the run is
not in B's memory); A is killed with SIGKILL mid-run; B shows the run "interrupted" once A's heartbeat is
stale (shortened through ``TALE_HEARTBEAT_S`` / ``TALE_STALE_AFTER_S``); Resume on B runs only the missing
cells into the same experiment. Then: every planned cell is stored exactly once, and the loopback
OpenAI-compatible server saw each cell's request once, plus a second one only for the cells that were in
flight when A died (at most A's concurrency for one model, 4).

The fake server makes the timing deterministic: A's first five answers come back spread over ~15 s (so B
sees the count grow), the requests A sends after that hang until the server stops (they are the ones in
flight at the kill), and every request after the kill is answered at once.
"""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
from collections import Counter
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
    screenshot,
    start_sweep,
    streamlit_process,
    wait_idle,
)
from tests.fakeservers import FakeOpenAI
from tests.helpers_postgres import pg_server, pg_url  # noqa: F401  (fixtures)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.postgres,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="system Chromium not installed"),
]

BUDGETS = [10, 20, 30, 40, 50, 60, 70, 80]
CELLS = len(BUDGETS) + 1  # + the vanilla CoT reference
#: A's first answers come back after these many seconds (by arrival order): B sees 1, 2, 3, 4, 5 cells
ANSWER_AFTER_S = [3.0, 6.0, 9.0, 12.0, 12.0]
ANSWERED_BEFORE_KILL = len(ANSWER_AFTER_S)
#: A runs at most this many calls of one model at a time (OpenAI-compatible providers' max_concurrency)
A_CONCURRENCY = 4
RUNNING = re.compile(rf"Running: (\d+) of {CELLS} cells")


def _prompt_of(body: object) -> str:
    """The user message of a chat request: it names the budget, so it tells the cells apart."""
    assert isinstance(body, dict), body
    users = [m.get("content") for m in body.get("messages", []) if m.get("role") == "user"]
    assert users, body
    return json.dumps(users)


def test_two_processes_watch_kill_interrupted_resume_every_cell_once(tmp_path, pg_url):  # noqa: F811
    from db.store import Store

    Store(pg_url)  # migrate once, before two processes race to do it

    killed = threading.Event()
    arrivals: list[str] = []  # prompts in arrival order
    lock = threading.Lock()

    with FakeOpenAI() as srv:
        answer = srv.chat("We add them up. Answer: [[42]]", prompt_tokens=30, completion_tokens=8)

        def reply(req) -> None:
            with lock:
                idx = len(arrivals)
                arrivals.append(_prompt_of(req.body))
            if killed.is_set():
                answer(req)  # B's resumed calls: at once
            elif idx < ANSWERED_BEFORE_KILL:
                if not srv.wait(ANSWER_AFTER_S[idx]):
                    answer(req)
            else:
                srv.wait(300)  # in flight at the kill: never answered (ends when the server stops)
                req.handler.drop_connection()

        srv.default = reply
        endpoints = json.dumps([{"name": "fakehttp", "base_url": srv.base_url, "models": ["m"]}])
        env = {
            "TALE_ENDPOINTS": endpoints,
            "TALE_DATABASE_URL": pg_url,
            "TALE_HEARTBEAT_S": "1",
            "TALE_STALE_AFTER_S": "6",
        }
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        t0 = time.monotonic()
        with (
            streamlit_process(tmp_path / "a", extra_env=env, start_timeout_s=120) as (url_a, proc_a),
            streamlit_process(tmp_path / "b", extra_env=env, start_timeout_s=120) as (url_b, _proc_b),
            chromium_browser() as browser,
        ):
            OUTBOUND.clear()
            page_a = guarded_page(browser, height=1400)
            open_page(page_a, f"{url_a}/sweep?models=compat:fakehttp/m", "Elasticity sweep", timeout_ms=60_000)
            fill_sweep_form(page_a, "What is 6 times 7?", ", ".join(map(str, BUDGETS)), gold="42")
            exp_id = start_sweep(page_a, timeout_ms=60_000)

            # B: another process, another browser context; the run is only in the database for B
            page_b = guarded_page(browser, height=1400)
            page_b.goto(f"{url_b}/sweep?experiment={exp_id}")
            page_b.get_by_role("heading", name="Elasticity sweep").first.wait_for(timeout=60_000)
            seen: list[int] = []
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                m = RUNNING.search(main_text(page_b))
                if m and (not seen or int(m.group(1)) != seen[-1]):
                    seen.append(int(m.group(1)))
                if seen and seen[-1] >= ANSWERED_BEFORE_KILL:
                    break
                page_b.wait_for_timeout(250)
            assert seen and seen[-1] == ANSWERED_BEFORE_KILL, f"B never showed {ANSWERED_BEFORE_KILL} cells: {seen}"
            assert len(seen) >= 2 and seen == sorted(seen), f"B did not watch the count grow live: {seen}"
            screenshot(page_b, "e2e-two-processes-b-watching")

            # A dies mid-run with calls in flight (no chance to mark anything)
            os.killpg(proc_a.pid, signal.SIGKILL)  # the process group the helper started, by its pid
            proc_a.wait(timeout=30)
            with lock:  # A is gone: what it sent is final
                sent_by_a = list(arrivals)
            killed.set()
            in_flight = sent_by_a[ANSWERED_BEFORE_KILL:]
            assert 1 <= len(in_flight) <= A_CONCURRENCY, len(in_flight)
            page_a.context.close()

            store = Store(pg_url)
            assert len(store.get_experiment(exp_id).calls) == ANSWERED_BEFORE_KILL
            # B's own clock and stale window (this test process keeps the default 30 s)
            page_b.get_by_text("Interrupted (its process stopped").first.wait_for(timeout=60_000)
            screenshot(page_b, "e2e-two-processes-b-interrupted")

            # Resume on B (Experiments page): only the missing cells, into the same experiment
            open_page(page_b, f"{url_b}/experiments?experiment={exp_id}", "Experiments", timeout_ms=60_000)
            page_b.get_by_role("tab", name="Rerun, export, delete").click()
            page_b.get_by_role("button", name="Resume").click()
            page_b.wait_for_url(f"**/sweep?experiment={exp_id}**", timeout=60_000)
            page_b.get_by_text(f"Finished: {CELLS} of {CELLS} cells").first.wait_for(timeout=120_000)
            wait_idle(page_b, 60_000)
            screenshot(page_b, "e2e-two-processes-b-resumed")
            assert OUTBOUND == [], OUTBOUND[:5]
            elapsed = time.monotonic() - t0

        detail = store.get_experiment(exp_id)
        cells = [c for c in detail.calls if c.role in ("answer", "reference")]
        assert detail.status == "done", detail.status
        assert len(cells) == CELLS, [c.cell_id for c in cells]
        assert len({c.cell_id for c in cells}) == CELLS, "a cell was stored twice"
        assert all(c.error is None and c.extracted_answer == "42" for c in cells)

        with lock:
            per_prompt = Counter(arrivals)
        assert len(per_prompt) == CELLS, per_prompt  # every cell asked, and no other request
        assert sum(per_prompt.values()) == CELLS + len(in_flight), per_prompt
        for prompt, n in per_prompt.items():
            expected = 2 if prompt in in_flight else 1
            assert n == expected, (prompt, n, expected)
        print(
            f"two processes: B saw {seen}; {len(in_flight)} calls in flight at the kill; "
            f"{sum(per_prompt.values())} requests for {CELLS} cells; {elapsed:.0f} s"
        )
