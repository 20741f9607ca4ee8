"""Read-side queries of the archive index: what C-FIND, C-MOVE/C-GET and QIDO-RS ask.

Each call is one SQL statement, whatever the number of rows (``Database.read``: on
PostgreSQL without BEGIN and ROLLBACK around it): the doors pass the WHERE
clauses (built by ``lysbord.dicom.matching``) and the keywords they want back.
Counts and ModalitiesInStudy are correlated subqueries on the indexed foreign keys
(series.study_id, instances.series_id, studies.patient_key), so their cost grows with
the rows returned, not with the size of the archive; instances are counted with
``count(*)``, which PostgreSQL can answer from the index alone.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from lysbord.services.core.context import Context
from lysbord.store.archive_models import Instance, Series, Study

# Keys computed from the index rather than read from one column, per level.
COMPUTED: dict[str, frozenset[str]] = {
    "PATIENT": frozenset(
        {
            "NumberOfPatientRelatedStudies",
            "NumberOfPatientRelatedSeries",
            "NumberOfPatientRelatedInstances",
        }
    ),
    "STUDY": frozenset(
        {"ModalitiesInStudy", "NumberOfStudyRelatedSeries", "NumberOfStudyRelatedInstances"}
    ),
    "SERIES": frozenset({"NumberOfSeriesRelatedInstances"}),
    "IMAGE": frozenset(),
}


@dataclass(frozen=True, slots=True)
class Correction:
    """The effective patient and accession of a study whose images carry other values."""

    patient_id: str
    patient_name: str
    accession: str


@dataclass(frozen=True, slots=True)
class StoredInstance:
    """One instance to send: where its bytes are and what must be corrected in them."""

    sop_class_uid: str
    sop_instance_uid: str
    transfer_syntax: str
    blob_key: str
    correction: Correction | None


def find(
    ctx: Context,
    level: str,
    where: Sequence[ColumnElement[bool]],
    columns: Mapping[str, Any],
    computed: Collection[str] = (),
    *,
    limit: int | None = None,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Rows at ``level`` matching ``where``, keyed by the keywords of ``columns``/``computed``.

    At PATIENT level studies are grouped by their effective patient key; the other
    patient attributes come from any one of the patient's studies. ``limit`` and
    ``offset`` page in SQL (QIDO-RS), so counts are computed for the page's rows only.
    """
    stmt = _statement(level, where, columns, computed).limit(limit).offset(offset or None)
    return [dict(row._mapping) for row in ctx.db.read(stmt)]


def instances(ctx: Context, where: Sequence[ColumnElement[bool]]) -> list[StoredInstance]:
    """The instances matching ``where`` (over studies, series and instances), in order."""
    stmt = (
        select(
            Instance.sop_class_uid,
            Instance.sop_instance_uid,
            Instance.transfer_syntax,
            Instance.blob_key,
            Study.patient_key,
            Study.patient_name,
            Study.accession,
            Study.received_patient_key,
            Study.received_patient_name,
            Study.received_accession,
        )
        .select_from(Instance)
        .join(Series, Series.id == Instance.series_id)
        .join(Study, Study.id == Series.study_id)
        .where(*where)
        .order_by(Study.id, Series.id, Instance.id)
    )
    rows = ctx.db.read(stmt)
    return [StoredInstance(r[0], r[1], r[2], r[3], _correction(*r[4:])) for r in rows]


def _correction(
    key: str, name: str, accession: str, received_key: str, received_name: str, received_acc: str
) -> Correction | None:
    if (key, name, accession) == (received_key, received_name, received_acc):
        return None
    return Correction(key, name, accession)


def _statement(
    level: str,
    where: Sequence[ColumnElement[bool]],
    columns: Mapping[str, Any],
    computed: Collection[str],
) -> Select[Any]:
    extra = {k: _COMPUTED_BUILDERS[k]() for k in computed if k in COMPUTED[level]}
    if level == "PATIENT":
        return _patients(where, columns, extra)
    labelled = [col.label(k) for k, col in columns.items()]
    labelled += [col.label(k) for k, col in extra.items()]
    stmt = select(*labelled).select_from(Study).where(*where)
    if level == "STUDY":
        return stmt.order_by(Study.study_date, Study.study_time, Study.id)
    stmt = stmt.join(Series, Series.study_id == Study.id)
    if level == "SERIES":
        return stmt.order_by(Study.id, Series.id)
    stmt = stmt.join(Instance, Instance.series_id == Series.id)
    return stmt.order_by(Study.id, Series.id, Instance.id)


def _patients(
    where: Sequence[ColumnElement[bool]], columns: Mapping[str, Any], extra: Mapping[str, Any]
) -> Select[Any]:
    labelled = [
        (Study.patient_key if k == "PatientID" else func.max(col)).label(k)
        for k, col in columns.items()
    ]
    labelled += [col.label(k) for k, col in extra.items()]
    return (
        select(*labelled)
        .select_from(Study)
        .where(*where)
        .group_by(Study.patient_key)
        .order_by(Study.patient_key)
    )


def _patient_studies() -> Any:
    other = aliased(Study)
    return (
        select(func.count(other.id)).where(other.patient_key == Study.patient_key).scalar_subquery()
    )


def _patient_series() -> Any:
    other = aliased(Study)
    return (
        select(func.count(Series.id))
        .join(other, other.id == Series.study_id)
        .where(other.patient_key == Study.patient_key)
        .scalar_subquery()
    )


def _patient_instances() -> Any:
    other = aliased(Study)
    return (
        select(func.count())
        .select_from(Instance)
        .join(Series, Series.id == Instance.series_id)
        .join(other, other.id == Series.study_id)
        .where(other.patient_key == Study.patient_key)
        .scalar_subquery()
    )


def _study_series() -> Any:
    return select(func.count(Series.id)).where(Series.study_id == Study.id).scalar_subquery()


def _study_instances() -> Any:
    return (
        select(func.count())
        .select_from(Instance)
        .join(Series, Series.id == Instance.series_id)
        .where(Series.study_id == Study.id)
        .scalar_subquery()
    )


def _study_modalities() -> Any:
    """Every series' modality joined by ',' (deduplicated and sorted by the caller)."""
    return (
        select(func.aggregate_strings(Series.modality, ","))
        .where(Series.study_id == Study.id)
        .scalar_subquery()
    )


def _series_instances() -> Any:
    return (
        select(func.count())
        .select_from(Instance)
        .where(Instance.series_id == Series.id)
        .correlate(Series)
        .scalar_subquery()
    )


_COMPUTED_BUILDERS = {
    "NumberOfPatientRelatedStudies": _patient_studies,
    "NumberOfPatientRelatedSeries": _patient_series,
    "NumberOfPatientRelatedInstances": _patient_instances,
    "NumberOfStudyRelatedSeries": _study_series,
    "NumberOfStudyRelatedInstances": _study_instances,
    "ModalitiesInStudy": _study_modalities,
    "NumberOfSeriesRelatedInstances": _series_instances,
}
