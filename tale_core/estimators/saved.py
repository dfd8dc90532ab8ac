"""Which models have a saved learned estimator: read from the artifacts' headers, no scikit-learn import.

Cheap enough for every picker: the answer is cached per set of (file, modification time).
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

ARTIFACT_FORMAT = "tale-learned-estimator"


def estimators_dir() -> Path:
    """Where learned estimators are saved: ``$TALE_ESTIMATORS_DIR`` or ``<data dir>/estimators``."""
    return Path(os.environ.get("TALE_ESTIMATORS_DIR") or Path(os.environ.get("TALE_DATA_DIR", "data")) / "estimators")


def artifacts(directory: Path | None = None) -> list[tuple[Path, float]]:
    """(path, modification time) of every estimator file, sorted by path."""
    d = directory or estimators_dir()
    if not d.is_dir():
        return []
    return sorted((p, p.stat().st_mtime) for p in d.glob("*.json"))


def trained_models(directory: Path | None = None) -> frozenset[str]:
    """Model specs with a saved learned estimator."""
    return _trained_models(tuple(artifacts(directory)))


@lru_cache(maxsize=16)
def _trained_models(files: tuple[tuple[Path, float], ...]) -> frozenset[str]:
    out = set()
    for path, _ in files:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("format") == ARTIFACT_FORMAT and isinstance(data.get("model"), str):
            out.add(data["model"])
    return frozenset(out)
