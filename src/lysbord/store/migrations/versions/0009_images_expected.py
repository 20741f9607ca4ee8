"""Completing a procedure by hand says how many images to expect: ``procedures.images_expected``.

Empty for every procedure before this revision, and for one completed by MPPS or with
"images follow".

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("procedures", sa.Column("images_expected", sa.Integer(), nullable=True))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+): a batch copy of ``procedures`` would
    # drop the table that appointments, studies and events point at.
    op.drop_column("procedures", "images_expected")
