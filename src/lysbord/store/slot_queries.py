"""The reads of booking: what a procedure needs and whether a slot is bookable (the search
for free slots is `free_slots`).

These run for every offer and every booking, so each is one round trip, and the Core
statements are compiled once (``CompiledOnce``): building and hashing them on every call
cost more than running them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    exists,
    or_,
    select,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from lysbord.domain.errors import Msg, SlotTaken, UnknownProcedure, UnknownSlot
from lysbord.store.db import CompiledOnce
from lysbord.store.models import (
    Appointment,
    Block,
    Procedure,
    ProcedureCode,
    Referral,
    Room,
    Site,
    Slot,
)

# PostgreSQL: FOR UPDATE NOWAIT found the row locked.
LOCK_NOT_AVAILABLE = "55P03"


@dataclass(frozen=True, slots=True)
class Need:
    """What a procedure asks of a slot, and when."""

    modality: str
    duration_minutes: int
    earliest_at: datetime | None
    due_at: datetime
    preferred_site_id: int | None


_CODE = ProcedureCode.code == Procedure.code
# Correlated subqueries, not a join: after waiting for a row lock PostgreSQL re-checks the
# locked row against the joined rows as they were, so a join on a code changed meanwhile
# would lose the procedure; a subquery is evaluated again with the new code.
_NEED = (
    select(ProcedureCode.modality).where(_CODE).scalar_subquery(),
    select(ProcedureCode.duration_minutes).where(_CODE).scalar_subquery(),
    Referral.earliest_at,
    Referral.due_at,
    Referral.preferred_site_id,
)
_BY_ACCESSION = Procedure.accession == bindparam("accession")
_NEED_STMT = CompiledOnce(
    lambda _: (
        select(*_NEED)
        .select_from(Procedure)
        .join(Referral, Referral.id == Procedure.referral_id)
        .where(_BY_ACCESSION)
    ),
    [],
)


def procedure_need(session: Session, accession: str) -> Need:
    row = _NEED_STMT.execute(session.connection(), {"accession": accession}).first()
    if row is None:
        raise _unknown_accession(accession)
    return Need(*row)


# Built once: SQLAlchemy memoizes an ORM statement's cache key on the object, and making
# it afresh for each booking cost more than its compiled-cache lookup saved.
_TO_BOOK_STMT = (
    select(Procedure, Referral, *_NEED)
    .join(Referral, Referral.id == Procedure.referral_id)
    .where(_BY_ACCESSION)
    .with_for_update(of=Procedure)
)


def procedure_to_book(session: Session, accession: str) -> tuple[Procedure, Referral, Need]:
    """The procedure (locked for its transition), its referral and its need, in one query."""
    row = session.execute(_TO_BOOK_STMT, {"accession": accession}).first()
    if row is None:
        raise _unknown_accession(accession)
    procedure, referral, *need = row
    return procedure, referral, Need(*need)


def _unknown_accession(accession: str) -> UnknownProcedure:
    return UnknownProcedure(
        Msg("no procedure has this accession number"), field="accession", value=accession
    )


def blocks_overlap(room_id: Any, site_id: Any, start: Any, end: Any) -> ColumnElement[bool]:
    return and_(
        Block.lifted_at.is_(None),
        or_(Block.room_id == room_id, Block.site_id == site_id),
        Block.start_at < end,
        Block.end_at > start,
    )


SLOT_TAKEN = exists().where(Appointment.slot_id == Slot.id, Appointment.active.is_(True))


@dataclass(frozen=True, slots=True)
class SlotFacts:
    """A slot with its room and site, and whether a block covers it or a booking holds it."""

    id: int
    start_at: datetime
    end_at: datetime
    minutes: int
    room_code: str
    room_name: str
    ae_title: str
    modality: str
    room_active: bool
    site_code: str
    site_name: str
    blocked_by: str | None
    taken: bool


def _slot_select(_dialect: str) -> Select[Any]:
    blocked_by = (
        select(Block.reason)
        .where(blocks_overlap(Room.id, Room.site_id, Slot.start_at, Slot.end_at))
        .limit(1)
        .scalar_subquery()
    )
    return (
        select(
            Slot.id,
            Slot.start_at,
            Slot.end_at,
            Slot.minutes,
            Room.code,
            Room.name,
            Room.ae_title,
            Room.modality,
            Room.active,
            Site.code,
            Site.name,
            blocked_by,
            SLOT_TAKEN,
        )  # fmt: skip
        .join(Room, Room.id == Slot.room_id)
        .join(Site, Site.id == Room.site_id)
        .where(Slot.id == bindparam("slot_id"))
        .with_for_update(of=Slot, nowait=True)
    )


_SLOT_STMT = CompiledOnce(_slot_select, [])


def slot_to_book(session: Session, slot_id: int) -> SlotFacts:
    """The slot, locked without waiting: a booker who finds it held by another transaction is
    told at once (SlotTaken) and can try the next offer, rather than queue behind the winner.

    The lock only shortens the race; the unique index on active appointments decides it.
    """
    try:
        row = _SLOT_STMT.execute(session.connection(), {"slot_id": slot_id}).first()
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE:
            raise SlotTaken(
                Msg("the slot is being booked by someone else just now"),
                field="slot_id",
                value=slot_id,
            ) from None
        raise
    if row is None:
        raise UnknownSlot(Msg("no such slot"), field="slot_id", value=slot_id)
    return SlotFacts(*row)
