"""social channels: WhatsApp and Messenger conversations, protected agents, mentions (issue 18)

* ``conversations.channel`` (web, whatsapp, messenger; existing rows: web), ``contact_id``
  (wa_id or PSID: personal data), ``contact_name``, ``last_customer_message_at`` (the messaging
  window); one open conversation per ``(channel, contact_id)`` (a partial unique index).
* ``messages.external_id`` (Meta's message id, unique), ``delivery_state``, ``delivery_error``,
  ``abusive``.
* ``agents.alias``, ``avatar``, ``messenger_persona_id``: what customers see of an agent.
* ``blocked_contacts``, ``social_processed_messages`` (each message id once), ``mentions``.

Revision ID: 0006_social
Revises: 0005_sessions
Create Date: 2026-12-06 08:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0006_social'
down_revision = '0005_sessions'
branch_labels = None
depends_on = None

OPEN_CONTACT = "state != 'closed' AND contact_id IS NOT NULL"


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == 'sqlite'
    with op.batch_alter_table('agents', schema=None,
                              # SQLite: keep AUTOINCREMENT when the table is rebuilt.
                              table_kwargs={'sqlite_autoincrement': True} if sqlite else {}) as batch_op:
        batch_op.add_column(sa.Column('alias', sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column('avatar', sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column('messenger_persona_id', sa.String(length=32), nullable=True))

    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=16), server_default='web',
                                      nullable=False))
        batch_op.add_column(sa.Column('contact_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('contact_name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('last_customer_message_at', sa.DateTime(), nullable=True))
        batch_op.create_check_constraint(
            'ck_conversations_channel', "channel IN ('web', 'whatsapp', 'messenger')")
        batch_op.create_index('ix_conversations_channel_created_at', ['channel', 'created_at'],
                              unique=False)
    op.create_index('uq_conversations_open_contact', 'conversations', ['channel', 'contact_id'],
                    unique=True, sqlite_where=sa.text(OPEN_CONTACT),
                    postgresql_where=sa.text(OPEN_CONTACT))

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('external_id', sa.String(length=512), nullable=True))
        batch_op.add_column(sa.Column('delivery_state', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('delivery_error', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('abusive', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
        batch_op.create_unique_constraint('uq_messages_external_id', ['external_id'])

    op.create_table('blocked_contacts',
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('contact_id', sa.String(length=64), nullable=False),
    sa.Column('blocked_until', sa.DateTime(), nullable=False),
    sa.Column('blocked_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['blocked_by'], ['agents.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('channel', 'contact_id')
    )
    with op.batch_alter_table('blocked_contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_blocked_contacts_blocked_until'), ['blocked_until'],
                              unique=False)

    op.create_table('social_processed_messages',
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('message_id', sa.String(length=512), nullable=False),
    sa.Column('claimed_at', sa.DateTime(), nullable=False),
    sa.Column('done_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('channel', 'message_id')
    )
    with op.batch_alter_table('social_processed_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_social_processed_messages_claimed_at'),
                              ['claimed_at'], unique=False)

    op.create_table('mentions',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('feed_name', sa.String(length=100), nullable=False),
    sa.Column('link', sa.String(length=2000), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('published_at', sa.DateTime(), nullable=True),
    sa.Column('matched', sa.JSON(), nullable=True),
    sa.Column('topic_id', sa.String(length=100), nullable=True),
    sa.Column('topic_title', sa.String(length=200), nullable=True),
    sa.Column('found_at', sa.DateTime(), nullable=False),
    sa.Column('done_at', sa.DateTime(), nullable=True),
    sa.Column('done_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['done_by'], ['agents.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('key')
    )
    with op.batch_alter_table('mentions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mentions_found_at'), ['found_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('mentions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mentions_found_at'))
    op.drop_table('mentions')
    with op.batch_alter_table('social_processed_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_social_processed_messages_claimed_at'))
    op.drop_table('social_processed_messages')
    with op.batch_alter_table('blocked_contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_blocked_contacts_blocked_until'))
    op.drop_table('blocked_contacts')

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_constraint('uq_messages_external_id', type_='unique')
        batch_op.drop_column('abusive')
        batch_op.drop_column('delivery_error')
        batch_op.drop_column('delivery_state')
        batch_op.drop_column('external_id')

    op.drop_index('uq_conversations_open_contact', table_name='conversations')
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_index('ix_conversations_channel_created_at')
        batch_op.drop_constraint('ck_conversations_channel', type_='check')
        batch_op.drop_column('last_customer_message_at')
        batch_op.drop_column('contact_name')
        batch_op.drop_column('contact_id')
        batch_op.drop_column('channel')

    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.drop_column('messenger_persona_id')
        batch_op.drop_column('avatar')
        batch_op.drop_column('alias')
