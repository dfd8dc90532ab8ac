"""The paper's budget search against our bracketing search: calls used, budget found, tokens at that budget.

    PYTHONPATH=. .venv/bin/python bench/search_compare.py --model local/qwen2.5-coder-1.5b --questions 12

Part 1 runs both searches on the scripted fake curves (exact, instant). Part 1b runs both on
``--generated`` random curves of the kinds the property tests use (U shapes, cliffs, plateaus,
piecewise-linear bumps, with noise and wrong answers at random budgets; seeded, so the numbers are
reproducible) and reports the calls and tokens of each. Part 2 takes GSM8K questions in
order from ``../shared/data/gsm8k_test.jsonl`` (never copied into the repository), keeps the first
``--questions`` that vanilla CoT answers correctly with the chosen model (at most ``--scan`` tried), and
runs both searches on each from the same vanilla reference. Writes ``bench/results/search_compare.json``
and ``.md``. ``--max-minutes`` bounds part 2 (checked between questions). Rows keep no question text.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tale_core.engine.methods import MethodSpec, run_method  # noqa: E402
from tale_core.experiments.search import bracket_search, paper_search  # noqa: E402
from tale_core.protocols import MemoryCache  # noqa: E402
from tale_core.providers import list_models, resolve  # noqa: E402
from tale_core.providers.scripted import SCRIPTED_CURVES, Curve, ScriptedModel  # noqa: E402
from tale_core.types import GenParams  # noqa: E402
from tests.test_search_properties import MAX_TOKENS, CurveModel, GenCurve  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "gsm8k_test.jsonl"
RESULTS = REPO / "bench" / "results"
FAKE_Q, FAKE_GOLD = "A farmer has 6 rows of 7 apple trees. How many trees are there?", "42"
EXTRA_CURVES = (
    Curve(
        "deep", "compliant, but a 1000-token vanilla answer; wrong below budget 20", vanilla_tokens=1000, fail_below=20
    ),
    Curve(
        "qwen-like",
        "plateau: budgets 5-20 give 85 tokens, 40 -> 180, 80+ -> 234 (above vanilla's 219)",
        vanilla_tokens=219,
        points=((5, 85), (20, 85), (40, 180), (80, 234), (400, 234)),
    ),
)


def compact(result) -> dict:
    return {
        "calls": result.calls,
        "chosen_budget": result.chosen_budget,
        "chosen_tokens": result.chosen_tokens,
        "total_output_tokens": result.total_output_tokens,
        "reason": result.reason,
        "path": [[p.budget, p.output_tokens, "error" if p.status == "error" else p.correct] for p in result.probes[1:]],
    }


def fake_part() -> list[dict]:
    rows = []
    curves = [c for n, c in SCRIPTED_CURVES.items() if n not in ("slow", "error")] + list(EXTRA_CURVES)
    for curve in curves:
        res = {}
        for name, fn in (("paper", paper_search), ("bracket", bracket_search)):
            m = ScriptedModel(curve, answers={FAKE_Q: FAKE_GOLD})
            res[name] = compact(fn(m, FAKE_Q, FAKE_GOLD))
        rows.append({"curve": curve.name, "description": curve.description, **res})
    return rows


def random_curve(rng: random.Random, kind: str) -> GenCurve:
    """One curve of ``kind`` (u, cliff, plateau, bumpy), drawn like the property tests draw them."""
    b0 = rng.randint(20, 1500)
    if kind == "u":
        sweet, bottom = rng.randint(1, b0), rng.randint(1, b0)
        pts = sorted({(1, rng.randint(bottom, 4 * b0)), (sweet, bottom), (max(b0, sweet + 1), b0)})
    elif kind == "cliff":
        pts = [(1, 1), (b0, b0)]
    elif kind == "plateau":
        level, knee = rng.randint(1, b0), rng.randint(1, 2 * b0)
        pts = sorted({(1, level), (knee, level), (max(knee + 1, 2 * b0), b0)})
    else:
        xs = rng.sample(range(1, 2 * b0 + 1), rng.randint(2, 8))
        pts = sorted((x, rng.randint(1, min(MAX_TOKENS, 2 * b0))) for x in xs)
    return GenCurve(
        kind,
        b0,
        tuple(pts),
        fail_below=rng.choice([0, 0, rng.randint(1, b0)]) if kind != "cliff" else rng.randint(1, b0),
        wrong_every=rng.choice([0, 0, 3, 5]),
        noise=rng.choice([0, 0, 3, 20]),
        seed=rng.randint(0, 10**6),
    )


def generated_part(n: int, seed: int = 0) -> dict:
    """Both searches on ``n`` random curves per kind: calls, tokens at the chosen budget, who won."""
    rng = random.Random(seed)
    params = GenParams(max_tokens=20_000)
    kinds: dict[str, dict] = {}
    for kind in ("u", "cliff", "plateau", "bumpy"):
        rows = []
        for _ in range(n):
            curve = random_curve(rng, kind)
            p = paper_search(CurveModel(curve), FAKE_Q, FAKE_GOLD, params=params)
            b = bracket_search(CurveModel(curve), FAKE_Q, FAKE_GOLD, params=params)
            if p.reference_correct is not True:
                continue
            rows.append((p, b))
        if not rows:
            continue

        def mean(xs: list[float]) -> float:
            return round(sum(xs) / len(xs), 2)

        kinds[kind] = {
            "curves": len(rows),
            "paper_mean_calls": mean([p.calls for p, _ in rows]),
            "bracket_mean_calls": mean([b.calls for _, b in rows]),
            "bracket_max_extra_calls": max(b.calls - p.calls for p, b in rows),
            "paper_mean_tokens": mean([p.chosen_tokens for p, _ in rows]),
            "bracket_mean_tokens": mean([b.chosen_tokens for _, b in rows]),
            "paper_mean_saving": round(sum(1 - p.chosen_tokens / p.reference_tokens for p, _ in rows) / len(rows), 4),
            "bracket_mean_saving": round(sum(1 - b.chosen_tokens / b.reference_tokens for _, b in rows) / len(rows), 4),
            "bracket_cheaper": sum(1 for p, b in rows if b.chosen_tokens < p.chosen_tokens),
            "same": sum(1 for p, b in rows if b.chosen_tokens == p.chosen_tokens),
            "bracket_dearer": sum(1 for p, b in rows if b.chosen_tokens > p.chosen_tokens),
        }
    return {"per_kind": n, "seed": seed, "kinds": kinds}


def load_gsm8k(limit: int) -> list[dict]:
    items = []
    with DATA.open(encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i >= limit:
                break
            row = json.loads(line)
            items.append(
                {
                    "id": str(i + 1),
                    "question": row["question"],
                    "answer": row["answer"].rsplit("####", 1)[-1].strip().replace(",", ""),
                }
            )
    return items


def model_part(spec: str, want: int, scan: int, max_minutes: float, params: GenParams, cache) -> dict:
    model = resolve(spec)
    t_end = time.monotonic() + max_minutes * 60
    questions, skipped, tried = [], [], 0
    for item in load_gsm8k(scan):
        if len(questions) >= want:
            break
        if time.monotonic() > t_end:
            print("time limit reached", file=sys.stderr)
            break
        tried += 1
        t0 = time.monotonic()
        ref = run_method(
            model,
            MethodSpec("vanilla"),
            item["question"],
            gold=item["answer"],
            params=params,
            cache=cache,
            role="reference",
        )
        if ref.correct is not True:
            skipped.append({"id": item["id"], "status": ref.status, "output_tokens": ref.output_tokens})
            print(f"q{item['id']}: vanilla {ref.status} ({ref.output_tokens} tokens), skipped", file=sys.stderr)
            continue
        row = {"id": item["id"], "reference_tokens": ref.output_tokens}
        for name, fn in (("paper", paper_search), ("bracket", bracket_search)):
            t1 = time.monotonic()
            r = fn(model, item["question"], item["answer"], params=params, cache=cache, reference=ref)
            row[name] = compact(r)
            row[name]["wall_s"] = round(time.monotonic() - t1, 1)
        row["wall_s"] = round(time.monotonic() - t0, 1)
        questions.append(row)
        print(
            f"q{item['id']}: ref {ref.output_tokens}; paper {row['paper']['chosen_budget']} "
            f"({row['paper']['chosen_tokens']} tok, {row['paper']['calls']} calls); bracket "
            f"{row['bracket']['chosen_budget']} ({row['bracket']['chosen_tokens']} tok, "
            f"{row['bracket']['calls']} calls)",
            file=sys.stderr,
            flush=True,
        )
    return {
        "spec": spec,
        "runtime": model.runtime(),
        "questions_wanted": want,
        "questions_tried": tried,
        "vanilla_wrong_skipped": skipped,
        "questions": questions,
        "aggregate": aggregate(questions),
    }


def aggregate(rows: list[dict]) -> dict:
    if not rows:
        return {}
    n = len(rows)

    def mean(xs):
        xs = [x for x in xs if x is not None]
        return round(sum(xs) / len(xs), 2) if xs else None

    out = {"n": n, "mean_reference_tokens": mean(r["reference_tokens"] for r in rows)}
    for a in ("paper", "bracket"):
        out[a] = {
            "mean_calls": mean(r[a]["calls"] for r in rows),
            "mean_chosen_tokens": mean(r[a]["chosen_tokens"] for r in rows),
            "mean_savings_vs_vanilla": mean(
                1 - r[a]["chosen_tokens"] / r["reference_tokens"] for r in rows if r["reference_tokens"]
            ),
            "mean_search_output_tokens": mean(r[a]["total_output_tokens"] for r in rows),
            "found_a_budget_below_vanilla": sum(1 for r in rows if r[a]["chosen_tokens"] < r["reference_tokens"]),
        }
    out["bracket_fewer_tokens"] = sum(1 for r in rows if r["bracket"]["chosen_tokens"] < r["paper"]["chosen_tokens"])
    out["same_tokens"] = sum(1 for r in rows if r["bracket"]["chosen_tokens"] == r["paper"]["chosen_tokens"])
    out["paper_fewer_tokens"] = sum(1 for r in rows if r["bracket"]["chosen_tokens"] > r["paper"]["chosen_tokens"])
    out["bracket_fewer_calls"] = sum(1 for r in rows if r["bracket"]["calls"] < r["paper"]["calls"])
    out["paper_fewer_calls"] = sum(1 for r in rows if r["bracket"]["calls"] > r["paper"]["calls"])
    return out


def path_text(path: list) -> str:
    return (
        " ".join(f"{b}:{'error' if c == 'error' else t}{'' if c in (True, 'error') else '✗'}" for b, t, c in path)
        or "-"
    )


def write_md(report: dict, path: Path) -> None:
    lines = [
        "# Budget search: the paper's halving vs our bracketing search",
        "",
        f"Generated by `bench/search_compare.py` on {report['date']} ({report['machine']}). "
        'Calls include the vanilla CoT reference; "tokens" are the output tokens spent at the chosen '
        "budget (vanilla's own count when no budget beat it). Paths list `budget:tokens` per probe, "
        "✗ = wrong answer, `error` = the call failed.",
        "",
        "## Scripted curves (exact)",
        "",
        "| curve | paper: budget / tokens / calls | ours: budget / tokens / calls | paper path | our path |",
        "|---|---|---|---|---|",
    ]
    for r in report["fake"]:
        p, b = r["paper"], r["bracket"]
        lines.append(
            f"| {r['curve']} | {p['chosen_budget']} / {p['chosen_tokens']} / {p['calls']} | "
            f"{b['chosen_budget']} / {b['chosen_tokens']} / {b['calls']} | {path_text(p['path'])} | "
            f"{path_text(b['path'])} |"
        )
    g = report.get("generated")
    if g:
        lines += [
            "",
            "## Generated curves (seeded random, the property tests' kinds)",
            "",
            f"{g['per_kind']} curves per kind (seed {g['seed']}); curves whose vanilla answer is wrong are not "
            "searched (both searches stop at once). Tokens = output tokens at the chosen budget; saving = "
            "1 - tokens / vanilla tokens, mean over curves.",
            "",
            "| kind | curves | paper calls | ours calls | ours max extra calls | paper tokens | ours tokens "
            "| paper saving | ours saving | ours cheaper / same / dearer |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for kind, k in g["kinds"].items():
            lines.append(
                f"| {kind} | {k['curves']} | {k['paper_mean_calls']} | {k['bracket_mean_calls']} | "
                f"{k['bracket_max_extra_calls']} | {k['paper_mean_tokens']} | {k['bracket_mean_tokens']} | "
                f"{100 * k['paper_mean_saving']:.1f}% | {100 * k['bracket_mean_saving']:.1f}% | "
                f"{k['bracket_cheaper']} / {k['same']} / {k['bracket_dearer']} |"
            )
    m = report.get("model")
    if m:
        a = m["aggregate"]
        lines += [
            "",
            f"## {m['spec']} on GSM8K",
            "",
            f"Runtime: {m['runtime']}. Tried the first {m['questions_tried']} questions; vanilla CoT was "
            f"wrong (or failed) on {len(m['vanilla_wrong_skipped'])} of them, which are skipped as in the "
            f"paper; {len(m['questions'])} searched (wanted {m['questions_wanted']}). max_tokens "
            f"{report['params']['max_tokens']}, temperature 0, seed 0.",
            "",
        ]
        if a:
            lines += [
                "| | paper (halving) | ours (bracket) |",
                "|---|---|---|",
                f"| mean calls per question | {a['paper']['mean_calls']} | {a['bracket']['mean_calls']} |",
                f"| mean tokens at chosen budget (vanilla {a['mean_reference_tokens']}) | "
                f"{a['paper']['mean_chosen_tokens']} | {a['bracket']['mean_chosen_tokens']} |",
                f"| mean saving vs vanilla | {100 * a['paper']['mean_savings_vs_vanilla']:.1f}% | "
                f"{100 * a['bracket']['mean_savings_vs_vanilla']:.1f}% |",
                f"| questions where a budget beat vanilla | {a['paper']['found_a_budget_below_vanilla']} | "
                f"{a['bracket']['found_a_budget_below_vanilla']} |",
                f"| output tokens spent searching (mean) | {a['paper']['mean_search_output_tokens']} | "
                f"{a['bracket']['mean_search_output_tokens']} |",
                "",
                f"Ours found fewer tokens on {a['bracket_fewer_tokens']}, the same on {a['same_tokens']} and "
                f"more on {a['paper_fewer_tokens']} questions; it used fewer calls on "
                f"{a['bracket_fewer_calls']} and more on {a['paper_fewer_calls']}.",
                "",
                "| q | vanilla | paper budget / tokens / calls | ours budget / tokens / calls | paper path | "
                "our path |",
                "|---|---|---|---|---|---|",
            ]
            for q in m["questions"]:
                p, b = q["paper"], q["bracket"]
                lines.append(
                    f"| {q['id']} | {q['reference_tokens']} | {p['chosen_budget']} / {p['chosen_tokens']}"
                    f" / {p['calls']} | {b['chosen_budget']} / {b['chosen_tokens']} / {b['calls']} | "
                    f"{path_text(p['path'])} | {path_text(b['path'])} |"
                )
    if report.get("notes"):
        lines += ["", "## Findings", ""] + [f"- {n}" for n in report["notes"]]
    lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="", help="spec (default: the Qwen demo model if installed, else smollm2)")
    ap.add_argument("--questions", type=int, default=12, help="vanilla-correct questions to search (default 12)")
    ap.add_argument("--scan", type=int, default=40, help="try at most this many GSM8K questions (default 40)")
    ap.add_argument("--max-minutes", type=float, default=40.0, help="time bound of the model part")
    ap.add_argument("--max-tokens", type=int, default=512)
    ap.add_argument("--fake-only", action="store_true", help="only the scripted and generated curves")
    ap.add_argument("--generated", type=int, default=200, help="random curves per kind (default 200)")
    ap.add_argument("--cache-db", default="", help="SQLAlchemy URL of a call cache to reuse between runs")
    ap.add_argument("--out", default=str(RESULTS / "search_compare"), help="output path without extension")
    ap.add_argument("--note", action="append", default=[], help="a finding to add to the .md")
    ap.add_argument("--render", default="", help="only rewrite the .md from this JSON report (with --note)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.render:
        report = json.loads(Path(args.render).read_text(encoding="utf-8"))
        report["notes"] = list(args.note) or report.get("notes", [])
        out.with_suffix(".json").write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
        write_md(report, out.with_suffix(".md"))
        return 0
    params = GenParams(max_tokens=args.max_tokens, temperature=0.0, seed=0)
    report = {
        "benchmark": "search_compare",
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores",
        "params": params.to_dict(),
        "bracket_defaults": {"factor": 4, "min_budget": 4, "resolution": 1.5, "min_gain": 0.03, "max_calls": 8},
        "fake": fake_part(),
        "generated": generated_part(args.generated),
        "notes": list(args.note),
    }
    if not args.fake_only:
        if not DATA.is_file():
            print("GSM8K not found beside the repository (../shared/data/gsm8k_test.jsonl)", file=sys.stderr)
            return 2
        spec = args.model
        if not spec:
            avail = {m.spec for m in list_models() if m.available}
            spec = "local/qwen2.5-coder-1.5b" if "local/qwen2.5-coder-1.5b" in avail else "local/smollm2"
        cache = MemoryCache()
        if args.cache_db:
            from db.cache import DbCallCache
            from db.store import Store

            cache = DbCallCache(Store(args.cache_db))
        report["model"] = model_part(spec, args.questions, args.scan, args.max_minutes, params, cache)
    out.with_suffix(".json").write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    write_md(report, out.with_suffix(".md"))
    print(out.with_suffix(".md").read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
