"""Appending events and moving procedures, always in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from lysbord.domain.errors import InvalidValue, Msg
from lysbord.domain.workflow import ProcedureState, check_transition, needs_reason
from lysbord.services.core.outbox import on_event, triggers
from lysbord.store.models import Event, Procedure, Referral


def record(
    session: Session,
    kind: str,
    *,
    actor: str,
    at: datetime,
    patient_id: int | None = None,
    referral_id: int | None = None,
    procedure_id: int | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str | None = None,
    **data: Any,
) -> Event:
    """Append one event; it commits or rolls back with the change it describes,
    and so do the outbound messages it causes (services/core/outbox.py)."""
    event = Event(
        kind=kind,
        actor=actor,
        at=at,
        patient_id=patient_id,
        referral_id=referral_id,
        procedure_id=procedure_id,
        from_state=from_state,
        to_state=to_state,
        reason=reason,
        data=data,
    )
    session.add(event)
    on_event(session, event)
    return event


@dataclass(frozen=True, slots=True)
class NewEvent:
    """One event to append with ``record_many``; the fields of ``record``."""

    kind: str
    actor: str
    at: datetime
    patient_id: int | None = None
    referral_id: int | None = None
    procedure_id: int | None = None
    from_state: str | None = None
    to_state: str | None = None
    reason: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


_COLUMNS = tuple(f.name for f in fields(NewEvent))
_INSERT_EVENTS = insert(cast(Table, Event.__table__))  # built once: its cache key is kept


def record_many(session: Session, events: Sequence[NewEvent]) -> None:
    """Append several events in one statement (intake writes two or more at once).

    Events that cause outbound messages need their rows and outbox rows written
    together, so when any does, each goes through ``record`` instead, in order."""
    if any(triggers(e.kind, e.from_state, e.to_state) for e in events):
        for e in events:
            record(
                session,
                e.kind,
                actor=e.actor,
                at=e.at,
                patient_id=e.patient_id,
                referral_id=e.referral_id,
                procedure_id=e.procedure_id,
                from_state=e.from_state,
                to_state=e.to_state,
                reason=e.reason,
                **e.data,
            )
    elif events:
        session.flush()  # events recorded before these keep their place in the id order
        rows = [{name: getattr(e, name) for name in _COLUMNS} for e in events]
        session.connection().execute(_INSERT_EVENTS, rows)


def move(
    session: Session,
    procedure: Procedure,
    referral: Referral,
    target: ProcedureState,
    *,
    actor: str,
    at: datetime,
    reason: str | None = None,
    kind: str | None = None,
    **data: Any,
) -> None:
    """Apply one state-machine step and its event; refuse it if the machine says no."""
    current = ProcedureState(procedure.state)
    check_transition(current, target)
    if needs_reason(target) and not (reason and reason.strip()):
        raise InvalidValue(Msg("going to {target} needs a reason", target=target), field="reason")
    procedure.state = target.value
    procedure.updated_at = at
    record(
        session,
        kind or f"procedure.{target.value}",
        actor=actor,
        at=at,
        patient_id=referral.patient_id,
        referral_id=referral.id,
        procedure_id=procedure.id,
        from_state=current.value,
        to_state=target.value,
        reason=reason,
        **data,
    )
