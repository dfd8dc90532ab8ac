"""How the store holds up at scale: 10,000 experiments and 200,000 model calls, SQLite and PostgreSQL.

    python -m bench.db_scale [--experiments 10000] [--calls 200000] [--runs 15] [--backends sqlite,postgres]

Bulk-loads a synthetic database (one experiment holds exactly 500 calls, the others share the rest; every
call also has a call-cache entry), then times, through the real ``db.store`` API, the median of ``--runs``
runs of: the newest-experiments page (what the experiment list shows), a filtered and a deep page, a text
search, opening the 500-call experiment, ``done_cell_ids`` for resume, a cache hit and a cache miss, and
recording one call. PostgreSQL is the throwaway server of tests/helpers_postgres.py (same code as the
test fixture). Writes bench/results/db_scale.json and .md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, text  # noqa: E402

from db.cache import DbCallCache  # noqa: E402
from db.engine import dispose, get_engine  # noqa: E402
from db.models import CacheEntry, Experiment, ModelCall  # noqa: E402
from db.store import Store  # noqa: E402
from tale_core.providers.scripted import FILLER  # noqa: E402

RESULTS = ROOT / "bench" / "results"
BIG_CALLS = 500
CHUNK = 5_000
SPECS = ("openai/gpt-4o-mini", "anthropic/claude-haiku-4-5", "local/smollm2", "fake/elastic")
KINDS = ("playground", "sweep", "search", "benchmark")


def _text(rng: random.Random, n_words: int, answer: int) -> str:
    return " ".join(rng.choice(FILLER) for _ in range(n_words)) + f" Answer: [[{answer}]]"


def _key(i: int) -> str:
    return hashlib.sha256(f"call-{i}".encode()).hexdigest()


def build(url: str, n_exp: int, n_calls: int, seed: int = 7) -> dict[str, Any]:
    """Bulk-load the synthetic database; returns ids to query and the load timings."""
    rng = random.Random(seed)
    store = Store(url)  # migrates
    eng = get_engine(url)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    exp_ids = [f"exp{i:08d}x" + "abc"[i % 3] for i in range(n_exp)]
    big = exp_ids[n_exp // 2]
    started = time.perf_counter()
    exp_rows = [
        {
            "id": eid,
            "title": f"{KINDS[i % 4]} run {i}: Peyton question {i % 97}",
            "notes": "",
            "kind": KINDS[i % 4],
            "config": {"question": f"Question {i}?", "budgets": [10, 20, 50, 100]},
            "status": ("done", "done", "done", "cancelled", "failed")[i % 5],
            "created_at": t0 + timedelta(minutes=5 * i),
            "finished_at": t0 + timedelta(minutes=5 * i + 2),
            "parent_id": None,
            "summary": {"n": 20},
            "price_table": "genai-prices 0.2.3 data 2026-11-09",
            "app_version": "0.1.0",
        }
        for i, eid in enumerate(exp_ids)
    ]
    with eng.begin() as conn:
        for k in range(0, len(exp_rows), CHUNK):
            conn.execute(insert(Experiment.__table__), exp_rows[k : k + CHUNK])
    exp_s = time.perf_counter() - started

    # one experiment holds exactly BIG_CALLS calls, the rest are spread over the others
    others = [e for e in exp_ids if e != big]
    owners = [big] * BIG_CALLS + [others[i % len(others)] for i in range(n_calls - BIG_CALLS)]
    call_s = cache_s = 0.0
    for k in range(0, n_calls, CHUNK):
        rows, cache_rows = [], []
        for i in range(k, min(k + CHUNK, n_calls)):
            spec = SPECS[i % len(SPECS)]
            provider, model = spec.split("/", 1)
            budget = (5, 10, 20, 50, 100, None)[i % 6]
            out_tokens = rng.randint(15, 120)
            response = _text(rng, out_tokens, 42 + (i % 3 == 0))
            prompt = (
                f"Q: Question {i % 1000}?\nPlease Give the response by strictly following this format: "
                f"[[answer]], for example: Answer: [[50]].Let's think step by step"
                + (f" and use less than {budget} tokens:\n" if budget else ":\n")
            )
            rows.append(
                {
                    "id": f"call{i:010d}",
                    "experiment_id": owners[i],
                    "cell_id": f"{spec}|{budget or 'ref'}|{i}",
                    "cell_slot": f"{spec}|{budget or 'ref'}|{i}#answer",
                    "provider": provider,
                    "model": model,
                    "spec": spec,
                    "method": "budget" if budget else "vanilla",
                    "budget": budget,
                    "role": "answer",
                    "question": f"Question {i % 1000}?",
                    "question_id": f"q{i % 1000}",
                    "repeat": 0,
                    "messages": [
                        {"role": "system", "content": "You are a helpful assistant."},
                        {"role": "user", "content": prompt},
                    ],
                    "params": {
                        "max_tokens": 1024,
                        "temperature": 0.0,
                        "seed": 0,
                        "top_p": None,
                        "reasoning_effort": None,
                        "thinking_budget": None,
                        "stop": [],
                    },
                    "response": response,
                    "thinking": "",
                    "input_tokens": 60,
                    "output_tokens": out_tokens,
                    "reasoning_tokens": 0,
                    "usage_source": "provider",
                    "finish_reason": "stop",
                    "latency_s": out_tokens / 60,
                    "first_token_s": 0.2,
                    "cost_usd": out_tokens * 6e-7,
                    "cost_is_estimate": False,
                    "correct": i % 3 != 0,
                    "status": "ok" if i % 50 else "error",
                    "extracted_answer": "42",
                    "gold": "42",
                    "error": None if i % 50 else {"kind": "rate_limit", "message": "429"},
                    "cache_key": _key(i),
                    "cache_hit": i % 7 == 0,
                    "runtime": "bench",
                    "detail": {"extra": {}},
                    "created_at": t0 + timedelta(seconds=30 * i),
                }
            )
            cache_rows.append(
                {
                    "key": _key(i),
                    "provider": provider,
                    "model": model,
                    "call_id": f"call{i:010d}",
                    "created_at": t0 + timedelta(seconds=30 * i),
                    "completion": {
                        "text": response,
                        "provider": provider,
                        "model": model,
                        "input_tokens": 60,
                        "output_tokens": out_tokens,
                        "finish_reason": "stop",
                        "runtime": "bench",
                    },
                }
            )
        t = time.perf_counter()
        with eng.begin() as conn:
            conn.execute(insert(ModelCall.__table__), rows)
        call_s += time.perf_counter() - t
        t = time.perf_counter()
        with eng.begin() as conn:
            conn.execute(insert(CacheEntry.__table__), cache_rows)
        cache_s += time.perf_counter() - t
    with eng.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    return {
        "store": store,
        "big": big,
        "exp_ids": exp_ids,
        "n_calls": n_calls,
        "load": {
            "experiments_s": round(exp_s, 2),
            "calls_s": round(call_s, 2),
            "cache_s": round(cache_s, 2),
            "calls_per_s": round(n_calls / call_s) if call_s else None,
            "total_s": round(time.perf_counter() - started, 2),
        },
    }


def timed(fn: Callable[[], Any], runs: int) -> dict[str, Any]:
    fn()  # warm-up (connections, statement caches)
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    return {
        "median_ms": round(statistics.median(samples), 3),
        "min_ms": round(samples[0], 3),
        "max_ms": round(samples[-1], 3),
        "runs": runs,
    }


def measure(ctx: dict[str, Any], runs: int) -> dict[str, Any]:
    store: Store = ctx["store"]
    cache = DbCallCache(store)
    rng = random.Random(11)
    big, n_calls = ctx["big"], ctx["n_calls"]
    recorded = store.create_experiment("sweep", "bench writes", {})
    counter = iter(range(10**9))

    def check_big():
        d = store.get_experiment(big)
        assert len(d.calls) == BIG_CALLS, len(d.calls)

    def cache_hit():
        assert cache.get(_key(rng.randrange(n_calls))) is not None

    def record():
        from tale_core.protocols import CallRecord
        from tale_core.types import Completion, GenParams, Message

        i = next(counter)
        store.record_call(
            recorded,
            CallRecord(
                spec="fake/elastic",
                messages=[Message("user", f"Q{i}")],
                params=GenParams(),
                completion=Completion(
                    text="Answer: [[42]]", provider="fake", model="elastic", input_tokens=5, output_tokens=4
                ),
                extra={"cell": f"c{i}"},
            ),
        )

    ops = {
        "list_newest_page_50": lambda: store.list_experiments(limit=50),
        "list_kind_filter_page_50": lambda: store.list_experiments(kind="search", limit=50),
        "list_deep_page_offset_5000": lambda: store.list_experiments(limit=50, offset=5000),
        "count_experiments": lambda: store.count_experiments(),
        "search_title_notes_questions": lambda: store.search("peyton question 42", limit=50),
        "open_experiment_500_calls": check_big,
        "done_cell_ids_500_calls": lambda: store.done_cell_ids(big),
        "cache_lookup_hit": cache_hit,
        "cache_lookup_miss": lambda: cache.get("0" * 64),
        "record_one_call_commit": record,
    }
    return {name: timed(fn, runs) for name, fn in ops.items()}


def db_size_mb(url: str, path: Path | None) -> float | None:
    if path is not None:
        return round(sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 1e6, 1)
    with get_engine(url).connect() as conn:
        return round(conn.execute(text("SELECT pg_database_size(current_database())")).scalar() / 1e6, 1)


def run_backend(name: str, n_exp: int, n_calls: int, runs: int) -> dict[str, Any]:
    server = None
    tmp = Path(tempfile.mkdtemp(prefix="tale-dbscale-"))
    path: Path | None = None
    try:
        if name == "sqlite":
            path = tmp / "tale.db"
            url = f"sqlite:///{path}"
            version = __import__("sqlite3").sqlite_version
        else:
            from tests.helpers_postgres import start_throwaway_postgres

            server = start_throwaway_postgres()
            if server is None:
                return {"skipped": "PostgreSQL binaries are not installed"}
            url = server.create_database("tale_bench")
            version = None
        print(f"[{name}] loading {n_exp:,} experiments and {n_calls:,} calls ...", file=sys.stderr, flush=True)
        ctx = build(url, n_exp, n_calls)
        if version is None:
            with get_engine(url).connect() as conn:
                version = conn.execute(text("SHOW server_version")).scalar()
        print(f"[{name}] loaded in {ctx['load']['total_s']} s; measuring ...", file=sys.stderr, flush=True)
        ops = measure(ctx, runs)
        return {"version": version, "load": ctx["load"], "size_mb": db_size_mb(url, path), "ops": ops}
    finally:
        if server is not None:
            dispose(server.url("tale_bench"))
            server.stop()
        elif path is not None:
            dispose(f"sqlite:///{path}")
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


def to_markdown(res: dict[str, Any]) -> str:
    b = res["backends"]
    names = [n for n in b if "ops" in b[n]]
    lines = [
        f"# Database at scale: {res['dataset']['experiments']:,} experiments, {res['dataset']['calls']:,} calls",
        "",
        f"Generated {res['generated_at']} on {res['machine']['cpus']} CPUs, Python {res['machine']['python']}; "
        f"median of {res['runs']} runs after one warm-up, through the `db.store` API.",
        "",
        "| operation | " + " | ".join(f"{n} {b[n]['version']} (ms)" for n in names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    for op in b[names[0]]["ops"] if names else []:
        lines.append(
            f"| {op.replace('_', ' ')} | " + " | ".join(f"{b[n]['ops'][op]['median_ms']:.2f}" for n in names) + " |"
        )
    lines += ["", "| load | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for k, label in (
        ("experiments_s", "insert experiments (s)"),
        ("calls_s", "insert calls (s)"),
        ("calls_per_s", "calls inserted per s"),
        ("cache_s", "insert cache entries (s)"),
        ("total_s", "total load incl. ANALYZE (s)"),
    ):
        lines.append(f"| {label} | " + " | ".join(str(b[n]["load"][k]) for n in names) + " |")
    lines.append("| database size (MB) | " + " | ".join(str(b[n]["size_mb"]) for n in names) + " |")
    for n, v in b.items():
        if "skipped" in v:
            lines += ["", f"{n}: skipped ({v['skipped']})"]
    lines += [
        "",
        "The search is a case-insensitive substring match over titles, notes and every call's "
        "question, so it scans; everything else uses an index. Timings come from one machine that other "
        "work may share: repeated runs differed by up to 2-3x, so compare orders of magnitude.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--experiments", type=int, default=10_000)
    ap.add_argument("--calls", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--backends", default="sqlite,postgres")
    ap.add_argument("--out", default=str(RESULTS))
    args = ap.parse_args(argv)
    if args.calls < BIG_CALLS + args.experiments - 1 or args.experiments < 2:
        ap.error(f"--calls must be at least {BIG_CALLS} + experiments - 1")
    res = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "dataset": {
            "experiments": args.experiments,
            "calls": args.calls,
            "cache_entries": args.calls,
            "big_experiment_calls": BIG_CALLS,
        },
        "runs": args.runs,
        "backends": {},
    }
    for name in [b.strip() for b in args.backends.split(",") if b.strip()]:
        res["backends"][name] = run_backend(name, args.experiments, args.calls, args.runs)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "db_scale.json").write_text(json.dumps(res, indent=2) + "\n")
    md = to_markdown(res)
    (out / "db_scale.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
