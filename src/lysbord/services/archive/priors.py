"""A patient's images from every site of the region, and the priors of a procedure.

The point of one regional archive: a radiologist at one hospital sees what was taken
at every other. A patient's studies are found by the patient's record (and every record
merged into it, and numbers it had before it was registered: ``studies.list_studies``),
each with the site that produced it and a link that opens it in the viewer.

"Same body part" is our rule, documented here because a radiologist relies on it:
a study's regions are its series' BodyPartExamined values and its linked procedure's
catalogue body part, each widened to the coarse regions it covers (``COVERS``:
composite DICOM terms such as CHESTABDOMEN cover CHEST and ABDOMEN; organ terms name
their region, HEART is CHEST, LIVER is ABDOMEN). A study is a prior of a procedure
when it is the same patient's, is not the procedure's own study (or, without one, its
group case's: services/archive/grouped.py; and, once that has arrived, was made before it),
and its regions overlap those of the procedure's code, whatever the modality: a chest
X-ray is a relevant prior for a CT of the thorax. A study
with no body part at all cannot be placed, so it is never offered as a prior; it still
appears in the patient's list. Newest first, the newest MAX_STUDIES of the patient.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from lysbord.services.archive import grouped, studies
from lysbord.services.archive.studies import StudyView
from lysbord.services.archive.views import RegionStudy
from lysbord.services.core.context import Context
from lysbord.services.people.views import primary_identifiers
from lysbord.store.archive_models import Series, Study
from lysbord.store.models import Procedure, ProcedureCode
from lysbord.store.queries import patient_by_identifier, procedure_by_accession

VIEWER = "/viewer/viewer"
COMPARE = "&hangingprotocolId=@ohif/hpCompare"
MAX_STUDIES = 500

_HEAD, _NECK, _CHEST = frozenset({"HEAD"}), frozenset({"NECK"}), frozenset({"CHEST"})
_ABDOMEN, _PELVIS = frozenset({"ABDOMEN"}), frozenset({"PELVIS"})
#: Body part terms (DICOM PS3.16 Annex L and our catalogue) -> the regions they cover;
#: a term not listed covers itself.
COVERS: dict[str, frozenset[str]] = {
    "CHESTABDOMEN": _CHEST | _ABDOMEN,
    "CHESTABDPELVIS": _CHEST | _ABDOMEN | _PELVIS,
    "ABDOMENPELVIS": _ABDOMEN | _PELVIS,
    "ABDPELV": _ABDOMEN | _PELVIS,
    "HEADNECK": _HEAD | _NECK,
    "BRAIN": _HEAD,
    "SKULL": _HEAD,
    "THORAX": _CHEST,
    "LUNG": _CHEST,
    "HEART": _CHEST,
    "THYROID": _NECK,
    "LIVER": _ABDOMEN,
    "KIDNEY": _ABDOMEN,
    "PANCREAS": _ABDOMEN,
    "GALLBLADDER": _ABDOMEN,
    "PROSTATE": _PELVIS,
    "BLADDER": _PELVIS,
    "UTERUS": _PELVIS,
    "SPINE": frozenset({"CSPINE", "TSPINE", "LSPINE"}),
}


def regions(body_parts: Iterable[str]) -> frozenset[str]:
    """The coarse regions some body part terms cover (empty: unknown)."""
    found: set[str] = set()
    for part in body_parts:
        term = part.strip().upper().replace(" ", "")
        if term:
            found |= COVERS.get(term, {term})
    return frozenset(found)


def viewer_url(*study_uids: str) -> str:
    """Where the viewer opens these studies; with priors, OHIF's compare layout shows the
    first (the current study) beside the second (the newest prior)."""
    url = f"{VIEWER}?StudyInstanceUIDs={','.join(study_uids)}"
    return url + COMPARE if len(study_uids) > 1 else url


def patient_studies(ctx: Context, cpr: str) -> list[RegionStudy]:
    """The patient's studies from every site, newest first; UnknownPatient if no such number."""
    with ctx.uow(readonly=True) as uow:
        patient = patient_by_identifier(uow.session, cpr.strip().replace("-", "").upper())
        number = primary_identifiers(uow.session, [patient.id])[patient.id]
    return _region_studies(ctx, number)


def of_procedure(ctx: Context, accession: str) -> tuple[str | None, list[RegionStudy]]:
    """The viewer link of the procedure's study with its priors, and the priors themselves.

    The link is None until the procedure's images have arrived; a procedure of a group
    case without a study of its own opens the group's (``services/archive/grouped.py``).
    """
    with ctx.uow(readonly=True) as uow:
        s = uow.session
        procedure, referral = procedure_by_accession(s, accession)
        wanted = regions([s.get_one(ProcedureCode, procedure.code).body_part])
        number = primary_identifiers(s, [referral.patient_id]).get(referral.patient_id, "")
        own = s.scalars(
            select(Study)
            .where(or_(Study.procedure_id == procedure.id, Study.study_uid == procedure.study_uid))
            .order_by(Study.id)
        ).first() or _shared(s, procedure.id)
        mine = (own.study_uid, own.study_date, own.study_time) if own else None
    found = [
        st
        for st in _region_studies(ctx, number)
        if wanted & regions(st.body_parts)
        and (
            mine is None or (st.study_uid != mine[0] and (st.study_date, st.study_time) < mine[1:])
        )
    ]
    if mine is None:
        return None, found
    return viewer_url(mine[0], *(st.study_uid for st in found)), found


def _shared(s: Session, procedure_id: int) -> Study | None:
    """The study of the procedure's group case, when it has none of its own."""
    found = grouped.studies_of(s, [procedure_id]).get(procedure_id)
    return s.get(Study, found.study_id) if found else None


def _region_studies(ctx: Context, number: str) -> list[RegionStudy]:
    if not number:
        return []
    flt = studies.StudyFilter(cpr=number, limit=MAX_STUDIES)
    views, _ = studies.list_studies(ctx, flt)
    with ctx.uow(readonly=True) as uow:
        parts, codes = _body_parts(uow.session, [v.study_uid for v in views])
    return [_view(v, parts[v.study_uid], codes.get(v.study_uid)) for v in views]


def _body_parts(
    s: Session, uids: Sequence[str]
) -> tuple[dict[str, set[str]], dict[str, tuple[str, str]]]:
    """Series body parts per study, and each linked study's procedure code and body part."""
    parts: dict[str, set[str]] = defaultdict(set)
    rows = s.execute(
        select(Study.study_uid, Series.body_part)
        .join(Series, Series.study_id == Study.id)
        .where(Study.study_uid.in_(uids), Series.body_part != "")
        .distinct()
    ).tuples()
    for uid, part in rows:
        parts[uid].add(part.strip().upper())
    linked = s.execute(
        select(Study.study_uid, ProcedureCode.code, ProcedureCode.body_part)
        .join(Procedure, Procedure.id == Study.procedure_id)
        .join(ProcedureCode, ProcedureCode.code == Procedure.code)
        .where(Study.study_uid.in_(uids))
    ).tuples()
    return parts, {uid: (code, part) for uid, code, part in linked}


def _view(v: StudyView, parts: set[str], code: tuple[str, str] | None) -> RegionStudy:
    body_parts = parts | ({code[1].upper()} if code and code[1] else set())
    return RegionStudy(
        study_uid=v.study_uid,
        study_date=v.study_date,
        study_time=v.study_time,
        description=v.description,
        modalities=v.modalities,
        body_parts=sorted(body_parts),
        site=v.site,
        accession=v.accession,
        procedure_code=code[0] if code else None,
        series_count=v.series_count,
        instance_count=v.instance_count,
        viewer_url=viewer_url(v.study_uid),
    )
