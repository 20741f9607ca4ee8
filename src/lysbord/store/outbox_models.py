"""The outbox's and the reports' tables.

An outbox row is written in the transaction of the change it reports, so a change
and its message are durable together or not at all. Its ``payload`` holds the facts
the message needs (JSON), taken at that moment; the HL7 door renders them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from lysbord.store.models import Base, Id


class OutboxMessage(Base):
    """One message for one destination; ``pending`` until ``sent`` or ``dead``."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        # The head of each (destination, patient) line: the oldest pending message.
        Index(
            "ix_outbox_pending_line",
            "destination",
            "patient_key",
            "id",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        Index(
            "ix_outbox_pending_due",
            "next_attempt_at",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_outbox_status_destination", "status", "destination"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    destination: Mapped[str] = mapped_column(String(32))
    message_type: Mapped[str] = mapped_column(String(16))
    patient_key: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column()
    status: Mapped[str] = mapped_column(String(8))
    attempts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class Report(Base):
    """One version of a procedure's report; a correction is a new row, never an overwrite."""

    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("procedure_id", "version"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedures.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(64))
    written_at: Mapped[datetime]
    written_by: Mapped[str] = mapped_column(String(64))
    #: An acute finding: on the referring unit's list, and flagged abnormal in the ORU.
    acute: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
