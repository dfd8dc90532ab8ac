"""What is needed to rerun an experiment exactly, recorded with it (issue: "numbers you can publish").

:func:`provenance` describes the models (provider, model id, runtime string; for the embedded models also
the model file's sha256, the runtime version and every runtime setting that changes outputs), the
generation parameters, the dataset (a content hash of the normalized items, and of the file when the
source is a file) and the software (tale_core, Python, llama.cpp binding). Prompts are not repeated
here: every stored call carries its exact messages and parameters.
"""

from __future__ import annotations

import hashlib
import platform
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any


def _version(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def model_provenance(model: Any) -> dict[str, Any]:
    """One model's provenance: its own ``provenance()`` when it has one (the embedded models), else
    provider, model and runtime string."""
    own = getattr(model, "provenance", None)
    if callable(own):
        try:
            d = dict(own())
        except Exception as e:  # a missing file must not stop the run; say so instead
            d = {"error": f"{type(e).__name__}: {e}"}
    else:
        d = {}
    d.setdefault("provider", getattr(model, "provider", None))
    d.setdefault("model", getattr(model, "model", None))
    try:
        d["runtime_string"] = model.runtime()
    except Exception as e:
        d["runtime_string"] = f"unknown ({type(e).__name__})"
    return d


def items_sha256(items: Iterable[Any]) -> str:
    """A content hash of dataset items (dataclass items or dicts: id, question, answer, choices)."""
    import json

    h = hashlib.sha256()
    for it in items:
        get = it.get if isinstance(it, Mapping) else (lambda k, it=it: getattr(it, k, None))
        choices = get("choices")
        row = {
            "id": get("id"),
            "question": get("question"),
            "answer": get("answer"),
            "choices": choices and list(choices),
        }
        h.update(json.dumps(row, ensure_ascii=False, sort_keys=True).encode("utf-8") + b"\n")
    return h.hexdigest()


def file_sha256(path: str | Path) -> str | None:
    p = Path(path)
    if not p.is_file():
        return None
    h = hashlib.sha256()
    with p.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def provenance(
    models: Mapping[str, Any] | Sequence[Any] = (),
    *,
    params: Any = None,
    items: Iterable[Any] | None = None,
    dataset_files: Sequence[str | Path] = (),
) -> dict[str, Any]:
    """Everything needed to rerun: ``{"models": {spec: ...}, "params", "dataset", "software"}``."""
    if isinstance(models, Mapping):
        pairs = list(models.items())
    else:
        pairs = [(f"{getattr(m, 'provider', '?')}/{getattr(m, 'model', '?')}", m) for m in models]
    out: dict[str, Any] = {"models": {spec: model_provenance(m) for spec, m in pairs}}
    if params is not None:
        out["params"] = params.to_dict() if hasattr(params, "to_dict") else dict(params)
    ds: dict[str, Any] = {}
    if items is not None:
        items = list(items)
        ds["items"] = len(items)
        ds["items_sha256"] = items_sha256(items)
    files = {_short(f): file_sha256(f) for f in dataset_files if Path(f).is_file()}
    if files:
        ds["files_sha256"] = files
    if ds:
        out["dataset"] = ds
    out["software"] = {
        "python": platform.python_version(),
        "platform": f"{sys.platform} {platform.machine()}",
        **{dist: _version(dist) for dist in ("xllamacpp", "openai", "anthropic", "math-verify", "tiktoken")},
    }
    return out


def with_provenance(config: Mapping[str, Any] | None) -> dict[str, Any]:
    """``config`` plus ``"provenance"`` (always recomputed, so a rerun records its own), built from the
    config's ``models`` / ``spec``, ``params`` and ``dataset.source`` (a file path is hashed). Never raises:
    what cannot be described is recorded as an error string."""
    cfg = dict(config or {})
    try:
        from tale_core.providers import resolve

        specs = cfg.get("models") or ([cfg["spec"]] if cfg.get("spec") else [])
        models: dict[str, Any] = {}
        for spec in specs if isinstance(specs, (list, tuple)) else []:
            try:
                models[str(spec)] = resolve(str(spec))
            except Exception as e:  # e.g. no key for an API model: record that
                models[str(spec)] = _Unresolved(str(spec), f"{type(e).__name__}: {e}")
        files = _dataset_files(cfg.get("dataset"))
        params = cfg.get("params") if isinstance(cfg.get("params"), Mapping) else None
        cfg["provenance"] = provenance(models, params=params, dataset_files=files)
    except Exception as e:  # provenance must never stop an experiment
        cfg["provenance"] = {"error": f"{type(e).__name__}: {e}"}
    return cfg


def _short(path: str | Path) -> str:
    """A file's name with its folder (``middle/single_choice_en.jsonl``): no absolute paths recorded."""
    p = Path(path)
    return f"{p.parent.name}/{p.name}" if p.parent.name else p.name


def _dataset_files(ds: Any) -> list[str]:
    """The files a config's dataset entry names: ``path``, a ``source`` that is a file, the Table 3
    preset's ``files`` (a MathBench folder gives its JSONL files), or the bundled samples."""
    if not isinstance(ds, Mapping):
        return []
    out: list[str] = []
    cands = [ds.get("path"), ds.get("source")]
    if isinstance(ds.get("files"), Mapping):
        cands += list(ds["files"].values())
    for c in cands:
        if not isinstance(c, str) or not c:
            continue
        p = Path(c)
        if p.is_file():
            out.append(str(p))
        elif p.is_dir():
            out += [str(f) for f in sorted(p.rglob("*.jsonl"))[:200]]
    if ds.get("source") == "samples":
        from importlib import resources

        for name in ("samples.jsonl", "samples_mc.jsonl"):
            ref = resources.files("tale_core.data") / name
            if ref.is_file():
                out.append(str(ref))
    return list(dict.fromkeys(out))


class _Unresolved:
    def __init__(self, spec: str, error: str):
        self.provider, _, self.model = spec.partition("/")
        self.error = error

    def provenance(self) -> dict[str, Any]:
        return {"error": self.error}

    def runtime(self) -> str:
        return "unknown"
