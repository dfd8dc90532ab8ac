"""Hosted mode: experiments remember their owner (a hash of the browser's owner token), and a ledger of
visitors' runs (``hosted_runs``) backs the per-visitor and total rate limits and spend caps.

Revision ID: 0003_owner_tokens
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_owner_tokens"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("experiments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_hash", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_experiments_owner_hash"), ["owner_hash"], unique=False)

    op.create_table(
        "hosted_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("owner_hash", sa.String(length=64), nullable=False),
        sa.Column("experiment_id", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("host_paid", sa.Boolean(), nullable=False),
        sa.Column("settled_usd", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hosted_runs")),
    )
    with op.batch_alter_table("hosted_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hosted_runs_owner_hash"), ["owner_hash"], unique=False)
        batch_op.create_index(batch_op.f("ix_hosted_runs_experiment_id"), ["experiment_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_hosted_runs_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("hosted_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hosted_runs_created_at"))
        batch_op.drop_index(batch_op.f("ix_hosted_runs_experiment_id"))
        batch_op.drop_index(batch_op.f("ix_hosted_runs_owner_hash"))
    op.drop_table("hosted_runs")
    with op.batch_alter_table("experiments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_experiments_owner_hash"))
        batch_op.drop_column("owner_hash")
