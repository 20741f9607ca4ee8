"""Why a study or performed step is unmatched, as a message: ``unmatched_message`` (JSON).

Beside ``studies.unmatched_reason`` and ``performed_steps.unmatched_reason`` (the English
text, which the API, HL7 and DICOM keep giving) each row now keeps the message id and
its parameters (``domain.errors.Msg.as_json``), so the pages say it in Danish. Rows
from before this revision have none (NULL) and show their text as it is.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TABLES = ("studies", "performed_steps")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("unmatched_message", sa.JSON(), nullable=True))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+): the tables other rows point at stay in place.
    for table in TABLES:
        with op.batch_alter_table(table, recreate="never") as batch:
            batch.drop_column("unmatched_message")
