"""SQLAlchemy 2.0 typed models: experiments, their model calls, datasets and the call cache.

Every model call is one ``model_calls`` row (prompt, params, response, usage, latency, cost, error, cache key):
the unit of reproducibility and sharing. The call cache is its own small table, ``call_cache``, rather than a
lookup over ``model_calls`` by cache key, because

* deleting an experiment must not empty the cache ("rerun it free" still works after clean-up),
* a cache hit is then one primary-key read, independent of how many calls share a key,
* only successful completions ever enter it, so no lookup can ever return an error row.

Changing anything here needs a new migration in ``db/migrations/versions`` (``tests/test_db_migrations.py``
fails while models and migrations disagree).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

KINDS = ("playground", "sweep", "search", "benchmark", "search-dataset")
#: ``interrupted``: its process stopped (a signal, a crash, a redeploy) before it finished; it can be resumed
STATUSES = ("running", "done", "cancelled", "failed", "interrupted")

# named constraints keep alembic's SQLite batch mode (table copy) able to find them again
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Experiment(Base):
    """One run of the playground, a sweep, a budget search or a benchmark, with its full configuration."""

    __tablename__ = "experiments"

    #: unguessable short id used in share links (``?experiment=<id>``)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(500), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(20))
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="running")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    parent_id: Mapped[str | None] = mapped_column(
        String(64), ForeignKey("experiments.id", ondelete="SET NULL"), nullable=True, index=True
    )
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    price_table: Mapped[str | None] = mapped_column(String(100), nullable=True)
    app_version: Mapped[str] = mapped_column(String(50), default="")
    #: hosted mode: SHA-256 of the owner token of the browser that made it (None: made in local mode)
    owner_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)

    calls: Mapped[list[ModelCall]] = relationship(
        back_populates="experiment",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="(ModelCall.created_at, ModelCall.id)",
    )

    __table_args__ = (
        # the experiment list is "newest first", optionally filtered by kind or status
        Index("ix_experiments_created", "created_at", "id"),
        Index("ix_experiments_kind_created", "kind", "created_at"),
        Index("ix_experiments_status_created", "status", "created_at"),
    )


class ModelCall(Base):
    """One model call (``tale_core.protocols.CallRecord``), success or error, cache hit or not."""

    __tablename__ = "model_calls"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    experiment_id: Mapped[str] = mapped_column(String(64), ForeignKey("experiments.id", ondelete="CASCADE"))
    #: the engine's cell key (``CallRecord.extra["cell_id"]``, e.g. a sweep's ``CellKey.id``)
    cell_id: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: ``"<cell_id>#<role>"`` (hashed when longer than the column) for successful calls of a cell, else
    #: NULL: unique per experiment, so each cell's answer (and TALE-EP estimate) is stored exactly once;
    #: failed attempts never block a retry
    cell_slot: Mapped[str | None] = mapped_column(String(240), nullable=True)
    provider: Mapped[str] = mapped_column(String(100), default="")
    model: Mapped[str] = mapped_column(String(200), default="")
    spec: Mapped[str] = mapped_column(String(300), default="")
    method: Mapped[str] = mapped_column(String(50), default="")
    budget: Mapped[int | None] = mapped_column(Integer, nullable=True)
    role: Mapped[str] = mapped_column(String(20), default="answer")
    question: Mapped[str] = mapped_column(Text, default="")
    question_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    repeat: Mapped[int] = mapped_column(Integer, default=0)
    messages: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    response: Mapped[str] = mapped_column(Text, default="")
    thinking: Mapped[str] = mapped_column(Text, default="")
    input_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    output_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reasoning_tokens: Mapped[int] = mapped_column(Integer, default=0)
    usage_source: Mapped[str | None] = mapped_column(String(20), nullable=True)
    finish_reason: Mapped[str | None] = mapped_column(String(50), nullable=True)
    latency_s: Mapped[float] = mapped_column(Float, default=0.0)
    first_token_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    cost_usd: Mapped[float | None] = mapped_column(Float, nullable=True)
    cost_is_estimate: Mapped[bool] = mapped_column(Boolean, default=False)
    correct: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    #: ok | error (how the call went; ``correct`` says how the answer was graded)
    status: Mapped[str] = mapped_column(String(20), default="ok")
    extracted_answer: Mapped[str | None] = mapped_column(Text, nullable=True)
    gold: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    cache_key: Mapped[str] = mapped_column(String(64), default="", index=True)
    cache_hit: Mapped[bool] = mapped_column(Boolean, default=False)
    runtime: Mapped[str] = mapped_column(String(200), default="")
    #: the rest of the Completion (reported model, request without secrets, raw usage) and the record's extra
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    experiment: Mapped[Experiment] = relationship(back_populates="calls")

    __table_args__ = (
        UniqueConstraint("experiment_id", "cell_slot", name="uq_model_calls_experiment_cell"),
        Index("ix_model_calls_experiment_created", "experiment_id", "created_at"),
    )


class Dataset(Base):
    """A question set the user loaded (JSONL/CSV), stored normalised so runs can be repeated."""

    __tablename__ = "datasets"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    format: Mapped[str] = mapped_column(String(20))
    item_count: Mapped[int] = mapped_column(Integer, default=0)
    content: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CacheEntry(Base):
    """A successful completion by cache key (``tale_core.types.cache_key``). Errors never get here."""

    __tablename__ = "call_cache"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    provider: Mapped[str] = mapped_column(String(100), default="")
    model: Mapped[str] = mapped_column(String(200), default="")
    completion: Mapped[dict[str, Any]] = mapped_column(JSON)
    call_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class HostedRun(Base):
    """Hosted mode's ledger: one row per run a visitor started, for rate limits and spend caps.

    It outlives the experiment on purpose (no foreign key): deleting an experiment freezes its spend in
    ``settled_usd`` first, so a visitor cannot reset their caps by deleting their runs.
    """

    __tablename__ = "hosted_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    owner_hash: Mapped[str] = mapped_column(String(64), index=True)
    experiment_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(20), default="")
    #: the run used the host's keys: its cost counts against the visitor's and the total cap
    host_paid: Mapped[bool] = mapped_column(Boolean, default=False)
    #: the run's spend, frozen when its experiment was deleted (None: read it from its calls)
    settled_usd: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
