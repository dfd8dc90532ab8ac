"""The paper's datasets in their official formats, and Hugging Face ``datasets`` layouts.

- GSM8K (``question``, ``answer`` ending in ``#### N``) and GSM8K-Zero (JSONL with ``question`` and a
  float ``answer``; 1.5 stays 1.5, never truncated) through :func:`~tale_core.data.datasets.load_dataset`.
- MathBench v1 (open-compass/MathBench): one JSONL per subset and kind, ``<subset>/<kind>_<lang>.jsonl``
  with subsets ``arithmetic``, ``primary``, ``middle``, ``high``, ``college`` and kinds ``cloze``
  (``question``/``answer``) and ``single_choice`` (``question``/``options``/letter ``answer``), English
  (``en``) and Chinese (``cn``). :func:`load_mathbench` groups a folder's files by subset; each item
  carries ``meta["template"]`` so the benchmark uses the official MathBench prompt for it.
- Hugging Face layouts, read with pyarrow (no ``datasets`` package needed): a ``save_to_disk`` folder
  (``state.json`` + ``*.arrow``; a ``DatasetDict`` folder with one subfolder per split), parquet files
  or a folder of them. A Hub dataset id (``openai/gsm8k``) needs the ``datasets`` package and the
  network; without them the message says how to get a folder instead. Nothing here opens a connection
  unless a Hub id was asked for and ``datasets`` is installed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tale_core.data.datasets import Dataset, DatasetError, Kind, Problem, load_dataset

#: paper row names of the MathBench subsets (Table 3 has arithmetic, middle, high and college)
MATHBENCH_SUBSETS = {
    "arithmetic": "MathBench-Arithmetic",
    "primary": "MathBench-Primary",
    "middle": "MathBench-Middle",
    "high": "MathBench-High",
    "college": "MathBench-College",
}
_MATHBENCH_FILE = re.compile(r"^(cloze|single_choice)_(en|cn)\.jsonl$")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass(frozen=True)
class NamedSet:
    """One dataset of the Table 3 preset: the paper's row name and the loaded items."""

    name: str
    dataset: Dataset
    files: tuple[str, ...] = ()


def _with_meta(ds: Dataset, name: str, id_prefix: str, **meta: Any) -> Dataset:
    items = [replace(it, id=f"{id_prefix}{it.id}", meta={**it.meta, **meta}) for it in ds.items]
    return Dataset(name=name, items=items, source=ds.source, kind=ds.kind, format=ds.format)


def load_gsm8k(path: str | Path, *, name: str = "GSM8K") -> Dataset:
    """GSM8K in its official format (``answer`` ends in ``#### N``): every answer must have the marker."""
    ds = load_any(path, name=name)
    missing = [it.id for it in ds.items if "solution" not in it.meta]
    if missing:
        raise DatasetError(
            [Problem(None, "answer", f"{len(missing)} answers do not end in '#### N' (first: item {missing[0]})")],
            str(path),
        )
    return _with_meta(ds, name, "", template="gsm8k")


def load_gsm8k_zero(path: str | Path, *, name: str = "GSM8K-Zero") -> Dataset:
    """GSM8K-Zero: JSONL with ``question`` and a float ``answer`` (kept exact: 1.5 stays 1.5)."""
    return _with_meta(load_any(path, name=name), name, "", template="gsm8k")


def _mathbench_file(path: Path, subset: str) -> Dataset:
    m = _MATHBENCH_FILE.match(path.name)
    if m is None:
        raise DatasetError(
            [Problem(None, None, "not a MathBench file name (cloze_en.jsonl, single_choice_cn.jsonl, ...)")], str(path)
        )
    kind, lang = m.group(1), m.group(2)
    ds = load_dataset(path)
    want_choice = kind == "single_choice"
    bad = [it.id for it in ds.items if bool(it.choices) != want_choice]
    if bad:
        what = "options" if want_choice else "no options"
        raise DatasetError([Problem(None, "options", f"{kind} items must have {what} (item {bad[0]})")], str(path))
    template = f"mathbench-{'choice' if want_choice else 'cloze'}-{lang}"
    return _with_meta(ds, ds.name, f"{subset}/{path.stem}/", template=template, subset=subset, language=lang)


def load_mathbench(path: str | Path) -> list[NamedSet]:
    """MathBench v1 files grouped by subset, one :class:`NamedSet` per subset found (paper order).

    ``path`` is the MathBench root (folders ``arithmetic/``, ``middle/``, ...), one subset folder, or one
    file named ``<subset>/<kind>_<lang>.jsonl``. Every file with an official name is loaded; subsets
    named like the paper's rows get the paper's name (``MathBench-Middle``)."""
    p = Path(path)
    if p.is_file():
        files = [p]
    elif p.is_dir():
        files = sorted(f for f in p.rglob("*.jsonl") if _MATHBENCH_FILE.match(f.name))
    else:
        raise DatasetError([Problem(None, None, "no such file or folder")], str(path))
    if not files:
        raise DatasetError(
            [Problem(None, None, "no MathBench files found (expected <subset>/cloze_en.jsonl, single_choice_en.jsonl, ...)")],
            str(path),
        )  # fmt: skip
    groups: dict[str, list[Path]] = {}
    for f in files:
        subset = f.parent.name if f.parent.name in MATHBENCH_SUBSETS or p.is_dir() else f.parent.name
        groups.setdefault(subset, []).append(f)
    order = list(MATHBENCH_SUBSETS)
    out = []
    for subset in sorted(groups, key=lambda s: (order.index(s) if s in order else len(order), s)):
        parts = [_mathbench_file(f, subset) for f in groups[subset]]
        name = MATHBENCH_SUBSETS.get(subset, f"MathBench-{subset}")
        items = [it for d in parts for it in d.items]
        kinds = {it.multiple_choice for it in items}
        kind: Kind = "mixed" if len(kinds) == 2 else ("multiple_choice" if True in kinds else "numeric")
        ds = Dataset(name=name, items=items, source=str(p), kind=kind, format="jsonl")
        out.append(NamedSet(name, ds, tuple(f"{subset}/{f.name}" for f in groups[subset])))
    return out


# --- Hugging Face layouts ---------------------------------------------------------------------------


def _rows_to_dataset(rows: list[dict[str, Any]], name: str, source: str) -> Dataset:
    text = "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in rows)
    ds = load_dataset(text.encode("utf-8"), name=name, fmt="jsonl")
    return Dataset(name=name, items=ds.items, source=source, kind=ds.kind, format=ds.format)


def _arrow_rows(files: list[Path]) -> list[dict[str, Any]]:
    import pyarrow as pa

    rows: list[dict[str, Any]] = []
    for f in files:
        with pa.memory_map(str(f), "r") as src:
            try:
                table = pa.ipc.open_stream(src).read_all()  # what save_to_disk writes
            except pa.ArrowInvalid:
                src.seek(0)
                table = pa.ipc.open_file(src).read_all()
        rows.extend(table.to_pylist())
    return rows


def _parquet_rows(files: list[Path]) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    rows: list[dict[str, Any]] = []
    for f in files:
        rows.extend(pq.read_table(f).to_pylist())
    return rows


def _pick_split(folder: Path, split: str | None) -> Path:
    """The split folder of a ``DatasetDict.save_to_disk`` folder (``test`` by default)."""
    info = json.loads((folder / "dataset_dict.json").read_text(encoding="utf-8"))
    splits = [str(s) for s in info.get("splits", [])]
    want = split or ("test" if "test" in splits else (splits[0] if len(splits) == 1 else None))
    if want is None or want not in splits:
        raise DatasetError(
            [Problem(None, None, f"choose a split: {', '.join(splits) or '(none listed)'}")], str(folder)
        )
    return folder / want


def load_hf(source: str | Path, *, split: str | None = None, name: str | None = None) -> Dataset:
    """A Hugging Face dataset: a ``save_to_disk`` folder, a parquet file or folder of parquet files, or a
    Hub id (only with the ``datasets`` package installed and a network; otherwise a clear message)."""
    p = Path(source)
    label = name or p.name or str(source)
    if p.is_file() and p.suffix == ".parquet":
        return _rows_to_dataset(_parquet_rows([p]), name or p.stem, str(p))
    if p.is_dir():
        if (p / "dataset_dict.json").is_file():
            p = _pick_split(p, split)
        arrow = sorted(p.glob("*.arrow"))
        if arrow:
            return _rows_to_dataset(_arrow_rows(arrow), label, str(source))
        parquet = sorted(p.rglob("*.parquet"))
        if split:
            parquet = [f for f in parquet if f.name.startswith(split) or f.parent.name == split] or parquet
        if parquet:
            return _rows_to_dataset(_parquet_rows(parquet), label, str(source))
        raise DatasetError([Problem(None, None, "no .arrow or .parquet files in this folder")], str(source))
    if isinstance(source, str) and _HUB_ID.match(source) and not p.exists():
        return _load_hub(source, split=split, name=name)
    raise DatasetError([Problem(None, None, "no such file or folder")], str(source))


def _load_hub(dataset_id: str, *, split: str | None, name: str | None) -> Dataset:
    import importlib.util
    import os

    how = (
        f'On a machine with network access run: python -c "import datasets; '
        f"datasets.load_dataset('{dataset_id}', split='{split or 'test'}').save_to_disk('DIR')\" "
        "and give DIR (or a parquet file) here."
    )
    if importlib.util.find_spec("datasets") is None:
        raise DatasetError(
            [Problem(None, None, f"'{dataset_id}' looks like a Hugging Face Hub id, and loading one needs the "
                                 f"`datasets` package, which is not installed. {how}")],
            dataset_id,
        )  # fmt: skip
    if os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0") or os.environ.get("HF_DATASETS_OFFLINE", "") not in (
        "",
        "0",
    ):
        raise DatasetError(
            [Problem(None, None, f"'{dataset_id}' is a Hugging Face Hub id but the Hub is switched off here "
                                 f"(HF_HUB_OFFLINE / HF_DATASETS_OFFLINE). {how}")],
            dataset_id,
        )  # fmt: skip
    import datasets

    try:
        hf = datasets.load_dataset(dataset_id, split=split or "test")
    except Exception as e:  # offline, unknown id, no such split: one clear message
        raise DatasetError(
            [Problem(None, None, f"could not load '{dataset_id}' from the Hub ({type(e).__name__}: {str(e)[:200]}). {how}")],
            dataset_id,
        ) from None  # fmt: skip
    return _rows_to_dataset([dict(r) for r in hf], name or dataset_id, dataset_id)


def load_any(source: str | Path, *, name: str | None = None, split: str | None = None) -> Dataset:
    """A JSONL/JSON/CSV file, a Hugging Face folder or parquet file, or a Hub id."""
    p = Path(source)
    if p.is_file() and p.suffix.lower() != ".parquet":
        ds = load_dataset(p)
        return Dataset(name=name or ds.name, items=ds.items, source=ds.source, kind=ds.kind, format=ds.format)
    return load_hf(source, split=split, name=name)
