"""Soft vs hard budgets on the embedded model: TALE's prompt budget ``budget:N`` beside budget forcing
``forced:N`` (s1: reason for at most N tokens, then the answer is forced) at the same N, with vanilla CoT
as the reference.

    TALE_MODELS_DIR=... PYTHONPATH=. .venv/bin/python bench/budget_forcing.py --limit 30 --budgets 50,100,200

Questions: the paper's Figure 1 question (bundled sample ``peyton``) and the first ``--limit`` GSM8K test
questions (``../shared/data/gsm8k_test.jsonl``, beside the repository; never copied into it).
max_tokens 512 for the soft budgets and the reference, temperature 0, seed 0, no cache. Every finished
cell is appended at once to ``bench/results/budget_forcing.jsonl`` (ids, statuses and counts only, no
question or model text), and a rerun resumes from it; ``--max-minutes`` bounds a run. ``--report`` only
rewrites ``budget_forcing.md``/``.json`` from the cells already there. Accuracy intervals: Wilson 95%
(scipy ``binomtest``); mean-token intervals: 95% bootstrap (scipy ``bootstrap``, percentile, 2,000
resamples, seed 0). Only questions every method finished are summarised.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tale_core.engine.methods import MethodSpec, run_method  # noqa: E402
from tale_core.types import GenParams  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "gsm8k_test.jsonl"
RESULTS = REPO / "bench" / "results"
SPEC = "local/qwen2.5-coder-1.5b"


def load_items(limit: int) -> list[dict]:
    from tale_core.data.datasets import load_dataset

    items: list[dict] = []
    samples = load_dataset(REPO / "tale_core" / "data" / "samples.jsonl")
    peyton = next(it for it in samples.items if it.id == "peyton")
    items.append({"id": "peyton", "question": peyton.question, "answer": peyton.answer})
    ds = load_dataset(DATA)
    items += [{"id": f"gsm8k-{it.id}", "question": it.question, "answer": it.answer} for it in ds.items[:limit]]
    return items


def methods_for(budgets: list[int]) -> list[str]:
    out = ["vanilla"]
    for n in budgets:
        out += [f"budget:{n}", f"forced:{n}"]
    return out


def read_cells(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def run(items: list[dict], methods: list[str], path: Path, max_minutes: float) -> None:
    from tale_core.providers import resolve

    done = {(c["item_id"], c["method"]) for c in read_cells(path)}
    model = resolve(SPEC)
    params = GenParams(max_tokens=512, temperature=0.0, seed=0)
    deadline = time.monotonic() + max_minutes * 60
    path.parent.mkdir(parents=True, exist_ok=True)
    for it in items:  # bounded: items x methods
        for m in methods:
            if (it["id"], m) in done:
                continue
            if time.monotonic() > deadline:
                print("time limit reached", flush=True)
                return
            r = run_method(
                model, MethodSpec.parse(m), it["question"], gold=it["answer"], params=params, use_cache=False
            )
            comp = r.records[-1].completion if r.records else None
            bf = ((comp.raw_usage or {}).get("budget_forcing") or {}) if comp else {}
            cell = {
                "item_id": it["id"],
                "method": m,
                "status": r.status,
                "correct": r.correct,
                "extracted": r.extracted,
                "output_tokens": r.output_tokens,
                "input_tokens": r.input_tokens,
                "finish_reason": r.finish_reason,
                "forced": bf.get("forced"),
                "forced_answer_tokens": bf.get("answer_tokens"),
                "latency_s": round(r.latency_s, 2),
                "error": r.error_message or None,
                "runtime": comp.runtime if comp else None,
            }
            with path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(cell) + "\n")
            print(f"{it['id']:>10} {m:<11} {r.status:<9} out={r.output_tokens:<4} {r.latency_s:5.1f}s", flush=True)


def wilson(k: int, n: int) -> tuple[float, float]:
    from scipy.stats import binomtest

    if n == 0:
        return (float("nan"), float("nan"))
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return (float(ci.low), float(ci.high))


def boot_mean(values: list[float]) -> tuple[float, float]:
    import numpy as np
    from scipy.stats import bootstrap

    if len(set(values)) < 2:
        v = float(values[0]) if values else float("nan")
        return (v, v)
    res = bootstrap(
        (np.asarray(values, dtype=float),),
        np.mean,
        n_resamples=2000,
        confidence_level=0.95,
        method="percentile",
        random_state=np.random.default_rng(0),
    )
    return (float(res.confidence_interval.low), float(res.confidence_interval.high))


def summarise(cells: list[dict], methods: list[str]) -> dict:
    by_q: dict[str, dict[str, dict]] = {}
    for c in cells:
        by_q.setdefault(c["item_id"], {})[c["method"]] = c
    complete = sorted(q for q, ms in by_q.items() if all(m in ms for m in methods))
    rows = []
    for m in methods:
        cs = [by_q[q][m] for q in complete]
        gsm = [c for c in cs if c["item_id"] != "peyton"]
        n = len(gsm)
        k = sum(1 for c in gsm if c["correct"])
        toks = [float(c["output_tokens"]) for c in gsm]
        lo, hi = wilson(k, n)
        tlo, thi = boot_mean(toks) if toks else (float("nan"), float("nan"))
        pey = by_q.get("peyton", {}).get(m)
        rows.append(
            {
                "method": m,
                "label": MethodSpec.parse(m).label,
                "n": n,
                "correct": k,
                "accuracy": k / n if n else None,
                "accuracy_ci95": [lo, hi],
                "mean_output_tokens": sum(toks) / n if n else None,
                "mean_output_tokens_ci95": [tlo, thi],
                "max_output_tokens": max(toks) if toks else None,
                "errors": sum(1 for c in gsm if c["status"] == "error"),
                "no_answer": sum(1 for c in gsm if c["status"] == "no_answer"),
                "cut_by_cap": sum(1 for c in gsm if c["finish_reason"] == "length"),
                "forced": sum(1 for c in gsm if c.get("forced")),
                "mean_latency_s": sum(c["latency_s"] for c in gsm) / n if n else None,
                "peyton": None
                if pey is None
                else {k2: pey[k2] for k2 in ("status", "extracted", "output_tokens", "forced")},
            }
        )
    runtime = next((c.get("runtime") for c in cells if c.get("runtime")), None)
    return {"model": SPEC, "runtime": runtime, "questions_complete": len(complete), "methods": rows}


def fmt_ci(v: float | None, ci: list[float], pct: bool) -> str:
    if v is None:
        return "-"
    if pct:
        return f"{100 * v:.0f}% [{100 * ci[0]:.0f}, {100 * ci[1]:.0f}]"
    return f"{v:.0f} [{ci[0]:.0f}, {ci[1]:.0f}]"


def write_report(summary: dict, budgets: list[int], md: Path, js: Path) -> None:
    js.write_text(json.dumps(dict(summary, budgets=budgets, python=platform.python_version()), indent=1) + "\n")
    lines = [
        "# Soft vs hard budgets on the embedded model (bench/budget_forcing.py)",
        "",
        f"Model `{summary['model']}` ({summary['runtime']}); temperature 0, seed 0, no cache; max_tokens 512 for",
        'vanilla CoT and the prompt budgets. `budget:N` = TALE\'s prompt ("use less than N tokens", a soft',
        "budget); `forced:N` = budget forcing (s1): the vanilla CoT prompt, reasoning cut at N tokens, then",
        '"Final Answer: [[" appended and at most 32 answer tokens generated (a hard budget: <= N + 32 output',
        "tokens, all phases counted). GSM8K: the first questions of the test set that every method finished",
        "(n below); accuracy with Wilson 95% intervals, mean output tokens per question (every call of the",
        "method) with 95% bootstrap intervals. Peyton (the paper's Figure 1 question, gold 17) shown separately.",
        "",
        f"Questions complete: {summary['questions_complete']} (incl. Peyton).",
        "",
        "`forced` = calls whose reasoning hit N and got the forced answer; `cut by cap` = calls whose last",
        "phase hit its cap (max_tokens 512, or the 32 forced-answer tokens); runtime and load: see the JSON.",
        "",
        "| method | n | accuracy [95% CI] | mean output tokens [95% CI] | max | forced | cut by cap | no answer | Peyton |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in summary["methods"]:
        p = r["peyton"]
        pey = "-" if p is None else f"{p['status']} ({p['extracted']}, {p['output_tokens']} tok)"
        lines.append(
            f"| {r['label']} | {r['n']} | {fmt_ci(r['accuracy'], r['accuracy_ci95'], True)} | "
            f"{fmt_ci(r['mean_output_tokens'], r['mean_output_tokens_ci95'], False)} | "
            f"{int(r['max_output_tokens']) if r['max_output_tokens'] is not None else '-'} | {r['forced']} | "
            f"{r['cut_by_cap']} | {r['no_answer']} | {pey} |"
        )
    md.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--limit", type=int, default=30)
    ap.add_argument("--budgets", default="50,100,200")
    ap.add_argument("--max-minutes", type=float, default=60.0)
    ap.add_argument("--report", action="store_true", help="only write the report from the stored cells")
    a = ap.parse_args(argv)
    budgets = [int(b) for b in a.budgets.split(",") if b.strip()]
    methods = methods_for(budgets)
    cells_path = RESULTS / "budget_forcing.jsonl"
    if not a.report:
        run(load_items(a.limit), methods, cells_path, a.max_minutes)
    summary = summarise(read_cells(cells_path), methods)
    write_report(summary, budgets, RESULTS / "budget_forcing.md", RESULTS / "budget_forcing.json")
    print((RESULTS / "budget_forcing.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
