"""Versioned JSON bundles: export one experiment with all its calls, import it elsewhere.

Bundle format (version 1)::

    {"format": "tale-explorer-bundle", "version": 1, "exported_at": ISO-8601, "app_version": str,
     "experiment": {"id", "title", "notes", "kind", "status", "config", "summary", "created_at",
                    "finished_at", "price_table", "app_version"},
     "calls": [{"id", "spec", "provider", "model", "method", "budget", "role", "question", "messages",
                "params", "response", "input_tokens", "output_tokens", ... one object per model call}],
     "price_table": {"version": str | null, "prices": {spec: {"input_per_mtok", "output_per_mtok"}}}}

Import trusts nothing: size limit, strict JSON, format and version, the type and length of every field it
uses (unknown fields are ignored), all problems reported together in one :class:`BundleError`. Text is
stored as plain text (HTML and scripts included: never rendered as markup by us), secrets are scrubbed on
export and again on import, the imported experiment always gets a new id of ours (the bundle's id is kept
in the notes and in ``summary["imported_from"]``, never used: a bundle cannot choose or collide with an id),
calls that share a cell with an earlier call of the bundle are reported (not silently dropped), times keep
their instant (an offset such as +05:30 is converted to UTC), and imported calls never enter the call cache.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tale_core.accounting.pricing import price_for
from tale_core.errors import TaleError

from .models import KINDS, STATUSES
from .rows import ROLES, cell_slot, now
from .scrub import known_secrets, scrub
from .store import Store

FORMAT = "tale-explorer-bundle"
VERSION = 1
MAX_BUNDLE_BYTES = 50 * 1024 * 1024
MAX_CALLS = 100_000
MAX_TEXT = 1_000_000  # characters in one prompt, response, question or thinking text
MAX_JSON = 1_000_000  # characters of one JSON object (config, summary, params, error, detail)
MAX_MESSAGES = 1_000
MAX_PROBLEMS = 50
INT_MAX = 2**31 - 1
_ID = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")


class BundleError(TaleError):
    """A bundle that cannot be imported; ``problems`` lists every reason found (path: what is wrong)."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        shown = "; ".join(self.problems[:5])
        more = f" (and {len(self.problems) - 5} more)" if len(self.problems) > 5 else ""
        super().__init__(f"This file is not an importable TALE Explorer bundle: {shown}{more}")


# -- export ----------------------------------------------------------------------------------------------


def _price_table(specs: list[str], version: str | None) -> dict[str, Any]:
    """The prices (USD per million tokens) of the experiment's models, as this app knows them now."""
    prices: dict[str, Any] = {}
    for spec in specs:
        if "/" not in spec:
            continue
        provider, model = spec.split("/", 1)
        try:
            p = price_for(provider, model)
        except Exception:  # a price the table cannot give (any error of the pricing package) is left out
            continue
        if p is not None:
            prices[spec] = {
                "input_per_mtok": p.input_per_mtok,
                "output_per_mtok": p.output_per_mtok,
                "source": p.source,
                "as_of": p.as_of,
            }
    return {"version": version, "prices": prices}


def export_experiment(experiment_id: str, store: Store | None = None) -> dict[str, Any]:
    """The bundle for one experiment as a dict (raises ``ExperimentNotFound``)."""
    store = store or Store()
    d = store.get_experiment(experiment_id)
    exp = d.to_dict(with_calls=False)
    exp.pop("parent_id", None)
    calls = []
    for c in d.calls:
        cd = c.to_dict()
        for k in ("experiment_id", "cell_slot"):
            cd.pop(k, None)
        calls.append(cd)
    specs = sorted({c.spec for c in d.calls if c.spec})
    from tale_core import __version__

    bundle = {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": now().isoformat(),
        "app_version": __version__,
        "experiment": exp,
        "calls": calls,
        "price_table": _price_table(specs, d.price_table),
    }
    return scrub(bundle, known_secrets())


def export_bytes(experiment_id: str, store: Store | None = None) -> bytes:
    """The bundle as UTF-8 JSON bytes, ready to download or write to a file."""
    return json.dumps(export_experiment(experiment_id, store), ensure_ascii=False, separators=(",", ":")).encode(
        "utf-8"
    )


# -- validation ------------------------------------------------------------------------------------------


class _Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []
        self.dropped = 0

    def add(self, path: str, msg: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(f"{path}: {msg}")
        else:
            self.dropped += 1

    def text(
        self,
        obj: dict,
        key: str,
        path: str,
        max_len: int,
        *,
        required: bool = False,
        default: str | None = "",
        choices: tuple[str, ...] | None = None,
    ) -> str | None:
        v = obj.get(key)
        if v is None:
            if required:
                self.add(f"{path}.{key}", "missing")
            return default
        if not isinstance(v, str):
            self.add(f"{path}.{key}", f"must be text, not {_tname(v)}")
            return default
        if len(v) > max_len:
            self.add(f"{path}.{key}", f"text of {len(v):,} characters is longer than the {max_len:,} allowed")
            return default
        if choices is not None and v not in choices:
            self.add(f"{path}.{key}", f"{_short(v)!r} is not one of {', '.join(choices)}")
            return default
        return v

    def integer(
        self, obj: dict, key: str, path: str, *, lo: int = 0, hi: int = INT_MAX, default: int | None = None
    ) -> int | None:
        v = obj.get(key)
        if v is None:
            return default
        if isinstance(v, bool) or not isinstance(v, int):
            self.add(f"{path}.{key}", f"must be a whole number, not {_tname(v)}")
            return default
        if not lo <= v <= hi:
            self.add(f"{path}.{key}", f"{v} is outside {lo}..{hi}")
            return default
        return v

    def number(
        self, obj: dict, key: str, path: str, *, lo: float = 0.0, hi: float = 1e9, default: float | None = None
    ) -> float | None:
        v = obj.get(key)
        if v is None:
            return default
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            self.add(f"{path}.{key}", f"must be a number, not {_tname(v)}")
            return default
        if not lo <= v <= hi:
            self.add(f"{path}.{key}", f"{v} is outside {lo}..{hi}")
            return default
        return float(v)

    def boolean(
        self, obj: dict, key: str, path: str, *, nullable: bool = False, default: bool | None = False
    ) -> bool | None:
        v = obj.get(key)
        if v is None:
            return None if nullable else default
        if not isinstance(v, bool):
            self.add(f"{path}.{key}", f"must be true or false, not {_tname(v)}")
            return default
        return v

    def json_obj(self, obj: dict, key: str, path: str, *, nullable: bool = True, default: Any = None) -> dict | None:
        v = obj.get(key)
        if v is None:
            return None if nullable else (default if default is not None else {})
        if not isinstance(v, dict):
            self.add(f"{path}.{key}", f"must be an object, not {_tname(v)}")
            return default
        size = len(json.dumps(v, ensure_ascii=False))
        if size > MAX_JSON:
            self.add(f"{path}.{key}", f"object of {size:,} characters is larger than the {MAX_JSON:,} allowed")
            return default
        return v

    def when(self, obj: dict, key: str, path: str) -> datetime | None:
        v = obj.get(key)
        if v is None:
            return None
        try:
            if isinstance(v, bool):
                raise ValueError
            if isinstance(v, (int, float)):
                return datetime.fromtimestamp(float(v), tz=UTC)
            if isinstance(v, str) and len(v) <= 40:
                dt = datetime.fromisoformat(v)
                # the same instant in UTC: the store keeps UTC (SQLite would otherwise drop the offset)
                return dt.astimezone(UTC) if dt.tzinfo else dt.replace(tzinfo=UTC)
        except (ValueError, OverflowError, OSError):
            pass
        self.add(f"{path}.{key}", f"{_short(v)!r} is not a date and time (ISO 8601)")
        return None


def _tname(v: Any) -> str:
    return {
        dict: "an object",
        list: "a list",
        str: "text",
        bool: "true/false",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(v), type(v).__name__)


def _short(v: Any) -> str:
    s = str(v)
    return s if len(s) <= 40 else s[:40] + "..."


_PARAM_RULES: dict[str, Callable[[Any], bool]] = {
    "max_tokens": lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 < v <= INT_MAX,
    "temperature": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 10,
    "seed": lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool) and abs(v) <= 2**63),
    "top_p": lambda v: v is None or (isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1),
    "reasoning_effort": lambda v: v is None or (isinstance(v, str) and len(v) <= 20),
    "thinking_budget": lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= INT_MAX),
    "stop": lambda v: isinstance(v, list) and len(v) <= 16 and all(isinstance(x, str) and len(x) <= 200 for x in v),
}


def _check_experiment(ck: _Checker, e: Any) -> dict[str, Any]:
    p = "experiment"
    if not isinstance(e, dict):
        ck.add(p, f"must be an object, not {_tname(e)}")
        return {}
    out: dict[str, Any] = {
        "id": ck.text(e, "id", p, 64, default=None),
        "title": ck.text(e, "title", p, 500) or "Imported experiment",
        "notes": ck.text(e, "notes", p, 100_000),
        "kind": ck.text(e, "kind", p, 20, required=True, choices=KINDS),
        "status": ck.text(e, "status", p, 20, default="done", choices=STATUSES),
        "config": ck.json_obj(e, "config", p, nullable=False, default={}),
        "summary": ck.json_obj(e, "summary", p),
        "created_at": ck.when(e, "created_at", p),
        "finished_at": ck.when(e, "finished_at", p),
        "price_table": ck.text(e, "price_table", p, 100, default=None),
        "app_version": ck.text(e, "app_version", p, 50),
    }
    if out["id"] is not None and not _ID.match(out["id"]):
        ck.add(f"{p}.id", "may only hold letters, digits, '-' and '_'")
    return out


def _check_messages(ck: _Checker, v: Any, path: str) -> list[dict[str, str]]:
    if not isinstance(v, list):
        ck.add(path, f"must be a list of messages, not {_tname(v)}")
        return []
    if len(v) > MAX_MESSAGES:
        ck.add(path, f"{len(v):,} messages is more than the {MAX_MESSAGES:,} allowed")
        return []
    out = []
    for i, m in enumerate(v):
        mp = f"{path}[{i}]"
        if not isinstance(m, dict):
            ck.add(mp, f"must be an object with role and content, not {_tname(m)}")
            continue
        role = ck.text(m, "role", mp, 20, required=True, choices=ROLES)
        content = ck.text(m, "content", mp, MAX_TEXT, required=True)
        if role and content is not None:
            out.append({"role": role, "content": content})
    return out


def _check_params(ck: _Checker, v: Any, path: str) -> dict[str, Any]:
    if v is None:
        return {}
    if not isinstance(v, dict):
        ck.add(path, f"must be an object, not {_tname(v)}")
        return {}
    out = {}
    for k, rule in _PARAM_RULES.items():
        if k in v:
            if rule(v[k]):
                out[k] = v[k]
            else:
                ck.add(f"{path}.{k}", f"unusable value {_short(v[k])!r}")
    return out


def _check_call(ck: _Checker, c: Any, i: int) -> dict[str, Any] | None:
    p = f"calls[{i}]"
    if not isinstance(c, dict):
        ck.add(p, f"must be an object, not {_tname(c)}")
        return None
    status = ck.text(c, "status", p, 20, default="ok", choices=("ok", "error"))
    error = ck.json_obj(c, "error", p)
    if status == "error" and error is None:
        error = {"kind": "provider_error", "message": "failed (no detail in the bundle)"}
    row: dict[str, Any] = {
        "spec": ck.text(c, "spec", p, 300, required=True),
        "provider": ck.text(c, "provider", p, 100),
        "model": ck.text(c, "model", p, 200),
        "method": ck.text(c, "method", p, 50),
        "budget": ck.integer(c, "budget", p),
        "role": ck.text(c, "role", p, 20, default="answer") or "answer",
        "question": ck.text(c, "question", p, MAX_TEXT),
        "question_id": ck.text(c, "question_id", p, 200, default=None),
        "repeat": ck.integer(c, "repeat", p, default=0),
        "messages": _check_messages(ck, c.get("messages"), f"{p}.messages"),
        "params": _check_params(ck, c.get("params"), f"{p}.params"),
        "response": ck.text(c, "response", p, MAX_TEXT),
        "thinking": ck.text(c, "thinking", p, MAX_TEXT),
        "input_tokens": ck.integer(c, "input_tokens", p),
        "output_tokens": ck.integer(c, "output_tokens", p),
        "reasoning_tokens": ck.integer(c, "reasoning_tokens", p, default=0),
        "usage_source": ck.text(c, "usage_source", p, 20, default=None, choices=("provider", "estimate")),
        "finish_reason": ck.text(c, "finish_reason", p, 50, default=None),
        "latency_s": ck.number(c, "latency_s", p, hi=1e7, default=0.0),
        "first_token_s": ck.number(c, "first_token_s", p, hi=1e7),
        "cost_usd": ck.number(c, "cost_usd", p, hi=1e7),
        "cost_is_estimate": ck.boolean(c, "cost_is_estimate", p),
        "correct": ck.boolean(c, "correct", p, nullable=True),
        "status": status,
        "extracted_answer": ck.text(c, "extracted_answer", p, 10_000, default=None),
        "gold": ck.text(c, "gold", p, 10_000, default=None),
        "error": error if status == "error" else None,
        "cache_key": ck.text(c, "cache_key", p, 64),
        "cache_hit": ck.boolean(c, "cache_hit", p),
        "runtime": ck.text(c, "runtime", p, 200),
        "cell_id": ck.text(c, "cell_id", p, 2_000, default=None),
        "detail": ck.json_obj(c, "detail", p, nullable=False, default={}),
        "created_at": ck.when(c, "created_at", p),
    }
    row["provider"] = row["provider"] or (row["spec"] or "").split("/", 1)[0]
    row["model"] = row["model"] or (row["spec"] or "").split("/", 1)[-1]
    row["cell_slot"] = cell_slot(row["cell_id"], row["role"]) if row["cell_id"] and status == "ok" else None
    return row


def parse_bundle(data: bytes | str) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    """Validate a bundle; returns (experiment, call rows, bundle meta) or raises :class:`BundleError`."""
    if isinstance(data, str):
        data = data.encode("utf-8", "replace")
    if not isinstance(data, (bytes, bytearray)):
        raise BundleError([f"expected the bundle file's bytes, got {_tname(data)}"])
    if len(data) > MAX_BUNDLE_BYTES:
        raise BundleError(
            [f"file of {len(data) / 1e6:.1f} MB is larger than the {MAX_BUNDLE_BYTES // (1024 * 1024)} MB allowed"]
        )
    if not data.strip():
        raise BundleError(["the file is empty"])
    try:
        doc = json.loads(bytes(data).decode("utf-8"))
    except UnicodeDecodeError:
        raise BundleError(["the file is not UTF-8 text (is it a bundle?)"]) from None
    except json.JSONDecodeError as e:
        # at the very end, or inside a string that never ends (its error points at where the string began)
        cut = e.pos >= len(data.rstrip()) - 1 or e.msg.startswith("Unterminated string")
        hint = " (the file looks cut off)" if cut else ""
        raise BundleError([f"not valid JSON at line {e.lineno}, column {e.colno}: {e.msg}{hint}"]) from None
    except (RecursionError, ValueError) as e:
        raise BundleError([f"not usable JSON: {_short(e)}"]) from None
    if not isinstance(doc, dict):
        raise BundleError([f"the top level must be an object, not {_tname(doc)}"])
    if doc.get("format") != FORMAT:
        raise BundleError([f"format: expected {FORMAT!r}, found {_short(doc.get('format'))!r}"])
    version = doc.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise BundleError([f"version: must be a whole number, not {_tname(version)}"])
    if version != VERSION:
        raise BundleError(
            [
                f"version {version} is not supported by this app (it reads version {VERSION}); update TALE Explorer"
                if version > VERSION
                else f"version {version} is unknown"
            ]
        )
    ck = _Checker()
    exp = _check_experiment(ck, doc.get("experiment"))
    calls_in = doc.get("calls")
    rows: list[dict[str, Any]] = []
    if calls_in is None:
        calls_in = []
    if not isinstance(calls_in, list):
        ck.add("calls", f"must be a list, not {_tname(calls_in)}")
    elif len(calls_in) > MAX_CALLS:
        ck.add("calls", f"{len(calls_in):,} calls is more than the {MAX_CALLS:,} allowed")
    else:
        for i, c in enumerate(calls_in):
            row = _check_call(ck, c, i)
            if row is not None:
                rows.append(row)
    meta = {
        "exported_at": ck.text(doc, "exported_at", "bundle", 40, default=None),
        "app_version": ck.text(doc, "app_version", "bundle", 50, default=None),
        "price_table": ck.json_obj(doc, "price_table", "bundle"),
    }
    if ck.problems:
        if ck.dropped:
            ck.problems.append(f"... and {ck.dropped} more problems")
        raise BundleError(ck.problems)
    return exp, rows, meta


@dataclass
class ImportReport:
    """What an import did: the new experiment's id, calls stored, and calls left out as duplicates."""

    id: str
    original_id: str | None
    calls: int
    #: "calls[i] (cell X, role R) repeats calls[j]" for each call not imported
    duplicates: list[str] = field(default_factory=list)

    def message(self) -> str:
        text = f"Imported as experiment {self.id} with {self.calls} call(s)."
        if self.duplicates:
            text += (
                f" {len(self.duplicates)} call(s) shared a cell with an earlier call of the bundle and were not "
                f"imported: {'; '.join(self.duplicates[:5])}" + (" ..." if len(self.duplicates) > 5 else "")
            )
        return text


def _duplicates(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """The rows to import and a line per row that repeats an earlier row's cell (the store keeps one per cell)."""
    first: dict[str, int] = {}
    keep: list[dict[str, Any]] = []
    dupes: list[str] = []
    for i, row in enumerate(rows):
        slot = row.get("cell_slot")
        if slot and slot in first:
            dupes.append(
                f"calls[{i}] (cell {_short(row.get('cell_id'))}, {row.get('role')}) repeats calls[{first[slot]}]"
            )
            continue
        if slot:
            first[slot] = i
        keep.append(row)
    return keep, dupes


def import_bundle(data: bytes | str, store: Store | None = None) -> str:
    """Import a bundle as a new experiment and return its id (see :func:`import_bundle_report`)."""
    return import_bundle_report(data, store).id


def import_bundle_report(data: bytes | str, store: Store | None = None) -> ImportReport:
    """Import a bundle as a new experiment with an id of ours; report what was stored and what was not.

    Raises :class:`BundleError` listing every problem found; nothing is stored then.
    """
    exp, rows, meta = parse_bundle(data)
    store = store or Store()
    original = exp.get("id")
    rows, dupes = _duplicates(rows)
    origin = {
        "original_id": original,
        "exported_at": meta.get("exported_at"),
        "app_version": meta.get("app_version"),
        "price_table": meta.get("price_table"),
    }
    if dupes:
        origin["duplicate_calls_not_imported"] = dupes[:MAX_PROBLEMS]
    if exp.get("status") == "running":  # it is not running here
        exp["status"] = "cancelled"
    summary = dict(exp.get("summary") or {})
    summary["imported_from"] = origin
    exp["summary"] = summary
    note = f"Imported from a bundle (original id {original or 'unknown'}, exported {meta.get('exported_at') or '?'})."
    if dupes:
        note += f" {len(dupes)} call(s) repeating an earlier call's cell were not imported."
    exp["notes"] = f"{exp['notes']}\n\n{note}" if exp.get("notes") else note
    exp["id"] = None  # ids are always ours: the bundle's id is only recorded
    eid = store.import_experiment(exp, rows)
    return ImportReport(id=eid, original_id=original, calls=len(rows), duplicates=dupes)
