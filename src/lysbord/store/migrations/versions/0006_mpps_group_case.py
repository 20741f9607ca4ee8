"""Performed steps that perform several procedures (IHE SWF group case); the commitment scan index.

``performed_step_procedures`` links a performed step to every procedure it performs,
and is filled from ``performed_steps.procedure_id`` (which keeps its meaning: the
procedure the first resolvable scheduled step names). ``unmatched_reason`` says
which scheduled steps named no procedure; steps kept with no procedure get a
generic reason, so the unmatched queue reads one column. The Storage Commitment
worker scans unreported requests in id order: a partial index holds only those.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_UNMATCHED = sa.text("unmatched_reason IS NOT NULL")
_UNREPORTED = sa.text("reported_at IS NULL")
OLD_UNMATCHED = "no procedure for the scheduled steps it names"


def upgrade() -> None:
    op.create_table(
        "performed_step_procedures",
        sa.Column("performed_step_id", _ID, nullable=False),
        sa.Column("procedure_id", _ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["performed_step_id"],
            ["performed_steps.id"],
            name=op.f("fk_performed_step_procedures_performed_step_id_performed_steps"),
        ),
        sa.ForeignKeyConstraint(
            ["procedure_id"],
            ["procedures.id"],
            name=op.f("fk_performed_step_procedures_procedure_id_procedures"),
        ),
        sa.PrimaryKeyConstraint(
            "performed_step_id", "procedure_id", name=op.f("pk_performed_step_procedures")
        ),
    )
    op.create_index(
        op.f("ix_performed_step_procedures_procedure_id"),
        "performed_step_procedures",
        ["procedure_id"],
        unique=False,
    )
    op.add_column("performed_steps", sa.Column("unmatched_reason", sa.Text(), nullable=True))
    op.execute(
        "INSERT INTO performed_step_procedures (performed_step_id, procedure_id)"
        " SELECT id, procedure_id FROM performed_steps WHERE procedure_id IS NOT NULL"
    )
    op.execute(
        sa.text(
            "UPDATE performed_steps SET unmatched_reason = :reason WHERE procedure_id IS NULL"
        ).bindparams(reason=OLD_UNMATCHED)
    )
    op.create_index(
        "ix_performed_steps_unmatched",
        "performed_steps",
        ["created_at", "id"],
        unique=False,
        sqlite_where=_UNMATCHED,
        postgresql_where=_UNMATCHED,
    )
    op.create_index(
        "ix_commitment_requests_unreported",
        "commitment_requests",
        ["id"],
        unique=False,
        sqlite_where=_UNREPORTED,
        postgresql_where=_UNREPORTED,
    )


def downgrade() -> None:
    """Back to one procedure per step: ``procedure_id`` still holds each step's first one."""
    op.drop_index("ix_commitment_requests_unreported", table_name="commitment_requests")
    op.drop_index(
        op.f("ix_performed_step_procedures_procedure_id"), table_name="performed_step_procedures"
    )
    op.drop_table("performed_step_procedures")  # first: SQLite rebuilds the table it names
    op.drop_index("ix_performed_steps_unmatched", table_name="performed_steps")
    with op.batch_alter_table("performed_steps") as batch:
        batch.drop_column("unmatched_reason")
