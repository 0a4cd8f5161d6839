"""SMS (issue 13): opt-outs per channel and address (SMS STOP/START, email unsubscribes), the conversation each
phone number's texts continue, and every text sent with its provider status.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'contact_opt_outs',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('channel', sa.String(length=10), nullable=False),
        sa.Column('address', sa.String(length=320), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('keyword', sa.String(length=40), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_opt_outs')),
        sa.UniqueConstraint('channel', 'address', name=op.f('uq_contact_opt_outs_channel_address')),
    )
    op.create_table(
        'sms_threads',
        sa.Column('phone', sa.String(length=32), nullable=False),
        sa.Column('conversation_id', sa.String(length=36), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'],
                                name=op.f('fk_sms_threads_conversation_id_conversations'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('phone', name=op.f('pk_sms_threads')),
    )
    with op.batch_alter_table('sms_threads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sms_threads_conversation_id'), ['conversation_id'], unique=False)
    op.create_table(
        'sms_deliveries',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('provider_id', sa.String(length=64), nullable=True),
        sa.Column('to', sa.String(length=32), nullable=False),
        sa.Column('purpose', sa.String(length=40), nullable=False),
        sa.Column('conversation_id', sa.String(length=36), nullable=True),
        sa.Column('ticket_number', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('error_code', sa.String(length=16), nullable=True),
        sa.Column('error', sa.Text(), nullable=False),
        sa.Column('segments', sa.Integer(), nullable=False),
        sa.Column('encoding', sa.String(length=8), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'],
                                name=op.f('fk_sms_deliveries_conversation_id_conversations'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_deliveries')),
        sa.UniqueConstraint('provider_id', name=op.f('uq_sms_deliveries_provider_id')),
    )
    with op.batch_alter_table('sms_deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sms_deliveries_conversation_id'), ['conversation_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sms_deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sms_deliveries_conversation_id'))
    op.drop_table('sms_deliveries')
    with op.batch_alter_table('sms_threads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sms_threads_conversation_id'))
    op.drop_table('sms_threads')
    op.drop_table('contact_opt_outs')
