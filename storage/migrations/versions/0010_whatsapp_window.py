"""WhatsApp's 24-hour window and delivery statuses

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 09:40:00.000000

- ``participant.last_inbound_at``: when the person last wrote (kept for WhatsApp, where
  a free-form message reaches them only within 24 hours of it).
- ``participant.template_at``: when a template message was last sent to bring them back
  into that window (at most one a day while they do not answer).
- ``outbox.message_key``: a hash of the platform's id of the message a row
  sent (WhatsApp's ``wamid`` encodes the phone number), so a delivery status finds it.
- ``outbox.receipt``: the last delivery status reported for it (sent, delivered, read,
  failed).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_inbound_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("template_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("message_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("receipt", sa.String(length=16), nullable=True))
        batch_op.create_index("ix_outbox_message_key", ["message_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_message_key")
        batch_op.drop_column("receipt")
        batch_op.drop_column("message_key")
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.drop_column("template_at")
        batch_op.drop_column("last_inbound_at")
