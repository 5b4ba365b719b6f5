"""stories reach people: kinds, titles, media choices, stats, thanks

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 02:47:18.464633

Existing rows: every story is a migrant's own, thanks are on, and no file is published
until a moderator chooses it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('story_stats',
    sa.Column('story_id', sa.Integer(), nullable=False),
    sa.Column('reads', sa.BigInteger(), nullable=False),
    sa.Column('thanks', sa.BigInteger(), nullable=False),
    sa.Column('last_read_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['story_id'], ['story.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('story_id')
    )
    op.create_table('thanks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('story_id', sa.Integer(), nullable=False),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('phrase', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('signed', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('reader_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('locale', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.ForeignKeyConstraint(['story_id'], ['story.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('thanks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_thanks_reader_key'), ['reader_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_thanks_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_thanks_story_id'), ['story_id'], unique=False)

    with op.batch_alter_table('participant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('thanks_enabled', sa.Boolean(), nullable=False, server_default=sa.true()))

    with op.batch_alter_table('story', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False, server_default='migrant'))
        batch_op.add_column(sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True))
        batch_op.create_index(batch_op.f('ix_story_kind'), ['kind'], unique=False)

    with op.batch_alter_table('story_media', schema=None) as batch_op:
        batch_op.add_column(sa.Column('publish', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('alt_text', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('story_media', schema=None) as batch_op:
        batch_op.drop_column('alt_text')
        batch_op.drop_column('publish')

    with op.batch_alter_table('story', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_story_kind'))
        batch_op.drop_column('title')
        batch_op.drop_column('kind')

    with op.batch_alter_table('participant', schema=None) as batch_op:
        batch_op.drop_column('thanks_enabled')

    with op.batch_alter_table('thanks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_thanks_story_id'))
        batch_op.drop_index(batch_op.f('ix_thanks_state'))
        batch_op.drop_index(batch_op.f('ix_thanks_reader_key'))

    op.drop_table('thanks')
    op.drop_table('story_stats')
