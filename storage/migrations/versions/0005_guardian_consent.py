"""guardian consent: when an adult sharing a child's story confirmed it, as a column

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 04:25:00.000000

Existing rows: the confirmation was a '+g' appended to the story's consent version;
such a story gets guardian_consent_at = submitted_at and the mark is removed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MARK = '+g'


def upgrade() -> None:
    with op.batch_alter_table('story', schema=None) as batch_op:
        batch_op.add_column(sa.Column('guardian_consent_at', sa.DateTime(timezone=True), nullable=True))

    # SUBSTR and LENGTH read the same on SQLite and PostgreSQL.
    op.execute(
        sa.text(
            "UPDATE story SET guardian_consent_at = submitted_at, "
            "consent_version = SUBSTR(consent_version, 1, LENGTH(consent_version) - 2) "
            "WHERE consent_version LIKE :marked"
        ).bindparams(marked='%' + MARK)
    )


def downgrade() -> None:
    op.execute(
        sa.text(
            "UPDATE story SET consent_version = consent_version || :mark "
            "WHERE guardian_consent_at IS NOT NULL"
        ).bindparams(mark=MARK)
    )
    with op.batch_alter_table('story', schema=None) as batch_op:
        batch_op.drop_column('guardian_consent_at')
