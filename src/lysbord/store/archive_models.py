"""The image archive's index: studies, series, instances, and what arrived wrong.

The bytes stay as received in the blob store; these rows hold only what queries
and reconciliation need. A study's patient and accession columns are the
*effective* values (after assignment or merge); ``received_*`` keep what the
modality sent, so a correction never loses the original.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from lysbord.store.models import Base, Id


class Study(Base):
    __tablename__ = "studies"
    __table_args__ = (Index("ix_studies_patient_date", "patient_key", "study_date"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    study_uid: Mapped[str] = mapped_column(String(64), unique=True)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)
    procedure_id: Mapped[int | None] = mapped_column(ForeignKey("procedures.id"), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    patient_key: Mapped[str] = mapped_column(String(64), default="")
    issuer: Mapped[str] = mapped_column(String(64), default="")
    patient_name: Mapped[str] = mapped_column(String(200), default="")
    birth_date: Mapped[str] = mapped_column(String(8), default="")
    sex: Mapped[str] = mapped_column(String(16), default="")
    accession: Mapped[str] = mapped_column(String(16), default="", index=True)
    study_date: Mapped[str] = mapped_column(String(8), default="", index=True)
    study_time: Mapped[str] = mapped_column(String(16), default="")
    study_id: Mapped[str] = mapped_column(String(16), default="")
    description: Mapped[str] = mapped_column(String(200), default="")
    referring_physician: Mapped[str] = mapped_column(String(200), default="")
    received_patient_key: Mapped[str] = mapped_column(String(64), default="")
    received_patient_name: Mapped[str] = mapped_column(String(200), default="")
    received_accession: Mapped[str] = mapped_column(String(16), default="")
    calling_ae: Mapped[str] = mapped_column(String(16), default="")
    unmatched_reason: Mapped[str | None] = mapped_column(Text)
    unmatched_message: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    received_at: Mapped[datetime]


class Series(Base):
    __tablename__ = "series"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    series_uid: Mapped[str] = mapped_column(String(64), unique=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("studies.id"), index=True)
    modality: Mapped[str] = mapped_column(String(16), default="", index=True)
    series_number: Mapped[str] = mapped_column(String(12), default="")
    description: Mapped[str] = mapped_column(String(200), default="")
    body_part: Mapped[str] = mapped_column(String(64), default="")


class Instance(Base):
    __tablename__ = "instances"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    sop_instance_uid: Mapped[str] = mapped_column(String(64), unique=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id"), index=True)
    sop_class_uid: Mapped[str] = mapped_column(String(64))
    instance_number: Mapped[str] = mapped_column(String(12), default="")
    transfer_syntax: Mapped[str] = mapped_column(String(64))
    blob_key: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[datetime]


class InstanceConflict(Base):
    """Same SOP Instance UID, other bytes: kept and reported, never overwriting."""

    __tablename__ = "instance_conflicts"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    sop_instance_uid: Mapped[str] = mapped_column(String(64), index=True)
    blob_key: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    calling_ae: Mapped[str] = mapped_column(String(16), default="")
    received_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]


class PerformedStep(Base):
    """A Modality Performed Procedure Step (PS3.4 F.7), as the scanner reported it.

    ``procedure_id`` is the procedure its first resolvable scheduled step names (None:
    none resolved); ``performed_step_procedures`` links every procedure it performs,
    that one included (IHE SWF group case). ``unmatched_reason`` says which scheduled
    steps named no procedure we know, so a person can resolve them; ``unmatched_message``
    is the same as a message (``Msg.as_json``), for the pages' language.
    """

    __tablename__ = "performed_steps"
    __table_args__ = (
        Index(
            "ix_performed_steps_unmatched",
            "created_at",
            "id",
            sqlite_where=text("unmatched_reason IS NOT NULL"),
            postgresql_where=text("unmatched_reason IS NOT NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    mpps_uid: Mapped[str] = mapped_column(String(64), unique=True)
    procedure_id: Mapped[int | None] = mapped_column(ForeignKey("procedures.id"), index=True)
    unmatched_reason: Mapped[str | None] = mapped_column(Text)
    unmatched_message: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    calling_ae: Mapped[str] = mapped_column(String(16), default="")
    series_uids: Mapped[list[str]] = mapped_column(JSON, default=list)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class PerformedStepProcedure(Base):
    """One procedure a performed step performs: one row per procedure, several in a group case."""

    __tablename__ = "performed_step_procedures"
    performed_step_id: Mapped[int] = mapped_column(
        ForeignKey("performed_steps.id"), primary_key=True
    )
    procedure_id: Mapped[int] = mapped_column(
        ForeignKey("procedures.id"), primary_key=True, index=True
    )


class CommitmentRequest(Base):
    """A Storage Commitment request (PS3.4 J), answered once its report is sent.

    The delivery worker scans the unreported ones in id order: the partial index
    ``ix_commitment_requests_unreported`` holds only those, so the scan stays small
    however many reported requests accumulate.
    """

    __tablename__ = "commitment_requests"
    __table_args__ = (
        Index(
            "ix_commitment_requests_unreported",
            "id",
            sqlite_where=text("reported_at IS NULL"),
            postgresql_where=text("reported_at IS NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    transaction_uid: Mapped[str] = mapped_column(String(64), index=True)
    calling_ae: Mapped[str] = mapped_column(String(16))
    items: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    received_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    reported_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
