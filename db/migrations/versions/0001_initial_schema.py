"""Initial schema: experiments, model_calls, datasets, call_cache.

Revision ID: 0001
Revises: (none)
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('call_cache',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('provider', sa.String(length=100), nullable=False),
    sa.Column('model', sa.String(length=200), nullable=False),
    sa.Column('completion', sa.JSON(), nullable=False),
    sa.Column('call_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_call_cache'))
    )
    op.create_table('datasets',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('format', sa.String(length=20), nullable=False),
    sa.Column('item_count', sa.Integer(), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_datasets'))
    )
    with op.batch_alter_table('datasets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_datasets_sha256'), ['sha256'], unique=False)

    op.create_table('experiments',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('parent_id', sa.String(length=64), nullable=True),
    sa.Column('summary', sa.JSON(), nullable=True),
    sa.Column('price_table', sa.String(length=100), nullable=True),
    sa.Column('app_version', sa.String(length=50), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['experiments.id'], name=op.f('fk_experiments_parent_id_experiments'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_experiments'))
    )
    with op.batch_alter_table('experiments', schema=None) as batch_op:
        batch_op.create_index('ix_experiments_created', ['created_at', 'id'], unique=False)
        batch_op.create_index('ix_experiments_kind_created', ['kind', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_experiments_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index('ix_experiments_status_created', ['status', 'created_at'], unique=False)

    op.create_table('model_calls',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('experiment_id', sa.String(length=64), nullable=False),
    sa.Column('cell_id', sa.String(length=200), nullable=True),
    sa.Column('cell_slot', sa.String(length=240), nullable=True),
    sa.Column('provider', sa.String(length=100), nullable=False),
    sa.Column('model', sa.String(length=200), nullable=False),
    sa.Column('spec', sa.String(length=300), nullable=False),
    sa.Column('method', sa.String(length=50), nullable=False),
    sa.Column('budget', sa.Integer(), nullable=True),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('question_id', sa.String(length=200), nullable=True),
    sa.Column('repeat', sa.Integer(), nullable=False),
    sa.Column('messages', sa.JSON(), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('response', sa.Text(), nullable=False),
    sa.Column('thinking', sa.Text(), nullable=False),
    sa.Column('input_tokens', sa.Integer(), nullable=True),
    sa.Column('output_tokens', sa.Integer(), nullable=True),
    sa.Column('reasoning_tokens', sa.Integer(), nullable=False),
    sa.Column('usage_source', sa.String(length=20), nullable=True),
    sa.Column('finish_reason', sa.String(length=50), nullable=True),
    sa.Column('latency_s', sa.Float(), nullable=False),
    sa.Column('first_token_s', sa.Float(), nullable=True),
    sa.Column('cost_usd', sa.Float(), nullable=True),
    sa.Column('cost_is_estimate', sa.Boolean(), nullable=False),
    sa.Column('correct', sa.Boolean(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('extracted_answer', sa.Text(), nullable=True),
    sa.Column('gold', sa.Text(), nullable=True),
    sa.Column('error', sa.JSON(), nullable=True),
    sa.Column('cache_key', sa.String(length=64), nullable=False),
    sa.Column('cache_hit', sa.Boolean(), nullable=False),
    sa.Column('runtime', sa.String(length=200), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['experiment_id'], ['experiments.id'], name=op.f('fk_model_calls_experiment_id_experiments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_model_calls')),
    sa.UniqueConstraint('experiment_id', 'cell_slot', name='uq_model_calls_experiment_cell')
    )
    with op.batch_alter_table('model_calls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_model_calls_cache_key'), ['cache_key'], unique=False)
        batch_op.create_index('ix_model_calls_experiment_created', ['experiment_id', 'created_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('model_calls', schema=None) as batch_op:
        batch_op.drop_index('ix_model_calls_experiment_created')
        batch_op.drop_index(batch_op.f('ix_model_calls_cache_key'))

    op.drop_table('model_calls')
    with op.batch_alter_table('experiments', schema=None) as batch_op:
        batch_op.drop_index('ix_experiments_status_created')
        batch_op.drop_index(batch_op.f('ix_experiments_parent_id'))
        batch_op.drop_index('ix_experiments_kind_created')
        batch_op.drop_index('ix_experiments_created')

    op.drop_table('experiments')
    with op.batch_alter_table('datasets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_datasets_sha256'))

    op.drop_table('datasets')
    op.drop_table('call_cache')
