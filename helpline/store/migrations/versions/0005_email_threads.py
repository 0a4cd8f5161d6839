"""Email threads (issue 13, email): every email in a conversation, inbound and outbound, with its Message-ID
for threading, its delivery status (sent, failed, bounced) and the attachments kept with the ticket.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 11:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'email_messages',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('conversation_id', sa.String(length=36), nullable=False),
        sa.Column('direction', sa.String(length=3), nullable=False),
        sa.Column('message_id', sa.String(length=500), nullable=False),
        sa.Column('address', sa.String(length=320), nullable=False),
        sa.Column('subject', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('error', sa.Text(), nullable=False),
        sa.Column('attachments', sa.JSON(), nullable=False),
        sa.Column('source_seq', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'],
                                name=op.f('fk_email_messages_conversation_id_conversations'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_email_messages')),
        sa.UniqueConstraint('conversation_id', 'source_seq', name=op.f('uq_email_messages_conversation_id_source_seq')),
        sa.UniqueConstraint('direction', 'message_id', name=op.f('uq_email_messages_direction_message_id')),
    )
    with op.batch_alter_table('email_messages', schema=None) as batch_op:
        batch_op.create_index('ix_email_messages_address_created_at', ['address', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_email_messages_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_email_messages_message_id'), ['message_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('email_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_email_messages_message_id'))
        batch_op.drop_index(batch_op.f('ix_email_messages_conversation_id'))
        batch_op.drop_index('ix_email_messages_address_created_at')
    op.drop_table('email_messages')
