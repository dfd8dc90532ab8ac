"""Regenerate the README screenshots: docs/screenshots/{start,playground,sweep,search,benchmark,experiments,learn,classroom}.png

    python -m bench.screenshots [--out docs/screenshots]

Starts the app (``python -m ui.launch`` on 127.0.0.1, helpers of tests/e2e/browser.py) with a throwaway
data folder and the scripted fake models, then in the system headless Chromium (1280x800 viewport):
runs the Start page's simulated sweep, the methods on the bundled Peyton question in the Playground, an elasticity sweep of fake/elastic on
it with a log grid of budgets, a budget search with both algorithms, and a small benchmark on the bundled
samples; then shots of the Experiments list, the Learn page and classroom mode (at 1280x720, its
live-curve step). The server is this module's ``--serve``
mode: ``ui.launch`` with the scripted models told the samples' gold answers (see :func:`serve`). Each shot scrolls to the part worth
seeing (the chart or the table) and keeps the sidebar in view.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

OUT = ROOT / "docs" / "screenshots"
WIDTH, HEIGHT = 1280, 800
LONG_MS = 120_000


def _load_example(page, example_id: str) -> None:
    """Pick a bundled example in the 'Load an example' box and press Load."""
    from tests.e2e.browser import wait_idle

    box = page.get_by_role("combobox", name="Load an example")
    box.click()
    page.keyboard.type(example_id)
    page.get_by_role("option").filter(has_text=f"{example_id}:").first.click()
    wait_idle(page)
    page.get_by_role("button", name="Load", exact=True).click()
    wait_idle(page)


def _scroll_to(page, locator, offset_px: int = 70) -> None:
    """Scroll the main pane so ``locator`` sits near the top of the viewport."""
    locator.scroll_into_view_if_needed()
    locator.evaluate(
        f"(el) => {{ el.scrollIntoView({{block: 'start'}}); "
        f"const s = document.querySelector(\"[data-testid='stMain']\"); "
        f"if (s) s.scrollBy(0, -{offset_px}); window.scrollBy(0, -{offset_px}); }}"
    )
    page.wait_for_timeout(600)  # plotly relayouts after a scroll into view


def _shot(page, out: Path, name: str) -> Path:
    path = out / f"{name}.png"
    page.mouse.move(WIDTH - 5, HEIGHT - 5)  # no hover tooltip left on a chart
    page.wait_for_timeout(300)
    page.screenshot(path=str(path), full_page=False)
    print(f"{path.name}: {path.stat().st_size // 1024} KB", file=sys.stderr)
    return path


def _wait_gone(page, text: str, timeout_ms: int = LONG_MS) -> None:
    page.wait_for_function(
        "(t) => !document.querySelector(\"[data-testid='stMain']\").innerText.includes(t)", arg=text, timeout=timeout_ms
    )


def _open(page, url: str, heading: str) -> None:
    """Open a page and wait until its heading shows and the app is idle."""
    from tests.e2e.browser import wait_idle

    page.goto(url)
    page.get_by_role("heading", name=heading).wait_for(timeout=LONG_MS)
    wait_idle(page)


def _run_until_finished(page, button: str, out: Path, name: str) -> None:
    """Start a run with ``button``, wait on its experiment page until it has finished, shoot its progress."""
    from tests.e2e.browser import wait_idle

    page.get_by_role("button", name=button).click()
    page.wait_for_url("**experiment=**", timeout=LONG_MS)
    page.get_by_text("Finished:").wait_for(timeout=LONG_MS)
    wait_idle(page)
    _scroll_to(page, page.locator("[data-testid='stProgress']").first, offset_px=10)
    _shot(page, out, name)


def start(page, base: str, out: Path) -> None:
    from tests.e2e.browser import wait_idle

    page.goto(base)
    page.get_by_role("heading", name="Start here").first.wait_for(timeout=LONG_MS)
    wait_idle(page)
    page.get_by_role("button", name="Run the simulated sweep").click()
    page.get_by_text("Done: 10 of 10 calls").wait_for(timeout=LONG_MS)
    page.locator(".js-plotly-plot").first.wait_for(timeout=LONG_MS)
    wait_idle(page)
    _scroll_to(page, page.get_by_role("button", name="Run it again"), offset_px=20)
    _shot(page, out, "start")


def classroom(page, base: str, out: Path) -> None:
    from tests.e2e.browser import wait_idle

    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(f"{base}/learn?classroom=1")
    page.get_by_text("1 / 8").wait_for(timeout=LONG_MS)
    wait_idle(page)
    for _ in range(5):
        page.get_by_role("button", name="Next ▶").click()
        wait_idle(page)
    page.get_by_text("Done: 10 of 10 calls").wait_for(timeout=LONG_MS)
    page.locator(".js-plotly-plot").first.wait_for(timeout=LONG_MS)
    wait_idle(page)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(out / "classroom.png"), full_page=False)
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})


def playground(page, base: str, out: Path) -> None:
    from tests.e2e.browser import wait_idle

    _open(page, f"{base}/playground", "Playground")
    _load_example(page, "peyton")
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_text("Summary").first.wait_for(timeout=LONG_MS)
    wait_idle(page)
    _scroll_to(page, page.get_by_role("button", name="Run", exact=True), offset_px=20)
    _shot(page, out, "playground")


def sweep(page, base: str, out: Path) -> None:
    from tests.e2e.browser import wait_idle

    _open(page, f"{base}/sweep", "Elasticity sweep")
    _load_example(page, "peyton")
    page.get_by_text("Log grid", exact=True).click()
    wait_idle(page)
    page.get_by_role("spinbutton", name="Lowest").fill("5")
    page.get_by_role("spinbutton", name="Highest").fill("800")
    page.get_by_role("spinbutton", name="Points").fill("10")
    page.get_by_role("spinbutton", name="Points").press("Enter")
    page.get_by_text("Before you start").wait_for(timeout=LONG_MS)
    wait_idle(page)
    _run_until_finished(page, "Start sweep", out, "sweep")


def search(page, base: str, out: Path) -> None:
    from tests.e2e.browser import wait_idle

    _open(page, f"{base}/search", "Budget search")
    _load_example(page, "peyton")
    page.get_by_role("button", name="Start search").click()
    page.wait_for_url("**experiment=**", timeout=LONG_MS)
    page.get_by_text("Chosen budget").first.wait_for(timeout=LONG_MS)
    _wait_gone(page, "Running")
    wait_idle(page)
    _scroll_to(page, page.get_by_text("Chosen budget").first, offset_px=60)
    _shot(page, out, "search")


def benchmark(page, base: str, out: Path) -> None:
    _open(page, f"{base}/benchmark", "Benchmark")
    _run_until_finished(page, "Start benchmark", out, "benchmark")


def experiments(page, base: str, out: Path) -> None:
    from tests.e2e.browser import wait_idle

    page.goto(f"{base}/experiments")
    page.get_by_role("heading", name="Experiments").wait_for(timeout=LONG_MS)
    page.get_by_text("newest first").wait_for(timeout=LONG_MS)
    wait_idle(page)
    page.wait_for_timeout(1000)  # the list's widgets paint after the script ends (skeletons otherwise)
    _shot(page, out, "experiments")


def learn(page, base: str, out: Path) -> None:
    from tests.e2e.browser import wait_idle

    _open(page, f"{base}/learn", "Learn: token elasticity")
    page.get_by_role("button", name="Run the 4 calls with").click()
    page.locator("[data-testid='stPlotlyChart']").last.wait_for(timeout=LONG_MS)
    wait_idle(page)
    _scroll_to(page, page.locator("[data-testid='stPlotlyChart']").last, offset_px=150)
    _shot(page, out, "learn")


SHOTS = {
    "start": start,
    "playground": playground,
    "sweep": sweep,
    "search": search,
    "benchmark": benchmark,
    "experiments": experiments,
    "learn": learn,
    "classroom": classroom,
}


def serve(streamlit_args: list[str]) -> None:
    """The app with the scripted models told the bundled samples' gold answers, so ``fake/elastic`` plays
    a model that solves them (wrong only below its failure budget) instead of always answering 42."""
    from tale_core.data.datasets import load_samples
    from tale_core.providers.scripted import ScriptedModel
    from ui.launch import main as launch

    for item in load_samples("all").items:
        ScriptedModel.answers[item.question] = str(item.answer)
    launch(streamlit_args)


@contextmanager
def demo_server(data_dir: Path, start_timeout_s: float = 60.0) -> Iterator[str]:
    """Run :func:`serve` on a free loopback port until the block ends; yields its base URL."""
    from tests.e2e.browser import streamlit_server

    with streamlit_server(
        data_dir, start_timeout_s=start_timeout_s, command=("-m", "bench.screenshots", "--serve")
    ) as url:
        yield url


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--serve"]:
        serve(argv[1:])
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--only", default="", help="comma list of shots (default: all, in order)")
    args = ap.parse_args(argv)
    from tests.e2e.browser import OUTBOUND, chromium_page

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(SHOTS)
    with (
        tempfile.TemporaryDirectory(prefix="tale-shots-") as tmp,
        demo_server(Path(tmp)) as base,
        chromium_page(WIDTH, HEIGHT) as page,
    ):
        for name in names:
            SHOTS[name](page, base, out)
    if OUTBOUND:
        print(f"warning: the browser tried to leave loopback: {OUTBOUND[:3]}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
