"""model_calls.cell_id becomes unbounded text: a long model spec must not cut a cell id short.

Cell ids look like ``<spec>|<budget>|<repeat>`` and specs of custom endpoints can be long; a clipped id would
make resume miss a finished cell. (``cell_slot``, the unique key, is hashed in code when it would not fit.)

Revision ID: 0002
Revises: 0001
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('model_calls', schema=None) as batch_op:
        batch_op.alter_column('cell_id', existing_type=sa.VARCHAR(length=200), type_=sa.Text(),
                              existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table('model_calls', schema=None) as batch_op:
        batch_op.alter_column('cell_id', existing_type=sa.Text(), type_=sa.VARCHAR(length=200),
                              existing_nullable=True)
