"""Region-wide booking: find free slots, book, rebook, cancel.

No double booking, ever: the partial unique index on active appointments is the
rule; the checks before it only give a clearer answer in the common case. A lost
race surfaces as IntegrityError and is answered as SlotTaken.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError

from lysbord.domain.calendar import require_aware
from lysbord.domain.errors import (
    Conflict,
    InvalidValue,
    Msg,
    SlotTaken,
    SlotUnsuitable,
    UnknownAppointment,
)
from lysbord.domain.slots import check_slot_fits
from lysbord.domain.workflow import ProcedureState, check_transition
from lysbord.services.core.context import Context
from lysbord.services.core.events import move
from lysbord.services.pathway.views import AppointmentView
from lysbord.store.free_slots import SlotWindow, free_slots
from lysbord.store.models import Appointment, Procedure, Referral
from lysbord.store.queries import active_appointment, site_by_code
from lysbord.store.slot_queries import (
    Need,
    SlotFacts,
    procedure_need,
    procedure_to_book,
    slot_to_book,
)

MAX_OFFERS = 200
DEFAULT_HORIZON = timedelta(days=365)
MODALITY_FAMILIES = {"DX": ("DX", "CR"), "CR": ("CR", "DX")}
# The states in which a procedure holds an active appointment (as `lysbord check` demands).
_HOLDS_A_SLOT = frozenset({ProcedureState.BOOKED.value, ProcedureState.ARRIVED.value})


@dataclass(frozen=True, slots=True)
class SlotOffer:
    slot_id: int
    start_at: datetime
    end_at: datetime
    minutes: int
    room_code: str
    room_name: str
    modality: str
    site_code: str
    site_name: str
    within_deadline: bool
    preferred_site: bool


@dataclass(frozen=True, slots=True)
class SlotSearch:
    accession: str
    sites: Sequence[str] | None = None
    start_from: datetime | None = None
    start_before: datetime | None = None
    limit: int = 20


def find_slots(ctx: Context, q: SlotSearch) -> list[SlotOffer]:
    """Earliest fitting slots: within the deadline first, the preferred site first among them.

    One index-ordered scan per fitting room, merged and ranked in one statement, instead of
    one sort over a year of slots.
    """
    if not 1 <= q.limit <= MAX_OFFERS:
        raise InvalidValue(
            Msg("must be 1 to {max_offers}", max_offers=MAX_OFFERS), field="limit", value=q.limit
        )
    now = ctx.now()
    start_from = require_aware(q.start_from, "start_from") if q.start_from else None
    start_before = require_aware(q.start_before, "start_before") if q.start_before else None
    with ctx.db.search() as uow:  # book() checks the offer again
        s = uow.session
        need = procedure_need(s, q.accession)
        site_ids = [site_by_code(s, c, field="site").id for c in q.sites] if q.sites else None
        modalities = MODALITY_FAMILIES.get(need.modality, (need.modality,))
        # A slot starting at the very deadline is still within it (tracking.flags agrees).
        window = SlotWindow(
            min_minutes=need.duration_minutes,
            start_from=max(filter(None, (start_from, need.earliest_at, now))),
            start_before=start_before or now + DEFAULT_HORIZON,
            due_at=need.due_at,
            preferred_site_id=need.preferred_site_id,
        )
        found = free_slots(s, modalities, site_ids, window, q.limit)
    return [
        SlotOffer(
            f.id,
            f.start_at,
            f.end_at,
            f.minutes,
            f.room.code,
            f.room.name,
            f.room.modality,
            f.room.site_code,
            f.room.site_name,
            f.start_at <= need.due_at,
            f.room.site_id == need.preferred_site_id,
        )
        for f in found
    ]


def book(ctx: Context, accession: str, slot_id: int, actor: str) -> AppointmentView:
    """Book the procedure into the slot; booking an already booked procedure rebooks it.

    Two reads (the procedure with its need, the slot with its room and state), then the
    writes in one flush at commit: the transaction holds the slot for as short as it can.
    """
    now = ctx.now()
    with ctx.uow() as uow:
        s = uow.session
        procedure, referral, need = procedure_to_book(s, accession)
        check_transition(ProcedureState(procedure.state), ProcedureState.BOOKED)
        slot = slot_to_book(s, slot_id)
        _check_bookable(slot, need, now)
        previous = None
        if procedure.state in _HOLDS_A_SLOT:
            previous = active_appointment(s, procedure.id)
        if previous is not None:
            end_appointment(previous, actor, now, "rebooked")
            s.flush()  # the old appointment ends before the new one is inserted
        appointment = Appointment(
            procedure_id=procedure.id, slot_id=slot.id, active=True, booked_at=now, booked_by=actor
        )
        s.add(appointment)
        with _lost_race(slot_id):  # at the outbox's flush, if it needs one, else at commit
            move(
                s,
                procedure,
                referral,
                ProcedureState.BOOKED,
                actor=actor,
                at=now,
                kind="procedure.rebooked" if previous else "procedure.booked",
                slot_id=slot.id,
                start_at=slot.start_at.isoformat(),
                room=slot.room_code,
                previous_slot_id=previous.slot_id if previous else None,
            )
            s.commit()
    return AppointmentView(
        appointment.id,
        slot.id,
        slot.start_at,
        slot.end_at,
        slot.room_code,
        slot.room_name,
        slot.ae_title,
        slot.modality,
        slot.site_code,
        slot.site_name,
        True,
        now,
        actor,
    )


def _check_bookable(slot: SlotFacts, need: Need, now: datetime) -> None:
    check_slot_fits(
        slot_start=slot.start_at,
        slot_end=slot.end_at,
        duration_minutes=need.duration_minutes,
        slot_modality=slot.modality,
        procedure_modality=need.modality,
        now=now,
        earliest_at=need.earliest_at,
    )
    if not slot.room_active:
        raise SlotUnsuitable(
            Msg("room {room_code} is closed", room_code=slot.room_code),
            field="slot_id",
            value=slot.id,
        )
    if slot.blocked_by is not None:
        raise SlotUnsuitable(
            Msg(
                "room {room_code} is blocked: {blocked_by}",
                room_code=slot.room_code,
                blocked_by=slot.blocked_by,
            ),
            field="slot_id",
            value=slot.id,
        )
    if slot.taken:
        raise SlotTaken(Msg("the slot is already booked"), field="slot_id", value=slot.id)


@contextmanager
def _lost_race(slot_id: int) -> Iterator[None]:
    """The unique index on active appointments settles a lost race: answer it as SlotTaken.
    No savepoint: a refused booking rolls the whole transaction back anyway."""
    try:
        yield
    except IntegrityError:
        raise SlotTaken(
            Msg("the slot was booked by someone else just now"), field="slot_id", value=slot_id
        ) from None


def end_appointment(appointment: Appointment, actor: str, at: datetime, reason: str) -> None:
    appointment.active = False
    appointment.ended_at, appointment.ended_by, appointment.end_reason = at, actor, reason


def cancel_appointment(ctx: Context, appointment_id: int, reason: str, actor: str) -> str:
    """Cancel the time, keep the need: the procedure goes back to awaiting booking."""
    if not reason.strip():
        raise InvalidValue(Msg("cancelling needs a reason"), field="reason")
    now = ctx.now()
    with ctx.uow() as uow:
        s = uow.session
        found = s.get(Appointment, appointment_id)
        if found is None:
            raise UnknownAppointment(
                Msg("no appointment with this id"), field="appointment_id", value=appointment_id
            )
        # Lock order everywhere: the procedure, then its appointment (else book/act deadlock).
        procedure = s.get_one(
            Procedure, found.procedure_id, with_for_update=True, populate_existing=True
        )
        appointment = s.get_one(
            Appointment, appointment_id, with_for_update=True, populate_existing=True
        )
        if not appointment.active:
            raise Conflict(
                Msg(
                    "the appointment already ended: {end_reason}", end_reason=appointment.end_reason
                ),
                field="appointment_id",
                value=appointment_id,
            )
        referral = s.get_one(Referral, procedure.referral_id)
        move(
            s,
            procedure,
            referral,
            ProcedureState.REQUESTED,
            actor=actor,
            at=now,
            reason=reason,
            kind="appointment.cancelled",
            slot_id=appointment.slot_id,
            appointment_id=appointment.id,
        )
        end_appointment(appointment, actor, now, reason)
        accession = procedure.accession or ""
        uow.commit()
    return accession
