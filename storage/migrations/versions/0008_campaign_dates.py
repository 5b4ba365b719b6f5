"""campaign dates: a partner campaign's pledge is open between its start and end

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 07:15:00.000000

Both open-ended when empty (every campaign so far): nothing changes for them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.add_column(sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.drop_column("ends_at")
        batch_op.drop_column("starts_at")
