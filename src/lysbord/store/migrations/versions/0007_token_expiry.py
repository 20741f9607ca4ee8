"""API tokens expire: ``api_tokens.expires_at``.

Tokens made before this revision get the default lifetime from their creation
(``web.token_days``' default, 365 days), so none lives forever.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 06:00:00
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from alembic import op

import lysbord.store.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

DEFAULT_LIFETIME = timedelta(days=365)
UTC = lysbord.store.types.UtcDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("expires_at", UTC, nullable=True))
    tokens = sa.table(
        "api_tokens",
        sa.column("id", sa.Integer()),
        sa.column("created_at", UTC),
        sa.column("expires_at", UTC),
    )
    conn = op.get_bind()
    for token_id, created in conn.execute(sa.select(tokens.c.id, tokens.c.created_at)).all():
        conn.execute(
            tokens.update()
            .where(tokens.c.id == token_id)
            .values(expires_at=created + DEFAULT_LIFETIME)
        )
    with op.batch_alter_table("api_tokens") as batch:
        batch.alter_column("expires_at", existing_type=UTC, nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("expires_at")
