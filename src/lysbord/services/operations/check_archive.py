"""The archive's invariants for ``lysbord check``: every study placed and agreeing with its
procedure, group cases sharing their images, no conflict left waiting, every blob intact."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from lysbord.services.archive import grouped
from lysbord.services.core.context import Context
from lysbord.store.archive_models import Instance, InstanceConflict, Series, Study
from lysbord.store.blobs import BlobStore
from lysbord.store.models import Event, Patient, Procedure, Referral

Progress = Callable[[int, int], None]  # (done, total)


BATCH = 1000


def merged_patients_hold_no_studies(s: Session, ctx: Context) -> Iterator[str]:
    stmt = (
        select(Patient.id, func.count(Study.id))
        .join(Study, Study.patient_id == Patient.id)
        .where(Patient.merged_into_id.is_not(None))
        .group_by(Patient.id)
    )
    for pid, n in s.execute(stmt):
        yield f"merged patient {pid} still holds {n} studies"


def study_placed(s: Session, ctx: Context) -> Iterator[str]:
    """Linked, or waiting in the unmatched queue with a reason, or assigned by a person."""
    assigned = _assigned_to_patient_only(s)
    stmt = select(Study.study_uid, Study.patient_id, Study.procedure_id, Study.unmatched_reason)
    loose = stmt.where(
        (
            Study.procedure_id.is_(None)
            & (func.trim(func.coalesce(Study.unmatched_reason, "")) == "")
        )
        | (Study.procedure_id.is_not(None) & Study.unmatched_reason.is_not(None))
    )
    for uid, patient_id, procedure_id, reason in s.execute(loose):
        if procedure_id is not None:
            yield f"study {uid} is linked to a procedure yet unmatched ({reason})"
        elif reason is not None:
            yield f"study {uid} is unmatched without a reason"
        elif patient_id is None or uid not in assigned:
            yield (
                f"study {uid} has no procedure, is not in the unmatched queue,"
                " and no person assigned it to a patient"
            )


def _assigned_to_patient_only(s: Session) -> set[str]:
    """Studies whose last assignment by a person named a patient, not a procedure."""
    last: dict[str, str | None] = {}
    for data in s.scalars(
        select(Event.data).where(Event.kind == "study.assigned").order_by(Event.id)
    ):
        last[str(data.get("study_uid"))] = data.get("to_accession")
    return {uid for uid, accession in last.items() if accession is None}


def study_agrees_with_procedure(s: Session, ctx: Context) -> Iterator[str]:
    stmt = (
        select(Study.study_uid, Study.patient_id, Procedure.accession, Referral.patient_id)
        .join(Procedure, Procedure.id == Study.procedure_id)
        .join(Referral, Referral.id == Procedure.referral_id)
        .where(func.coalesce(Study.patient_id, 0) != Referral.patient_id)
    )
    for uid, study_patient, acc, patient in s.execute(stmt):
        yield f"study {uid} is patient {study_patient}'s, its procedure {acc} patient {patient}'s"
    no_images = (
        select(Study.study_uid, Procedure.accession)
        .join(Procedure, Procedure.id == Study.procedure_id)
        .where(Procedure.images_received_at.is_(None))
    )
    for uid, acc in s.execute(no_images):
        yield f"procedure {acc} has study {uid} but no images received"
    several = (
        select(Procedure.accession, func.count(Study.id))
        .join(Study, Study.procedure_id == Procedure.id)
        .group_by(Procedure.id, Procedure.accession)
        .having(func.count(Study.id) > 1)
    )
    for acc, n in s.execute(several):
        yield f"procedure {acc} has {n} studies"


def group_shares_images(s: Session, ctx: Context) -> Iterator[str]:
    """IHE group case: a study linked to one procedure of a performed step is the images
    of every procedure the step links (services/archive/grouped.py), so none still waits
    for them."""
    for acc, uid, owner in grouped.missing_shared_images(s):
        yield f"procedure {acc} shares study {uid} of {owner} in a group case but has no images"


def conflicts_resolved(s: Session, ctx: Context) -> Iterator[str]:
    stmt = (
        select(InstanceConflict)
        .where(InstanceConflict.resolved_at.is_(None))
        .order_by(InstanceConflict.id)
    )
    for c in s.scalars(stmt):
        yield (
            f"instance {c.sop_instance_uid} came again with other content from AE"
            f" '{c.calling_ae}' at {c.received_at.isoformat()} (conflict {c.id})"
        )


def blobs_intact(s: Session, ctx: Context, progress: Progress | None = None) -> Iterator[str]:
    """Every indexed instance's (and kept conflict's) bytes are there, unchanged: sha256 again."""
    total = (s.scalar(select(func.count()).select_from(Instance)) or 0) + (
        s.scalar(select(func.count()).select_from(InstanceConflict)) or 0
    )
    root = ctx.settings.data_dir / "blobs"
    store = BlobStore(root) if total and root.is_dir() else None
    done = 0
    for what, key in _blobs(s):
        problem = store.verify(key) if store else f"missing (no blob store at {root})"
        if problem:
            yield f"{what}: blob {key}: {problem}"
        done += 1
        if progress and (done % 100 == 0 or done == total):
            progress(done, total)


def _blobs(s: Session) -> Iterator[tuple[str, str]]:
    """(what, blob key) of every instance, then every conflict, in batches by id."""
    last = 0
    while rows := s.execute(
        select(Instance.id, Instance.sop_instance_uid, Instance.blob_key, Study.study_uid)
        .join(Series, Series.id == Instance.series_id)
        .join(Study, Study.id == Series.study_id)
        .where(Instance.id > last)
        .order_by(Instance.id)
        .limit(BATCH)
    ).all():
        for row in rows:
            yield f"instance {row[1]} of study {row[3]}", row[2]
        last = rows[-1][0]
    for cid, key in s.execute(select(InstanceConflict.id, InstanceConflict.blob_key)):
        yield f"conflict {cid}", key


STUDY_PLACED = "every study is linked, unmatched with a reason, or assigned to a patient"


STUDY_AGREES = "a linked study is its procedure's patient's, and the procedure's only images"


GROUP_SHARES = "a group case's study counts as images received for each of its procedures"


CONFLICTS = "no instance conflict waits unresolved"


BLOBS = "every stored instance's blob exists and matches its sha256"
