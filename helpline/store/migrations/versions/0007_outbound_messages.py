"""The durable send queue for what Helpline sends on its own: recaps, apologies, surveys, outage notices and
callback reminders (issue 13), claimed by one node at a time and de-duplicated by key.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'outbound_messages',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('channel', sa.String(length=10), nullable=False),
        sa.Column('to', sa.String(length=320), nullable=False),
        sa.Column('purpose', sa.String(length=40), nullable=False),
        sa.Column('subject', sa.Text(), nullable=True),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('html', sa.Text(), nullable=True),
        sa.Column('headers', sa.JSON(), nullable=False),
        sa.Column('dedupe_key', sa.String(length=200), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=False),
        sa.Column('provider_id', sa.String(length=300), nullable=True),
        sa.Column('claimed_by', sa.String(length=100), nullable=True),
        sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('conversation_id', sa.String(length=36), nullable=True),
        sa.Column('ticket_id', sa.String(length=36), nullable=True),
        sa.Column('customer_id', sa.String(length=36), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'],
                                name=op.f('fk_outbound_messages_conversation_id_conversations'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_outbound_messages_ticket_id_tickets'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'],
                                name=op.f('fk_outbound_messages_customer_id_customers'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outbound_messages')),
        sa.UniqueConstraint('dedupe_key', name=op.f('uq_outbound_messages_dedupe_key')),
    )
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.create_index('ix_outbound_messages_status_next_attempt_at', ['status', 'next_attempt_at'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_outbound_messages_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbound_messages_ticket_id'), ['ticket_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbound_messages_customer_id'), ['customer_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbound_messages_customer_id'))
        batch_op.drop_index(batch_op.f('ix_outbound_messages_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_outbound_messages_conversation_id'))
        batch_op.drop_index('ix_outbound_messages_status_next_attempt_at')
    op.drop_table('outbound_messages')
