"""Sign-in lock-outs per account and client address: ``sign_in_throttles``.

``users.failed_attempts`` goes: failures are counted per (account, address) and per
address in the new table, so a stranger cannot lock an account out of its own
address. ``users.locked_until`` stays, as the latest lock for the users' page.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 06:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import lysbord.store.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

UTC = lysbord.store.types.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sign_in_throttles",
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", UTC, nullable=True),
        sa.Column("locked_until", UTC, nullable=True),
        sa.PrimaryKeyConstraint("username", "address", name=op.f("pk_sign_in_throttles")),
    )
    with op.batch_alter_table("users") as batch:
        batch.drop_column("failed_attempts")


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("failed_attempts", sa.Integer(), nullable=False, server_default="0")
        )
    op.drop_table("sign_in_throttles")
