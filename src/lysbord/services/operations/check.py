"""Proving the invariants over the whole database: silent failures made loud.

Each rule is a query for its counterexamples; an empty result is the proof. The
archive's rules read every stored blob (``blobs=False`` skips that one, slow, rule);
an unresolved instance conflict is a rule that fails, because it needs a person.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from lysbord.domain.workflow import TERMINAL, ProcedureState
from lysbord.services.core.context import Context
from lysbord.services.operations.check_archive import (
    BLOBS,
    CONFLICTS,
    GROUP_SHARES,
    STUDY_AGREES,
    STUDY_PLACED,
    Progress,
    blobs_intact,
    conflicts_resolved,
    group_shares_images,
    merged_patients_hold_no_studies,
    study_agrees_with_procedure,
    study_placed,
)
from lysbord.services.pathway.tracker import placed_in_sql, placements
from lysbord.store.models import Appointment, Event, Patient, Procedure, Referral, Site

TERMINAL_STATES = [s.value for s in TERMINAL]
MUST_HAVE_APPOINTMENT = [ProcedureState.BOOKED.value, ProcedureState.ARRIVED.value]
MUST_NOT_HAVE_APPOINTMENT = [
    s.value
    for s in (
        ProcedureState.REQUESTED,
        ProcedureState.NO_SHOW,
        ProcedureState.ON_HOLD,
        ProcedureState.CANCELLED,
    )
]
SHOWN = 20  # counterexamples named per rule; the count is always complete


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    count: int
    examples: list[str]


Rule = Callable[[Session, Context], Iterator[str]]


def open_referral_in_one_queue(s: Session, ctx: Context) -> Iterator[str]:
    for p in placements(s, ctx.now()):
        if p.queue is None:
            yield f"referral {p.referral_id} is open but every procedure has ended"


def board_places_as_domain(s: Session, ctx: Context) -> Iterator[str]:
    """On PostgreSQL the two readings see two snapshots: a referral written in between
    disagrees once, so only one that disagrees in two rounds is a counterexample."""
    first = _misplaced(s, ctx.now())
    again = _misplaced(s, ctx.now()) if first else {}
    for rid in sorted(first.keys() & again.keys()):
        yield again[rid]


def _misplaced(s: Session, now: datetime) -> dict[int, str]:
    by_sql = {p.referral_id: p for p in placed_in_sql(s, now)}
    found = {}
    for p in placements(s, now):
        if by_sql.pop(p.referral_id, None) != p:
            found[p.referral_id] = f"referral {p.referral_id} is counted otherwise than placed"
    return found | {rid: f"referral {rid} is counted on the board but not placed" for rid in by_sql}


def open_referral_has_procedures(s: Session, ctx: Context) -> Iterator[str]:
    has_any = select(Procedure.id).where(Procedure.referral_id == Referral.id).exists()
    stmt = select(Referral.id).where(Referral.closed_at.is_(None), ~has_any)
    for rid in s.scalars(stmt):
        yield f"referral {rid} is open with no procedure"


def closed_referral_ended(s: Session, ctx: Context) -> Iterator[str]:
    stmt = (
        select(Referral.id, Procedure.accession, Procedure.state)
        .join(Procedure, Procedure.referral_id == Referral.id)
        .where(Referral.closed_at.is_not(None), Procedure.state.not_in(TERMINAL_STATES))
    )
    for rid, acc, state in s.execute(stmt):
        yield f"referral {rid} is closed but procedure {acc} is {state}"
    no_reason = select(Referral.id).where(
        Referral.closed_at.is_not(None), func.coalesce(Referral.close_reason, "") == ""
    )
    for rid in s.scalars(no_reason):
        yield f"referral {rid} is closed without a reason"


def booked_has_one_appointment(s: Session, ctx: Context) -> Iterator[str]:
    active = (
        select(func.count())
        .where(Appointment.procedure_id == Procedure.id, Appointment.active.is_(True))
        .scalar_subquery()
    )
    missing = select(Procedure.accession, Procedure.state).where(
        Procedure.state.in_(MUST_HAVE_APPOINTMENT), active != 1
    )
    for acc, state in s.execute(missing):
        yield f"procedure {acc} is {state} without exactly one active appointment"
    stray = select(Procedure.accession, Procedure.state).where(
        Procedure.state.in_(MUST_NOT_HAVE_APPOINTMENT), active > 0
    )
    for acc, state in s.execute(stray):
        yield f"procedure {acc} is {state} but still holds a slot"


def no_double_booking(s: Session, ctx: Context) -> Iterator[str]:
    stmt = (
        select(Appointment.slot_id, func.count())
        .where(Appointment.active.is_(True))
        .group_by(Appointment.slot_id)
        .having(func.count() > 1)
    )
    for slot_id, n in s.execute(stmt):
        yield f"slot {slot_id} has {n} active appointments"


def state_matches_history(s: Session, ctx: Context) -> Iterator[str]:
    """The current state is the end of the recorded history: no change without an event."""
    last = (
        select(Event.procedure_id, func.max(Event.id).label("id"))
        .where(Event.to_state.is_not(None), Event.procedure_id.is_not(None))
        .group_by(Event.procedure_id)
        .subquery()
    )
    ev = aliased(Event)
    stmt = (
        select(Procedure.accession, Procedure.state, ev.to_state)
        .outerjoin(last, last.c.procedure_id == Procedure.id)
        .outerjoin(ev, ev.id == last.c.id)
        .where(func.coalesce(ev.to_state, "") != Procedure.state)
    )
    for acc, state, recorded in s.execute(stmt):
        yield f"procedure {acc} is {state} but its history ends in {recorded or 'nothing'}"


def merged_patients_hold_nothing(s: Session, ctx: Context) -> Iterator[str]:
    stmt = (
        select(Patient.id, func.count(Referral.id))
        .join(Referral, and_(Referral.patient_id == Patient.id))
        .where(Patient.merged_into_id.is_not(None))
        .group_by(Patient.id)
    )
    for pid, n in s.execute(stmt):
        yield f"merged patient {pid} still holds {n} referrals"


def site_has_contact(s: Session, ctx: Context) -> Iterator[str]:
    """Every SIU names the site's contact (SCH-16, required): a site without one (made
    before migration 0011) would send appointments a strict receiver refuses."""
    missing = or_(
        func.coalesce(Site.contact_name, "") == "", func.coalesce(Site.contact_phone, "") == ""
    )
    for code in s.scalars(select(Site.code).where(missing).order_by(Site.code)):
        yield f"site {code} has no contact name and telephone for its appointments"


RULES: dict[str, Rule] = {
    "every open referral has a procedure": open_referral_has_procedures,
    "every open referral is in exactly one queue": open_referral_in_one_queue,
    "the board counts each referral where the domain places it": board_places_as_domain,
    "every closed referral has ended, with a reason": closed_referral_ended,
    "booked procedures hold exactly one slot, others none": booked_has_one_appointment,
    "no slot is booked twice": no_double_booking,
    "every state is the end of its recorded history": state_matches_history,
    "merged records hold no referrals": merged_patients_hold_nothing,
    "merged records hold no studies": merged_patients_hold_no_studies,
    "every site has a contact for its appointments": site_has_contact,
    STUDY_PLACED: study_placed,
    STUDY_AGREES: study_agrees_with_procedure,
    GROUP_SHARES: group_shares_images,
    CONFLICTS: conflicts_resolved,
    BLOBS: blobs_intact,
}


def run_checks(
    ctx: Context, *, blobs: bool = True, progress: Progress | None = None
) -> list[Finding]:
    """Every rule, with its count of counterexamples (zero means it holds).

    ``blobs=False`` leaves out the rule that reads every blob (then not in the findings);
    ``progress(done, total)`` is told how far that rule has come.
    """
    findings = []
    with ctx.uow(readonly=True) as uow:
        for name, rule in RULES.items():
            if rule is blobs_intact:
                if not blobs:
                    continue
                found = list(blobs_intact(uow.session, ctx, progress))
            else:
                found = list(rule(uow.session, ctx))
            findings.append(Finding(name, len(found), found[:SHOWN]))
    return findings
