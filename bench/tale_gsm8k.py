"""GSM8K: direct answer vs vanilla CoT vs TALE-EP on the embedded local models, with repeats and intervals.

    PYTHONPATH=. .venv/bin/python bench/tale_gsm8k.py --limit 30 --seeds 0,1,2 --temperature 0.7 \\
        --models local/smollm2 --max-minutes 70

Reads the first N questions of ``../shared/data/gsm8k_test.jsonl`` (beside the repository; never copied
into it) and runs every question x seed x method (max_tokens 512 by default), question by question, so a
time-bounded run stops with whole questions done. Each finished cell is appended at once to
``<out>.rows.jsonl``; ``--resume <out>.rows.jsonl`` (or a previous ``.json`` report) keeps the finished
cells and runs only the rest. ``bench/results/tale_gsm8k.json`` and ``.md`` are rewritten after every
question.

Statistics (scipy, through tale_core.analysis.stats where it has the function; per model and method, over the questions every method finished for every seed):
accuracy with a Wilson 95% interval over all (question, seed) cells; mean output tokens with a bootstrap
95% interval that resamples questions (the seeds of one question stay together); against vanilla CoT on
the same (question, seed): the token reduction with a paired bootstrap interval (questions resampled)
and the accuracy difference with an exact McNemar test on the discordant (question, seed) pairs.
"Identical to vanilla" counts the TALE-EP cells that fell back to the vanilla CoT prompt and whose
answer text equals the plain vanilla call's for the same question and seed (a reproducibility check:
the prompts, the parameters and the seed are the same). Rows keep no question text, gold answers or
model text: ids, statuses, counts and a hash of the answer text.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tale_core.engine.methods import MethodSpec  # noqa: E402
from tale_core.experiments.benchmark import PAPER_TABLE3, run_benchmark  # noqa: E402
from tale_core.providers import list_models, resolve  # noqa: E402
from tale_core.types import GenParams  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "gsm8k_test.jsonl"
RESULTS = REPO / "bench" / "results"
METHODS = ("direct", "vanilla", "tale-ep")
KEEP = (
    "spec",
    "item_id",
    "seed",
    "method",
    "status",
    "correct",
    "extracted",
    "output_tokens",
    "input_tokens",
    "answer_output_tokens",
    "estimate_output_tokens",
    "budget_used",
    "estimate_parsed",
    "estimate_status",
    "estimate_fallback",
    "finish_reason",
    "latency_s",
    "error",
    "text_sha256",
)


def load_gsm8k(path: Path, limit: int) -> list[dict]:
    """The first ``limit`` GSM8K rows as {id, question, answer} (gold = the number after ``####``)."""
    from tale_core.data.datasets import load_dataset

    ds = load_dataset(path)
    return [{"id": it.id, "question": it.question, "answer": it.answer} for it in ds.items[:limit]]


def _keep(row: dict[str, Any], seed: int) -> dict[str, Any]:
    text = row.get("text") or ""
    out = {k: row.get(k) for k in KEEP}
    out["seed"] = seed
    out["text_sha256"] = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    return out


def run_model(
    spec: str,
    items: list[dict],
    seeds: Sequence[int],
    params: GenParams,
    max_minutes: float | None,
    done: set[tuple[str, int, str]],
    rows_path: Path,
    on_question,
) -> dict:
    """Run every question x seed x method not in ``done``; append each finished cell to ``rows_path``."""
    model = resolve(spec)
    deadline = time.monotonic() + max_minutes * 60 if max_minutes else None
    t0 = time.monotonic()
    status = "done"
    lock = threading.Lock()
    for qi, it in enumerate(items):
        if deadline is not None and time.monotonic() > deadline:
            status = "cancelled"
            break
        for seed in seeds:
            todo = [m for m in METHODS if (str(it["id"]), seed, m) not in done]
            if not todo:
                continue

            def sink(row: dict[str, Any], seed: int = seed) -> None:
                kept = _keep(row, seed)
                with lock, rows_path.open("a", encoding="utf-8") as f:
                    f.write(json.dumps(kept) + "\n")
                print(
                    f"  {spec} q{kept['item_id']} seed {seed} {kept['method']}: {kept['status']} "
                    f"{kept['output_tokens']} tokens",
                    file=sys.stderr,
                    flush=True,
                )

            run_benchmark(
                [it],
                [MethodSpec.parse(m) for m in todo],
                {spec: model},
                params=GenParams(
                    max_tokens=params.max_tokens, temperature=params.temperature, seed=seed, top_p=params.top_p
                ),
                on_result=sink,
            )
        on_question(qi + 1)
    return {"spec": spec, "runtime": model.runtime(), "status": status, "elapsed_s": round(time.monotonic() - t0, 1)}


def read_rows(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    if path.suffix == ".json":
        old = json.loads(path.read_text(encoding="utf-8"))
        return [dict(r, spec=run["spec"]) for run in old.get("runs", []) for r in run.get("rows", [])]
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            rows.append(json.loads(line))
    return rows


# --- statistics -------------------------------------------------------------------------------------
def _wilson(k: int, n: int) -> tuple[float, float] | None:
    from tale_core.analysis.stats import accuracy_interval

    iv = accuracy_interval(k, n)  # scipy binomtest(...).proportion_ci("wilson")
    return None if iv.low is None or iv.high is None else (iv.low, iv.high)


def _boot(data: tuple, statistic, paired: bool = False) -> tuple[float, float] | None:
    import numpy as np
    from scipy.stats import bootstrap

    if len(data[0]) < 2:
        return None
    res = bootstrap(
        tuple(np.asarray(d, dtype=float) for d in data),
        statistic,
        paired=paired,
        vectorized=False,
        n_resamples=5000,
        confidence_level=0.95,
        method="percentile",
        random_state=np.random.default_rng(0),
    )
    return (float(res.confidence_interval.low), float(res.confidence_interval.high))


def _mcnemar(mine: list[bool], theirs: list[bool]) -> tuple[int, int, float]:
    from tale_core.analysis.stats import mcnemar_exact

    t = mcnemar_exact(mine, theirs)  # exact: scipy binomtest(b, b + c, 0.5)
    return t.b, t.c, t.p_value


def complete_questions(rows: list[dict], seeds: Sequence[int]) -> list[str]:
    cells = {(r["item_id"], r["seed"], r["method"]) for r in rows}
    ids = sorted({r["item_id"] for r in rows}, key=lambda x: (len(x), x))
    return [q for q in ids if all((q, s, m) in cells for s in seeds for m in METHODS)]


def summarise(rows: list[dict], seeds: Sequence[int]) -> tuple[list[dict], int]:
    """Per-method rows with intervals, over the questions every method finished for every seed."""
    import numpy as np

    qids = complete_questions(rows, seeds)
    by = {(r["item_id"], r["seed"], r["method"]): r for r in rows if r["item_id"] in qids}
    out = []

    def per_question(method: str, key: str) -> list[float]:
        vals = []
        for q in qids:
            xs = [by[(q, s, method)].get(key) for s in seeds if by[(q, s, method)]["status"] != "error"]
            xs = [float(x or 0) for x in xs]
            vals.append(sum(xs) / len(xs) if xs else float("nan"))
        return vals

    van_tok = per_question("vanilla", "output_tokens")
    for m in METHODS:
        cells = [by[(q, s, m)] for q in qids for s in seeds]
        ok = [r for r in cells if r["status"] != "error"]
        k = sum(1 for r in ok if r["status"] == "correct")
        tok = per_question(m, "output_tokens")
        row: dict[str, Any] = {
            "method": m,
            "questions": len(qids),
            "seeds": list(seeds),
            "n": len(cells),
            "errors": len(cells) - len(ok),
            "no_answer": sum(1 for r in ok if r["status"] == "no_answer"),
            "correct": k,
            "accuracy": k / len(ok) if ok else None,
            "accuracy_ci": _wilson(k, len(ok)),
            "avg_output_tokens": float(np.nanmean(tok)) if qids else None,
            "avg_output_tokens_ci": _boot((tok,), np.nanmean) if qids else None,
            "answer_tokens": float(np.nanmean(per_question(m, "answer_output_tokens"))) if qids else None,
            "estimator_tokens": float(np.nanmean(per_question(m, "estimate_output_tokens"))) if qids else None,
            "hit_max_tokens": sum(1 for r in ok if r.get("finish_reason") == "length"),
        }
        if m != "vanilla" and qids:
            row["reduction_vs_vanilla"] = 1 - float(np.nanmean(tok)) / float(np.nanmean(van_tok))
            row["reduction_vs_vanilla_ci"] = _boot(
                (tok, van_tok), lambda a, b: 1 - np.nanmean(a) / np.nanmean(b), paired=True
            )
            ans = per_question(m, "answer_output_tokens")
            row["answer_reduction_vs_vanilla"] = 1 - float(np.nanmean(ans)) / float(np.nanmean(van_tok))
            pairs = [(q, s) for q in qids for s in seeds]
            b, c, p_value = _mcnemar(
                [by[(q, s, m)]["status"] == "correct" for q, s in pairs],
                [by[(q, s, "vanilla")]["status"] == "correct" for q, s in pairs],
            )
            row["discordant"] = [b, c]
            row["mcnemar_p"] = p_value
        if m == "tale-ep":
            fb = [(q, s) for q in qids for s in seeds if by[(q, s, m)].get("estimate_fallback") == "vanilla"]
            same = sum(1 for q, s in fb if by[(q, s, m)]["text_sha256"] == by[(q, s, "vanilla")]["text_sha256"])
            same_tokens = sum(
                1
                for q, s in fb
                if by[(q, s, m)]["answer_output_tokens"] == by[(q, s, "vanilla")]["answer_output_tokens"]
            )
            row["fallbacks"] = len(fb)
            row["fallback_identical_to_vanilla"] = same
            row["fallback_same_tokens_as_vanilla"] = same_tokens
            row["estimates"] = dict(Counter(str(r.get("estimate_status")) for r in cells))
        out.append(row)
    return out, len(qids)


# --- report -----------------------------------------------------------------------------------------
def _pct(v: float | None, digits: int = 1) -> str:
    return "-" if v is None else f"{100 * v:.{digits}f}%"


def _ci(ci, pct: bool = True, digits: int = 1) -> str:
    if not ci:
        return ""
    lo, hi = ci
    return f" [{100 * lo:.{digits}f}, {100 * hi:.{digits}f}]" if pct else f" [{lo:.{digits}f}, {hi:.{digits}f}]"


def write_md(report: dict, path: Path) -> None:
    paper = PAPER_TABLE3["GSM8K"]
    p = report["params"]
    lines = [
        "# TALE on GSM8K with the embedded local models",
        "",
        "The first questions of the GSM8K test split (`../shared/data/gsm8k_test.jsonl`, not committed; "
        f"{report['limit']} requested), seeds {', '.join(map(str, p['seeds']))} for every question, "
        f"temperature {p['temperature']}, max_tokens {p['max_tokens']}, CPU only ({report['machine']}). "
        f"Generated by `bench/tale_gsm8k.py` on {report['date']}.",
        "",
        "n = (question, seed) cells. Accuracy: Wilson 95% interval. Tokens: mean output tokens per cell, "
        "bootstrap 95% interval resampling questions. vs vanilla: token reduction with a paired bootstrap "
        "interval, accuracy difference with an exact McNemar test on the discordant cells (method right / "
        "vanilla right). TALE-EP's output tokens count both calls (estimator + answer); the answer-call "
        "column is the paper's convention.",
        "",
        "| model | method | questions | n | accuracy [95% CI] | output tokens [95% CI] | answer-call tokens | "
        "estimator tokens | tokens vs vanilla [95% CI] | answer-call tokens vs vanilla | accuracy vs vanilla | "
        "McNemar p | no answer | errors |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    van = paper["vanilla"]
    for m in METHODS:
        acc, tok, _exp = paper[m]
        red = "-" if m == "vanilla" else f"{100 * (1 - tok / van[1]):.1f}%"
        delta = "-" if m == "vanilla" else f"{acc - van[0]:+.2f} pts"
        lines.append(
            f"| GPT-4o-mini (paper, Table 3) | {m} | 1319 | 1319 | {acc:.2f}% | {tok:.2f} (answer call) | "
            f"{tok:.2f} | - | - | {red} | {delta} | - | - | - |"
        )
    for run in report["runs"]:
        if not run["questions_completed"]:
            lines.append(f"| {run['spec']} | (no question finished with every seed and method yet) |")
            continue
        accs = {s["method"]: s["accuracy"] for s in run["summary"]}
        for s in run["summary"]:
            m = s["method"]
            delta = (
                "-"
                if m == "vanilla" or s["accuracy"] is None or accs.get("vanilla") is None
                else f"{100 * (s['accuracy'] - accs['vanilla']):+.1f} pts ({s['discordant'][0]} vs {s['discordant'][1]})"
            )
            lines.append(
                f"| {run['spec']} | {m} | {s['questions']} | {s['n']} | {_pct(s['accuracy'])}{_ci(s['accuracy_ci'])} | "
                f"{s['avg_output_tokens']:.1f}{_ci(s['avg_output_tokens_ci'], pct=False)} | "
                f"{s['answer_tokens']:.1f} | {s['estimator_tokens']:.1f} | "
                + ("-" if m == "vanilla" else f"{_pct(s['reduction_vs_vanilla'])}{_ci(s['reduction_vs_vanilla_ci'])}")
                + " | "
                + ("-" if m == "vanilla" else _pct(s["answer_reduction_vs_vanilla"]))
                + f" | {delta} | "
                + ("-" if m == "vanilla" else f"{s['mcnemar_p']:.3g}")
                + f" | {s['no_answer']} | {s['errors']} |"
            )
    lines.append("")
    for run in report["runs"]:
        lines.append(
            f"- `{run['spec']}` ({run['runtime']}): {run['questions_completed']} of {report['limit']} questions "
            f"completed with every seed and method in {run['elapsed_s']:.0f} s"
            + (f" over {run['sessions']} sessions" if run.get("sessions", 1) > 1 else "")
            + ("; stopped at the time bound." if run["status"] == "cancelled" else ".")
        )
        for s in run["summary"]:
            if s["method"] == "tale-ep":
                lines.append(
                    f"- `{run['spec']}` TALE-EP estimates: "
                    + ", ".join(f"{v} {k}" for k, v in s["estimates"].items())
                    + f". {s['fallbacks']} cells fell back to the vanilla CoT prompt; "
                    f"{s['fallback_identical_to_vanilla']} of them gave exactly the plain vanilla call's text "
                    f"({s['fallback_same_tokens_as_vanilla']} the same answer-call tokens) for the same question "
                    "and seed."
                )
    if report.get("cells_run_twice"):
        t = report["cells_run_twice"]
        lines.append(
            f"- {t['cells']} cells were run twice, in separate processes (the run was split over processes "
            f"whose ranges overlapped): {t['identical']} of them gave the identical text and token count."
        )
    if report.get("notes"):
        lines += [""] + [f"- {n}" for n in report["notes"]]
    lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")


def build_report(args, rows: list[dict], runs_meta: dict[str, dict], seeds: list[int]) -> dict:
    report: dict[str, Any] = {
        "benchmark": "tale_gsm8k",
        "limit": args.limit,
        "methods": list(METHODS),
        "params": {"max_tokens": args.max_tokens, "temperature": args.temperature, "seeds": seeds},
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores",
        "statistics": "tale_core.analysis.stats.accuracy_interval (Wilson) and mcnemar_exact over (question, "
        "seed) cells; scipy.stats.bootstrap (percentile, 5000 resamples, questions resampled) for token means "
        "and the paired token reduction",
        "paper_gsm8k_gpt4o_mini": PAPER_TABLE3["GSM8K"],
        "notes": list(args.note),
        "runs": [],
    }
    # cells run more than once (a run split over processes that overlapped): keep the first, and say
    # whether the repeat gave the same text (it must: temperature 0.7 with a fixed seed is deterministic)
    seen: dict[tuple, dict] = {}
    twice = same = 0
    for r in rows:
        k = (r["spec"], r["item_id"], r["seed"], r["method"])
        if k in seen:
            twice += 1
            same += seen[k]["text_sha256"] == r["text_sha256"] and seen[k]["output_tokens"] == r["output_tokens"]
        else:
            seen[k] = r
    rows = list(seen.values())
    if twice:
        report["cells_run_twice"] = {"cells": twice, "identical": same}
    for spec, meta in runs_meta.items():
        mine = [r for r in rows if r["spec"] == spec]
        summary, n_done = summarise(mine, seeds)
        done = set(complete_questions(mine, seeds))
        report["runs"].append(
            dict(meta, questions_completed=n_done, summary=summary, rows=[r for r in mine if r["item_id"] in done])
        )
    return report


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--limit", type=int, default=30, help="first N GSM8K questions (default 30)")
    ap.add_argument(
        "--start",
        type=int,
        default=0,
        help="skip the first K of those questions (to split a run over processes; merge the .rows.jsonl "
        "files and --render)",
    )
    ap.add_argument("--models", default="", help="comma-separated specs (default: the installed local models)")
    ap.add_argument("--seeds", default="0,1,2", help="comma-separated seeds, each question runs once per seed")
    ap.add_argument("--temperature", type=float, default=0.7)
    ap.add_argument("--max-tokens", type=int, default=512)
    ap.add_argument("--max-minutes", type=float, default=0.0, help="stop starting new questions after this long")
    ap.add_argument("--out", default=str(RESULTS / "tale_gsm8k"), help="output path without extension")
    ap.add_argument("--note", action="append", default=[], help="a line to add to the .md")
    ap.add_argument("--resume", default="", help="a previous <out>.rows.jsonl (or .json report): keep its cells")
    ap.add_argument("--render", action="store_true", help="only rewrite the .json/.md from <out>.rows.jsonl")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows_path = out.with_suffix(".rows.jsonl")
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    meta_path = out.with_suffix(".runs.json")
    runs_meta: dict[str, dict] = json.loads(meta_path.read_text()) if meta_path.is_file() else {}

    def render() -> None:
        report = build_report(args, read_rows(rows_path), runs_meta, seeds)
        out.with_suffix(".json").write_text(json.dumps(report, indent=1), encoding="utf-8")
        write_md(report, out.with_suffix(".md"))

    if args.render:
        render()
        return 0
    if not DATA.is_file():
        print(f"GSM8K not found beside the repository ({DATA.name} in ../shared/data)", file=sys.stderr)
        return 2
    specs = [s.strip() for s in args.models.split(",") if s.strip()] or [
        m.spec for m in list_models() if m.info.provider == "local" and m.available
    ]
    items = load_gsm8k(DATA, args.limit)[args.start :]
    previous = read_rows(Path(args.resume)) if args.resume else []
    if args.resume and Path(args.resume).resolve() != rows_path.resolve():
        rows_path.write_text("".join(json.dumps(r) + "\n" for r in previous), encoding="utf-8")
    elif not args.resume:
        rows_path.write_text("", encoding="utf-8")
        runs_meta = {}
    params = GenParams(max_tokens=args.max_tokens, temperature=args.temperature, seed=0)
    for spec in specs:
        done = {(r["item_id"], r["seed"], r["method"]) for r in previous if r["spec"] == spec}
        print(
            f"running {spec}: {len(items)} questions x {len(seeds)} seeds ({len(done)} cells done before)",
            file=sys.stderr,
        )
        prev_meta = runs_meta.get(spec, {})
        runs_meta[spec] = {
            "spec": spec,
            "runtime": resolve(spec).runtime(),
            "status": "running",
            "elapsed_s": prev_meta.get("elapsed_s", 0.0),
            "sessions": prev_meta.get("sessions", 0) + 1,
        }

        def on_question(_k: int, spec: str = spec) -> None:
            render()

        meta = run_model(spec, items, seeds, params, args.max_minutes or None, done, rows_path, on_question)
        runs_meta[spec].update(
            status=meta["status"], runtime=meta["runtime"], elapsed_s=runs_meta[spec]["elapsed_s"] + meta["elapsed_s"]
        )
        meta_path.write_text(json.dumps(runs_meta, indent=1), encoding="utf-8")
        render()
    return 0


if __name__ == "__main__":
    sys.exit(main())
