"""What archive use cases hand back: a study's counts and summary, a study of the region."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lysbord.services.archive import grouped
from lysbord.store.archive_models import Instance, Series
from lysbord.store.models import Procedure


@dataclass(frozen=True, slots=True)
class StudySummary:
    """The images a procedure has, enough to say "they are here" without opening them."""

    study_uid: str
    modalities: list[str]
    series_count: int
    instance_count: int
    received_at: datetime
    shared_from: str | None = None  # a group case's study: the accession it is linked to


@dataclass(frozen=True, slots=True)
class StudyCounts:
    modalities: list[str]
    series_count: int
    instance_count: int


@dataclass(frozen=True, slots=True)
class RegionStudy:
    """A study of the patient from any site of the region, with where to view it."""

    study_uid: str
    study_date: str
    study_time: str
    description: str
    modalities: list[str]
    body_parts: list[str]
    site: str | None
    accession: str
    procedure_code: str | None
    series_count: int
    instance_count: int
    viewer_url: str


def study_counts(session: Session, study_ids: Collection[int]) -> dict[int, StudyCounts]:
    """Modalities, series and instances of many studies in two grouped queries."""
    ids = set(study_ids)
    series = session.execute(
        select(Series.study_id, Series.modality, func.count(Series.id))
        .where(Series.study_id.in_(ids))
        .group_by(Series.study_id, Series.modality)
    ).tuples()
    modalities: dict[int, set[str]] = defaultdict(set)
    series_count: dict[int, int] = defaultdict(int)
    for study_id, modality, n in series:
        series_count[study_id] += n
        if modality:
            modalities[study_id].add(modality)
    instances = session.execute(
        select(Series.study_id, func.count(Instance.id))
        .join(Instance, Instance.series_id == Series.id)
        .where(Series.study_id.in_(ids))
        .group_by(Series.study_id)
    ).tuples()
    instance_count = dict(instances.all())
    return {
        i: StudyCounts(sorted(modalities[i]), series_count[i], instance_count.get(i, 0))
        for i in ids
    }


def study_summaries(session: Session, procedure_ids: Sequence[int]) -> dict[int, StudySummary]:
    """The study of each procedure that has one: its own (the first, should there be more),
    else its group case's (``services/archive/grouped.py``), naming the procedure it came with."""
    found = grouped.studies_of(session, procedure_ids)
    counts = study_counts(session, [f.study_id for f in found.values()])
    owners = {f.procedure_id for pid, f in found.items() if f.procedure_id != pid}
    accessions = dict(
        session.execute(select(Procedure.id, Procedure.accession).where(Procedure.id.in_(owners)))
        .tuples()
        .all()
    )
    return {
        pid: StudySummary(
            f.study_uid,
            counts[f.study_id].modalities,
            counts[f.study_id].series_count,
            counts[f.study_id].instance_count,
            f.received_at,
            accessions.get(f.procedure_id) if f.procedure_id != pid else None,
        )
        for pid, f in found.items()
    }
