"""``python -m tale_core experiments ...`` and ``python -m tale_core db ...``, and run recording for the CLI.

Importing this module (``tale_core/__main__.py`` does) registers the commands with ``tale_core.cli`` and
installs :func:`db.recorder.recorder_factory` so sweeps, searches and benchmarks run from the command line
are recorded as experiments.

    experiments list [--search TEXT] [--kind K] [--status S] [--limit N] [--offset N] [--json]
    experiments show ID [--calls] [--json]
    experiments export ID FILE        (FILE "-" writes to stdout)
    experiments import FILE [--json]
    experiments rename ID TITLE | note ID TEXT | delete ID
    experiments reproduce ID [--limit N] [--changes] [--json]   (exit 0 only when every call is identical)
    experiments resume ID [--json]   (an interrupted sweep or benchmark: only its missing cells)
    db upgrade | check | current
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tale_core import cli as core_cli

from .engine import database_url, redact_url
from .models import STATUSES
from .store import HEARTBEAT_STALE_S


def _store():
    from .store import Store

    return Store()


def _fmt_time(dt) -> str:
    return dt.strftime("%Y-%m-%d %H:%M") if dt else "-"


def _cmd_list(args) -> int:
    rows = _store().list_experiments(
        search=args.search, kind=args.kind, status=args.status, limit=args.limit, offset=args.offset
    )
    if args.json:
        core_cli.emit([r.to_dict() for r in rows], True)
        return 0
    if not rows:
        print("No experiments yet." if not (args.search or args.kind or args.status) else "No experiment matches.")
        return 0
    print(f"{'id':<14}{'created':<18}{'kind':<12}{'status':<11}{'calls':>6}{'cost $':>11}  title")
    for r in rows:
        title = r.title if len(r.title) <= 50 else r.title[:47] + "..."
        print(
            f"{r.id:<14}{_fmt_time(r.created_at):<18}{r.kind:<12}{r.status:<11}{r.n_calls:>6}"
            f"{r.cost_usd:>11.6f}  {title}"
        )
    return 0


def _cmd_show(args) -> int:
    d = _store().get_experiment(args.id, with_calls=True)
    if args.json:
        core_cli.emit(d.to_dict(with_calls=args.calls), True)
        return 0
    print(f"{d.title}  [{d.id}]")
    print(
        f"kind {d.kind}, status {d.status}, created {_fmt_time(d.created_at)}, "
        f"finished {_fmt_time(d.finished_at)}, price table {d.price_table or '-'}"
    )
    if d.parent_id:
        print(f"rerun of {d.parent_id}")
    if d.notes:
        print(f"notes: {d.notes}")
    n_err = sum(1 for c in d.calls if not c.ok)
    print(f"{len(d.calls)} calls ({n_err} failed), cost ${d.cost_usd:.6f}")
    if d.summary:
        print("summary: " + json.dumps(d.summary, ensure_ascii=False, default=str)[:2000])
    if args.calls:
        for c in d.calls:
            mark = "ERR" if not c.ok else ("ok " if c.correct else ("x  " if c.correct is False else "-  "))
            info = c.error.get("message", "") if c.error else f"{c.output_tokens} tokens -> {c.extracted_answer}"
            print(f"  {mark} {c.spec:<28} {c.role:<9} budget={c.budget!s:<6} rep={c.repeat} {info}")
    return 0


def _cmd_export(args) -> int:
    from .bundle import export_bytes

    data = export_bytes(args.id, _store())
    if args.file == "-":
        sys.stdout.buffer.write(data + b"\n")
    else:
        Path(args.file).write_bytes(data)
        print(f"exported {args.id} to {args.file} ({len(data):,} bytes)", file=sys.stderr)
    return 0


def _cmd_import(args) -> int:
    from tale_core.errors import TaleError

    from .bundle import MAX_BUNDLE_BYTES, BundleError, import_bundle_report

    path = Path(args.file)
    if args.file == "-":
        data = sys.stdin.buffer.read(MAX_BUNDLE_BYTES + 1)
    else:
        if not path.is_file():
            raise TaleError(f"No such file: {args.file}")
        if path.stat().st_size > MAX_BUNDLE_BYTES:
            raise BundleError(
                [
                    f"file of {path.stat().st_size / 1e6:.1f} MB is larger than the "
                    f"{MAX_BUNDLE_BYTES // (1024 * 1024)} MB allowed"
                ]
            )
        data = path.read_bytes()
    try:
        report = import_bundle_report(data, _store())
    except BundleError as e:
        if args.json:
            core_cli.emit({"ok": False, "problems": e.problems}, True)
        else:
            print("error: the bundle cannot be imported:", file=sys.stderr)
            for p in e.problems:
                print(f"  - {p}", file=sys.stderr)
        return 2
    if args.json:
        core_cli.emit(
            {"ok": True, "id": report.id, "original_id": report.original_id, "duplicates": report.duplicates}, True
        )
    else:
        print(report.message())
    return 0


def _cmd_reproduce(args) -> int:
    from .reproduce import format_report, reproduce

    if args.limit is not None and args.limit < 1:
        from tale_core.errors import TaleError

        raise TaleError("--limit must be at least 1.")
    store = _store()
    n = [0]

    def progress(_diff) -> None:
        n[0] += 1
        if not args.json:
            print(f"\rrerun {n[0]} calls ...", end="", file=sys.stderr, flush=True)

    report = reproduce(store, args.id, limit=args.limit, on_call=progress)
    if not args.json:
        print("", file=sys.stderr)
    if args.json:
        core_cli.emit(report.to_dict(), True)
    else:
        print(format_report(report, only_changes=args.changes))
    return 0 if report.identical else 1


def _cmd_rename(args) -> int:
    _store().rename(args.id, args.title)
    print(f"renamed {args.id}")
    return 0


def _cmd_note(args) -> int:
    _store().annotate(args.id, args.text)
    print(f"notes of {args.id} updated")
    return 0


def _cmd_delete(args) -> int:
    from tale_core.errors import TaleError

    if not _store().delete(args.id):
        raise TaleError(f"No experiment with id {args.id!r}")
    print(f"deleted {args.id}")
    return 0


def _cmd_db(args) -> int:
    from . import migrate

    url = database_url()
    if args.action == "upgrade":
        rev = migrate.upgrade(url)
        print(f"database {redact_url(url)} is at revision {rev}")
        return 0
    if args.action == "current":
        print(
            f"database {redact_url(url)}: revision {migrate.current_revision(url) or '(empty)'}, "
            f"code head {migrate.head_revision()}"
        )
        return 0
    # check: migrations applied and in step with the models
    current, head = migrate.current_revision(url), migrate.head_revision()
    if current != head:
        print(
            f"database {redact_url(url)} is at {current or '(empty)'}, head is {head}: "
            "run `python -m tale_core db upgrade`",
            file=sys.stderr,
        )
        return 1
    drift = migrate.schema_drift(url)
    if drift:
        print("models and migrations disagree (write a migration):", file=sys.stderr)
        for d in drift:
            print(f"  {d}", file=sys.stderr)
        return 1
    print(f"database {redact_url(url)} is at head {head}; models and migrations agree")
    return 0


def _dataset_loader(store):
    """Load a benchmark's questions from its stored source: an upload kept in the database, the bundled
    samples, a file path, or the CLI's ``--dataset`` text."""
    from tale_core.cli.engine import load_items
    from tale_core.data.datasets import load_dataset

    def load(source: dict):
        kind = source.get("source")
        if kind == "stored":
            info = store.get_dataset(str(source.get("dataset_id")))
            return load_dataset((info.content or "").encode("utf-8"), name=info.name, fmt="jsonl")
        if kind == "samples":
            return load_items("samples:" + str(source.get("which") or "numeric"))
        if kind == "path":
            return load_items(str(source.get("path") or ""))
        return load_items(str(kind or ""))

    return load


def _cmd_resume(args) -> int:
    from tale_core.cli.engine import resume

    from .recorder import Recorder

    store = _store()
    d = store.get_experiment(args.id, with_calls=True)
    if d.status == "running":
        print(
            f"error: experiment {d.id} is still running (its process beat within the last "
            f"{int(HEARTBEAT_STALE_S)} s); resume it once it is interrupted",
            file=sys.stderr,
        )
        return 2
    if d.status == "done":
        print(f"experiment {d.id} is already done")
        return 0
    rec = Recorder.resume(d.id, store=store)
    return resume(d.kind, d.config, rec, records=d.records, load_dataset=_dataset_loader(store), as_json=args.json)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``experiments`` and ``db`` command groups to the CLI."""
    ex = sub.add_parser("experiments", help="list, show, export and import recorded experiments")
    exs = ex.add_subparsers(dest="action", required=True)

    p = exs.add_parser("list", help="newest experiments first")
    p.add_argument("--search", help="text in the title, notes or questions")
    p.add_argument("--kind", choices=("playground", "sweep", "search", "benchmark"))
    p.add_argument("--status", choices=STATUSES)
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--offset", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_list)

    p = exs.add_parser("show", help="one experiment")
    p.add_argument("id")
    p.add_argument("--calls", action="store_true", help="include every call")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_show)

    p = exs.add_parser("export", help="write a shareable bundle (JSON)")
    p.add_argument("id")
    p.add_argument("file", help="output file, or - for stdout")
    p.set_defaults(func=_cmd_export)

    p = exs.add_parser("import", help="import a bundle as a new experiment")
    p.add_argument("file", help="bundle file, or - for stdin")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_import)

    p = exs.add_parser(
        "reproduce",
        help="rerun every call of an experiment without the cache and report what changed "
        "(exit 0 when everything is identical, 1 otherwise)",
    )
    p.add_argument("id")
    p.add_argument("--limit", type=int, default=None, help="only the first N calls")
    p.add_argument("--changes", action="store_true", help="list only the calls that changed")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_reproduce)

    p = exs.add_parser("rename", help="change an experiment's title")
    p.add_argument("id")
    p.add_argument("title")
    p.set_defaults(func=_cmd_rename)

    p = exs.add_parser("note", help="replace an experiment's notes")
    p.add_argument("id")
    p.add_argument("text")
    p.set_defaults(func=_cmd_note)

    p = exs.add_parser("resume", help="run only the missing cells of an interrupted sweep or benchmark")
    p.add_argument("id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_resume)

    p = exs.add_parser("delete", help="delete an experiment and its calls")
    p.add_argument("id")
    p.set_defaults(func=_cmd_delete)

    db = sub.add_parser("db", help="database migrations")
    db.add_argument(
        "action",
        choices=("upgrade", "check", "current"),
        help="upgrade: migrate to the newest schema; check: migrations applied and in step with "
        "the models; current: show the revision",
    )
    db.set_defaults(func=_cmd_db)


def _factory(kind: str, title: str, config: dict | None = None):
    from .recorder import recorder_factory

    return recorder_factory(kind, title, config)


def _scrub_output(text: str) -> str:
    """Everything the CLI prints goes through the store's scrubber: a key a server echoed back is not shown."""
    from .scrub import clean_text

    return clean_text(text)


def _load_experiment(experiment_id: str) -> dict:
    return _store().get_experiment(experiment_id, with_calls=False).to_dict(with_calls=False)


core_cli.add_extension(register)
core_cli.set_recorder_factory(_factory)
core_cli.set_output_filter(_scrub_output)
core_cli.set_experiment_loader(_load_experiment)
