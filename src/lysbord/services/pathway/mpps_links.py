"""Which procedures a performed step performs: resolving its scheduled steps, and the links.

A Modality Performed Procedure Step names the scheduled steps it performed in its
Scheduled Step Attributes Sequence (PS3.3 C.4.13): one item for the usual case,
one per scheduled step when one acquisition performs several requested procedures
(IHE SWF group case). ``performed_step_procedures`` holds one row per procedure;
``performed_steps.procedure_id`` keeps the first one, so a step with no procedure
still reads as unmatched there. Nothing here commits: ``services/pathway/mpps.py`` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from lysbord.domain.errors import Conflict, Msg
from lysbord.services.core.events import record
from lysbord.store.archive_models import PerformedStep, PerformedStepProcedure
from lysbord.store.models import Procedure, Referral

Link = PerformedStepProcedure


@dataclass(frozen=True, slots=True)
class ScheduledRef:
    """One item of the Scheduled Step Attributes Sequence: which booked step was done."""

    accession: str = ""
    study_uid: str = ""
    step_id: str = ""
    requested_procedure_id: str = ""

    def label(self) -> str:
        return f"{self.accession or '-'}/{self.step_id or '-'}/{self.study_uid or '-'}"


@dataclass(frozen=True, slots=True)
class Resolved:
    """The procedures the items name (distinct, in item order) and the items naming none."""

    procedures: list[Procedure]
    unresolved: list[ScheduledRef]

    @property
    def unmatched(self) -> Msg | None:
        """Why a person must look at the step; None when every item named a procedure."""
        if self.procedures and not self.unresolved:
            return None
        if not self.unresolved:
            return Msg("no procedure for accession/step/study (none given)")
        named = ", ".join(r.label() for r in self.unresolved)
        return Msg("no procedure for accession/step/study {named}", named=named)


def resolve(s: Session, refs: Sequence[ScheduledRef]) -> Resolved:
    """Every procedure the items name, locked in id order (no deadlock between two scanners).

    The items must name one patient's procedures: one acquisition is of one patient,
    so items naming two patients are a Conflict (the scanner picked a wrong entry).
    """
    ids: list[int] = []
    unresolved: list[ScheduledRef] = []
    for ref in refs:
        found = _procedure_id(s, ref)
        if found is None:
            unresolved.append(ref)
        elif found not in ids:
            ids.append(found)
    if not ids:
        return Resolved([], unresolved)
    stmt = select(Procedure).where(Procedure.id.in_(ids)).order_by(Procedure.id)
    locked = {p.id: p for p in s.scalars(stmt.with_for_update())}
    procedures = [locked[i] for i in ids]
    _one_patient(s, procedures)
    return Resolved(procedures, unresolved)


def link(s: Session, step: PerformedStep, found: Resolved, *, actor: str) -> None:
    """Tie a flushed step to every procedure it performs; record what named none."""
    s.add_all(Link(performed_step_id=step.id, procedure_id=p.id) for p in found.procedures)
    if step.unmatched_reason is not None:
        record(
            s,
            "mpps.unmatched",
            actor=actor,
            at=step.created_at,
            reason=step.unmatched_reason,
            reason_message=step.unmatched_message,
            mpps_uid=step.mpps_uid,
        )


def linked(s: Session, step: PerformedStep) -> list[Procedure]:
    """The step's procedures, locked in id order."""
    stmt = (
        select(Procedure)
        .join(Link, Link.procedure_id == Procedure.id)
        .where(Link.performed_step_id == step.id)
        .order_by(Procedure.id)
    )
    return list(s.scalars(stmt.with_for_update(of=Procedure)))


def accessions(s: Session, step_ids: Sequence[int]) -> dict[int, list[str]]:
    """The accessions each step performs, in procedure id order: one query for a page."""
    stmt = (
        select(Link.performed_step_id, Procedure.accession)
        .join(Link, Link.procedure_id == Procedure.id)
        .where(Link.performed_step_id.in_(step_ids))
        .order_by(Procedure.id)
    )
    found: dict[int, list[str]] = {i: [] for i in step_ids}
    for step_id, accession in s.execute(stmt).tuples():
        if accession is not None:
            found[step_id].append(accession)
    return found


def other_statuses(s: Session, step: PerformedStep, procedure: Procedure) -> list[str]:
    """The status of every other step that performs this procedure."""
    stmt = (
        select(PerformedStep.status)
        .join(Link, Link.performed_step_id == PerformedStep.id)
        .where(Link.procedure_id == procedure.id, PerformedStep.id != step.id)
    )
    return list(s.scalars(stmt))


def _procedure_id(s: Session, ref: ScheduledRef) -> int | None:
    """The procedure one item names: accession (= requested procedure and step id), then UID."""
    for column, value in (
        (Procedure.accession, ref.accession),
        (Procedure.accession, ref.requested_procedure_id),
        (Procedure.accession, ref.step_id),
        (Procedure.study_uid, ref.study_uid),
    ):
        if value:
            found = s.scalar(select(Procedure.id).where(column == value))
            if found is not None:
                return found
    return None


def _one_patient(s: Session, procedures: Sequence[Procedure]) -> None:
    referrals = {p.referral_id for p in procedures}
    patients = s.scalars(select(Referral.patient_id).where(Referral.id.in_(referrals))).all()
    if len(set(patients)) > 1:
        named = ", ".join(p.accession or str(p.id) for p in procedures)
        raise Conflict(Msg("scheduled steps name different patients ({named})", named=named))
