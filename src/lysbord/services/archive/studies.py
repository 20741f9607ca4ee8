"""The studies in the archive and the unmatched queue (a person's assignment: ``assignment``).

A study is in exactly one of three situations (``lysbord check`` proves it):
``linked`` to a procedure; ``unmatched``, waiting in the queue with its reason; or
``patient`` — assigned by a person to a patient only (images with no order of ours,
e.g. brought from another hospital or taken off-worklist and never ordered): then
``unmatched_reason`` is empty, ``procedure_id`` is empty, and the last
``study.assigned`` event of the study says ``to_accession: null``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from lysbord.domain.errors import InvalidValue, Msg, NotFound, UnknownPatient
from lysbord.services.archive.views import StudyCounts, study_counts
from lysbord.services.core.context import Context
from lysbord.store.archive_models import Series, Study
from lysbord.store.models import Patient, PatientIdentifier, Procedure, Site
from lysbord.store.queries import patient_by_identifier

LINKED, UNMATCHED, PATIENT_ONLY, UNRECONCILED = "linked", "unmatched", "patient", "unreconciled"


@dataclass(frozen=True, slots=True)
class StudyView:
    """A study as the archive holds it: effective values, what was received, where it stands."""

    study_uid: str
    status: str
    patient_id: int | None
    patient_key: str
    patient_name: str
    accession: str
    received_patient_key: str
    received_patient_name: str
    received_accession: str
    study_date: str
    study_time: str
    description: str
    site: str | None
    calling_ae: str
    modalities: list[str]
    series_count: int
    instance_count: int
    received_at: datetime
    procedure_accession: str | None
    procedure_state: str | None
    unmatched_reason: str | None
    #: The same as a message (``Msg.as_json``) for a door with its own language; None on old rows.
    unmatched_message: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class StudyFilter:
    cpr: str | None = None
    accession: str | None = None
    modality: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    limit: int = 50
    offset: int = 0


def list_unmatched(ctx: Context, limit: int = 50, offset: int = 0) -> tuple[list[StudyView], int]:
    """The unmatched queue, newest arrival first, and how many wait in all."""
    _check_page(limit, offset)
    stmt = select(Study).where(Study.unmatched_reason.is_not(None))
    return _page(ctx, stmt.order_by(Study.received_at.desc(), Study.id.desc()), limit, offset)


def list_studies(ctx: Context, flt: StudyFilter) -> tuple[list[StudyView], int]:
    """Studies by patient, accession, modality and study date, newest study first."""
    _check_page(flt.limit, flt.offset)
    if flt.date_from and flt.date_to and flt.date_from > flt.date_to:
        raise InvalidValue(
            Msg("lies before from ({date_from})", date_from=flt.date_from),
            field="to",
            value=flt.date_to.isoformat(),
        )
    with ctx.uow(readonly=True) as uow:
        where = _where(uow.session, flt)
    stmt = select(Study).where(*where)
    order = (Study.study_date.desc(), Study.study_time.desc(), Study.id.desc())
    return _page(ctx, stmt.order_by(*order), flt.limit, flt.offset)


def get_study(ctx: Context, study_uid: str) -> StudyView:
    with ctx.uow(readonly=True) as uow:
        return study_views(ctx, uow.session, [study_row(uow.session, study_uid)])[0]


def study_row(s: Session, study_uid: str, *, for_update: bool = False) -> Study:
    stmt = select(Study).where(Study.study_uid == study_uid.strip())
    study = s.scalars(stmt.with_for_update() if for_update else stmt).first()
    if study is None:
        raise NotFound(
            Msg("no study has this Study Instance UID"), field="study_uid", value=study_uid
        )
    return study


def _check_page(limit: int, offset: int) -> None:
    if limit < 1:
        raise InvalidValue(Msg("must be 1 or more"), field="limit", value=limit)
    if offset < 0:
        raise InvalidValue(Msg("must be 0 or more"), field="offset", value=offset)


def _page(
    ctx: Context, stmt: Select[tuple[Study]], limit: int, offset: int
) -> tuple[list[StudyView], int]:
    with ctx.uow(readonly=True) as uow:
        s = uow.session
        total = s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        studies = list(s.scalars(stmt.limit(limit).offset(offset)))
        return study_views(ctx, s, studies), total


def _where(s: Session, flt: StudyFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if flt.cpr and flt.cpr.strip():
        where.append(_of_patient(s, flt.cpr.strip().replace("-", "").upper()))
    if flt.accession and flt.accession.strip():
        acc = flt.accession.strip()
        linked = select(Procedure.id).where(Procedure.accession == acc)
        where.append(
            or_(
                Study.accession == acc,
                Study.received_accession == acc,
                Study.procedure_id.in_(linked),
            )
        )
    if flt.modality and flt.modality.strip():
        modality = flt.modality.strip().upper()
        where.append(exists().where(Series.study_id == Study.id, Series.modality == modality))
    if flt.date_from:
        where.append(Study.study_date >= flt.date_from.strftime("%Y%m%d"))
    if flt.date_to:
        where.append(Study.study_date <= flt.date_to.strftime("%Y%m%d"))
    return where


def _of_patient(s: Session, key: str) -> ColumnElement[bool]:
    """The patient's studies, and those that came with one of its numbers before it existed."""
    try:
        patient = patient_by_identifier(s, key)
    except UnknownPatient:
        return Study.patient_key == key
    numbers = select(PatientIdentifier.value).where(
        PatientIdentifier.patient_id.in_(_records(s, patient.id))
    )
    return or_(
        Study.patient_id == patient.id,
        and_(Study.patient_id.is_(None), Study.patient_key.in_(numbers)),
    )


def _records(s: Session, patient_id: int) -> set[int]:
    """The patient's record and every record merged into it, directly or not."""
    found, frontier = {patient_id}, {patient_id}
    while frontier:
        stmt = select(Patient.id).where(Patient.merged_into_id.in_(frontier))
        frontier = set(s.scalars(stmt)) - found
        found |= frontier
    return found


def study_views(ctx: Context, s: Session, studies: list[Study]) -> list[StudyView]:
    """Views of many studies in a few batched queries."""
    counts = study_counts(s, [st.id for st in studies])
    linked = {st.procedure_id for st in studies if st.procedure_id is not None}
    procedures = {
        pid: (acc, state)
        for pid, acc, state in s.execute(
            select(Procedure.id, Procedure.accession, Procedure.state).where(
                Procedure.id.in_(linked)
            )
        ).tuples()
    }
    sites = dict(s.execute(select(Site.id, Site.code)).tuples().all())
    peers = {p.ae_title: p.site for p in ctx.settings.dicom_peers}
    return [
        _view(st, counts[st.id], procedures.get(st.procedure_id or 0), sites, peers)
        for st in studies
    ]


def _view(
    st: Study,
    counts: StudyCounts,
    procedure: tuple[str | None, str] | None,
    sites: dict[int, str],
    peers: dict[str, str | None],
) -> StudyView:
    """The site is the study's own, else the one its calling AE is configured with."""
    site = sites.get(st.site_id) if st.site_id else peers.get(st.calling_ae.strip())
    return StudyView(
        study_uid=st.study_uid,
        status=situation(st),
        patient_id=st.patient_id,
        patient_key=st.patient_key,
        patient_name=st.patient_name,
        accession=st.accession,
        received_patient_key=st.received_patient_key,
        received_patient_name=st.received_patient_name,
        received_accession=st.received_accession,
        study_date=st.study_date,
        study_time=st.study_time,
        description=st.description,
        site=site,
        calling_ae=st.calling_ae,
        modalities=counts.modalities,
        series_count=counts.series_count,
        instance_count=counts.instance_count,
        received_at=st.received_at,
        procedure_accession=procedure[0] if procedure else None,
        procedure_state=procedure[1] if procedure else None,
        unmatched_reason=st.unmatched_reason,
        unmatched_message=st.unmatched_message,
    )


def situation(study: Study) -> str:
    if study.procedure_id is not None:
        return LINKED
    if study.unmatched_reason is not None:
        return UNMATCHED
    return PATIENT_ONLY if study.patient_id is not None else UNRECONCILED
