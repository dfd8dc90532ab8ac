"""TALE-PT training data: the budget-aware answers found by a dataset search, as fine-tuning files.

TALE-PT (the paper's second method) fine-tunes a model on its own answers under the searched optimal
budget, so that it answers the *plain* prompt (no budget) as concisely. Each example here pairs the
vanilla CoT prompt (the paper's template, what the tuned model will be asked) with the correct answer
produced under the optimal budget. Only questions whose optimal budget beat vanilla CoT and whose
budget-aware answer was correct are used.

Formats (one JSON object per line):
- ``openai``: OpenAI chat fine-tuning, ``{"messages": [system, user, assistant]}``;
- ``sft``: TRL SFT conversational, ``{"messages": [...]}`` (the same messages);
- ``dpo``: TRL DPO conversational, ``{"prompt": [system, user], "chosen": [assistant], "rejected":
  [assistant]}`` where chosen is the budget-aware answer and rejected the longer vanilla CoT answer.

``secrets`` (values such as API keys) are redacted from every text before it is written.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from tale_core.engine import prompts
from tale_core.errors import TaleError
from tale_core.experiments.search_dataset import QuestionSearch

FORMATS = ("openai", "sft", "dpo")
REDACTED = "[redacted]"


def _clean(text: str, secrets: Sequence[str]) -> str:
    for s in secrets:
        if s and len(s) >= 6:
            text = text.replace(s, REDACTED)
    return text


def usable(searches: Iterable[QuestionSearch]) -> list[QuestionSearch]:
    """Questions with a correct budget-aware answer that beat vanilla CoT (the TALE-PT examples)."""
    return [
        q
        for q in searches
        if q.status == "searched" and q.beats_vanilla and q.optimal_text.strip() and q.reference_correct
    ]


def examples(searches: Iterable[QuestionSearch], fmt: str, *, secrets: Sequence[str] = ()) -> list[dict[str, Any]]:
    """The examples of one format (see the module docstring)."""
    if fmt not in FORMATS:
        raise TaleError(f"Unknown fine-tuning format {fmt!r}; use one of {', '.join(FORMATS)}.")
    out: list[dict[str, Any]] = []
    for q in usable(searches):
        prompt = [m.to_dict() for m in prompts.vanilla_cot(_clean(q.question, secrets))]
        chosen = {"role": "assistant", "content": _clean(q.optimal_text, secrets)}
        if fmt == "dpo":
            rejected = _clean(q.reference_text, secrets)
            if not rejected.strip() or rejected == chosen["content"]:
                continue
            out.append({"prompt": prompt, "chosen": [chosen], "rejected": [{"role": "assistant", "content": rejected}]})
        else:
            out.append({"messages": [*prompt, chosen]})
    return out


def to_jsonl(rows: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def write(searches: Iterable[QuestionSearch], fmt: str, path: str | Path, *, secrets: Sequence[str] = ()) -> int:
    """Write one format's JSONL to ``path``; returns the number of examples."""
    rows = examples(searches, fmt, secrets=secrets)
    try:
        Path(path).write_text(to_jsonl(rows), encoding="utf-8")
    except OSError as e:
        raise TaleError(f"Cannot write {path}: {e.strerror or e}") from None
    return len(rows)
