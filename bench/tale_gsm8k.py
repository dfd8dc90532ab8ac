"""GSM8K: direct answer vs vanilla CoT vs TALE-EP on the embedded local models, beside the paper's row.

    PYTHONPATH=. .venv/bin/python bench/tale_gsm8k.py --limit 100 --models local/smollm2,local/qwen2.5-coder-1.5b

Reads the first N questions of ``../shared/data/gsm8k_test.jsonl`` (beside the repository; never
copied into it), runs each method with max_tokens 512, temperature 0, seed 0, and writes
``bench/results/tale_gsm8k.json`` and ``.md``. ``--max-minutes`` bounds each model's run: when it is
reached, the run stops scheduling and only questions every method finished are summarised (the .md
says how many). Rows keep no question text, gold answers or model text, only ids, statuses and counts.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tale_core.engine.methods import MethodSpec  # noqa: E402
from tale_core.engine.progress import Progress  # noqa: E402
from tale_core.experiments.benchmark import PAPER_TABLE3, run_benchmark  # noqa: E402
from tale_core.providers import list_models, resolve  # noqa: E402
from tale_core.types import GenParams  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "gsm8k_test.jsonl"
RESULTS = REPO / "bench" / "results"
METHODS = ("direct", "vanilla", "tale-ep")
KEEP = (
    "item_id",
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
    "finish_reason",
    "latency_s",
    "error",
)


def load_gsm8k(path: Path, limit: int) -> list[dict]:
    """The first ``limit`` GSM8K rows as {id, question, answer} (gold = the number after ``####``)."""
    try:
        from tale_core.data.datasets import load_dataset

        ds = load_dataset(path)
        return [{"id": it.id, "question": it.question, "answer": it.answer} for it in ds.items[:limit]]
    except ImportError:
        pass
    items = []
    with path.open(encoding="utf-8") as f:
        for i, line in enumerate(f):
            if len(items) >= limit:
                break
            row = json.loads(line)
            gold = row["answer"].rsplit("####", 1)[-1].strip().replace(",", "")
            items.append({"id": str(i + 1), "question": row["question"], "answer": gold})
    return items


def summarise_complete(rows: list[dict], n_methods: int) -> tuple[list[dict], int]:
    """Keep only questions that every method finished (a bounded run may stop mid-question)."""
    from collections import Counter

    count = Counter(r["item_id"] for r in rows)
    done = {k for k, v in count.items() if v == n_methods}
    return [r for r in rows if r["item_id"] in done], len(done)


def run_model(spec: str, items: list[dict], max_minutes: float | None) -> dict:
    from tale_core.experiments.benchmark import summarize

    model = resolve(spec)
    params = GenParams(max_tokens=512, temperature=0.0, seed=0)
    cancel = threading.Event()
    timer = None
    if max_minutes:
        timer = threading.Timer(max_minutes * 60, cancel.set)
        timer.daemon = True
        timer.start()
    bar = Progress(len(items) * len(METHODS), spec)
    t0 = time.monotonic()
    out = run_benchmark(
        items,
        [MethodSpec.parse(m) for m in METHODS],
        {spec: model},
        params=params,
        on_result=lambda r: bar.advance(note=f"q{r['item_id']} {r['method']}"),
        cancel=cancel,
    )
    bar.close()
    if timer:
        timer.cancel()
    elapsed = time.monotonic() - t0
    rows, n_done = summarise_complete(out.rows, len(METHODS))
    summary = [s.to_dict() for s in summarize(rows)]
    per_method_latency = {s["method"]: s["avg_latency_s"] for s in summary}
    return {
        "spec": spec,
        "runtime": model.runtime(),
        "questions_requested": len(items),
        "questions_completed": n_done,
        "status": out.status,
        "elapsed_s": round(elapsed, 1),
        "seconds_per_question": round(elapsed / n_done, 2) if n_done else None,
        "avg_latency_s_per_method": per_method_latency,
        "summary": summary,
        "rows": [{k: r.get(k) for k in KEEP} for r in rows],
    }


def merge_runs(prev: dict, new: dict, requested: int) -> dict:
    """A previous run's completed questions plus a resumed run's, summarised together."""
    from tale_core.experiments.benchmark import summarize

    rows = prev["rows"] + new["rows"]
    order = {m: i for i, m in enumerate(METHODS)}
    summary = [s.to_dict() for s in summarize([dict(r, spec=new["spec"]) for r in rows])]
    summary.sort(key=lambda s: order.get(s["method"], 99))
    n_done = prev["questions_completed"] + new["questions_completed"]
    elapsed = prev["elapsed_s"] + new["elapsed_s"]
    return dict(
        new,
        questions_requested=requested,
        questions_completed=n_done,
        elapsed_s=round(elapsed, 1),
        seconds_per_question=round(elapsed / n_done, 2) if n_done else None,
        summary=summary,
        rows=rows,
        sessions=prev.get("sessions", 1) + 1,
    )


def fmt(v, digits=1, pct=False):
    if v is None:
        return "-"
    return f"{100 * v:.{digits}f}%" if pct else f"{v:.{digits}f}"


def write_md(report: dict, path: Path) -> None:
    paper = PAPER_TABLE3["GSM8K"]
    lines = [
        "# TALE on GSM8K with the embedded local models",
        "",
        "The first questions of the GSM8K test split (`../shared/data/gsm8k_test.jsonl`, not committed; "
        f"{report['limit']} requested, the number each model completed is in column n), "
        "max_tokens 512, temperature 0, seed 0, CPU only "
        f"({report['machine']}). Generated by `bench/tale_gsm8k.py` on {report['date']}.",
        "",
        "| model | method | n | accuracy | mean output tokens | answer-call tokens | tokens vs vanilla | "
        "accuracy vs vanilla | no answer | errors |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    van = paper["vanilla"]
    for m in METHODS:
        acc, tok, _exp = paper[m]
        red = "-" if m == "vanilla" else fmt(1 - tok / van[1], 1, pct=True)
        delta = "-" if m == "vanilla" else f"{acc - van[0]:+.1f} pts"
        lines.append(
            f"| GPT-4o-mini (paper, Table 3) | {m} | 1319 | {acc:.2f}% | {tok:.2f} | - | {red} | {delta} | - | - |"
        )
    for run in report["runs"]:
        answer_tokens = {}
        for m in METHODS:
            vals = [r["answer_output_tokens"] for r in run["rows"] if r["method"] == m and r["status"] != "error"]
            answer_tokens[m] = sum(vals) / len(vals) if vals else None
        for s in run["summary"]:
            red = s["reduction_tokens_vs_vanilla"]
            delta = s["accuracy_delta_vs_vanilla"]
            lines.append(
                f"| {run['spec']} | {s['method']} | {s['n']} | {fmt(s['accuracy'], 1, pct=True)} | "
                f"{fmt(s['avg_output_tokens'])} | {fmt(answer_tokens.get(s['method']))} | "
                f"{'-' if s['method'] == 'vanilla' else fmt(red, 1, pct=True)} | "
                f"{'-' if s['method'] == 'vanilla' or delta is None else f'{100 * delta:+.1f} pts'} | "
                f"{s['no_answer']} | {s['errors']} |"
            )
    lines += [
        "",
        '"mean output tokens" counts every call of a method (TALE-EP: the estimator call and the '
        'answer call); "answer-call tokens" only the answer call (the paper\'s Figure 1 reading). '
        '"tokens vs vanilla" is the reduction of mean output tokens. The paper\'s expense column is not comparable (local models cost '
        "nothing) and is left out.",
        "",
    ]
    for run in report["runs"]:
        lines.append(
            f"- `{run['spec']}` ({run['runtime']}): {run['questions_completed']} of "
            f"{run['questions_requested']} questions completed in {run['elapsed_s']:.0f} s "
            f"({run['seconds_per_question']} s per question for the three methods"
            + (f", {run['sessions']} time-bounded sessions" if run.get("sessions", 1) > 1 else "")
            + "); "
            + ("stopped at the time bound." if run["status"] == "cancelled" else f"status {run['status']}.")
        )
    for run in report["runs"]:
        est = [r for r in run["rows"] if r["method"] == "tale-ep" and r["status"] != "error"]
        if not est:
            continue
        from collections import Counter

        kinds = Counter(r.get("estimate_status") or "none" for r in est)
        parsed = sorted(r["estimate_parsed"] for r in est if r.get("estimate_status") == "ok")
        median = parsed[len(parsed) // 2] if parsed else None
        lines.append(
            f"- `{run['spec']}` TALE-EP estimates: "
            + ", ".join(f"{v} {k}" for k, v in kinds.items())
            + (f"; median usable estimate {median} tokens" if median is not None else "")
            + " (unparseable or absurd estimates fall back to vanilla CoT)."
        )
    if report.get("notes"):
        lines += [""] + [f"- {n}" for n in report["notes"]]
    lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--limit", type=int, default=100, help="first N GSM8K questions (default 100)")
    ap.add_argument("--models", default="", help="comma-separated specs (default: the installed local models)")
    ap.add_argument(
        "--max-minutes",
        default="",
        help="stop scheduling a model's run after this many minutes (one number, or one per model, comma-separated)",
    )
    ap.add_argument("--out", default=str(RESULTS / "tale_gsm8k"), help="output path without extension")
    ap.add_argument("--note", action="append", default=[], help="a line to add to the .md")
    ap.add_argument(
        "--resume",
        default="",
        help="a previous JSON report: keep its completed questions, run only the others (up to --limit) and merge",
    )
    ap.add_argument("--render", default="", help="only rewrite the .json/.md from this JSON report (with --note)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    if args.render:
        report = json.loads(Path(args.render).read_text(encoding="utf-8"))
        report["notes"] = list(args.note) or report.get("notes", [])
        out.parent.mkdir(parents=True, exist_ok=True)
        out.with_suffix(".json").write_text(json.dumps(report, indent=1), encoding="utf-8")
        write_md(report, out.with_suffix(".md"))
        return 0
    if not DATA.is_file():
        print(f"GSM8K not found beside the repository ({DATA.name} in ../shared/data)", file=sys.stderr)
        return 2
    if args.models:
        specs = [s.strip() for s in args.models.split(",") if s.strip()]
    else:
        specs = [m.spec for m in list_models() if m.info.provider == "local" and m.available]
    items = load_gsm8k(DATA, args.limit)
    report = {
        "benchmark": "tale_gsm8k",
        "limit": args.limit,
        "methods": list(METHODS),
        "params": {"max_tokens": 512, "temperature": 0.0, "seed": 0},
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} CPU cores",
        "paper_gsm8k_gpt4o_mini": PAPER_TABLE3["GSM8K"],
        "notes": list(args.note),
        "runs": [],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    limits = [float(x) for x in args.max_minutes.split(",") if x.strip()] or [0.0]
    limits += [limits[-1]] * len(specs)
    previous = {}
    if args.resume:
        old = json.loads(Path(args.resume).read_text(encoding="utf-8"))
        previous = {r["spec"]: r for r in old.get("runs", [])}
        report["notes"] = report["notes"] or old.get("notes", [])
    for spec, minutes in zip(specs, limits):
        prev = previous.get(spec)
        done = {r["item_id"] for r in prev["rows"]} if prev else set()
        todo = [it for it in items if str(it["id"]) not in done]
        print(f"running {spec} on {len(todo)} questions ({len(done)} done before) ...", file=sys.stderr)
        run = run_model(spec, todo, minutes or None)
        if prev:
            run = merge_runs(prev, run, len(items))
        report["runs"].append(run)
        out.with_suffix(".json").write_text(json.dumps(report, indent=1), encoding="utf-8")
        write_md(report, out.with_suffix(".md"))
    for run in report["runs"]:
        for s in run["summary"]:
            print(
                f"{run['spec']:28s} {s['method']:8s} n={s['n']:3d} acc={fmt(s['accuracy'], 1, True):>6s} "
                f"tokens={fmt(s['avg_output_tokens']):>6s} reduction={fmt(s['reduction_tokens_vs_vanilla'], 1, True)}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
