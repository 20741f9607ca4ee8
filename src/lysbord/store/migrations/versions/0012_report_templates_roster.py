"""Report templates per procedure code, and the radiographers' room roster.

``report_templates`` (a text with placeholders, retired rather than deleted),
``report_template_codes`` (the procedure codes each is offered for) and
``roster_entries`` (a radiographer on a room on a day). All three start empty.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import lysbord.store.types

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = lysbord.store.types.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "report_templates",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("retired_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_templates")),
    )
    op.create_table(
        "report_template_codes",
        sa.Column("id", ID, nullable=False),
        sa.Column("template_id", ID, nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["report_templates.id"],
            name=op.f("fk_report_template_codes_template_id_report_templates"),
        ),
        sa.ForeignKeyConstraint(
            ["code"],
            ["procedure_codes.code"],
            name=op.f("fk_report_template_codes_code_procedure_codes"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_template_codes")),
        sa.UniqueConstraint(
            "template_id", "code", name=op.f("uq_report_template_codes_template_id_code")
        ),
    )
    for column in ("template_id", "code"):
        op.create_index(
            op.f(f"ix_report_template_codes_{column}"), "report_template_codes", [column]
        )
    op.create_table(
        "roster_entries",
        sa.Column("id", ID, nullable=False),
        sa.Column("room_id", ID, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name=op.f("fk_roster_entries_room_id_rooms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roster_entries")),
        sa.UniqueConstraint(
            "room_id", "day", "username", name=op.f("uq_roster_entries_room_id_day_username")
        ),
    )
    for column in ("day", "username"):
        op.create_index(op.f(f"ix_roster_entries_{column}"), "roster_entries", [column])


def downgrade() -> None:
    for column in ("day", "username"):
        op.drop_index(op.f(f"ix_roster_entries_{column}"), table_name="roster_entries")
    op.drop_table("roster_entries")
    for column in ("template_id", "code"):
        op.drop_index(
            op.f(f"ix_report_template_codes_{column}"), table_name="report_template_codes"
        )
    op.drop_table("report_template_codes")
    op.drop_table("report_templates")
