"""The HL7 inbox: every inbound message, raw, with its outcome; placers' order numbers.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import lysbord.store.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = lysbord.store.types.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "hl7_messages",
        sa.Column("id", ID, nullable=False),
        sa.Column("received_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("peer", sa.String(length=64), nullable=False),
        sa.Column("sender_app", sa.String(length=180), nullable=False),
        sa.Column("sender_facility", sa.String(length=180), nullable=False),
        sa.Column("control_id", sa.String(length=199), nullable=True),
        sa.Column("message_type", sa.String(length=16), nullable=False),
        sa.Column("version", sa.String(length=8), nullable=False),
        sa.Column("charset", sa.String(length=32), nullable=False),
        sa.Column("cpr", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("location", sa.String(length=32), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("answer", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hl7_messages")),
        sa.UniqueConstraint(
            "sender_app",
            "sender_facility",
            "control_id",
            name=op.f("uq_hl7_messages_sender_app_sender_facility_control_id"),
        ),
    )
    for column in ("received_at", "message_type", "cpr", "status"):
        op.create_index(op.f(f"ix_hl7_messages_{column}"), "hl7_messages", [column])
    op.create_table(
        "hl7_orders",
        sa.Column("id", ID, nullable=False),
        sa.Column("placer_number", sa.String(length=64), nullable=False),
        sa.Column("placer_namespace", sa.String(length=64), nullable=False),
        sa.Column("procedure_id", ID, nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["procedure_id"], ["procedures.id"], name=op.f("fk_hl7_orders_procedure_id_procedures")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hl7_orders")),
        sa.UniqueConstraint(
            "placer_namespace",
            "placer_number",
            name=op.f("uq_hl7_orders_placer_namespace_placer_number"),
        ),
        sa.UniqueConstraint("procedure_id", name=op.f("uq_hl7_orders_procedure_id")),
    )


def downgrade() -> None:
    op.drop_table("hl7_orders")
    for column in ("received_at", "message_type", "cpr", "status"):
        op.drop_index(op.f(f"ix_hl7_messages_{column}"), table_name="hl7_messages")
    op.drop_table("hl7_messages")
