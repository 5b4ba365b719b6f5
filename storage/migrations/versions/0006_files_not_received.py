"""files not received: how many files of a story could not be downloaded on arrival

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 06:05:00.000000

The storyteller was asked to send them again; the moderators' card says so.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("story", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("files_not_received", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("story", schema=None) as batch_op:
        batch_op.drop_column("files_not_received")
