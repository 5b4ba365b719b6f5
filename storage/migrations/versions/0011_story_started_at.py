"""story started: the first step of the Stats page's story funnel

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 09:45:00.000000

``participant.story_started_at``: when the person last began a story (the chat's first
question, or the Slack form sent); a time, nothing of what they write; forgotten by an
erasure like their consent time. Empty for everyone before: the funnel counts from now.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("story_started_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.drop_column("story_started_at")
