"""Scoped incidents (issue 15): who an incident concerns (attribute -> allowed values), its kind (an outage, or
planned maintenance with its window) and its message per language.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # incidents declared before this revision are unscoped outages with one message: the defaults say so
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scope', sa.JSON(), nullable=False, server_default='{}'))
        batch_op.add_column(sa.Column('kind', sa.String(length=30), nullable=False, server_default='outage'))
        batch_op.add_column(sa.Column('window_start', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('window_end', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('messages', sa.JSON(), nullable=False, server_default='{}'))
    # the defaults only fill the rows that exist; new rows get theirs from the models, as every other column does
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.alter_column('scope', server_default=None)
        batch_op.alter_column('kind', server_default=None)
        batch_op.alter_column('messages', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_column('messages')
        batch_op.drop_column('window_end')
        batch_op.drop_column('window_start')
        batch_op.drop_column('kind')
        batch_op.drop_column('scope')
