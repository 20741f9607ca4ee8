"""The HL7 inbox's tables: every inbound message as received, and the placers' order numbers.

``uq_hl7_messages_sender_app_sender_facility_control_id`` makes a message idempotent:
the same MSH-10 from the same MSH-3/MSH-4 can be stored (and so applied) only once,
even when two copies arrive at the same moment on two connections.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lysbord.store.models import Base, Id


class Hl7Message(Base):
    """One inbound message, raw, with its outcome and the answer we gave."""

    __tablename__ = "hl7_messages"
    __table_args__ = (UniqueConstraint("sender_app", "sender_facility", "control_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]
    peer: Mapped[str] = mapped_column(String(64), default="")
    sender_app: Mapped[str] = mapped_column(String(180), default="")
    sender_facility: Mapped[str] = mapped_column(String(180), default="")
    control_id: Mapped[str | None] = mapped_column(String(199))
    message_type: Mapped[str] = mapped_column(String(16), default="", index=True)
    version: Mapped[str] = mapped_column(String(8), default="")
    charset: Mapped[str] = mapped_column(String(32), default="")
    cpr: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    answer: Mapped[bytes | None] = mapped_column(LargeBinary)


class Hl7OrderLink(Base):
    """A placer's order number (ORC-2) and the requested procedure it became.

    Our filler order number (ORC-3) is the accession number; a placer that cancels
    before it has our answer names the order by its own number, so we keep that too.
    """

    __tablename__ = "hl7_orders"
    __table_args__ = (UniqueConstraint("placer_namespace", "placer_number"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    placer_number: Mapped[str] = mapped_column(String(64))
    placer_namespace: Mapped[str] = mapped_column(String(64), default="")
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedures.id"), unique=True)
    created_at: Mapped[datetime]
