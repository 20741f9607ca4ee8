"""A report may mark an acute finding: ``reports.acute``.

Every report before this revision is not acute.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 14:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "reports", sa.Column("acute", sa.Boolean(), nullable=False, server_default=sa.false())
    )


def downgrade() -> None:
    op.drop_column("reports", "acute")
