"""How fast the app draws in a real browser: page loads, 10k experiments, a 5,000-point sweep, live delay.

    python -m bench.app_render [--runs 5] [--experiments 10000] [--calls 100000] [--live-sweeps 2]

Everything runs against ``python -m ui.launch`` on 127.0.0.1 (the e2e helpers in tests/e2e/browser.py)
in the system headless Chromium, with the scripted fake models. Times are taken inside the browser
(``performance.now()`` since navigation start, checked every animation frame), medians of ``--runs``
loads after one warm-up load:

(a) each page: navigation start -> its heading visible and Streamlit idle (script state ``notRunning``);
(b) the Experiments page over a database of 10,000 experiments (bulk-built with bench.db_scale);
(c) a stored sweep of 5,000 budget cells (+ references) opened by ``/sweep?experiment=<id>``: navigation
    -> elasticity chart holding every point, and, in-process, the time for db + rebuild + tale_core.analysis.charts
    to build that figure;
(d) a live sweep on ``fake/slow``: delay between a cell completing (CallRecord.created_at + its measured
    wall time, as stored in the DB) and its point appearing in the browser's plotly chart (a page-side
    poller reads the chart's data and its drawn marker count every 4 ms).

Writes bench/results/app_render.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ["TALE_FAKE_MODELS"] = "1"  # the scripted models build the sweeps below, in this process too

RESULTS = ROOT / "bench" / "results"
QUESTION = "Peyton has 3 apples and buys 4 more. How many apples does Peyton have?"
PAGES = (
    ("", "Start here"),
    ("playground", "Playground"),
    ("sweep", "Elasticity sweep"),
    ("search", "Budget search"),
    ("benchmark", "Benchmark"),
    ("experiments", "Experiments"),
    ("learn", "Learn: token elasticity"),
)
BIG_BUDGETS = 200  # the most a sweep allows
BIG_REPEATS = 25  # 200 x 25 = 5,000 budget cells (+ 25 vanilla references)
LIVE_BUDGETS = 80  # fake/slow answers 4 calls at a time, 0.3 s each: about 6 s per live sweep

NOTES = [
    "The machine is shared (2 cores, other work running): the same command gave medians 20-50% apart "
    "between runs; compare within one run, not across runs.",
    "Every load is a full page load (page.goto), so the browser parses Streamlit's and plotly.js's bundles "
    "each time; moving between pages inside the app skips that. It is why any page with a plotly chart "
    "(the 10-cell stored sweep) probably starts at about 2x an empty page.",
    "The 5,000-cell sweep costs the server about 1 s (load every call row with its JSON columns, rebuild "
    "the cells, build the figures), the rest is sending about 5,200 points with hover text and the 5,025-row "
    "cells table, and plotly drawing 5,200 SVG markers. Ideas not done: load only the columns the chart "
    "needs, thin the per-repeat dots above a few thousand, build the cells table only when opened.",
]

# True once the heading is on screen and Streamlit has finished the run; records the moment.
READY_JS = """(heading) => {
  const app = document.querySelector("[data-testid='stApp']");
  const h = [...document.querySelectorAll('h1')].find(e => e.textContent.trim().startsWith(heading));
  if (h && app && app.getAttribute('data-test-script-state') === 'notRunning') {
    window.__ready = performance.now(); return true; }
  return false; }"""

# True once the first chart holds at least ``n`` points, all drawn, and Streamlit is idle.
CHART_JS = """(n) => {
  const app = document.querySelector("[data-testid='stApp']");
  const gd = document.querySelector("[data-testid='stPlotlyChart'] .js-plotly-plot");
  if (!gd || !gd.data || !app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  const pts = gd.data.reduce((s, t) => s + (t.x ? t.x.length : 0), 0);
  const drawn = gd.querySelectorAll('.scatterlayer .points path').length;
  if (pts >= n && drawn >= n) { window.__ready = performance.now(); window.__drawn = drawn; return true; }
  return false; }"""

# Page-side poller for the live sweep: first moment each budget's marker is drawn in the elasticity chart.
POLLER_JS = """(spec) => {
  window.__seen = {}; window.__ticks = 0;
  window.__poll = setInterval(() => {
    window.__ticks++;
    for (const gd of document.querySelectorAll('.js-plotly-plot')) {
      const title = ((gd.layout || {}).title || {}).text || '';
      if (!title.includes('Token elasticity') || !gd.data) continue;
      const idx = gd.data.findIndex(t => t.name === spec && t.mode === 'lines+markers');
      if (idx < 0) continue;
      const trace = gd.data[idx];
      const layer = gd.querySelectorAll('.scatterlayer .trace')[idx];
      const drawn = layer ? layer.querySelectorAll('.points path').length : 0;
      if (drawn < trace.x.length) continue;  // data arrived but not painted yet
      const now = performance.timeOrigin + performance.now();
      for (const b of trace.x) { if (!(b in window.__seen)) window.__seen[b] = now; }
    }
  }, 4);
  return true; }"""


def _stats(samples: list[float]) -> dict[str, Any]:
    s = sorted(samples)
    if not s:
        return {"runs": 0}
    p90 = s[min(len(s) - 1, round(0.9 * (len(s) - 1)))]
    return {
        "median_ms": round(statistics.median(s), 1),
        "p90_ms": round(p90, 1),
        "min_ms": round(s[0], 1),
        "max_ms": round(s[-1], 1),
        "runs": len(s),
    }


def _timed_load(page, url: str, js: str, arg: Any, runs: int, timeout_ms: int = 120_000) -> dict[str, Any]:
    """Median time from navigation start until ``js(arg)`` holds; one warm-up load first (not counted)."""
    samples = []
    for i in range(runs + 1):
        page.goto("about:blank")
        page.goto(url, wait_until="commit")
        page.wait_for_function(js, arg=arg, polling="raf", timeout=timeout_ms)
        if i:
            samples.append(page.evaluate("window.__ready"))
    return _stats(samples)


# ----------------------------------------------------------------------------------------- databases


def build_big_db(data_dir: Path, n_exp: int, n_calls: int) -> dict[str, Any]:
    """10k experiments (bench.db_scale's bulk loader) plus one stored sweep of 5,000 budget cells."""
    from bench.db_scale import build
    from db.engine import dispose

    url = f"sqlite:///{data_dir / 'tale.db'}"
    t = time.perf_counter()
    ctx = build(url, n_exp, n_calls)
    load_s = time.perf_counter() - t
    sweep_id, sweep_s = build_big_sweep(ctx["store"])
    small_id, _ = build_big_sweep(ctx["store"], budgets=10, repeats=1)
    dispose(url)
    return {
        "url": url,
        "sweep_id": sweep_id,
        "small_sweep_id": small_id,
        "load_s": round(load_s, 1),
        "sweep_build_s": round(sweep_s, 1),
    }


def build_big_sweep(store, budgets: int = BIG_BUDGETS, repeats: int = BIG_REPEATS) -> tuple[str, float]:
    """Run a real sweep of fake/elastic (200 budgets x 25 repeats by default) and store its calls in one go."""
    from db.recorder import Recorder
    from tale_core.engine.budgets import linear_grid
    from tale_core.experiments.sweep import SweepConfig, run_sweep
    from tale_core.providers import resolve

    t = time.perf_counter()
    config = SweepConfig(
        question=QUESTION,
        gold="7",
        models=("fake/elastic",),
        budgets=tuple(linear_grid(5, 1000, budgets)),
        repeats=repeats,
        use_cache=False,
    )
    config.validate()
    rec = Recorder.start(
        "sweep", f"Sweep: {budgets * repeats:,} cells (bench)", config.to_dict(), store=store, use_cache=False
    )

    class Collect:
        def __init__(self) -> None:
            self.records: list = []

        def on_call(self, record) -> None:
            self.records.append(record)

    sink = Collect()
    outcome = run_sweep(config, {"fake/elastic": resolve("fake/elastic")}, sink=sink)
    store.record_calls(rec.id, sink.records)
    rec.finish("done", {"status": outcome.status, "done": len(outcome.cells)})
    return rec.id, time.perf_counter() - t


def figure_in_process(url: str, sweep_id: str, runs: int) -> dict[str, Any]:
    """What the sweep page does server-side for a stored sweep, step by step (median ms)."""
    from db.store import Store
    from tale_core.analysis import charts
    from tale_core.analysis.elasticity import analyze
    from tale_core.experiments import rebuild

    store = Store(url)
    steps: dict[str, list[float]] = {
        k: []
        for k in (
            "load_calls",
            "rebuild_cells",
            "analyze",
            "elasticity_figure",
            "accuracy_cost_figure",
            "figures_to_json",
            "total",
        )
    }
    n_points = 0
    for i in range(runs + 1):
        marks = [time.perf_counter()]
        detail = store.get_experiment(sweep_id)
        marks.append(time.perf_counter())
        cells = rebuild.sweep_cells(detail.records)
        marks.append(time.perf_counter())
        reports = analyze(cells)
        marks.append(time.perf_counter())
        fig = charts.elasticity_figure(reports, raw=[c.to_row() for c in cells])
        marks.append(time.perf_counter())
        fig2 = charts.accuracy_cost_figure(reports)
        marks.append(time.perf_counter())
        fig.to_json()
        fig2.to_json()
        marks.append(time.perf_counter())
        n_points = sum(len(t.x or ()) for t in fig.data)
        if i:
            for k, a, b in zip(list(steps)[:-1], marks, marks[1:]):
                steps[k].append((b - a) * 1000)
            steps["total"].append((marks[-1] - marks[0]) * 1000)
    return {
        "points_in_figure": n_points,
        "cells": len(cells),
        **{k: round(statistics.median(v), 1) for k, v in steps.items()},
    }


# ----------------------------------------------------------------------------------------- live sweep


def live_sweep_delay(page, base: str, data_dir: Path, n_sweeps: int) -> dict[str, Any]:
    """Run ``n_sweeps`` live sweeps on fake/slow in the browser; per budget cell, the delay between the
    call completing (stored created_at + wall time) and its marker being drawn."""
    from db.store import Store
    from tests.e2e.browser import wait_idle

    spec = "fake/slow"  # the sidebar offers the plain spec: 0.3 s per call
    from tale_core.engine.budgets import log_grid

    grid = log_grid(5, 4000, LIVE_BUDGETS)  # rounding merges a few of the smallest budgets
    budgets = ", ".join(str(b) for b in grid)
    delays: list[float] = []
    gaps: list[float] = []  # between two moments new points appeared (ms)
    exp_ids = []
    for k in range(n_sweeps + 1):  # the first one warms the server up (first table imports pandas) and is not counted
        page.goto(f"{base}/sweep?models={spec}")
        page.get_by_role("heading", name="Elasticity sweep").wait_for(timeout=60_000)
        wait_idle(page)
        # a different seed per sweep, so no answer comes from the cache
        page.get_by_role("textbox", name="Question").fill(f"{QUESTION} (live sweep {k})")
        page.get_by_role("textbox", name="Gold answer (optional)").fill("7")
        page.get_by_role("textbox", name="Budgets (tokens)").fill(budgets)
        page.get_by_role("textbox", name="Budgets (tokens)").press("Enter")
        page.get_by_text("Before you start").wait_for(timeout=30_000)
        wait_idle(page)
        page.evaluate(POLLER_JS, spec)
        page.get_by_role("button", name="Start sweep").click()
        page.wait_for_url("**experiment=**", timeout=30_000)
        exp_id = page.url.split("experiment=")[1].split("&")[0]
        page.get_by_text("Finished:").wait_for(timeout=180_000)
        page.wait_for_timeout(1500)
        seen = page.evaluate("() => { clearInterval(window.__poll); return window.__seen; }")
        paints = sorted(set(seen.values()))  # moments new points showed up
        gaps += [b - a for a, b in zip(paints, paints[1:])]
        if k == 0:
            continue
        exp_ids.append(exp_id)
        detail = Store(f"sqlite:///{data_dir / 'tale.db'}").get_experiment(exp_id)
        for r in detail.records:
            if r.budget is None or r.role == "estimate":
                continue
            done_at = r.created_at + float((r.extra or {}).get("wall_s") or 0.0)
            shown = seen.get(str(r.budget))
            if shown is not None:
                delays.append(shown - done_at * 1000)
    return {
        "model": spec,
        "sweeps": n_sweeps,
        "cells_matched": len(delays),
        "budgets_per_sweep": len(grid),
        "fragment_run_every_s": _run_every(),
        "experiments": exp_ids,
        "between_paints": {k: v for k, v in _stats(gaps).items() if k in ("median_ms", "p90_ms", "runs")},
        **_stats(delays),
    }


def _run_every() -> float | None:
    try:
        text = (ROOT / "pages" / "sweep.py").read_text()
        line = next(ln for ln in text.splitlines() if ln.startswith("LIVE_EVERY_S"))
        return float(line.split("=")[1].split("#")[0])
    except (StopIteration, ValueError, OSError):
        return None


# ----------------------------------------------------------------------------------------- report


def versions(browser_version: str) -> dict[str, str]:
    from importlib.metadata import version

    out = {"python": platform.python_version(), "chromium": browser_version}
    for pkg in ("streamlit", "plotly", "sqlalchemy", "playwright"):
        try:
            out[pkg] = version(pkg)
        except Exception:  # a missing version is not a reason to lose the run
            out[pkg] = "?"
    return out


def to_markdown(res: dict[str, Any]) -> str:
    m = res["machine"]
    lines = [
        f"# App render benchmark ({res['date']})",
        "",
        f"Headless Chromium against `python -m ui.launch` on 127.0.0.1, scripted fake models. "
        f"{m['cpus']} CPU cores, {m['platform']}; " + ", ".join(f"{k} {v}" for k, v in res["versions"].items()) + ".",
        "",
        f"Medians of {res['runs']} loads after a warm-up load (same browser, so static files are cached), "
        "measured in the page: navigation start -> condition met, checked every animation frame.",
        "",
        "## (a) First render of each page (small database)",
        "",
        "| page | median ms | p90 ms | min | max |",
        "|---|---|---|---|---|",
    ]
    for name, s in res["pages"].items():
        lines.append(f"| {name} | {s['median_ms']} | {s['p90_ms']} | {s['min_ms']} | {s['max_ms']} |")
    b = res["experiments_10k"]
    lines += [
        "",
        f"## (b) Experiments page over {b['experiments']:,} experiments / {b['calls']:,} calls",
        "",
        f"Heading shown and Streamlit idle: median {b['page']['median_ms']} ms "
        f"(p90 {b['page']['p90_ms']}, min {b['page']['min_ms']}, max {b['page']['max_ms']}). "
        f"The list shows {b['page_size']} rows per page and counts the rest in SQL.",
        "",
    ]
    c = res["sweep_5k"]
    f = c["in_process"]
    lines += [
        f"## (c) Stored sweep with {c['cells']:,} cells ({f['points_in_figure']:,} points in the chart)",
        "",
        f"Browser, `/sweep?experiment=<id>` -> elasticity chart with all points drawn and Streamlit idle: "
        f"median {c['browser']['median_ms']} ms (p90 {c['browser']['p90_ms']}). The same page with a "
        f"10-cell sweep: median {c['baseline_10_cells']['median_ms']} ms "
        f"(p90 {c['baseline_10_cells']['p90_ms']}).",
        "",
        "In-process, what the page does before sending the figures (median ms):",
        "",
        "| step | ms |",
        "|---|---|",
    ]
    for k in (
        "load_calls",
        "rebuild_cells",
        "analyze",
        "elasticity_figure",
        "accuracy_cost_figure",
        "figures_to_json",
        "total",
    ):
        lines.append(f"| {k} | {f[k]} |")
    d = res["live_delay"]
    lines += [
        "",
        "## (d) Live sweep: cell completed -> its point drawn",
        "",
        f"{d['sweeps']} sweeps of {d['budgets_per_sweep']} budgets on `{d['model']}`, {d['cells_matched']} "
        f"cells matched: median {d['median_ms']} ms, p90 {d['p90_ms']} ms (min {d['min_ms']}, "
        f"max {d['max_ms']}).",
        "",
        f"After one warm-up sweep (not counted: the first table a server draws imports pandas, about 1 s). "
        f"What bounds it: the sweep page redraws in `st.fragment(run_every={d['fragment_run_every_s']})`, "
        "so a finished cell waits for the next tick (0 to 1 s, 0.5 s on average), then the fragment "
        "rerun (job snapshot -> analysis -> figures and the cells table -> websocket deltas) and plotly's "
        f"redraw. New points showed up every {d['between_paints'].get('median_ms')} ms (median, p90 "
        f"{d['between_paints'].get('p90_ms')}), so the redraw cycle is the timer plus the rerun's own "
        "time; a cell waits on average half a cycle plus one rerun. The cell's "
        "completion time is CallRecord.created_at (taken just before the call) plus the call's measured "
        "wall time, as stored in the database; the browser time is when a page-side poller (every 4 ms) "
        "first saw the budget's marker drawn.",
        "",
    ]
    if res.get("notes"):
        lines += ["## Notes", ""] + [f"- {n}" for n in res["notes"]] + [""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--experiments", type=int, default=10_000)
    ap.add_argument("--calls", type=int, default=100_000)
    ap.add_argument("--live-sweeps", type=int, default=2)
    ap.add_argument("--out", default=str(RESULTS))
    ap.add_argument("--skip", default="", help="comma list of parts to skip: pages,big,live")
    ap.add_argument("--markdown-only", action="store_true", help="rewrite the .md from the saved .json")
    args = ap.parse_args(argv)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    if args.markdown_only:
        res = json.loads((Path(args.out) / "app_render.json").read_text())
        res["notes"] = NOTES
        (Path(args.out) / "app_render.json").write_text(json.dumps(res, indent=2) + "\n")
        (Path(args.out) / "app_render.md").write_text(to_markdown(res))
        return 0

    from tests.e2e.browser import chromium_page, streamlit_server

    res: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "runs": args.runs,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "notes": NOTES,
    }
    with (
        tempfile.TemporaryDirectory(prefix="tale-bench-small-") as small,
        tempfile.TemporaryDirectory(prefix="tale-bench-big-") as big,
    ):
        small_dir, big_dir = Path(small), Path(big)
        if "big" not in skip:
            print(
                f"building {args.experiments} experiments / {args.calls} calls + a 5,000-cell sweep...", file=sys.stderr
            )
            built = build_big_db(big_dir, args.experiments, args.calls)
            res["build"] = {k: v for k, v in built.items() if k != "url"}
        with streamlit_server(small_dir) as base, chromium_page(1280, 800) as page:
            res["versions"] = versions(page.context.browser.version)
            if "pages" not in skip:
                res["pages"] = {}
                for path, heading in PAGES:
                    print(f"page /{path}", file=sys.stderr)
                    res["pages"][heading] = _timed_load(page, f"{base}/{path}", READY_JS, heading, args.runs)
            if "live" not in skip:
                print("live sweeps", file=sys.stderr)
                res["live_delay"] = live_sweep_delay(page, base, small_dir, args.live_sweeps)
        if "big" not in skip:
            with streamlit_server(big_dir) as base, chromium_page(1280, 800) as page:
                print("experiments page over the big database", file=sys.stderr)
                res["experiments_10k"] = {
                    "experiments": args.experiments + 1,
                    "calls": args.calls + BIG_BUDGETS * BIG_REPEATS + BIG_REPEATS,
                    "page_size": 25,
                    "page": _timed_load(page, f"{base}/experiments", READY_JS, "Experiments", args.runs),
                }
                print("5,000-cell sweep", file=sys.stderr)
                n = BIG_BUDGETS * BIG_REPEATS
                res["sweep_5k"] = {
                    "cells": n + BIG_REPEATS,
                    "browser": _timed_load(
                        page, f"{base}/sweep?experiment={built['sweep_id']}", CHART_JS, n, args.runs, timeout_ms=180_000
                    ),
                    "drawn_markers": page.evaluate("window.__drawn"),
                    # the same page with a 10-cell sweep: what any stored sweep costs (plotly.js, DB, layout)
                    "baseline_10_cells": _timed_load(
                        page, f"{base}/sweep?experiment={built['small_sweep_id']}", CHART_JS, 10, args.runs
                    ),
                }
            res["sweep_5k"]["in_process"] = figure_in_process(built["url"], built["sweep_id"], args.runs)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "app_render.json").write_text(json.dumps(res, indent=2) + "\n")
    if all(k in res for k in ("pages", "experiments_10k", "sweep_5k")) and res.get("live_delay", {}).get("runs"):
        (out / "app_render.md").write_text(to_markdown(res))
    print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
