"""The outbox (HL7 messages to send, with attempts and dead letters) and radiology reports.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import lysbord.store.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = lysbord.store.types.UtcDateTime(timezone=True)
_PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    op.create_table(
        "outbox_messages",
        sa.Column("id", _ID, nullable=False),
        sa.Column("destination", sa.String(length=32), nullable=False),
        sa.Column("message_type", sa.String(length=16), nullable=False),
        sa.Column("patient_key", sa.String(length=64), nullable=False),
        sa.Column("event_id", _ID, nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("next_attempt_at", _TS, nullable=False),
        sa.Column("lease_until", _TS, nullable=True),
        sa.Column("sent_at", _TS, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_outbox_messages_event_id_events")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_messages")),
    )
    op.create_index(
        op.f("ix_outbox_messages_event_id"), "outbox_messages", ["event_id"], unique=False
    )
    op.create_index(
        "ix_outbox_pending_line",
        "outbox_messages",
        ["destination", "patient_key", "id"],
        unique=False,
        sqlite_where=_PENDING,
        postgresql_where=_PENDING,
    )
    op.create_index(
        "ix_outbox_pending_due",
        "outbox_messages",
        ["next_attempt_at"],
        unique=False,
        sqlite_where=_PENDING,
        postgresql_where=_PENDING,
    )
    op.create_index(
        "ix_outbox_status_destination", "outbox_messages", ["status", "destination"], unique=False
    )
    op.create_table(
        "reports",
        sa.Column("id", _ID, nullable=False),
        sa.Column("procedure_id", _ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("written_at", _TS, nullable=False),
        sa.Column("written_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["procedure_id"], ["procedures.id"], name=op.f("fk_reports_procedure_id_procedures")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
        sa.UniqueConstraint(
            "procedure_id", "version", name=op.f("uq_reports_procedure_id_version")
        ),
    )
    op.create_index(op.f("ix_reports_procedure_id"), "reports", ["procedure_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_reports_procedure_id"), table_name="reports")
    op.drop_table("reports")
    op.drop_index("ix_outbox_status_destination", table_name="outbox_messages")
    op.drop_index("ix_outbox_pending_due", table_name="outbox_messages")
    op.drop_index("ix_outbox_pending_line", table_name="outbox_messages")
    op.drop_index(op.f("ix_outbox_messages_event_id"), table_name="outbox_messages")
    op.drop_table("outbox_messages")
