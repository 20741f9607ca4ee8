"""The images of a group case count for every procedure the acquisition performed.

IHE RAD TF-1 SWF "Presentation of Grouped Procedures": one acquisition performs
several requested procedures (CT thorax and CT abdomen; one MPPS links both, see
``services/pathway/mpps_links.py``) and produces one study, which reconciliation links to the
one procedure whose accession or Study Instance UID it carries
(``studies.procedure_id``). The images are shared: every other procedure of a
performed step that links that procedure has its images too, so it reaches the
reading worklist, where each requested procedure still gets its own report.

The rule, whichever comes first:

* a study is linked to procedure P (``reconcile.link_study``): each other procedure of
  any step linking P that has no images yet gets ``images_received_at`` and a
  ``procedure.images-received`` event naming the study and P's accession;
* a step links procedures one of which already has its study (``mpps.start_step``):
  the others get it then, the same way;
* the study is taken off P (``reconcile.unlink_study``): a procedure of P's group
  whose group then holds no study waits for images again.

"The study of a procedure" is its own linked study, else one linked to a procedure
of its group (``studies_of``). Nothing here commits; callers hold the procedure's
row lock (taken by ``reconcile.refusal`` and ``mpps_links.resolve``), which orders a
study arriving against an MPPS linking its procedure.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Select, Subquery, and_, select
from sqlalchemy.orm import Session, aliased

from lysbord.domain.workflow import ProcedureState
from lysbord.services.core.events import record
from lysbord.store.archive_models import PerformedStepProcedure as Link
from lysbord.store.archive_models import Study
from lysbord.store.models import Procedure, Referral

GROUP = "group case"


class LinkedStudy(NamedTuple):
    """A procedure's study: which one, and the procedure it is linked to (maybe another)."""

    study_id: int
    study_uid: str
    received_at: datetime
    procedure_id: int


def pairs() -> Subquery:
    """(procedure_id, mate_id): two procedures one performed step links, in both orders."""
    mine, theirs = aliased(Link), aliased(Link)
    return (
        select(mine.procedure_id.label("procedure_id"), theirs.procedure_id.label("mate_id"))
        .join(
            theirs,
            and_(
                theirs.performed_step_id == mine.performed_step_id,
                theirs.procedure_id != mine.procedure_id,
            ),
        )
        .subquery("pairs")
    )


def mates(s: Session, procedure_ids: Collection[int]) -> dict[int, set[int]]:
    """For each procedure, the other procedures of every performed step that links it."""
    if not procedure_ids:
        return {}
    pair = pairs()
    rows = s.execute(
        select(pair.c.procedure_id, pair.c.mate_id).where(
            pair.c.procedure_id.in_(set(procedure_ids))
        )
    ).tuples()
    found: dict[int, set[int]] = {}
    for procedure_id, mate in rows:
        found.setdefault(procedure_id, set()).add(mate)
    return found


def studies_of(s: Session, procedure_ids: Collection[int]) -> dict[int, LinkedStudy]:
    """Each procedure's study: its own (the first), else the first of its group's."""
    wanted = set(procedure_ids)
    groups = mates(s, wanted)
    candidates = wanted.union(*groups.values())
    rows = s.execute(
        select(Study.procedure_id, Study.id, Study.study_uid, Study.received_at)
        .where(Study.procedure_id.in_(candidates))
        .order_by(Study.id)
    ).tuples()
    first: dict[int, LinkedStudy] = {}
    for procedure_id, study_id, uid, received_at in rows:
        if procedure_id is not None and procedure_id not in first:
            first[procedure_id] = LinkedStudy(study_id, uid, received_at, procedure_id)
    found = {}
    for pid in wanted:
        shared = (first[m] for m in groups.get(pid, ()) if m in first)
        study = first.get(pid) or min(shared, key=_by_id, default=None)
        if study is not None:
            found[pid] = study
    return found


def share_images(
    s: Session, procedure: Procedure, study_uid: str, *, actor: str, at: datetime
) -> None:
    """The study linked to ``procedure`` is also its group's images: mark those without."""
    ids = mates(s, [procedure.id]).get(procedure.id)
    if not ids:
        return
    waiting = select(Procedure).where(
        Procedure.id.in_(ids),
        Procedure.images_received_at.is_(None),
        Procedure.state != ProcedureState.CANCELLED,
    )
    _mark(
        s,
        waiting,
        at,
        "procedure.images-received",
        actor,
        at,
        None,
        study_uid=study_uid,
        matched_by=GROUP,
        shared_from=procedure.accession,
    )


def share_linked(s: Session, procedures: Sequence[Procedure], *, actor: str, at: datetime) -> None:
    """A step now links these procedures: if one already has its study, the others share it."""
    if len(procedures) < 2:
        return
    row = s.execute(
        select(Study.procedure_id, Study.study_uid)
        .where(Study.procedure_id.in_([p.id for p in procedures]))
        .order_by(Study.id)
        .limit(1)
    ).first()
    if row is not None:
        owner = next(p for p in procedures if p.id == row.procedure_id)
        share_images(s, owner, row.study_uid, actor=actor, at=at)


def unshare_images(
    s: Session, procedure: Procedure, study_uid: str, *, actor: str, at: datetime, reason: str
) -> None:
    """The study left ``procedure``: a procedure of its group left with no study waits again."""
    ids = mates(s, [procedure.id]).get(procedure.id)
    if not ids:
        return
    s.flush()
    still = studies_of(s, ids)
    marked = select(Procedure).where(
        Procedure.id.in_(ids - still.keys()), Procedure.images_received_at.is_not(None)
    )
    _mark(
        s,
        marked,
        None,
        "procedure.images-unlinked",
        actor,
        at,
        reason,
        study_uid=study_uid,
        shared_from=procedure.accession,
    )


def missing_shared_images(s: Session) -> Iterator[tuple[str | None, str, str | None]]:
    """(accession, study UID, its procedure's accession) of each procedure that should
    share a group's study but has no images received: the rule ``lysbord check`` proves."""
    pair, owner = pairs(), aliased(Procedure)
    stmt = (
        select(Procedure.accession, Study.study_uid, owner.accession)
        .join(pair, pair.c.procedure_id == Procedure.id)
        .join(Study, Study.procedure_id == pair.c.mate_id)
        .join(owner, owner.id == pair.c.mate_id)
        .where(
            Procedure.images_received_at.is_(None),
            Procedure.state != ProcedureState.CANCELLED,
        )
        .distinct()
    )
    yield from s.execute(stmt).tuples()


def _by_id(found: LinkedStudy) -> int:
    return found.study_id


def _mark(
    s: Session,
    chosen: Select[tuple[Procedure]],
    value: datetime | None,
    kind: str,
    actor: str,
    at: datetime,
    reason: str | None,
    **data: str | None,
) -> None:
    """Set (or clear) the images mark of each chosen procedure, locked in id order, each
    with its event."""
    for procedure in s.scalars(chosen.order_by(Procedure.id).with_for_update()):
        procedure.images_received_at = value
        referral = s.get_one(Referral, procedure.referral_id)
        record(
            s,
            kind,
            actor=actor,
            at=at,
            patient_id=referral.patient_id,
            referral_id=referral.id,
            procedure_id=procedure.id,
            reason=reason,
            **data,
        )
