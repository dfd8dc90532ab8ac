"""Overhead of the embedded provider: ``LocalModel.complete`` vs. calling xllamacpp directly.

Both sides use the SAME loaded runtime (one ``xllamacpp.Server``) and the SAME request dict
(``LocalModel.build_request``), so the only difference is our wrapper: building the request, parsing the
answer or the stream chunks, the Completion object. Calls are interleaved in one run (ours, direct,
direct, ours, ... : the order flips every round so neither side always runs on a warmer cache), over
several prompts and rounds, with a fixed ``max_tokens``. Throughput of one call = completion tokens /
wall seconds measured here around the call. The model's raw decode speed comes from llama.cpp's own
``timings.predicted_per_second``.

    python -m bench.local_overhead [--model smollm2] [--rounds 3] [--max-tokens 64] [--modes plain,stream]

Writes ``bench/results/local_overhead.json`` and ``bench/results/local_overhead.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tale_core.engine import prompts
from tale_core.providers.local import LocalModel, RuntimeConfig, runtime_version
from tale_core.types import GenParams

RESULTS = Path(__file__).resolve().parent / "results"
TARGET_RATIO = 0.95

QUESTIONS = (
    "A baker makes 24 muffins and sells them in boxes of 4. How many boxes does she fill?",
    "Tom has 3 times as many marbles as Ann. Together they have 48. How many does Tom have?",
    "A train travels 60 km per hour for 2.5 hours. How far does it go?",
    "What is 15% of 240?",
)


class _TimingServer:
    """Stands in for the runtime's ``xllamacpp.Server`` during the benchmark and times each call.

    ``inside_s`` is the time spent in ``handle_chat_completions``; ``callback_s`` the part of it spent in
    the caller's stream callback (which is the caller's work, not the runtime's). So for any call,
    ``wall - (inside_s - callback_s)`` is the time the caller's own code took: the wrapper overhead,
    measured even when the machine is busy and throughput numbers drift.
    """

    def __init__(self, real: Any):
        self.real = real
        self.inside_s = 0.0
        self.callback_s = 0.0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def handle_chat_completions(self, req: dict, callback: Callable[[Any], None] | None = None) -> Any:
        self.callback_s = 0.0
        cb = None
        if callback is not None:

            def cb(chunk: Any) -> None:
                t = time.perf_counter()
                try:
                    callback(chunk)
                finally:
                    self.callback_s += time.perf_counter() - t

        t0 = time.perf_counter()
        try:
            return self.real.handle_chat_completions(req, cb) if cb else self.real.handle_chat_completions(req)
        finally:
            self.inside_s = time.perf_counter() - t0


def _direct_call(model: LocalModel, req: dict, stream: bool) -> dict[str, Any]:
    """The same request straight into the runtime; returns usage and llama.cpp timings."""
    server = model._rt.server  # the point is to bypass our wrapper
    if not stream:
        out = server.handle_chat_completions(req)
        return {"usage": out["usage"], "timings": out.get("timings") or {}}
    last: dict[str, Any] = {}

    def on_chunk(chunk: Any) -> None:
        if isinstance(chunk, str):
            chunk = json.loads(chunk)
        if isinstance(chunk, dict) and chunk.get("usage"):
            last["usage"] = chunk["usage"]
            last["timings"] = chunk.get("timings") or {}

    server.handle_chat_completions(req, on_chunk)
    return last


def _ours_call(model: LocalModel, messages, params: GenParams, stream: bool) -> dict[str, Any]:
    c = model.complete(messages, params, on_text=(lambda s: None) if stream else None)
    return {"usage": c.raw_usage, "timings": {}}


def _timed(fn: Callable[[], dict[str, Any]]) -> tuple[float, dict[str, Any]]:
    t0 = time.perf_counter()
    res = fn()
    return time.perf_counter() - t0, res


def run(
    model_name: str = "smollm2", rounds: int = 3, max_tokens: int = 64, modes: tuple[str, ...] = ("plain", "stream")
) -> dict[str, Any]:
    """Run the interleaved benchmark and return the result document."""
    cfg = RuntimeConfig.from_env()
    model = LocalModel(model_name, cfg)
    rt = model._rt  # loads the model; the timing proxy wraps this runtime's server
    timer = _TimingServer(rt.server)
    rt.server = timer
    try:
        return _run(model, cfg, model_name, rounds, max_tokens, modes, timer)
    finally:
        rt.server = timer.real


def _run(
    model: LocalModel,
    cfg: RuntimeConfig,
    model_name: str,
    rounds: int,
    max_tokens: int,
    modes: tuple[str, ...],
    timer: _TimingServer,
) -> dict[str, Any]:
    params = GenParams(max_tokens=max_tokens, temperature=0.0, seed=0)
    jobs = [prompts.vanilla_cot(q) for q in QUESTIONS]
    # load the model and warm both paths once (not measured)
    for stream in (False, True):
        _ours_call(model, jobs[0], params, stream)
        _direct_call(model, model.build_request(jobs[0], params, stream), stream)

    samples: list[dict[str, Any]] = []
    for r in range(max(1, rounds)):
        for p, msgs in enumerate(jobs):
            for mode in modes:
                stream = mode == "stream"
                req = model.build_request(msgs, params, stream)
                sides = [
                    ("ours", lambda m=msgs, s=stream: _ours_call(model, m, params, s)),
                    ("direct", lambda q=req, s=stream: _direct_call(model, dict(q), s)),
                ]
                if (r + p) % 2:
                    sides.reverse()
                for side, fn in sides:
                    wall, res = _timed(fn)
                    n_out = int(res["usage"]["completion_tokens"])
                    runtime_s = timer.inside_s - timer.callback_s
                    samples.append(
                        {
                            "round": r,
                            "prompt": p,
                            "mode": mode,
                            "side": side,
                            "wall_s": wall,
                            "runtime_s": runtime_s,
                            "overhead_ms": (wall - runtime_s) * 1000,
                            "output_tokens": n_out,
                            "tokens_per_s": n_out / wall if wall > 0 else 0.0,
                            "decode_tokens_per_s": res["timings"].get("predicted_per_second"),
                        }
                    )
                print(
                    f"round {r + 1}/{rounds} prompt {p + 1}/{len(jobs)} {mode}: "
                    + ", ".join(f"{s['side']} {s['tokens_per_s']:.1f}" for s in samples[-2:])
                    + " tok/s",
                    file=sys.stderr,
                    flush=True,
                )

    summary: dict[str, Any] = {}
    for mode in modes:
        ours = [s["tokens_per_s"] for s in samples if s["mode"] == mode and s["side"] == "ours"]
        direct = [s["tokens_per_s"] for s in samples if s["mode"] == mode and s["side"] == "direct"]
        # per-pair ratios (same prompt, same round) are robust to the machine's load drifting over the run
        pairs = {}
        for s in samples:
            if s["mode"] == mode:
                pairs.setdefault((s["round"], s["prompt"]), {})[s["side"]] = s["tokens_per_s"]
        ratios = [v["ours"] / v["direct"] for v in pairs.values() if v.get("direct")]
        med_o, med_d = statistics.median(ours), statistics.median(direct)
        ov = {
            side: [x["overhead_ms"] for x in samples if x["mode"] == mode and x["side"] == side]
            for side in ("ours", "direct")
        }
        walls = [x["wall_s"] for x in samples if x["mode"] == mode and x["side"] == "ours"]
        extra_ms = statistics.median(ov["ours"]) - statistics.median(ov["direct"])
        summary[mode] = {
            "n_pairs": len(ratios),
            "median_tokens_per_s_ours": med_o,
            "median_tokens_per_s_direct": med_d,
            "ratio_of_medians": med_o / med_d,
            "median_pair_ratio": statistics.median(ratios),
            "meets_target": statistics.median(ratios) >= TARGET_RATIO,
            "median_overhead_ms_ours": statistics.median(ov["ours"]),
            "median_overhead_ms_direct": statistics.median(ov["direct"]),
            "wrapper_cost_ms": extra_ms,
            "wrapper_cost_fraction": extra_ms / 1000 / statistics.median(walls),
        }
    raw = [s["decode_tokens_per_s"] for s in samples if s["decode_tokens_per_s"]]
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "benchmark": "local_overhead",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpu_cores": os.cpu_count(),
            "platform": platform.platform(),
            "processor": _cpu_name(),
            "python": platform.python_version(),
            "load_avg_at_end": load,
        },
        "runtime": runtime_version(),
        "runtime_config": {"n_ctx": cfg.n_ctx, "threads": cfg.threads, "slots": cfg.slots},
        "model": f"local/{model_name}",
        "max_tokens": max_tokens,
        "rounds": rounds,
        "prompts": len(jobs),
        "modes": list(modes),
        "target_ratio": TARGET_RATIO,
        "summary": summary,
        "raw_decode_tokens_per_s_median": statistics.median(raw) if raw else None,
        "samples": samples,
    }


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def to_markdown(doc: dict[str, Any]) -> str:
    m = doc["machine"]
    lines = [
        "# Embedded provider overhead (LocalModel.complete vs. direct xllamacpp)",
        "",
        f"- date: {doc['date']}",
        f"- machine: {m['cpu_cores']} cores, {m['processor']}, {m['platform']}; load average at end "
        f"{', '.join(f'{x:.1f}' for x in m['load_avg_at_end']) if m['load_avg_at_end'] else 'n/a'}",
        f"- runtime: {doc['runtime']}; n_ctx={doc['runtime_config']['n_ctx']} "
        f"threads={doc['runtime_config']['threads']} slots={doc['runtime_config']['slots']}",
        f"- model: {doc['model']}, max_tokens={doc['max_tokens']}, temperature 0, "
        f"{doc['prompts']} prompts x {doc['rounds']} rounds, interleaved (order flips each pair)",
        f"- raw decode speed (llama.cpp timings, median): "
        f"{doc['raw_decode_tokens_per_s_median'] or float('nan'):.1f} tokens/s",
        "",
        "| mode | pairs | median tok/s ours | median tok/s direct | ratio of medians | median pair ratio | "
        f"target >= {doc['target_ratio']} | wrapper cost per call | share of call time |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for mode, s in doc["summary"].items():
        lines.append(
            f"| {mode} | {s['n_pairs']} | {s['median_tokens_per_s_ours']:.1f} | "
            f"{s['median_tokens_per_s_direct']:.1f} | {s['ratio_of_medians']:.3f} | "
            f"{s['median_pair_ratio']:.3f} | {'yes' if s['meets_target'] else 'NO'} | "
            f"{s['wrapper_cost_ms']:.2f} ms | {100 * s['wrapper_cost_fraction']:.3f}% |"
        )
    lines += [
        "",
        "Throughput per call = completion tokens / wall time of the call (prompt processing included).",
        "Median pair ratio = median over (prompt, round) of ours/direct tok/s for the two interleaved calls.",
        "Wrapper cost = median time outside the runtime (wall minus time inside handle_chat_completions, "
        "callback time counted as outside) for ours minus the same for direct: what our code adds, "
        "independent of how busy the machine is.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.local_overhead", description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="smollm2")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--modes", default="plain,stream", help="comma list of plain and/or stream")
    ap.add_argument("--out", default=str(RESULTS), help="folder for local_overhead.json / .md")
    args = ap.parse_args(argv)
    modes = tuple(m for m in args.modes.split(",") if m in ("plain", "stream")) or ("plain",)
    doc = run(args.model, args.rounds, args.max_tokens, modes)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    suffix = "" if args.model == "smollm2" else f"_{args.model}"
    (out / f"local_overhead{suffix}.json").write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    md = to_markdown(doc)
    (out / f"local_overhead{suffix}.md").write_text(md, encoding="utf-8")
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
