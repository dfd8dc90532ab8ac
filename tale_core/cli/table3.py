"""``python -m tale_core bench --preset table3 --gsm8k F --gsm8k-zero F --mathbench DIR``: the paper's
Table 3 (see :mod:`tale_core.experiments.table3`), recorded as a benchmark experiment like ``bench``."""

from __future__ import annotations

import argparse
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tale_core.errors import TaleError


def cmd_table3(
    args: argparse.Namespace,
    run_cls: Callable[..., Any],
    params_of: Callable[[argparse.Namespace], Any],
    resolve_models: Callable[[Any], dict[str, Any]],
    use_cache_of: Callable[[argparse.Namespace], bool | None],
    emit: Callable[[dict[str, Any], str, bool], None],
    exit_code: Callable[[str], int],
) -> int:
    from tale_core.engine.methods import MethodSpec
    from tale_core.engine.progress import Progress
    from tale_core.experiments.benchmark import write_rows_csv
    from tale_core.experiments.provenance import items_sha256
    from tale_core.experiments.table3 import format_table3, load_table3, run_table3, table3_items

    if args.dataset:
        raise TaleError("--preset table3 takes --gsm8k / --gsm8k-zero / --mathbench, not --dataset.")
    sets = load_table3(gsm8k=args.gsm8k, gsm8k_zero=args.gsm8k_zero, mathbench=args.mathbench, limit=args.limit)
    methods = [MethodSpec.parse(m) for m in args.methods.split(",") if m.strip()]
    if not methods:
        raise TaleError("--methods is empty: e.g. --methods direct,vanilla,tale-ep")
    params = params_of(args)
    models = resolve_models(args.model)
    items = table3_items(sets)
    files = {k: str(v) for k, v in (("gsm8k", args.gsm8k), ("gsm8k_zero", args.gsm8k_zero),
                                     ("mathbench", args.mathbench)) if v}  # fmt: skip
    config = {
        "preset": "table3",
        # the Benchmark page reopens it with the per-dataset table (preset + datasets)
        "dataset": {
            "name": "Table 3",
            "source": "table3",
            "preset": "table3",
            "files": files,
            "datasets": [s.name for s in sets],
        },
        "dataset_details": [
            {"name": s.name, "files": list(s.files), "items": len(s.dataset.items), "sha256": s.dataset.sha256}
            for s in sets
        ],
        "items_sha256": items_sha256(items),
        "item_ids": [it.id for it in items],
        "methods": [m.to_str() for m in methods],
        "models": list(models),
        "params": params.to_dict(),
        "repeats": args.repeats,
        "spend_cap_usd": args.spend_cap,
    }
    title = "Table 3: " + ", ".join(f"{s.name} x {len(s.dataset.items)}" for s in sets)
    cancel = threading.Event()
    with (
        run_cls("bench", title[:200], config) as run,
        Progress(len(items) * len(methods) * len(models) * args.repeats, "table3") as bar,
    ):
        try:
            out = run_table3(
                sets,
                models,
                methods=methods,
                params=params,
                repeats=args.repeats,
                cache=run.cache,
                sink=run.sink,
                on_result=lambda row: bar.advance(note=f"{row['item_id']} {row['method']}"),
                cancel=cancel,
                use_cache=use_cache_of(args),
                spend_cap_usd=args.spend_cap,
            )
        except KeyboardInterrupt:
            cancel.set()
            raise
        summary = out.to_dict()
        run.finish(out.status, summary)
    csv_path = str(write_rows_csv(out.rows, Path(args.out))) if args.out else None
    obj = {"kind": "table3", **summary, "rows_csv": csv_path, "experiment_id": run.experiment_id}
    if args.rows:
        obj["rows"] = out.rows
    text = format_table3(out.table) + "".join(f"\nnote: {n}" for n in out.notes)
    if run.experiment_id:
        text += f"\nexperiment {run.experiment_id}"
    emit(obj, text, args.json)
    return exit_code(out.status)
