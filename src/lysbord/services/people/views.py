"""What people use cases hand back: a patient with identifiers and merges, and names as shown."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from lysbord.store.models import Patient, PatientIdentifier, PatientMerge, Site


@dataclass(frozen=True, slots=True)
class IdentifierView:
    kind: str
    value: str
    issuer: str


@dataclass(frozen=True, slots=True)
class MergeView:
    id: int
    source_id: int
    target_id: int
    reason: str
    merged_at: datetime
    merged_by: str
    undone_at: datetime | None


@dataclass(frozen=True, slots=True)
class PatientView:
    id: int
    cpr: str
    family_name: str
    given_name: str
    birth_date: date
    sex: str
    preferred_site: str | None
    merged_into_id: int | None
    identifiers: list[IdentifierView]
    merges: list[MergeView]


def primary_identifiers(session: Session, patient_ids: Iterable[int]) -> dict[int, str]:
    """The first identifier each patient got: the number people know them by."""
    rows = session.execute(
        select(PatientIdentifier.patient_id, PatientIdentifier.value)
        .where(PatientIdentifier.patient_id.in_(set(patient_ids)))
        .order_by(PatientIdentifier.id.desc())
    )
    return dict(rows.tuples().all())


def display_name(patient: Patient) -> str:
    """``Family, Given`` as on a ward list; just ``Family`` when there is no given name."""
    return (
        f"{patient.family_name}, {patient.given_name}"
        if patient.given_name
        else patient.family_name
    )


def dicom_name(patient: Patient) -> str:
    """PS3.5 6.2.1 Person Name: ``Family^Given``, or just ``Family``."""
    if patient.given_name:
        return f"{patient.family_name}^{patient.given_name}"
    return patient.family_name


def patient_view(session: Session, patient: Patient) -> PatientView:
    idents = session.scalars(
        select(PatientIdentifier)
        .where(PatientIdentifier.patient_id == patient.id)
        .order_by(PatientIdentifier.id)
    ).all()
    merges = session.scalars(
        select(PatientMerge)
        .where((PatientMerge.source_id == patient.id) | (PatientMerge.target_id == patient.id))
        .order_by(PatientMerge.id)
    ).all()
    site = session.get(Site, patient.preferred_site_id) if patient.preferred_site_id else None
    return PatientView(
        id=patient.id,
        cpr=idents[0].value if idents else "",
        family_name=patient.family_name,
        given_name=patient.given_name,
        birth_date=patient.birth_date,
        sex=patient.sex,
        preferred_site=site.code if site else None,
        merged_into_id=patient.merged_into_id,
        identifiers=[IdentifierView(i.kind, i.value, i.issuer) for i in idents],
        merges=[_merge_view(m) for m in merges],
    )


def _merge_view(m: PatientMerge) -> MergeView:
    return MergeView(
        m.id, m.source_id, m.target_id, m.reason, m.merged_at, m.merged_by, m.undone_at
    )
