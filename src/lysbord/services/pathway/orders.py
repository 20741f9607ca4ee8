"""Orders from an order placer (an EHR over HL7): new, change, cancel, discontinue, hold, release.

Each function works in the caller's transaction, so the HL7 inbox can commit the
change together with the message that asked for it. One order is one requested
procedure: our filler order number is its accession number, and the placer's own
number (ORC-2) is linked to it so the placer may name the order either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ClauseElement

from lysbord.domain.errors import DuplicateIdentifier, IllegalTransition, Msg, UnknownProcedure
from lysbord.domain.priorities import Priority, compute_deadlines
from lysbord.domain.workflow import ProcedureState
from lysbord.services.core.context import Context
from lysbord.services.core.events import record
from lysbord.services.pathway.procedures import Action, perform
from lysbord.services.pathway.referrals import NewReferral, Requested, receive_referral
from lysbord.store.db import CompiledOnce
from lysbord.store.hl7_models import Hl7OrderLink
from lysbord.store.models import Procedure, Referral
from lysbord.store.queries import procedure_by_accession, procedure_code

_LINKS = cast(Table, Hl7OrderLink.__table__)

#: States in which the requested examination itself may still be changed.
CODE_CHANGEABLE = frozenset({ProcedureState.REQUESTED, ProcedureState.ON_HOLD})


@dataclass(frozen=True, slots=True)
class PlacerId:
    """The placer's order number (EI: entity identifier and namespace)."""

    number: str
    namespace: str = ""


@dataclass(frozen=True, slots=True)
class OrderRef:
    """How a message names an order: ours (the accession), the placer's, or both."""

    placer: PlacerId
    filler: str = ""


@dataclass(frozen=True, slots=True)
class OrderChange:
    """What XO may change; None leaves it as it is."""

    code: str | None = None
    priority: Priority | None = None
    clinical_question: str | None = None
    requested_date: date | None = None
    protocol_days: int | None = None


def place(
    ctx: Context,
    s: Session,
    cmd: NewReferral,
    placers: Sequence[PlacerId],
    actor: str,
    now: datetime,
) -> list[Requested]:
    """A new referral with one procedure per order, each linked to its placer number."""
    procedures = receive_referral(ctx, s, cmd, actor, now).procedures
    conn = s.connection()
    for placer, procedure in zip(placers, procedures, strict=True):
        if not placer.number:
            continue
        link = {
            "placer_number": placer.number,
            "placer_namespace": placer.namespace,
            "procedure_id": procedure.id,
            "created_at": now,
        }
        if _INSERT_LINK.execute(conn, link).first() is None:  # the number was linked already
            raise DuplicateIdentifier(
                Msg("the placer order number is in use already"),
                field="placer_order_number",
                value=placer.number,
            )
    return procedures


def _link_unless_taken(dialect: str) -> ClauseElement:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id: no row back means the number is taken,
    learnt in the statement that links it (no look-up first, issue 4)."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(_LINKS).on_conflict_do_nothing(
        index_elements=[_LINKS.c.placer_namespace, _LINKS.c.placer_number]
    )
    return stmt.returning(_LINKS.c.id)


_INSERT_LINK = CompiledOnce(
    _link_unless_taken, ["placer_number", "placer_namespace", "procedure_id", "created_at"]
)


def find(s: Session, ref: OrderRef) -> tuple[Procedure, Referral]:
    """The order named, locked; the filler number (accession) wins when both are given."""
    if ref.filler:
        return procedure_by_accession(s, ref.filler, for_update=True)
    link = _link(s, ref.placer) if ref.placer.number else None
    if link is None:
        raise UnknownProcedure(
            Msg("no order has this placer order number"),
            field="placer_order_number",
            value=ref.placer.number,
        )
    procedure = s.get_one(Procedure, link.procedure_id, with_for_update=True)
    return procedure, s.get_one(Referral, procedure.referral_id)


def placer_of(s: Session, procedure_id: int) -> PlacerId | None:
    link = s.scalars(select(Hl7OrderLink).where(Hl7OrderLink.procedure_id == procedure_id)).first()
    return PlacerId(link.placer_number, link.placer_namespace) if link else None


def _link(s: Session, placer: PlacerId) -> Hl7OrderLink | None:
    stmt = select(Hl7OrderLink).where(
        Hl7OrderLink.placer_number == placer.number,
        Hl7OrderLink.placer_namespace == placer.namespace,
    )
    return s.scalars(stmt).first()


def end(
    s: Session,
    procedure: Procedure,
    referral: Referral,
    action: Action,
    reason: str,
    actor: str,
    now: datetime,
) -> None:
    """Cancel, hold, release or discontinue. A discontinue of an order not yet begun is
    a cancellation (HL7 DC asks the filler to stop; only an examination in progress can
    be discontinued in our workflow)."""
    if action == Action.DISCONTINUE and procedure.state != ProcedureState.IN_PROGRESS:
        action = Action.CANCEL
    perform(s, procedure, referral, action, actor, now, reason)


def change(
    ctx: Context,
    s: Session,
    procedure: Procedure,
    referral: Referral,
    cmd: OrderChange,
    actor: str,
    now: datetime,
) -> None:
    """XO: a new examination code (before booking), priority, deadline or question."""
    if cmd.code is not None and cmd.code != procedure.code:
        _change_code(s, procedure, referral, cmd.code, actor, now)
    if cmd.priority is not None or cmd.requested_date or cmd.protocol_days:
        priority = cmd.priority or Priority(referral.priority)
        deadlines = compute_deadlines(
            priority,
            referral.received_at,
            ctx.settings.deadlines.policy(),
            requested_date=cmd.requested_date,
            protocol_days=cmd.protocol_days,
        )
        referral.priority = priority.value
        referral.due_at, referral.notify_by = deadlines.due_at, deadlines.notify_by
        referral.earliest_at = deadlines.earliest_at
    if cmd.clinical_question and cmd.clinical_question.strip():
        referral.clinical_question = cmd.clinical_question.strip()
    record(
        s,
        "referral.changed",
        actor=actor,
        at=now,
        patient_id=referral.patient_id,
        referral_id=referral.id,
        procedure_id=procedure.id,
        priority=referral.priority,
        due_at=referral.due_at.isoformat(),
    )


def _change_code(
    s: Session, procedure: Procedure, referral: Referral, code: str, actor: str, now: datetime
) -> None:
    if ProcedureState(procedure.state) not in CODE_CHANGEABLE:
        raise IllegalTransition(
            Msg(
                "the examination of a procedure {state} cannot change (only before it is booked)",
                state=ProcedureState(procedure.state),
            ),
            field="code",
            value=code,
        )
    new = procedure_code(s, code, field="code").code
    record(
        s,
        "procedure.code-changed",
        actor=actor,
        at=now,
        patient_id=referral.patient_id,
        referral_id=referral.id,
        procedure_id=procedure.id,
        old=procedure.code,
        new=new,
    )
    procedure.code, procedure.updated_at = new, now
