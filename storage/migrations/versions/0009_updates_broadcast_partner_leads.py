"""milestone updates and partner leads

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 09:05:00.000000

- ``participant.updates``: whether a supporter wants to hear of the pledge's milestones
  (asked once, after the pledge; NULL until they answer), and when they answered.
- ``milestone.announce_cursor`` / ``announced_at``: a milestone's broadcast queues its
  messages in batches, the last participant id queued committed with each batch, so a
  broadcast interrupted by a crash resumes where it stopped; ``announced_at`` once all
  are queued.
- ``moderator.campaign_id``: a partner lead's one campaign (the dashboard's Stats page
  shows them that campaign's numbers and nothing else).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.add_column(sa.Column("updates", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("updates_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_participant_updates", ["updates", "id"], unique=False)
    with op.batch_alter_table("milestone", schema=None) as batch_op:
        batch_op.add_column(sa.Column("announce_cursor", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("announced_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("moderator", schema=None) as batch_op:
        batch_op.add_column(sa.Column("campaign_id", sa.String(length=48), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("moderator", schema=None) as batch_op:
        batch_op.drop_column("campaign_id")
    with op.batch_alter_table("milestone", schema=None) as batch_op:
        batch_op.drop_column("announced_at")
        batch_op.drop_column("announce_cursor")
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.drop_index("ix_participant_updates")
        batch_op.drop_column("updates_at")
        batch_op.drop_column("updates")
