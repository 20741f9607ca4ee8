"""Users, roles, sessions and API tokens of the web application.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import lysbord.store.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = lysbord.store.types.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", ID, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", UTC, nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("password_set_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    for table in ("user_sessions", "api_tokens"):
        extra = (
            [
                sa.Column("csrf_secret", sa.String(length=64), nullable=False),
                sa.Column("created_at", UTC, nullable=False),
                sa.Column("expires_at", UTC, nullable=False),
                sa.Column("ended_at", UTC, nullable=True),
            ]
            if table == "user_sessions"
            else [
                sa.Column("name", sa.String(length=100), nullable=False),
                sa.Column("created_at", UTC, nullable=False),
                sa.Column("last_used_at", UTC, nullable=True),
                sa.Column("revoked_at", UTC, nullable=True),
            ]
        )
        op.create_table(
            table,
            sa.Column("id", ID, nullable=False),
            sa.Column("token_hash", sa.String(length=64), nullable=False),
            sa.Column("user_id", ID, nullable=False),
            *extra,
            sa.ForeignKeyConstraint(
                ["user_id"], ["users.id"], name=op.f(f"fk_{table}_user_id_users")
            ),
            sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
            sa.UniqueConstraint("token_hash", name=op.f(f"uq_{table}_token_hash")),
        )
        op.create_index(op.f(f"ix_{table}_user_id"), table, ["user_id"], unique=False)


def downgrade() -> None:
    for table in ("api_tokens", "user_sessions"):
        op.drop_index(op.f(f"ix_{table}_user_id"), table_name=table)
        op.drop_table(table)
    op.drop_table("users")
