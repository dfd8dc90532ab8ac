"""The full GSM8K test set x direct / vanilla CoT / TALE-EP through the batch path (issue 11).

Runs ``run_benchmark`` on the batch executor (:mod:`tale_core.engine.batch`) with an OpenAI model whose
``base_url`` is the loopback batch server of the tests (``tests/fake_batch_servers.py``, OpenAI files +
batches endpoints, in this process), recording into a throwaway SQLite store through the normal recorder
(sink + cache). Measures: wall time, batch rounds and requests, calls stored vs expected, peak RSS of the
process (``resource.getrusage``; the loopback server lives in the same process, so it is included).
The server answers every request at once after ``--polls`` status reads; what is measured is our side
(request files, threads, parsing, recording), not a provider's queue. Writes bench/results/batch_gsm8k.json
and .md.

    python bench/batch_gsm8k.py [--limit N] [--poll 0.2]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = REPO.parent / "shared" / "data" / "gsm8k_test.jsonl"
RESULTS = REPO / "bench" / "results"
METHODS = ["direct", "vanilla", "tale-ep"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=None, help="first N questions (default: all 1,319)")
    ap.add_argument("--poll", type=float, default=0.2, help="seconds between batch status checks")
    ap.add_argument("--polls", type=int, default=2, help="status reads before the fake batch ends")
    args = ap.parse_args(argv)
    if not DATA.is_file():
        print(f"GSM8K not found at {DATA.name} beside the repository; nothing measured.", file=sys.stderr)
        return 2

    from db.recorder import Recorder
    from db.store import Store
    from tale_core.data.datasets import load_dataset
    from tale_core.engine.batch import BatchEvent, BatchSession
    from tale_core.experiments.benchmark import run_benchmark
    from tale_core.providers.openai_compat import OpenAIModel
    from tests.fake_batch_servers import FakeBatchServer

    items = list(load_dataset(DATA).items)
    if args.limit:
        items = items[: args.limit]
    expected_calls = len(items) * (1 + 1 + 2)  # TALE-EP: estimate + answer
    with tempfile.TemporaryDirectory() as tmp, FakeBatchServer(polls_until_done=args.polls) as srv:
        store = Store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        rec = Recorder.start("benchmark", "batch gsm8k", {"methods": METHODS}, store=store)
        model = OpenAIModel("gpt-4o-mini", api_key="sk-test", base_url=srv.openai_url, max_retries=0)
        marks: list[dict[str, object]] = []
        t0 = time.perf_counter()

        def on_event(ev: BatchEvent) -> None:
            if ev.kind in ("submitted", "ended"):
                marks.append({"at_s": round(time.perf_counter() - t0, 2), "event": ev.kind, "round": ev.round})

        session = BatchSession(poll_s=args.poll, settle_s=1.0, on_event=on_event, on_batch=rec.add_batch)
        with session:
            out = run_benchmark(items, METHODS, session.wrap({model.spec: model}), sink=rec.sink, cache=rec.cache)
        wall = time.perf_counter() - t0
        rec.finish(out.status, {"batch": session.batches})
        stored = [c.to_record() for c in store.calls_for(rec.id)]
        stored_ok = sum(1 for c in stored if c.ok)
        priced = sum(1 for c in stored if "batch price" in str(c.extra.get("price_basis", "")))
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        cfg_batches = store.get_experiment(rec.id, with_calls=False).config.get("batch", {}).get("batches", [])
    res = {
        "what": "GSM8K test x direct/vanilla/TALE-EP via the OpenAI Batch API path against a loopback batch server",
        "questions": len(items),
        "methods": METHODS,
        "status": out.status,
        "rows": len(out.rows),
        "row_errors": out.errors,
        "expected_calls": expected_calls,
        "stored_calls": len(stored),
        "stored_ok_calls": stored_ok,
        "batch_priced_calls": priced,
        "batches": [{k: b[k] for k in ("batch_id", "round", "requests")} for b in session.batches],
        "batch_ids_stored_with_experiment": len(cfg_batches),
        "rounds": session.rounds,
        "timeline": marks,
        "wall_s": round(wall, 2),
        "peak_rss_mb": round(peak_mb, 1),
        "poll_s": args.poll,
        "server_status_reads_before_end": args.polls,
        "spent_usd_at_batch_price": round(out.spent_usd, 6),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "batch_gsm8k.json").write_text(json.dumps(res, indent=2) + "\n")
    md = [
        "# GSM8K through the batch path (loopback OpenAI Batch API server)",
        "",
        f"Measured {res['measured_at']} with `python bench/batch_gsm8k.py` (one run; the server is in-process and "
        "answers each batch after "
        f"{args.polls} status reads, so this is our overhead, not a provider's queue time).",
        "",
        "| questions | methods | batches (round: requests) | calls stored / expected | wall | peak RSS |",
        "|---|---|---|---|---|---|",
        f"| {len(items)} | {', '.join(METHODS)} | "
        + ", ".join(f"{b['round']}: {b['requests']}" for b in res["batches"])
        + f" | {len(stored)} / {expected_calls} | {res['wall_s']} s | {res['peak_rss_mb']} MB |",
        "",
        f"Status {out.status}, {out.errors} error rows; {priced} of {len(stored)} stored calls priced at the batch "
        "discount (50% of the genai-prices list price, `tale_core/accounting/batch_pricing.py`, "
        f"spend ${res['spent_usd_at_batch_price']}). Peak RSS is `ru_maxrss` of the whole process (server included).",
        "",
        "Timeline (seconds from the start): "
        + ", ".join(f"{m['event']} round {m['round']} at {m['at_s']}" for m in marks)
        + ". Between a round's end and the next round (or the end) the cells' threads parse, grade and record "
        "their calls into SQLite.",
        "",
    ]
    (RESULTS / "batch_gsm8k.md").write_text("\n".join(md))
    print(json.dumps(res, indent=2))
    return 0 if out.status == "done" and len(stored) == expected_calls else 1


if __name__ == "__main__":
    raise SystemExit(main())
