"""The tables. Nothing here is ever deleted: endings are rows and columns with reasons.

The one rule the database itself must enforce, because races are real: a slot
has at most one active appointment (``ux_appointment_active_slot``), and a
procedure has at most one (``ux_appointment_active_procedure``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from lysbord.store.types import UtcDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT.
Id = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UtcDateTime(), dict[str, Any]: JSON()}


class Site(Base):
    """A hospital. Its contact (the booking office's name and telephone) goes to the
    patient's other systems with every appointment (SIU SCH-16, SCH-17); sites from
    before migration 0011 have none until one is set, and ``lysbord check`` names them."""

    __tablename__ = "sites"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_phone: Mapped[str | None] = mapped_column(String(32))


class Room(Base):
    __tablename__ = "rooms"
    __table_args__ = (UniqueConstraint("site_id", "code"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    modality: Mapped[str] = mapped_column(String(4), index=True)
    ae_title: Mapped[str] = mapped_column(String(16), unique=True)
    opening_hours: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ProcedureCode(Base):
    __tablename__ = "procedure_codes"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    modality: Mapped[str] = mapped_column(String(4))
    duration_minutes: Mapped[int] = mapped_column(Integer)
    body_part: Mapped[str] = mapped_column(String(64), default="")
    preparation: Mapped[str] = mapped_column(Text, default="")


class Slot(Base):
    __tablename__ = "slots"
    __table_args__ = (
        UniqueConstraint("room_id", "start_at"),
        Index("ix_slots_start_room", "start_at", "room_id"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    minutes: Mapped[int] = mapped_column(Integer)


class Block(Base):
    """A room or a whole site closed for a window; bookings inside it are kept."""

    __tablename__ = "blocks"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    room_id: Mapped[int | None] = mapped_column(ForeignKey("rooms.id"), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), index=True)
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    lifted_at: Mapped[datetime | None]


class Patient(Base):
    __tablename__ = "patients"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    family_name: Mapped[str] = mapped_column(String(100))
    given_name: Mapped[str] = mapped_column(String(100), default="")
    birth_date: Mapped[date]
    sex: Mapped[str] = mapped_column(String(1))
    preferred_site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)
    created_at: Mapped[datetime]


class PatientIdentifier(Base):
    """CPR, replacement numbers and local ids; a merged record keeps its own."""

    __tablename__ = "patient_identifiers"
    __table_args__ = (UniqueConstraint("issuer", "value"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(64), index=True)
    issuer: Mapped[str] = mapped_column(String(64))


class PatientMerge(Base):
    """One merge, with what it moved, so that it can be undone exactly."""

    __tablename__ = "patient_merges"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    moved_referral_ids: Mapped[list[int]] = mapped_column(JSON)
    moved_study_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    reason: Mapped[str] = mapped_column(Text)
    merged_at: Mapped[datetime]
    merged_by: Mapped[str] = mapped_column(String(64))
    undone_at: Mapped[datetime | None]
    undone_by: Mapped[str | None] = mapped_column(String(64))


class Referral(Base):
    __tablename__ = "referrals"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    referring_unit: Mapped[str] = mapped_column(String(200))
    clinical_question: Mapped[str] = mapped_column(Text)
    priority: Mapped[str] = mapped_column(String(16), index=True)
    received_at: Mapped[datetime]
    due_at: Mapped[datetime] = mapped_column(index=True)
    notify_by: Mapped[datetime | None]
    earliest_at: Mapped[datetime | None]
    preferred_site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    placer_order_number: Mapped[str | None] = mapped_column(String(64), index=True)
    created_by: Mapped[str] = mapped_column(String(64))
    closed_at: Mapped[datetime | None] = mapped_column(index=True)
    close_reason: Mapped[str | None] = mapped_column(Text)


class Procedure(Base):
    __tablename__ = "procedures"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    code: Mapped[str] = mapped_column(ForeignKey("procedure_codes.code"))
    accession: Mapped[str | None] = mapped_column(String(16), unique=True)
    study_uid: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    images_received_at: Mapped[datetime | None]
    #: How many images the radiographer expects, said at completion; None: not said (they follow).
    images_expected: Mapped[int | None]
    updated_at: Mapped[datetime]


class Appointment(Base):
    __tablename__ = "appointments"
    __table_args__ = (
        Index(
            "ux_appointment_active_slot",
            "slot_id",
            unique=True,
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
        Index(
            "ux_appointment_active_procedure",
            "procedure_id",
            unique=True,
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedures.id"), index=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("slots.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean)
    booked_at: Mapped[datetime]
    booked_by: Mapped[str] = mapped_column(String(64))
    ended_at: Mapped[datetime | None]
    ended_by: Mapped[str | None] = mapped_column(String(64))
    end_reason: Mapped[str | None] = mapped_column(Text)


class Event(Base):
    """Every change of state, appended in the transaction that made it."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(48), index=True)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referrals.id"), index=True)
    procedure_id: Mapped[int | None] = mapped_column(ForeignKey("procedures.id"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
