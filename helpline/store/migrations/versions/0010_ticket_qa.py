"""QA on tickets: score, findings (with disputes), when reviewed, and the claim a worker holds while scoring.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 17:15:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('qa_score', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('qa_findings', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('qa_reviewed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('qa_claimed_by', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('qa_claimed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_tickets_qa_reviewed_at', ['qa_reviewed_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_qa_reviewed_at')
        batch_op.drop_column('qa_claimed_at')
        batch_op.drop_column('qa_claimed_by')
        batch_op.drop_column('qa_reviewed_at')
        batch_op.drop_column('qa_findings')
        batch_op.drop_column('qa_score')
