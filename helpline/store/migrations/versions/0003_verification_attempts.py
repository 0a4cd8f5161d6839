"""Verification attempts counted across conversations and processes, and recent failures for alerts.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('verification_attempts',
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('lockouts', sa.Integer(), nullable=False),
    sa.Column('blocked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key_hash', name=op.f('pk_verification_attempts'))
    )
    with op.batch_alter_table('verification_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_verification_attempts_updated_at'), ['updated_at'], unique=False)

    op.create_table('verification_failures',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('record_hash', sa.String(length=64), nullable=False),
    sa.Column('client_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_verification_failures'))
    )
    with op.batch_alter_table('verification_failures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_verification_failures_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_verification_failures_client_hash'), ['client_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_verification_failures_record_hash'), ['record_hash'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('verification_failures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_verification_failures_record_hash'))
        batch_op.drop_index(batch_op.f('ix_verification_failures_client_hash'))
        batch_op.drop_index(batch_op.f('ix_verification_failures_at'))

    op.drop_table('verification_failures')
    with op.batch_alter_table('verification_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_verification_attempts_updated_at'))

    op.drop_table('verification_attempts')
