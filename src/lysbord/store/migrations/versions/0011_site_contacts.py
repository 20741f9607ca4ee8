"""A site's contact for its appointments: ``sites.contact_name``, ``sites.contact_phone``.

Every SIU names who schedules the appointment (SCH-16, required from HL7 v2.3.1) and
how to reach them (SCH-17). Sites made before this revision have no contact (NULL):
nobody knows it here, so nothing is invented; ``lysbord check`` names those sites.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sites") as batch:
        batch.add_column(sa.Column("contact_name", sa.String(200), nullable=True))
        batch.add_column(sa.Column("contact_phone", sa.String(32), nullable=True))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+): a copied table could not be swapped in
    # while rooms, blocks, patients and referrals point at it (foreign keys are on).
    with op.batch_alter_table("sites", recreate="never") as batch:
        batch.drop_column("contact_phone")
        batch.drop_column("contact_name")
