"""Question sets: load and validate JSONL, JSON or CSV files, and the bundled sample questions.

Loading is all-or-nothing: every problem found (bad JSON, missing or empty fields, wrong encoding,
duplicate ids, ...) is collected with its line number and raised together as one
:class:`DatasetError`; nothing is returned half-loaded. Files must be UTF-8 (a BOM is fine). Nothing is
ever evaluated: JSON is read with :mod:`json`, CSV with :mod:`csv`.

Accepted records (field names are found automatically, or named with a :class:`ColumnMapping`):

- GSM8K: ``{"question": ..., "answer": "worked solution ... #### 18"}`` -> answer ``"18"``, the worked
  solution kept in ``meta["solution"]``;
- simple: ``{"question": ..., "answer": 18}`` (numbers, decimals, text);
- multiple choice: ``{"question": ..., "choices" | "options": [...] or {"A": ..., "B": ...},
  "answer": "B" | "(B)" | the option's text | a 0-based index}``; in CSV the options may also be
  columns named ``A``, ``B``, ``C``, ...;
- an ``id`` field gives stable ids; otherwise items are named ``line-N`` (N is the line of a JSONL or
  CSV file, or the position in a JSON list). Other fields (``topic``, ...) go to ``meta``.
"""

from __future__ import annotations

import contextvars
import csv
import io
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from tale_core.errors import TaleError
from tale_core.scoring.grading import normalize_gold

__all__ = ["Item", "Dataset", "ColumnMapping", "Problem", "DatasetError", "load_dataset", "load_samples", "LETTERS"]

LETTERS = "ABCDEFGHIJ"
Kind = Literal["numeric", "multiple_choice", "mixed"]
Format = Literal["jsonl", "json", "csv", "tsv"]

_QUESTION_KEYS = ("question", "problem", "Question", "Problem", "prompt", "input")
_ANSWER_KEYS = ("answer", "final_answer", "solution", "Answer", "target")
_CHOICE_KEYS = ("choices", "options", "Choices", "Options")
_ID_KEYS = ("id", "ID", "qid", "question_id", "uid")
_MAX_PROBLEMS = 200
#: False while reading a file from the server: error messages then never quote the file's content
_QUOTE_CONTENT: contextvars.ContextVar[bool] = contextvars.ContextVar("quote_content", default=True)
HIDDEN = "(not shown for files read on the server)"


def _q(value: Any) -> str:
    """``'value'`` for a message, or a placeholder when the content must not be shown."""
    return f"'{value}'" if _QUOTE_CONTENT.get() else HIDDEN


def _qlist(values: Any) -> str:
    text = ", ".join(map(str, values)) or "nothing"
    return text if _QUOTE_CONTENT.get() or text == "nothing" else HIDDEN


# ---------------------------------------------------------------------------------------------------
# Value objects


@dataclass(frozen=True)
class Item:
    """One question. Multiple choice when ``choices`` is given; ``answer`` is then a letter."""

    id: str
    question: str
    answer: str | None
    choices: tuple[str, ...] | None = None
    meta: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def multiple_choice(self) -> bool:
        return bool(self.choices)

    def question_text(self) -> str:
        """The question as it goes into a prompt: with ``A. ...`` / ``B. ...`` lines for options."""
        if not self.choices:
            return self.question
        options = "\n".join(f"{LETTERS[i]}. {c}" for i, c in enumerate(self.choices))
        return f"{self.question.rstrip()}\n{options}"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "question": self.question}
        if self.answer is not None:
            d["answer"] = self.answer
        if self.choices:
            d["choices"] = list(self.choices)
        if self.meta:
            d["meta"] = dict(self.meta)
        return d


@dataclass
class Dataset:
    """A loaded, validated question set."""

    name: str
    items: list[Item]
    source: str
    kind: Kind
    format: str = "jsonl"

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Item]:
        return iter(self.items)

    def by_id(self, item_id: str) -> Item:
        """The item with this id (KeyError when absent)."""
        for it in self.items:
            if it.id == item_id:
                return it
        raise KeyError(item_id)

    def to_jsonl(self) -> str:
        """Normalized content, one JSON object per line; ``load_dataset`` reads it back unchanged."""
        return "".join(json.dumps(it.to_dict(), ensure_ascii=False) + "\n" for it in self.items)

    @property
    def sha256(self) -> str:
        """sha256 of the normalized items (:meth:`to_jsonl`): the same questions, answers and options give
        the same hash whatever file format they came in. Recorded with experiments to rerun them exactly."""
        import hashlib

        return hashlib.sha256(self.to_jsonl().encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ColumnMapping:
    """Which fields hold what, for files that don't use the usual names.

    ``ColumnMapping(question="problem", answer="solution")``. ``answer=None`` loads questions without
    gold answers (ungraded). ``choices``/``id`` None means: look for the usual names.
    """

    question: str = "question"
    answer: str | None = "answer"
    choices: str | None = None
    id: str | None = None


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file."""

    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.field:
            where.append(f"field '{self.field}'")
        return f"{', '.join(where)}: {self.message}" if where else self.message


class DatasetError(TaleError):
    """A file could not be loaded; ``problems`` lists every problem found (nothing was loaded)."""

    def __init__(self, problems: list[Problem], source: str = "", *, more: int = 0):
        self.problems = list(problems)
        self.source = source
        self.more = more  # problems found beyond those kept
        super().__init__(self.describe())

    def describe(self, limit: int = 10) -> str:
        total = len(self.problems) + self.more
        head = f"Could not load {self.source}" if self.source else "Could not load the dataset"
        noun = "problem" if total == 1 else "problems"
        lines = [f"{head}: {total} {noun}, nothing was loaded."]
        lines += [f"  - {p}" for p in self.problems[:limit]]
        if total > limit:
            lines.append(f"  ... and {total - limit} more")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.describe()


# ---------------------------------------------------------------------------------------------------
# Bytes -> text


def _mb(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n >= 100_000 else f"{n:,} bytes"


def _read_input(src: Any, max_bytes: int) -> tuple[bytes, str]:
    """Read bytes from a path, bytes, or a file-like object, refusing anything over ``max_bytes``."""
    if isinstance(src, (bytes, bytearray, memoryview)):
        data = bytes(src)
        label = ""
    elif isinstance(src, (str, os.PathLike)):
        path = Path(src)
        label = path.name
        try:
            if path.is_dir():
                raise DatasetError([Problem(None, None, f"'{label}' is a folder, not a file")], label)
            size = path.stat().st_size
            if size > max_bytes:
                raise DatasetError(
                    [Problem(None, None, f"the file is {_mb(size)}; the limit is {_mb(max_bytes)}")], label
                )
            with path.open("rb") as f:
                data = f.read(max_bytes + 1)
        except FileNotFoundError:
            raise DatasetError([Problem(None, None, f"file not found: {label}")], label) from None
        except PermissionError:
            raise DatasetError([Problem(None, None, f"no permission to read {label}")], label) from None
        except OSError as e:
            raise DatasetError([Problem(None, None, f"cannot read {label}: {e.strerror or e}")], label) from None
    elif hasattr(src, "read"):
        label = Path(str(getattr(src, "name", "") or "")).name
        data = src.read(max_bytes + 1)
        if isinstance(data, str):
            data = data.encode("utf-8")
    else:
        raise DatasetError(
            [
                Problem(
                    None,
                    None,
                    f"cannot read a dataset from a {type(src).__name__}; give a file path or the file's bytes",
                )
            ]
        )
    if len(data) > max_bytes:
        raise DatasetError([Problem(None, None, f"the data is larger than the limit of {_mb(max_bytes)}")], label)
    return data, label


_MAGIC = [
    (b"PK\x03\x04", "a ZIP archive or an Excel workbook (.xlsx); save the sheet as CSV (UTF-8)"),
    (b"\xd0\xcf\x11\xe0", "an old Excel/Office file (.xls); save the sheet as CSV (UTF-8)"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive; decompress it first"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"SQLite format 3", "an SQLite database"),
]


def _decode(data: bytes) -> str:
    """UTF-8 text (BOM stripped), or a DatasetError that says what the bytes look like."""
    for magic, what in _MAGIC:
        if data.startswith(magic):
            raise DatasetError(
                [
                    Problem(
                        None,
                        None,
                        f"this is not a text file: it looks like {what}. Give JSONL, JSON or CSV text in UTF-8.",
                    )
                ]
            )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data[:8192]:
        utf16 = data.startswith((b"\xff\xfe", b"\xfe\xff")) or data[1:200:2].count(0) > 50
        msg = (
            "the file is UTF-16 encoded; only UTF-8 is accepted: save it again as UTF-8"
            if utf16
            else "this is a binary file (it contains NUL bytes), not text: give JSONL, JSON or CSV in UTF-8"
        )
        raise DatasetError([Problem(None, None, msg)])
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        bad = data[e.start]
        raise DatasetError(
            [
                Problem(
                    line,
                    None,
                    f"not valid UTF-8 (byte 0x{bad:02X}); only UTF-8 is accepted. The file is "
                    "probably Latin-1 or Windows-1252: save it again as UTF-8",
                )
            ]
        ) from None
    if not text.strip():
        raise DatasetError([Problem(None, None, "the file is empty")])
    return text


# ---------------------------------------------------------------------------------------------------
# Text -> records


class _Collector:
    """Problems found so far, capped so a huge broken file cannot flood memory."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.more = 0

    def add(self, line: int | None, fld: str | None, message: str, item: str | None = None) -> None:
        """Record a problem; ``item`` (a JSON list position) prefixes the message when there is no line."""
        if line is None and item:
            message = f"item {item}: {message}"
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(Problem(line, fld, message))
        else:
            self.more += 1

    def __bool__(self) -> bool:
        return bool(self.problems)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in JSON")


def _json_loads(text: str) -> Any:
    return json.loads(text, parse_constant=_no_constants)


def _json_error(e: Exception) -> str:
    if isinstance(e, json.JSONDecodeError):
        return f"not valid JSON: {e.msg} (column {e.colno})"
    if isinstance(e, RecursionError):
        return "not valid JSON: nested too deeply"
    return f"not valid JSON: {e}"


Record = tuple[int | None, str, dict]  # (line, label for messages, record)


def _records_jsonl(text: str, problems: _Collector, max_items: int) -> list[Record]:
    records: list[Record] = []
    for n, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line:
            continue
        if len(records) >= max_items:
            problems.add(n, None, f"more than {max_items:,} items; the limit is {max_items:,}")
            break
        try:
            obj = _json_loads(line)
        except (ValueError, RecursionError) as e:
            problems.add(n, None, _json_error(e))
            continue
        if not isinstance(obj, dict):
            problems.add(n, None, f"each line must be a JSON object {{...}}, found {_json_type(obj)}")
            continue
        records.append((n, f"line-{n}", obj))
    return records


def _json_type(obj: Any) -> str:
    return {
        list: "a list",
        str: "a string",
        int: "a number",
        float: "a number",
        bool: "true/false",
        type(None): "null",
    }.get(type(obj), type(obj).__name__)


def _records_json(text: str, problems: _Collector, max_items: int) -> list[Record]:
    try:
        doc = _json_loads(text)
    except json.JSONDecodeError as e:
        problems.add(e.lineno, None, _json_error(e))
        return []
    except (ValueError, RecursionError) as e:
        problems.add(None, None, _json_error(e))
        return []
    if isinstance(doc, dict):
        for key in ("items", "data", "questions", "examples"):
            if isinstance(doc.get(key), list):
                doc = doc[key]
                break
    if not isinstance(doc, list):
        problems.add(
            None,
            None,
            'expected a list of objects, or {"items": [...]}, found ' + _json_type(doc)
            if not isinstance(doc, dict)
            else 'expected a list of objects, or an object with an "items" list',
        )
        return []
    if len(doc) > max_items:
        problems.add(None, None, f"{len(doc):,} items; the limit is {max_items:,}")
        return []
    records: list[Record] = []
    for i, obj in enumerate(doc, start=1):
        if not isinstance(obj, dict):
            problems.add(None, None, f"must be an object {{...}}, found {_json_type(obj)}", str(i))
            continue
        records.append((None, f"line-{i}", obj))
    return records


def _sniff_delimiter(text: str) -> str:
    header = text.split("\n", 1)[0]
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _records_csv(text: str, problems: _Collector, max_items: int, delimiter: str | None) -> list[Record]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter or _sniff_delimiter(text), strict=True)
    records: list[Record] = []
    header: list[str] | None = None
    last_line = 0
    try:
        for row in reader:
            start, last_line = last_line + 1, reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if header is None:
                header = [h.strip() for h in row]
                seen: set[str] = set()
                for h in header:
                    if not h:
                        problems.add(start, None, "the header has an empty column name")
                    elif h in seen:
                        problems.add(
                            start, h if _QUOTE_CONTENT.get() else None, f"the header names column {_q(h)} twice"
                        )
                    seen.add(h)
                if problems:
                    return []
                continue
            if len(records) >= max_items:
                problems.add(start, None, f"more than {max_items:,} items; the limit is {max_items:,}")
                break
            if len(row) != len(header):
                problems.add(start, None, f"has {len(row)} fields, the header has {len(header)}")
                continue
            records.append((start, f"line-{start}", dict(zip(header, row))))
    except csv.Error as e:
        problems.add(last_line + 1, None, f"CSV error: {e}")
        return []
    if header is None:
        problems.add(None, None, "the file is empty")
    return records


# ---------------------------------------------------------------------------------------------------
# Records -> items


def _pick(record: dict, names: tuple[str, ...]) -> str | None:
    for n in names:
        if n in record:
            return n
    return None


def _letter_columns(record: dict) -> list[str]:
    """``A``, ``B``, ... (or ``a``, ``b``, ...) columns holding options, when at least A and B exist."""
    for letters in (LETTERS, LETTERS.lower()):
        cols = []
        for ch in letters:
            if ch not in record:
                break
            cols.append(ch)
        if len(cols) >= 2:
            return cols
    return []


def _parse_choices(value: Any, line: int | None, fld: str, problems: _Collector, label: str) -> tuple[str, ...] | None:
    def bad(msg: str) -> None:
        problems.add(line, fld, msg, _position(label))

    if isinstance(value, str):
        s = value.strip()
        if s.startswith(("[", "{")):
            try:
                value = _json_loads(s)
            except (ValueError, RecursionError):
                bad("options look like JSON but are not valid JSON")
                return None
        elif "|" in s:
            value = [part for part in s.split("|")]
        elif not s:
            return None
        else:
            bad('options must be a list, an object {"A": ..., "B": ...}, or text separated by |')
            return None
    if isinstance(value, dict):
        keys = {str(k).strip().upper(): v for k, v in value.items()}
        expected = list(LETTERS[: len(keys)])
        if sorted(keys) != expected:
            bad(f"option keys must be the letters {', '.join(expected)} (found {_qlist(value)})")
            return None
        value = [keys[k] for k in expected]
    if not isinstance(value, list):
        bad(f"options must be a list, found {_json_type(value)}")
        return None
    if not 2 <= len(value) <= len(LETTERS):
        bad(f"a multiple-choice question needs 2 to {len(LETTERS)} options, found {len(value)}")
        return None
    out = []
    for i, v in enumerate(value):
        if isinstance(v, bool) or not isinstance(v, (str, int, float)):
            bad(f"option {LETTERS[i]} must be text or a number")
            return None
        text = v.strip() if isinstance(v, str) else normalize_gold(v)
        if not text:
            bad(f"option {LETTERS[i]} is empty")
            return None
        out.append(text)
    return tuple(out)


_LETTER_ANSWER = re.compile(r"^\(?\s*([A-Ja-j])\s*\)?\.?$")


def _choice_answer(value: Any, choices: tuple[str, ...]) -> tuple[str | None, str | None]:
    """(letter, error message) for a multiple-choice answer."""
    if isinstance(value, bool):
        return None, "answer must be a letter, the option's text or a 0-based index"
    if isinstance(value, int):
        if 0 <= value < len(choices):
            return LETTERS[value], None
        return None, f"answer index {value} is outside the {len(choices)} options (0-based)"
    text = value.strip() if isinstance(value, str) else normalize_gold(value)
    folded = " ".join(text.lower().split())
    by_text = next((LETTERS[i] for i, c in enumerate(choices) if " ".join(c.lower().split()) == folded), None)
    m = _LETTER_ANSWER.match(text)
    if m:
        letter = m.group(1).upper()
        in_range = LETTERS.index(letter) < len(choices)
        # "B" and "(b)" are letters; a bare lower-case letter that is also an option's text is that option
        if by_text and (not in_range or (len(text) == 1 and text.islower())):
            return by_text, None
        if not in_range:
            return None, f"answer {letter} but there are only {len(choices)} options"
        return letter, None
    if by_text:
        return by_text, None
    return None, (
        f"answer {_q(text[:60])} is neither a letter {LETTERS[0]}-{LETTERS[len(choices) - 1]} "
        "nor the text of one of the options"
    )


def _numeric_answer(value: Any) -> tuple[str | None, dict, str | None]:
    """(gold, extra meta, error) for a non-multiple-choice answer."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None, {}, f"answer must be text or a number, found {_json_type(value)}"
    if not isinstance(value, str):
        return normalize_gold(value), {}, None
    raw = value.strip()
    if not raw:
        return None, {}, "answer is empty"
    if "####" in raw:
        final = raw.rsplit("####", 1)[1].strip()
        if not final:
            return None, {}, "nothing after '####' (GSM8K answers end with '#### <number>')"
        return normalize_gold(final), {"solution": raw.rsplit("####", 1)[0].strip()}, None
    gold = normalize_gold(raw)
    if not gold:
        return None, {}, "answer is empty"
    meta = {}
    if "\\boxed" in raw:
        meta["solution"] = raw
    elif gold != raw:
        meta["answer_text"] = raw
    return gold, meta, None


class _Fields:
    """Which record keys hold question, answer, options and id (fixed names or auto-detection)."""

    def __init__(self, mapping: ColumnMapping | None):
        self.mapping = mapping

    def question(self, rec: dict) -> str | None:
        return self.mapping.question if self.mapping else _pick(rec, _QUESTION_KEYS)

    def answer(self, rec: dict) -> str | None:
        if self.mapping:
            return self.mapping.answer
        return _pick(rec, _ANSWER_KEYS)

    def choices(self, rec: dict) -> str | None:
        if self.mapping and self.mapping.choices:
            return self.mapping.choices
        return _pick(rec, _CHOICE_KEYS)

    def id(self, rec: dict) -> str | None:
        if self.mapping and self.mapping.id:
            return self.mapping.id
        return _pick(rec, _ID_KEYS)


def _build_items(records: list[Record], fields: _Fields, problems: _Collector) -> list[Item]:
    answer_expected = bool(fields.mapping and fields.mapping.answer) or any(
        fields.answer(rec) is not None for _, _, rec in records
    )
    items: list[Item] = []
    first_seen: dict[str, str] = {}
    for line, label, rec in records:

        def bad(fld: str | None, msg: str, line: int | None = line, label: str = label) -> None:
            problems.add(line, fld, msg, _position(label))

        qkey = fields.question(rec)
        if qkey is None or qkey not in rec:
            name = qkey or "question"
            bad(name, f"missing '{name}' field (found: {_qlist(rec)})")
            continue
        question = rec[qkey]
        if not isinstance(question, str):
            bad(qkey, f"question must be text, found {_json_type(question)}")
            continue
        if not question.strip():
            bad(qkey, "empty question")
            continue

        used = {qkey}
        choices: tuple[str, ...] | None = None
        ckey = fields.choices(rec)
        if ckey is not None and ckey in rec:
            used.add(ckey)
            choices = _parse_choices(rec[ckey], line, ckey, problems, label)
            if choices is None and _has_value(rec[ckey]):
                continue
        elif fields.mapping and fields.mapping.choices:
            bad(fields.mapping.choices, f"missing '{fields.mapping.choices}' field")
            continue
        else:
            cols = _letter_columns(rec)
            if cols:
                used.update(cols)
                choices = _parse_choices([rec[c] for c in cols], line, cols[0], problems, label)
                if choices is None:
                    continue

        akey = fields.answer(rec)
        answer: str | None = None
        extra_meta: dict = {}
        if akey is not None and akey in rec:
            used.add(akey)
            value = rec[akey]
            if value is None or (isinstance(value, str) and not value.strip()):
                bad(akey, "answer is empty")
                continue
            if choices:
                answer, err = _choice_answer(value, choices)
            else:
                answer, extra_meta, err = _numeric_answer(value)
            if err:
                bad(akey, err)
                continue
        elif answer_expected:
            name = akey or (fields.mapping.answer if fields.mapping else None) or "answer"
            bad(name, f"missing '{name}' field")
            continue

        ikey = fields.id(rec)
        item_id = label
        if ikey is not None and ikey in rec:
            used.add(ikey)
            raw_id = rec[ikey]
            if isinstance(raw_id, bool) or not isinstance(raw_id, (str, int)) or not str(raw_id).strip():
                bad(ikey, "id must be non-empty text or a whole number")
                continue
            item_id = str(raw_id).strip()
        if item_id in first_seen:
            bad(ikey or "id", f"duplicate id {_q(item_id)} (first used at {first_seen[item_id]})")
            continue
        first_seen[item_id] = f"line {line}" if line is not None else f"item {_position(label)}"

        meta: dict = {}
        nested = rec.get("meta")
        if isinstance(nested, dict) and "meta" not in used:
            meta.update(nested)
            used.add("meta")
        meta.update({k: v for k, v in rec.items() if k not in used and k is not None})
        meta.update(extra_meta)
        items.append(Item(item_id, question.strip(), answer, choices, meta))
    return items


def _position(label: str) -> str:
    """``"line-7"`` -> ``"7"``."""
    return label.split("-", 1)[1]


def _has_value(v: Any) -> bool:
    return not (v is None or (isinstance(v, str) and not v.strip()))


def _check_csv_header(text: str, fields: _Fields, problems: _Collector, delimiter: str | None) -> bool:
    """For CSV, a missing question column is one problem about the header, not one per row."""
    header_row = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter or _sniff_delimiter(text)), [])
    header = {h.strip(): None for h in header_row}
    qkey = fields.question(header)
    if qkey is None or qkey not in header:
        name = qkey or "question"
        problems.add(
            1,
            name,
            f"no '{name}' column; the header has: {_qlist(header)}. Name the question column with a ColumnMapping.",
        )
        return False
    if fields.mapping and fields.mapping.answer and fields.mapping.answer not in header:
        problems.add(1, fields.mapping.answer, f"no '{fields.mapping.answer}' column; the header has: {_qlist(header)}")
        return False
    return True


# ---------------------------------------------------------------------------------------------------
# Public API

_SUFFIX_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".tsv": "tsv", ".txt": None}


def _detect_format(text: str, label: str) -> str:
    """The format from the file name's suffix, else from the content's first character."""
    suffix = Path(label).suffix.lower() if label else ""
    fmt = _SUFFIX_FORMATS.get(suffix)
    head = text.lstrip()[:1]
    if fmt in ("jsonl", "json"):
        return "json" if head == "[" else fmt  # a JSON list saved as .jsonl still loads
    if fmt:
        return fmt
    if head == "[":
        return "json"
    if head == "{":
        return "jsonl"
    return "csv"


def load_dataset(
    path_or_bytes: Any,
    *,
    name: str | None = None,
    fmt: str | None = None,
    mapping: ColumnMapping | None = None,
    max_bytes: int = 20_000_000,
    max_items: int = 100_000,
    quote_content: bool = True,
) -> Dataset:
    """Load and validate a question set from a path, bytes or a file-like object (e.g. an upload).

    ``fmt`` is ``"jsonl"``, ``"json"``, ``"csv"`` or ``"tsv"``; by default it comes from the file name
    (or ``name``) and otherwise from the content. Raises :class:`DatasetError` listing every problem
    found, with line numbers, and loads nothing when there is any. ``quote_content=False`` keeps the
    file's text (header names, ids, answers) out of every message: :func:`load_server_file` uses it so a
    file read on the server is never echoed back to whoever typed its path.
    """
    token = _QUOTE_CONTENT.set(quote_content)
    try:
        return _load(path_or_bytes, name, fmt, mapping, max_bytes, max_items)
    finally:
        _QUOTE_CONTENT.reset(token)


def _load(
    path_or_bytes: Any, name: str | None, fmt: str | None, mapping: ColumnMapping | None, max_bytes: int, max_items: int
) -> Dataset:
    data, label = _read_input(path_or_bytes, max_bytes)
    label = label or (Path(name).name if name else "")
    source = label or "uploaded data"
    try:
        text = _decode(data)
    except DatasetError as e:
        raise DatasetError(e.problems, source) from None

    if fmt is not None:
        fmt = fmt.lower().lstrip(".")
        fmt = "jsonl" if fmt == "ndjson" else fmt
        if fmt not in ("jsonl", "json", "csv", "tsv"):
            raise DatasetError([Problem(None, None, f"unknown format '{fmt}'; use jsonl, json, csv or tsv")], source)
    else:
        fmt = _detect_format(text, label)

    problems = _Collector()
    fields = _Fields(mapping)
    if fmt == "jsonl":
        records = _records_jsonl(text, problems, max_items)
    elif fmt == "json":
        records = _records_json(text, problems, max_items)
        if problems and Path(label).suffix.lower() == ".json" and text.lstrip().startswith("{"):
            # a JSON Lines file saved as .json
            retry = _Collector()
            lines = _records_jsonl(text, retry, max_items)
            if not retry:
                problems, records, fmt = retry, lines, "jsonl"
    else:
        delimiter = "\t" if fmt == "tsv" else None
        records = []
        if _check_csv_header(text, fields, problems, delimiter):
            records = _records_csv(text, problems, max_items, delimiter)

    items = _build_items(records, fields, problems) if records else []
    if not problems and not items:
        problems.add(None, None, "the file has no questions")
    if problems:
        raise DatasetError(problems.problems, source, more=problems.more)

    kinds = {it.multiple_choice for it in items}
    kind: Kind = "mixed" if len(kinds) == 2 else ("multiple_choice" if True in kinds else "numeric")
    ds_name = name or label or "dataset"
    if Path(ds_name).suffix.lower() in _SUFFIX_FORMATS:
        ds_name = Path(ds_name).stem
    return Dataset(name=ds_name, items=items, source=source, kind=kind, format=fmt)


def resolve_server_path(typed: str, root: str | os.PathLike[str]) -> Path:
    """The file ``typed`` names inside the allowed folder ``root``, or a :class:`DatasetError`.

    A relative path is taken inside ``root``; ``..``, symlinks and absolute paths that lead outside it are
    refused, as is anything but a JSONL, JSON, CSV or TSV file. Messages never show the file's content nor
    where the folder lies on the server.
    """
    text = str(typed or "").strip()
    if not text:
        raise DatasetError([Problem(None, None, "type the name of a file in the data folder")])
    if "\x00" in text:
        raise DatasetError([Problem(None, None, "the path contains a NUL character")])
    base = Path(root).resolve()
    candidate = Path(text).expanduser()
    if not candidate.is_absolute():
        candidate = base / candidate
    try:
        real = candidate.resolve(strict=False)
    except (OSError, RuntimeError):  # a symlink loop
        raise DatasetError([Problem(None, None, "that path cannot be resolved")]) from None
    if real != base and base not in real.parents:
        raise DatasetError(
            [Problem(None, None, "only files inside the app's data folder can be read; upload other files instead")]
        )
    if real.suffix.lower() not in (".jsonl", ".ndjson", ".json", ".csv", ".tsv"):
        raise DatasetError([Problem(None, None, "only .jsonl, .ndjson, .json, .csv and .tsv files can be read")])
    if not real.is_file():
        raise DatasetError([Problem(None, None, f"no such file in the data folder: {real.relative_to(base)}")])
    return real


def resolve_server_dir(typed: str, root: str | os.PathLike[str]) -> Path:
    """A folder ``typed`` names inside ``root`` (e.g. the MathBench folder of the Table 3 preset), with the
    same rules as :func:`resolve_server_path`: nothing outside ``root``, no location shown."""
    text = str(typed or "").strip()
    if not text or "\x00" in text:
        raise DatasetError([Problem(None, None, "type the name of a folder in the data folder")])
    base = Path(root).resolve()
    candidate = Path(text).expanduser()
    if not candidate.is_absolute():
        candidate = base / candidate
    try:
        real = candidate.resolve(strict=False)
    except (OSError, RuntimeError):
        raise DatasetError([Problem(None, None, "that path cannot be resolved")]) from None
    if real != base and base not in real.parents:
        raise DatasetError(
            [Problem(None, None, "only folders inside the app's data folder can be read; upload files instead")]
        )
    if not real.is_dir():
        raise DatasetError([Problem(None, None, f"no such folder in the data folder: {real.relative_to(base)}")])
    return real


def load_server_file(typed: str, root: str | os.PathLike[str], **kw: Any) -> Dataset:
    """:func:`load_dataset` for a path typed into the app: only inside ``root``, content never quoted."""
    return load_dataset(resolve_server_path(typed, root), quote_content=False, **kw)


SAMPLE_FILES = {"numeric": "samples.jsonl", "multiple_choice": "samples_mc.jsonl"}


def load_samples(which: Literal["numeric", "multiple_choice", "all"] = "numeric") -> Dataset:
    """The bundled sample questions written for TALE Explorer (numeric by default; ``"multiple_choice"``
    for the lettered ones, ``"all"`` for both). The first numeric item is the paper's Figure 1 question,
    id ``peyton``."""
    if which == "all":
        parts = [load_samples("numeric"), load_samples("multiple_choice")]
        items = [it for ds in parts for it in ds.items]
        return Dataset("samples", items, "bundled samples", "mixed", "jsonl")
    if which not in SAMPLE_FILES:
        raise ValueError(f"unknown sample set {which!r}; use one of {sorted(SAMPLE_FILES) + ['all']}")
    filename = SAMPLE_FILES[which]
    data = resources.files("tale_core.data").joinpath(filename).read_bytes()
    ds = load_dataset(data, name=filename, fmt="jsonl")
    ds.name = "samples" if which == "numeric" else "samples-mc"
    ds.source = f"bundled samples ({filename})"
    return ds
