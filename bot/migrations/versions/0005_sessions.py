"""revocable sessions, user ids never reused, deactivation, one rating per message (issue 15)

* ``agent_sessions``: one row per login (the SHA-256 of the cookie's token); logout deletes the
  row, a password reset, role change, deactivation or deletion all rows of the user.
* ``agents.active``: a deactivated user cannot log in.
* ``agents`` on SQLite is rebuilt with ``AUTOINCREMENT``: without it SQLite gives the id of the
  user deleted last to the next one. ``bot.migrations.migrate`` switches SQLite's foreign keys off
  while it migrates, so the rebuild (``DROP TABLE agents``) fires no ``ON DELETE`` action; it
  checks them afterwards. PostgreSQL's sequence never reuses an id.
* ``feedback.message_seq``: the bot message a rating belongs to, unique per conversation.

Sessions of the old kind (signed cookies) are not carried over: everyone logs in again.

Revision ID: 0005_sessions
Revises: 0004_kpi_indexes
Create Date: 2026-12-07 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0005_sessions'
down_revision = '0004_kpi_indexes'
branch_labels = None
depends_on = None


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == 'sqlite'
    with op.batch_alter_table(
        'agents', schema=None,
        # SQLite: a new table with AUTOINCREMENT, rows copied with their ids.
        recreate='always' if sqlite else 'auto',
        table_kwargs={'sqlite_autoincrement': True},
    ) as batch_op:
        batch_op.add_column(sa.Column('active', sa.Boolean(), server_default=sa.true(),
                                      nullable=False))

    op.create_table('agent_sessions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('agent_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agent_sessions_agent_id'), ['agent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_agent_sessions_expires_at'), ['expires_at'], unique=False)

    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message_seq', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint('uq_feedback_conversation_message', ['conversation_id', 'message_seq'])


def downgrade() -> None:
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.drop_constraint('uq_feedback_conversation_message', type_='unique')
        batch_op.drop_column('message_seq')

    with op.batch_alter_table('agent_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agent_sessions_expires_at'))
        batch_op.drop_index(batch_op.f('ix_agent_sessions_agent_id'))
    op.drop_table('agent_sessions')

    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.drop_column('active')
