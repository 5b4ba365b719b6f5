"""thanks cards: the moderators' messages showing a reader's thank-you, to edit in place

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 06:20:00.000000

A thank-you decided on one surface (the dashboard, the Telegram group, the Slack
channel) has its cards on the others refreshed: their buttons removed, the outcome shown.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "thanks_card",
        sa.Column("thanks_id", sa.Integer(), nullable=False),
        sa.Column("platform", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("chat_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("message_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["thanks_id"], ["thanks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("thanks_id", "platform", "chat_id"),
    )


def downgrade() -> None:
    op.drop_table("thanks_card")
