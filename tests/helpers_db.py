"""Fixtures and builders shared by the tests/test_db_*.py modules.

``db_url`` is parametrized: every test that uses it (or ``store``) runs on a fresh SQLite file and on a
fresh database of the throwaway PostgreSQL server (tests/helpers_postgres.py).
"""

from __future__ import annotations

import pytest

from tale_core.protocols import CallRecord
from tale_core.types import Completion, GenParams, Message

PLANTED_KEY = "sk-proj-PLANTEDtestKEY0123456789abcdefXYZ"
PLANTED_ANT_KEY = "sk-ant-api03-PLANTEDanthropicKEY0123456789"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """A URL to a database the store can use: a SQLite file, then a PostgreSQL database (already migrated)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'tale.db'}"
        yield url
        from db.engine import dispose

        dispose(url)
    else:
        yield request.getfixturevalue("pg_migrated_url")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_db_url(request, tmp_path):
    """A URL to an empty database (no tables yet): a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'tale.db'}"
        yield url
        from db.engine import dispose

        dispose(url)
    else:
        yield request.getfixturevalue("pg_url")


@pytest.fixture
def sqlite_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'tale.db'}"
    yield url
    from db.engine import dispose

    dispose(url)


@pytest.fixture
def store(db_url):
    from db.store import Store

    return Store(db_url)


def make_record(
    *,
    spec: str = "fake/elastic",
    question: str = "What is 6 x 7?",
    budget: int | None = 50,
    role: str = "answer",
    text: str = "6 x 7 = 42. Answer: [[42]]",
    output_tokens: int = 9,
    error: dict | None = None,
    cell_id: str | None = None,
    cost: float | None = 0.0001,
    repeat: int = 0,
    temperature: float = 0.0,
    request: dict | None = None,
    **kw,
) -> CallRecord:
    """A CallRecord like the engine makes (a success unless ``error`` is given)."""
    provider, model = spec.split("/", 1)
    prompt = (
        f"Q: {question}\nLet's think step by step and use less than {budget} tokens:\n"
        if budget
        else f"Q: {question}\nLet's think step by step:\n"
    )
    comp = (
        None
        if error
        else Completion(
            text=text,
            provider=provider,
            model=model,
            input_tokens=30,
            output_tokens=output_tokens,
            finish_reason="stop",
            latency_s=0.25,
            first_token_s=0.05,
            runtime="fake-1.0",
            request=request or {"model": model, "max_tokens": 1024},
        )
    )
    extra = dict(kw.pop("extra", {}) or {})
    if cell_id:
        extra["cell_id"] = cell_id
    return CallRecord(
        spec=spec,
        messages=[Message("system", "You are a helpful assistant."), Message("user", prompt)],
        params=GenParams(temperature=temperature),
        completion=comp,
        error=error,
        method="budget",
        budget=budget,
        role=role,
        cost_usd=None if error else cost,
        question=question,
        gold_answer="42",
        extracted_answer=None if error else "42",
        correct=None if error else True,
        repeat=repeat,
        cache_key="k" * 64,
        extra=extra,
        **kw,
    )
