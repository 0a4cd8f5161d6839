"""Questions the agent asks the team, and notices for the team chats (helpline/team/).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 17:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'team_questions',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('conversation_id', sa.String(length=36), nullable=True),
        sa.Column('ticket_id', sa.String(length=36), nullable=True),
        sa.Column('question', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('asked_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('answer', sa.Text(), nullable=True),
        sa.Column('answered_by', sa.String(length=320), nullable=True),
        sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'],
                                name=op.f('fk_team_questions_conversation_id_conversations'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_team_questions_ticket_id_tickets'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_team_questions')),
    )
    with op.batch_alter_table('team_questions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_team_questions_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index('ix_team_questions_status_asked_at', ['status', 'asked_at'], unique=False)
    op.create_table(
        'team_notices',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('ref_id', sa.String(length=36), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('posted_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('claimed_by', sa.String(length=100), nullable=True),
        sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_team_notices')),
    )
    with op.batch_alter_table('team_notices', schema=None) as batch_op:
        batch_op.create_index('ix_team_notices_pending', ['posted_at', 'next_attempt_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('team_notices', schema=None) as batch_op:
        batch_op.drop_index('ix_team_notices_pending')
    op.drop_table('team_notices')
    with op.batch_alter_table('team_questions', schema=None) as batch_op:
        batch_op.drop_index('ix_team_questions_status_asked_at')
        batch_op.drop_index(batch_op.f('ix_team_questions_conversation_id'))
    op.drop_table('team_questions')
