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
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
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


@contextmanager
def streamlit_server(data_dir: Path, *, extra_env: dict[str, str] | None = None,
                     start_timeout_s: float = 60.0) -> Iterator[str]:
    """Run the app until the block ends; yields its base URL (http://127.0.0.1:<port>)."""
    port = free_port()
    env = dict(os.environ)
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "TALE_ENDPOINTS", "TALE_DATABASE_URL"):
        env.pop(var, None)
    env.update({"TALE_DATA_DIR": str(data_dir), "TALE_FAKE_MODELS": "1", "PYTHONPATH": str(REPO_ROOT),
                "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"})
    env.update(extra_env or {})
    log = open(data_dir / "streamlit.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ui.launch", "--server.address", "127.0.0.1",
         "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout_s
        while not _healthy(url):
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited early: {(data_dir / 'streamlit.log').read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError("streamlit did not become healthy in time")
            time.sleep(0.3)
        yield url
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
            context.route(lambda url: not url.startswith(("http://127.0.0.1", "ws://127.0.0.1")),
                          lambda route: route.abort())
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
        timeout=timeout_ms)
    page.wait_for_timeout(300)  # let the last deltas paint


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
