"""Region-wide booking: find free slots, book, rebook, cancel.

No double booking, ever: the partial unique index on active appointments is the
rule; the checks before it only give a clearer answer in the common case. A lost
race surfaces as IntegrityError and is answered as SlotTaken.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lysbord.domain.calendar import require_aware
from lysbord.domain.errors import (
    Conflict,
    InvalidValue,
    SlotTaken,
    SlotUnsuitable,
    UnknownAppointment,
)
from lysbord.domain.slots import check_slot_fits
from lysbord.domain.workflow import ProcedureState, check_transition
from lysbord.services.context import Context
from lysbord.services.events import move
from lysbord.services.views import AppointmentView, appointment_views
from lysbord.store.models import Appointment, Procedure, Referral, Room, Slot
from lysbord.store.queries import (
    FreeSlot,
    RoomsBySite,
    active_appointment,
    block_covering,
    fitting_rooms,
    free_slots,
    procedure_by_accession,
    procedure_code,
    site_by_code,
    slot_is_taken,
    slot_with_room,
)

MAX_OFFERS = 200
DEFAULT_HORIZON = timedelta(days=365)
_JUST_AFTER = timedelta(microseconds=1)
MODALITY_FAMILIES = {"DX": ("DX", "CR"), "CR": ("CR", "DX")}


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

    Three short index-ordered queries instead of one sort over a year of slots.
    """
    if not 1 <= q.limit <= MAX_OFFERS:
        raise InvalidValue(f"must be 1 to {MAX_OFFERS}", field="limit", value=q.limit)
    now = ctx.now()
    start_from = require_aware(q.start_from, "start_from") if q.start_from else None
    start_before = require_aware(q.start_before, "start_before") if q.start_before else None
    with ctx.uow(readonly=True) as uow:
        s = uow.session
        procedure, referral = procedure_by_accession(s, q.accession)
        code = procedure_code(s, procedure.code)
        site_ids = [site_by_code(s, c, field="site").id for c in q.sites] if q.sites else None
        start = max(filter(None, (start_from, referral.earliest_at, now)))
        end = start_before or now + DEFAULT_HORIZON

        rooms = fitting_rooms(s, MODALITY_FAMILIES.get(code.modality, (code.modality,)), site_ids)
        pref = referral.preferred_site_id
        preferred = {i: r for i, r in rooms.items() if r[0].site_id == pref}

        def search(frm: datetime, to: datetime, scope: RoomsBySite) -> list[FreeSlot]:
            return free_slots(
                s,
                scope,
                min_minutes=code.duration_minutes,
                start_from=frm,
                start_before=to,
                limit=q.limit,
            )

        # A slot starting at the very deadline is still within it (tracking.flags agrees),
        # so the first two searches end just after due_at; start_before stays exclusive.
        # Each search runs only if the ones before it left offers to fill.
        due = min(referral.due_at + _JUST_AFTER, end)
        found: list[FreeSlot] = search(start, due, preferred)
        if len({f.slot.id for f in found}) < q.limit:
            found += search(start, due, rooms)
        if len({f.slot.id for f in found}) < q.limit:
            found += search(max(start, due), end, rooms)
        return _offers(found, referral, q.limit)


def _offers(found: list[FreeSlot], referral: Referral, limit: int) -> list[SlotOffer]:
    seen: set[int] = set()
    offers = []
    for f in found:
        if f.slot.id in seen:
            continue
        seen.add(f.slot.id)
        offers.append(
            SlotOffer(
                f.slot.id,
                f.slot.start_at,
                f.slot.end_at,
                f.slot.minutes,
                f.room.code,
                f.room.name,
                f.room.modality,
                f.site.code,
                f.site.name,
                f.slot.start_at <= referral.due_at,
                f.site.id == referral.preferred_site_id,
            )
        )
    return offers[:limit]


def book(ctx: Context, accession: str, slot_id: int, actor: str) -> AppointmentView:
    """Book the procedure into the slot; booking an already booked procedure rebooks it."""
    now = ctx.now()
    with ctx.uow() as uow:
        s = uow.session
        procedure, referral = procedure_by_accession(s, accession, for_update=True)
        check_transition(ProcedureState(procedure.state), ProcedureState.BOOKED)
        slot, room = slot_with_room(s, slot_id)
        _check_bookable(s, procedure, slot, room, referral, now)
        previous = active_appointment(s, procedure.id)
        if previous is not None:
            end_appointment(previous, actor, now, "rebooked")
            s.flush()
        appointment = Appointment(
            procedure_id=procedure.id, slot_id=slot.id, active=True, booked_at=now, booked_by=actor
        )
        _insert(s, appointment, slot_id)
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
            room=room.code,
            previous_slot_id=previous.slot_id if previous else None,
        )
        view = appointment_views(s, [procedure.id])[procedure.id]
        _commit(uow.session, slot_id)
    return view


def _check_bookable(
    s: Session, procedure: Procedure, slot: Slot, room: Room, referral: Referral, now: datetime
) -> None:
    code = procedure_code(s, procedure.code)
    check_slot_fits(
        slot_start=slot.start_at,
        slot_end=slot.end_at,
        duration_minutes=code.duration_minutes,
        slot_modality=room.modality,
        procedure_modality=code.modality,
        now=now,
        earliest_at=referral.earliest_at,
    )
    if not room.active:
        raise SlotUnsuitable(f"room {room.code} is closed", field="slot_id", value=slot.id)
    block = block_covering(s, room, slot.start_at, slot.end_at)
    if block is not None:
        raise SlotUnsuitable(
            f"room {room.code} is blocked: {block.reason}", field="slot_id", value=slot.id
        )
    if slot_is_taken(s, slot.id):
        raise SlotTaken("the slot is already booked", field="slot_id", value=slot.id)


def _insert(s: Session, appointment: Appointment, slot_id: int) -> None:
    try:
        with s.begin_nested():
            s.add(appointment)
    except IntegrityError:
        raise SlotTaken(
            "the slot was booked by someone else just now", field="slot_id", value=slot_id
        ) from None


def _commit(s: Session, slot_id: int) -> None:
    try:
        s.commit()
    except IntegrityError:
        raise SlotTaken(
            "the slot was booked by someone else just now", field="slot_id", value=slot_id
        ) from None


def end_appointment(appointment: Appointment, actor: str, at: datetime, reason: str) -> None:
    appointment.active = False
    appointment.ended_at, appointment.ended_by, appointment.end_reason = at, actor, reason


def cancel_appointment(ctx: Context, appointment_id: int, reason: str, actor: str) -> str:
    """Cancel the time, keep the need: the procedure goes back to awaiting booking."""
    if not reason.strip():
        raise InvalidValue("cancelling needs a reason", field="reason")
    now = ctx.now()
    with ctx.uow() as uow:
        s = uow.session
        found = s.get(Appointment, appointment_id)
        if found is None:
            raise UnknownAppointment(
                "no appointment with this id", field="appointment_id", value=appointment_id
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
                f"the appointment already ended: {appointment.end_reason}",
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
