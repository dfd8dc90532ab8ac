"""Start the real app (``streamlit run app.py``) on a free loopback port and drive it with Chromium.

Used by the e2e tests: the server gets its own data folder and the scripted fake models, is waited for
on ``/_stcore/health`` and is terminated by its pid at the end. Chromium is the system one
(/usr/bin/chromium); nothing is downloaded.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = REPO_ROOT / "test-artifacts"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"{url}/_stcore/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


#: how the app is started: ``python -m ui.launch`` (what ``make run`` does)
APP_COMMAND = ("-m", "ui.launch")


@contextmanager
def streamlit_server(
    data_dir: Path,
    *,
    extra_env: dict[str, str] | None = None,
    start_timeout_s: float = 60.0,
    command: tuple[str, ...] = APP_COMMAND,
) -> Iterator[str]:
    """Run the app until the block ends; yields its base URL (http://127.0.0.1:<port>)."""
    with streamlit_process(data_dir, extra_env=extra_env, start_timeout_s=start_timeout_s, command=command) as (
        url,
        _proc,
    ):
        yield url


@contextmanager
def streamlit_process(
    data_dir: Path,
    *,
    extra_env: dict[str, str] | None = None,
    start_timeout_s: float = 60.0,
    command: tuple[str, ...] = APP_COMMAND,
) -> Iterator[tuple[str, subprocess.Popen]]:
    """As :func:`streamlit_server`, and also yields the process (its own process group: a test may kill it
    with ``os.killpg(proc.pid, SIGKILL)``; one already dead is left alone at the end). ``command`` is what
    ``python`` runs before the Streamlit options (the app's launcher by default)."""
    port = free_port()
    env = dict(os.environ)
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "TALE_ENDPOINTS", "TALE_DATABASE_URL"):
        env.pop(var, None)
    env.update(
        {
            "TALE_DATA_DIR": str(data_dir),
            "TALE_FAKE_MODELS": "1",
            "PYTHONPATH": str(REPO_ROOT),
            "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        }
    )
    env.update(extra_env or {})
    log = open(data_dir / "streamlit.log", "w")
    proc = subprocess.Popen(
        [
            sys.executable,
            *command,
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
        ],
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout_s
        while not _healthy(url):
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited early: {(data_dir / 'streamlit.log').read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError("streamlit did not become healthy in time")
            time.sleep(0.3)
        yield url, proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the group we started (start_new_session), by its pid
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        log.close()


#: every URL the test browsers requested outside loopback (the app must make no outbound calls)
OUTBOUND: list[str] = []


def _note_request(request) -> None:
    url = request.url
    if not url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:", "about:")):
        OUTBOUND.append(url)


@contextmanager
def chromium_page(width: int = 1400, height: int = 2000) -> Iterator[object]:
    """A Playwright page in the system Chromium, closed at the end; requests off loopback are noted in
    :data:`OUTBOUND` and aborted."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": width, "height": height})
            context.on("request", _note_request)
            context.route(
                lambda url: not url.startswith(("http://127.0.0.1", "ws://127.0.0.1")), lambda route: route.abort()
            )
            page = context.new_page()
            yield page
        finally:
            browser.close()


def wait_idle(page, timeout_ms: int = 30_000) -> None:
    """Wait until Streamlit finished running the script (the app root says ``notRunning``).

    A short pause first: right after a click the rerun may not have started yet.
    """
    page.wait_for_timeout(400)
    page.wait_for_selector("[data-testid='stApp']", timeout=timeout_ms)
    page.wait_for_function(
        "() => { const a = document.querySelector(\"[data-testid='stApp']\");"
        " return a && a.getAttribute('data-test-script-state') === 'notRunning'; }",
        timeout=timeout_ms,
    )
    page.wait_for_timeout(300)  # let the last deltas paint


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# ---------------------------------------------------------------------------------------------------------
# helpers for the flow, bad-input and load tests


@contextmanager
def chromium_browser() -> Iterator[object]:
    """One system Chromium for several isolated contexts (see :func:`guarded_page`); closed at the end."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def guarded_page(browser, width: int = 1400, height: int = 2000):
    """A page in a FRESH context of ``browser`` (own cookies, own Streamlit session) with the loopback guard."""
    context = browser.new_context(viewport={"width": width, "height": height})
    context.on("request", _note_request)
    context.route(lambda url: not url.startswith(("http://127.0.0.1", "ws://127.0.0.1")), lambda route: route.abort())
    return context.new_page()


def store_for(data_dir: Path):
    """The experiment store the app started with ``TALE_DATA_DIR=data_dir`` writes to."""
    from db.store import Store

    return Store(f"sqlite:///{Path(data_dir) / 'tale.db'}")


def main_text(page) -> str:
    return page.locator("[data-testid='stMain']").inner_text()


def alerts(page) -> list[str]:
    """Texts of every st.error / st.warning / st.info / st.success on the page."""
    return page.locator("[data-testid='stAlert']").all_inner_texts()


def open_page(page, url: str, heading: str, timeout_ms: int = 30_000) -> None:
    """Go to ``url`` and wait until the page's heading shows and the script finished."""
    page.goto(url)
    page.get_by_role("heading", name=heading).first.wait_for(timeout=timeout_ms)
    wait_idle(page, timeout_ms)


def fill_sweep_form(
    page,
    question: str,
    budgets: str,
    *,
    gold: str | None = None,
    reference: bool = True,
    repeats: int | None = None,
    max_tokens: int | None = None,
    use_cache: bool = True,
) -> None:
    """Fill the Elasticity sweep form (the page must be open on a new sweep)."""
    q = page.get_by_role("textbox", name="Question")
    q.fill(question)
    if gold is not None:
        page.get_by_role("textbox", name="Gold answer (optional)").fill(gold)
    box = page.get_by_role("textbox", name="Budgets (tokens)")
    box.fill(budgets)
    box.press("Enter")
    wait_idle(page)
    if not reference:
        page.get_by_text("Vanilla CoT reference").click()
        wait_idle(page)
    if repeats is not None:
        r = page.get_by_role("spinbutton", name="Repeats per budget")
        r.fill(str(repeats))
        r.press("Enter")
        wait_idle(page)
    if max_tokens is not None or not use_cache:
        page.get_by_text("More settings").click()
        wait_idle(page)
        if max_tokens is not None:
            m = page.get_by_role("spinbutton", name="Max output tokens")
            m.fill(str(max_tokens))
            m.press("Enter")
            wait_idle(page)
        if not use_cache:
            page.get_by_text("Reuse cached answers").click()
            wait_idle(page)
    page.get_by_text("Before you start").wait_for(timeout=30_000)


def start_sweep(page, timeout_ms: int = 30_000) -> str:
    """Click Start sweep; returns the experiment id the page switched to."""
    page.get_by_role("button", name="Start sweep").click()
    page.wait_for_url("**experiment=**", timeout=timeout_ms)
    return page.url.split("experiment=")[1].split("&")[0]


def plotly_traces(page, index: int = 0) -> list[dict]:
    """name / x / y of every trace of the ``index``-th plotly chart, read from the chart's DOM node."""
    return page.evaluate(
        "(i) => { const d = document.querySelectorAll(\"[data-testid='stPlotlyChart'] .js-plotly-plot\")[i];"
        " return d ? (d.data || []).map(t => ({name: t.name, x: Array.from(t.x || []),"
        " y: Array.from(t.y || [])})) : []; }",
        index,
    )


def table_rows(page, index: int = 0) -> list[list[str]]:
    """Cell texts of the ``index``-th st.dataframe, row by row, from the grid's accessible table."""
    return page.evaluate(
        "(i) => { const g = document.querySelectorAll(\"[data-testid='stDataFrame']\")[i]; if (!g) return [];"
        " return Array.from(g.querySelectorAll('tbody tr')).map(r =>"
        " Array.from(r.querySelectorAll('td')).map(td => td.innerText)); }",
        index,
    )
