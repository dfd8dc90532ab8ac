"""API concurrency (issue 11): a 16-budget sweep through the CLI against a loopback OpenAI-compatible
endpoint with 2 s latency, and the same endpoint answering 429 + Retry-After to half of all requests
for 20 s.

    PYTHONPATH=. .venv/bin/python bench/concurrency.py

Scenario 1 (latency): ``python -m tale_core sweep ... --budgets <16 budgets> --no-cache --json`` in a
subprocess, as a user runs it, with and without the vanilla reference cell (16 and 17 calls), at the
default concurrency and with ``--concurrency 16``. Measured: wall time of the subprocess's sweep
(from its first to its last request, as the server saw them, and the whole process), the slowest single
call (server-side request duration), and their ratio.

Scenario 2 (429 storm): in-process, a 160-cell sweep (40 budgets x 4 repeats) on the same endpoint
while every second request during the first 20 s is answered 429 with ``Retry-After: 1``. Measured:
cells stored (none lost), requests per (budget, repeat) that succeeded (none duplicated), the limiter's
log (backing off, growing back), and throughput (successful calls per second) in 5 s windows.

Writes ``bench/results/concurrency.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
RESULTS = REPO / "bench" / "results"
BUDGETS = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 120, 140, 160, 180, 200, 250]


class Endpoint:
    """A loopback chat-completions server: fixed latency, optional 429 storm, a log of every request."""

    def __init__(self, latency_s: float) -> None:
        self.latency_s = latency_s
        self.storm_until = 0.0
        self.lock = threading.Lock()
        self.n = 0
        self.log: list[dict[str, Any]] = []
        outer = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a: Any) -> None:
                pass

            def do_POST(self) -> None:
                t0 = time.monotonic()
                body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
                with outer.lock:
                    outer.n += 1
                    k = outer.n
                user = f"{body.get('messages', [{}])[-1].get('content', '')} seed={body.get('seed')}"
                if t0 < outer.storm_until and k % 2 == 0:
                    data = json.dumps({"error": {"message": "Rate limit", "type": "requests", "code": "rate_limit"}})
                    self.send_response(429)
                    self.send_header("content-type", "application/json")
                    self.send_header("retry-after", "1")
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data.encode())
                    with outer.lock:
                        outer.log.append({"t0": t0, "t1": time.monotonic(), "status": 429, "prompt": user})
                    return
                time.sleep(outer.latency_s)
                text = "Answer: [[4]]"
                payload = {
                    "id": f"c{k}",
                    "object": "chat.completion",
                    "created": 1,
                    "model": body.get("model", "m"),
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                    ],
                    "usage": {"prompt_tokens": 30, "completion_tokens": 5, "total_tokens": 35},
                }
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                with outer.lock:
                    outer.log.append({"t0": t0, "t1": time.monotonic(), "status": 200, "prompt": user})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> Endpoint:
        self.thread.start()
        return self

    def __exit__(self, *a: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        with self.lock:
            self.log.clear()
            self.n = 0


def endpoint_env(ep: Endpoint) -> dict[str, str]:
    env = dict(os.environ)
    env["TALE_ENDPOINTS"] = json.dumps({"name": "slow", "base_url": ep.base_url, "models": ["m"]})
    env["PYTHONPATH"] = str(REPO)
    env["TALE_DATA_DIR"] = env.get("TALE_BENCH_DATA_DIR") or str(Path(tempfile.gettempdir()) / "tale-bench-concurrency")
    return env


def cli_sweep(ep: Endpoint, reference: bool, concurrency: int | None) -> dict[str, Any]:
    ep.reset()
    cmd = [sys.executable, "-m", "tale_core", "sweep", "What is 2 + 2?", "--answer", "4", "--model", "compat:slow/m"]
    cmd += ["--budgets", ",".join(map(str, BUDGETS)), "--no-cache", "--json"]
    if not reference:
        cmd.append("--no-reference")
    if concurrency is not None:
        cmd += ["--concurrency", str(concurrency)]
    t0 = time.monotonic()
    out = subprocess.run(cmd, env=endpoint_env(ep), capture_output=True, text=True, timeout=300)
    process_s = time.monotonic() - t0
    if out.returncode != 0:
        raise SystemExit(f"sweep failed ({out.returncode}): {out.stderr[-2000:]}")
    obj = json.loads(out.stdout)
    log = list(ep.log)
    first, last = min(r["t0"] for r in log), max(r["t1"] for r in log)
    slowest = max(r["t1"] - r["t0"] for r in log)
    wall = last - first
    return {
        "reference_cell": reference,
        "concurrency_flag": concurrency,
        "cells": len(obj["rows"]),
        "requests": len(log),
        "errors": obj["errors"],
        "sweep_wall_s": round(wall, 2),
        "process_wall_s": round(process_s, 2),
        "slowest_call_s": round(slowest, 2),
        "ratio_wall_over_slowest": round(wall / slowest, 3),
    }


def storm(ep: Endpoint, storm_s: float, cells_budgets: list[int], repeats: int) -> dict[str, Any]:
    import logging

    from tale_core.experiments.sweep import SweepConfig, run_sweep
    from tale_core.providers import resolve
    from tale_core.providers.limiter import reset_limiters
    from tale_core.settings import ProviderSettings

    reset_limiters()
    logging.basicConfig(level=logging.WARNING)
    ep.reset()
    ep.latency_s = 0.5
    settings = ProviderSettings.from_env(endpoint_env(ep))
    model = resolve("compat:slow/m", settings)
    config = SweepConfig(
        question="What is 2 + 2?",
        gold="4",
        models=("compat:slow/m",),
        budgets=tuple(cells_budgets),
        repeats=repeats,
        include_reference=False,
        use_cache=False,
        temperature=0.0,
        seed=0,
    ).validate()
    start = time.monotonic()
    ep.storm_until = start + storm_s
    outcome = run_sweep(config, {"compat:slow/m": model})
    end = time.monotonic()
    ep.storm_until = 0.0
    log = list(ep.log)
    ok = [r for r in log if r["status"] == 200]
    per_prompt = Counter(r["prompt"] for r in ok)
    windows = []
    t = start
    while t < end:
        n = sum(1 for r in ok if t <= r["t1"] < t + 5)
        windows.append({"from_s": round(t - start, 1), "calls_per_s": round(n / 5, 2)})
        t += 5
    hist = [h.to_dict() for h in model.limiter.history]
    for h in hist:
        h["t"] = round(float(h["t"]) - start, 2)
    statuses = Counter(c.result.status for c in outcome.cells)
    return {
        "cells_planned": len(cells_budgets) * repeats,
        "cells_stored": len(outcome.cells),
        "cell_statuses": dict(statuses),
        "errors": outcome.errors,
        "requests": len(log),
        "answered_429": sum(1 for r in log if r["status"] == 429),
        "successful_requests": len(ok),
        "distinct_prompts_succeeded": len(per_prompt),
        "prompts_succeeding_twice": sum(1 for v in per_prompt.values() if v > 1),
        "wall_s": round(end - start, 1),
        "throughput_5s_windows": windows,
        "limiter_log": hist,
        "peak_in_flight": model.limiter.peak_in_flight,
    }


def write_md(report: dict[str, Any], path: Path) -> None:
    lines = [
        "# API concurrency (bench/concurrency.py)",
        "",
        f"Loopback OpenAI-compatible endpoint; Python {report['python']}; {report['when']}.",
        "",
        "## 16-budget sweep through the CLI, 2 s per call",
        "",
        "Wall = first request in to last answer out, as the server saw them (the process adds its start-up).",
        "",
        "| cells | reference cell | --concurrency | requests | errors | sweep wall (s) | process (s) |"
        " slowest call (s) | wall / slowest |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["latency"]:
        lines.append(
            f"| {r['cells']} | {'yes' if r['reference_cell'] else 'no'} | {r['concurrency_flag'] or 'default (32)'} | "
            f"{r['requests']} | {r['errors']} | {r['sweep_wall_s']} | {r['process_wall_s']} | {r['slowest_call_s']} | "
            f"**{r['ratio_wall_over_slowest']}** |"
        )
    s = report["storm"]
    lines += [
        "",
        f"## 429 storm: every 2nd request answered 429 (Retry-After 1) for {report['storm_s']:g} s, 0.5 s per call",
        "",
        f"- cells planned {s['cells_planned']}, stored {s['cells_stored']}, statuses {s['cell_statuses']}, "
        f"errors {s['errors']}",
        f"- requests {s['requests']}, answered 429: {s['answered_429']}, succeeded {s['successful_requests']}, "
        f"distinct prompts that succeeded {s['distinct_prompts_succeeded']} (= no cell lost or duplicated when "
        "equal to the cells planned)",
        f"- wall {s['wall_s']} s, peak calls in flight {s['peak_in_flight']}",
        "- successful calls per second, 5 s windows: "
        + ", ".join(f"{w['from_s']:g}s: {w['calls_per_s']}" for w in s["throughput_5s_windows"]),
        "",
        "Limiter log (seconds from the start, concurrency, why):",
        "",
    ]
    for h in s["limiter_log"]:
        lines.append(f"- {h['t']:>6} s  {h['limit']:>3}  {h['reason']}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--storm-s", type=float, default=20.0)
    a = ap.parse_args(argv)
    with Endpoint(2.0) as ep:
        latency = [
            cli_sweep(ep, reference=False, concurrency=None),
            cli_sweep(ep, reference=True, concurrency=None),
            cli_sweep(ep, reference=True, concurrency=16),
        ]
        for r in latency:
            print(r, flush=True)
        budgets = list(range(10, 410, 10))
        st = storm(ep, a.storm_s, budgets, repeats=4)
        print({k: v for k, v in st.items() if k != "limiter_log"}, flush=True)
    report = {
        "python": platform.python_version(),
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "latency": latency,
        "storm_s": a.storm_s,
        "storm": st,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "concurrency.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    write_md(report, RESULTS / "concurrency.md")
    print((RESULTS / "concurrency.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
