"""Booking through the service layer: offers in the right order, book, rebook, cancel.

The small region (tests/helpers.py): AAA has CT1 (15-minute slots), MR1 (30) and DX1
(10); BBB has CT1 (30) and US1 (20); all open 08:00-12:00 Copenhagen on weekdays.
The clock stands at Monday 23 November 2026, 08:00 Copenhagen = 07:00 UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, text

from lysbord.domain.errors import (
    Conflict,
    IllegalTransition,
    InvalidValue,
    SlotTaken,
    SlotUnsuitable,
    UnknownAppointment,
    UnknownSlot,
)
from lysbord.domain.priorities import Priority
from lysbord.services.core.context import Context
from lysbord.services.operations import region
from lysbord.services.operations.region import CodeView
from lysbord.services.pathway import booking, procedures
from lysbord.services.pathway.procedures import Action
from lysbord.store.models import Appointment, Event, Room, Slot
from tests.helpers import new_referral

T0 = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
TOMORROW = T0 + timedelta(days=1)


def accession(ctx: Context, **kwargs: object) -> str:
    return new_referral(ctx, **kwargs).procedures[0].accession  # type: ignore[arg-type]


def offers(ctx: Context, acc: str, **kwargs: object) -> list[booking.SlotOffer]:
    return booking.find_slots(ctx, booking.SlotSearch(acc, **kwargs))  # type: ignore[arg-type]


def slot_id(ctx: Context, ae_title: str, start: datetime) -> int:
    with ctx.uow(readonly=True) as uow:
        stmt = (
            select(Slot.id)
            .join(Room, Room.id == Slot.room_id)
            .where(Room.ae_title == ae_title, Slot.start_at == start)
        )
        found = uow.session.scalar(stmt)
    assert found is not None, (ae_title, start)
    return found


def appointments(ctx: Context, acc: str) -> list[tuple[int, bool, str | None]]:
    """(slot_id, active, end_reason) of every appointment the procedure ever had."""
    procedure_id = procedures.get_procedure(ctx, acc).procedure.id
    with ctx.uow(readonly=True) as uow:
        stmt = select(Appointment.slot_id, Appointment.active, Appointment.end_reason).where(
            Appointment.procedure_id == procedure_id
        )
        return [tuple(r) for r in uow.session.execute(stmt.order_by(Appointment.id))]


def event_kinds(ctx: Context, acc: str) -> list[str]:
    return [e.kind for e in procedures.get_procedure(ctx, acc).events]


def total_events(ctx: Context) -> int:
    with ctx.uow(readonly=True) as uow:
        return len(uow.session.scalars(select(Event.id)).all())


# --- find_slots -------------------------------------------------------------------------


def test_offers_within_deadline_first_preferred_site_first_then_earliest(ctx):
    # Acute: due at 11:00 UTC = 12:00 local, so all of today's slots are within.
    acc = accession(ctx, priority=Priority.ACUTE, preferred_site="BBB")
    found = offers(ctx, acc, limit=40)
    assert len(found) == 40
    assert (found[0].site_code, found[0].start_at) == ("BBB", T0)
    within = [o for o in found if o.within_deadline]
    assert [o.site_code for o in within] == ["BBB"] * 8 + ["AAA"] * 16
    assert all(o.preferred_site == (o.site_code == "BBB") for o in found)
    assert within == found[:24]
    for group in (within[:8], within[8:], found[24:]):
        assert [o.start_at for o in group] == sorted(o.start_at for o in group)
    assert all(o.start_at.date() == TOMORROW.date() for o in found[24:])


def test_slot_starting_exactly_at_the_deadline_counts_as_within(ctx):
    # Received 05:00 UTC, acute: due 09:00 UTC, the start of a BBB slot (10:00 local).
    due = T0 + timedelta(hours=2)
    acc = accession(
        ctx, priority=Priority.ACUTE, preferred_site="BBB", received_at=due - timedelta(hours=4)
    )
    found = offers(ctx, acc, limit=40)
    bbb = [o for o in found if o.site_code == "BBB" and o.within_deadline]
    assert [o.start_at for o in bbb] == [T0 + timedelta(minutes=30 * i) for i in range(5)]
    assert found[: len(bbb)] == bbb
    assert all(o.within_deadline == (o.start_at <= due) for o in found)


def test_offers_carry_the_slot_facts_in_utc(ctx):
    acc = accession(ctx, codes=("UXMA00",))
    first = offers(ctx, acc)[0]
    assert first.start_at == T0 and first.start_at.tzinfo is not None
    assert first.end_at - first.start_at == timedelta(minutes=30) and first.minutes == 30
    assert (first.room_code, first.modality, first.site_code) == ("MR1", "MR", "AAA")
    assert first.site_name == "Alfa Hospital"


def test_duration_must_fit_the_slot(ctx):
    # CT abdomen takes 30 minutes: only BBB's 30-minute CT slots, never AAA's 15-minute ones.
    found = offers(ctx, accession(ctx, codes=("UXCD00",)), limit=50)
    assert found and {(o.site_code, o.room_code) for o in found} == {("BBB", "CT1")}
    assert all(o.minutes >= 30 for o in found)


def test_dx_and_cr_share_plain_radiography_rooms(ctx):
    region.add_procedure_codes(ctx, [CodeView("UXRC10", "CR af hånd", "CR", 10, "HAND", "")])
    for code in ("UXRC00", "UXRC10"):
        acc = accession(ctx, codes=(code,))
        found = offers(ctx, acc, limit=30)
        assert found and {o.modality for o in found} == {"DX"}
    booked = booking.book(ctx, acc, found[0].slot_id, "tester")
    assert booked.modality == "DX"


def test_site_filter_limits_offers(ctx):
    acc = accession(ctx, preferred_site="AAA")
    found = offers(ctx, acc, sites=["BBB"], limit=30)
    assert found and {o.site_code for o in found} == {"BBB"}
    assert not any(o.preferred_site for o in found)


def test_from_and_to_window(ctx):
    acc = accession(ctx)
    start, end = datetime(2026, 11, 25, 9, 0, tzinfo=UTC), datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    found = offers(ctx, acc, start_from=start, start_before=end, limit=100)
    assert found and all(start <= o.start_at < end for o in found)
    assert found[0].start_at == start
    assert len(found) == 4 + 2  # AAA CT1 every 15 minutes, BBB CT1 every 30


def test_window_that_ends_before_it_starts_offers_nothing(ctx):
    acc = accession(ctx)
    assert offers(ctx, acc, start_from=TOMORROW, start_before=T0) == []


def test_naive_window_is_refused_as_a_domain_error(ctx):
    acc = accession(ctx)
    with pytest.raises(InvalidValue) as err:
        offers(ctx, acc, start_from=datetime(2026, 11, 25, 9, 0))
    assert err.value.field == "start_from"


def test_limit_out_of_range_is_refused(ctx):
    with pytest.raises(InvalidValue) as err:
        offers(ctx, accession(ctx), limit=0)
    assert err.value.field == "limit"


def test_follow_up_is_not_offered_before_its_earliest_date(ctx):
    # Requested 13 Dec ± 14 days: earliest Sunday 29 Nov, so Monday 30 Nov 08:00 local.
    acc = accession(ctx, priority=Priority.FOLLOW_UP, requested_date=date(2026, 12, 13))
    found = offers(ctx, acc)
    assert found[0].start_at == datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
    assert offers(ctx, acc, start_from=T0)[0].start_at == found[0].start_at
    with pytest.raises(SlotUnsuitable) as err:
        booking.book(ctx, acc, slot_id(ctx, "AAACT1", TOMORROW), "tester")
    assert "earliest" in err.value.reason


def test_blocked_room_and_blocked_site_are_not_offered(ctx):
    region.block(
        ctx, site="AAA", room="CT1", start_at=T0, end_at=TOMORROW, reason="service", actor="t"
    )
    region.block(
        ctx, site="BBB", room=None, start_at=T0, end_at=TOMORROW, reason="strejke", actor="t"
    )
    found = offers(ctx, accession(ctx), limit=10)
    assert found[0].start_at == TOMORROW
    assert all(o.start_at >= TOMORROW for o in found)
    us = offers(ctx, accession(ctx, codes=("UXUD00",)))
    assert us[0].start_at == TOMORROW and us[0].site_code == "BBB"


def test_a_blocked_room_leaves_the_other_rooms_offered(ctx):
    region.block(
        ctx, site="AAA", room="CT1", start_at=T0, end_at=TOMORROW, reason="service", actor="t"
    )
    found = offers(ctx, accession(ctx), limit=10)
    assert found and all(o.site_code == "BBB" for o in found if o.start_at < TOMORROW)
    assert found[0].start_at == T0 and found[0].site_code == "BBB"


def test_naive_block_window_is_refused_as_a_domain_error(ctx):
    with pytest.raises(InvalidValue) as err:
        region.block(
            ctx, site="AAA", room=None, start_at=datetime(2026, 11, 24, 8, 0),
            end_at=TOMORROW + timedelta(hours=2), reason="service", actor="t",
        )  # fmt: skip
    assert err.value.field == "start_at"


def test_inactive_room_is_not_offered_nor_bookable(ctx):
    with ctx.db.engine.begin() as conn:
        conn.execute(text("UPDATE rooms SET active = :no WHERE ae_title = 'AAAMR1'"), {"no": False})
    acc = accession(ctx, codes=("UXMA00",))
    assert offers(ctx, acc) == []
    with pytest.raises(SlotUnsuitable) as err:
        booking.book(ctx, acc, slot_id(ctx, "AAAMR1", T0), "tester")
    assert "closed" in err.value.reason


def test_taken_slots_are_not_offered(ctx):
    first = accession(ctx)
    taken = offers(ctx, first)[0]
    booking.book(ctx, first, taken.slot_id, "tester")
    found = offers(ctx, accession(ctx), limit=100)
    assert taken.slot_id not in {o.slot_id for o in found}


def test_past_slots_are_not_offered(ctx, clock):
    clock.advance(minutes=20)
    found = offers(ctx, accession(ctx), limit=5)
    assert found[0].start_at == T0 + timedelta(minutes=30)  # 07:15 AAA, 07:30 both


# --- book and rebook ----------------------------------------------------------------------


def test_book_moves_procedure_and_records_the_event(ctx):
    acc = accession(ctx, preferred_site="BBB")
    offer = offers(ctx, acc)[0]
    appt = booking.book(ctx, acc, offer.slot_id, "booker")
    assert (appt.slot_id, appt.start_at, appt.site_code, appt.room_code) == (
        offer.slot_id,
        offer.start_at,
        "BBB",
        "CT1",
    )
    assert appt.active and appt.booked_by == "booker" and appt.booked_at == T0
    assert appt.ae_title == "BBBCT1"
    detail = procedures.get_procedure(ctx, acc)
    assert detail.procedure.state == "booked"
    assert detail.procedure.appointment == appt
    booked = detail.events[-1]
    assert (booked.kind, booked.from_state, booked.to_state) == (
        "procedure.booked",
        "requested",
        "booked",
    )
    assert booked.data["slot_id"] == offer.slot_id and booked.actor == "booker"


def test_rebook_ends_the_old_appointment_with_one_event(ctx):
    acc = accession(ctx)
    first, second = offers(ctx, acc, limit=2)
    booking.book(ctx, acc, first.slot_id, "tester")
    appt = booking.book(ctx, acc, second.slot_id, "tester")
    assert appt.slot_id == second.slot_id
    assert appointments(ctx, acc) == [
        (first.slot_id, False, "rebooked"),
        (second.slot_id, True, None),
    ]
    assert event_kinds(ctx, acc) == [
        "procedure.requested",
        "procedure.booked",
        "procedure.rebooked",
    ]
    rebooked = procedures.get_procedure(ctx, acc).events[-1]
    assert (rebooked.from_state, rebooked.to_state) == ("booked", "booked")
    assert rebooked.data["previous_slot_id"] == first.slot_id
    assert first.slot_id in {o.slot_id for o in offers(ctx, accession(ctx))}


def test_booking_a_taken_slot_is_refused(ctx):
    first, second = accession(ctx), accession(ctx)
    sid = offers(ctx, first)[0].slot_id
    booking.book(ctx, first, sid, "tester")
    before = total_events(ctx)
    with pytest.raises(SlotTaken) as err:
        booking.book(ctx, second, sid, "tester")
    assert (err.value.field, err.value.value) == ("slot_id", sid)
    assert procedures.get_procedure(ctx, second).procedure.state == "requested"
    assert appointments(ctx, second) == [] and total_events(ctx) == before


def test_a_slot_held_by_another_booker_is_refused_at_once(ctx):
    """PostgreSQL: the slot row is locked NOWAIT, so a loser moves on instead of queueing."""
    if ctx.db.engine.dialect.name == "sqlite":
        pytest.skip("SQLite has no row locks: writers queue at BEGIN IMMEDIATE")
    acc = accession(ctx)
    sid = offers(ctx, acc)[0].slot_id
    before = total_events(ctx)
    with ctx.db.engine.connect() as other:
        other.execute(text("SELECT id FROM slots WHERE id = :id FOR UPDATE"), {"id": sid})
        with pytest.raises(SlotTaken, match="being booked by someone else") as err:
            booking.book(ctx, acc, sid, "tester")
        other.rollback()
    assert (err.value.field, err.value.value) == ("slot_id", sid)
    assert appointments(ctx, acc) == [] and total_events(ctx) == before
    assert booking.book(ctx, acc, sid, "tester").slot_id == sid


def test_rebooking_into_its_own_slot_is_refused_and_keeps_the_booking(ctx):
    acc = accession(ctx)
    sid = offers(ctx, acc)[0].slot_id
    booking.book(ctx, acc, sid, "tester")
    with pytest.raises(SlotTaken):
        booking.book(ctx, acc, sid, "tester")
    assert appointments(ctx, acc) == [(sid, True, None)]


@pytest.mark.parametrize(
    ("code", "ae_title", "why"),
    [
        ("UXCD00", "AAACT1", "15 minutes"),  # 30-minute CT into a 15-minute slot
        ("UXCC00", "AAAMR1", "modality MR"),
        ("UXUD00", "AAADX1", "modality DX"),
    ],
)
def test_unsuitable_slot_is_refused_with_the_reason(ctx, code, ae_title, why):
    acc = accession(ctx, codes=(code,))
    before = total_events(ctx)
    with pytest.raises(SlotUnsuitable) as err:
        booking.book(ctx, acc, slot_id(ctx, ae_title, TOMORROW), "tester")
    assert why in err.value.reason
    assert appointments(ctx, acc) == [] and total_events(ctx) == before


def test_booking_a_past_slot_is_refused(ctx, clock):
    acc = accession(ctx)
    clock.advance(minutes=1)
    with pytest.raises(SlotUnsuitable) as err:
        booking.book(ctx, acc, slot_id(ctx, "AAACT1", T0), "tester")
    assert "past" in err.value.reason


def test_booking_a_blocked_slot_is_refused(ctx):
    region.block(
        ctx, site="AAA", room=None, start_at=TOMORROW, end_at=TOMORROW + timedelta(hours=1),
        reason="strømsvigt", actor="t",
    )  # fmt: skip
    acc = accession(ctx)
    with pytest.raises(SlotUnsuitable) as err:
        booking.book(ctx, acc, slot_id(ctx, "AAACT1", TOMORROW + timedelta(minutes=45)), "tester")
    assert "strømsvigt" in err.value.reason
    booking.book(ctx, acc, slot_id(ctx, "AAACT1", TOMORROW + timedelta(hours=1)), "tester")


def test_booking_from_a_wrong_state_is_refused(ctx):
    acc = accession(ctx)
    procedures.act(ctx, acc, Action.HOLD, "tester", "afventer blodprøver")
    with pytest.raises(IllegalTransition) as err:
        booking.book(ctx, acc, offers(ctx, acc)[0].slot_id, "tester")
    assert "on-hold" in err.value.reason and "booked" in err.value.reason


def test_booking_an_unknown_slot_is_refused(ctx):
    with pytest.raises(UnknownSlot) as err:
        booking.book(ctx, accession(ctx), 99_999_999, "tester")
    assert err.value.field == "slot_id"


def test_no_show_can_be_booked_again(ctx):
    acc = accession(ctx)
    first, second = offers(ctx, acc, limit=2)
    booking.book(ctx, acc, first.slot_id, "tester")
    procedures.act(ctx, acc, Action.NO_SHOW, "tester")
    booking.book(ctx, acc, second.slot_id, "tester")
    assert appointments(ctx, acc) == [
        (first.slot_id, False, "no-show"),
        (second.slot_id, True, None),
    ]
    assert event_kinds(ctx, acc)[-1] == "procedure.booked"


# --- cancel_appointment -----------------------------------------------------------------


def test_cancel_appointment_puts_the_procedure_back_and_frees_the_slot(ctx):
    acc = accession(ctx)
    offer = offers(ctx, acc)[0]
    appt = booking.book(ctx, acc, offer.slot_id, "tester")
    assert booking.cancel_appointment(ctx, appt.id, "patienten ringede", "tester") == acc
    detail = procedures.get_procedure(ctx, acc)
    assert detail.procedure.state == "requested" and detail.procedure.appointment is None
    last = detail.events[-1]
    assert (last.kind, last.from_state, last.to_state, last.reason) == (
        "appointment.cancelled",
        "booked",
        "requested",
        "patienten ringede",
    )
    assert appointments(ctx, acc) == [(offer.slot_id, False, "patienten ringede")]
    other = accession(ctx)
    assert booking.book(ctx, other, offer.slot_id, "tester").slot_id == offer.slot_id


@pytest.mark.parametrize("reason", ["", "  "])
def test_cancel_appointment_needs_a_reason(ctx, reason):
    acc = accession(ctx)
    appt = booking.book(ctx, acc, offers(ctx, acc)[0].slot_id, "tester")
    with pytest.raises(InvalidValue) as err:
        booking.cancel_appointment(ctx, appt.id, reason, "tester")
    assert err.value.field == "reason"
    assert procedures.get_procedure(ctx, acc).procedure.state == "booked"


def test_cancel_of_an_ended_or_unknown_appointment_is_refused(ctx):
    acc = accession(ctx)
    appt = booking.book(ctx, acc, offers(ctx, acc)[0].slot_id, "tester")
    booking.cancel_appointment(ctx, appt.id, "aflyst", "tester")
    with pytest.raises(Conflict, match="already ended: aflyst") as ended:
        booking.cancel_appointment(ctx, appt.id, "aflyst", "tester")
    assert ended.value.value == appt.id
    with pytest.raises(UnknownAppointment) as err:
        booking.cancel_appointment(ctx, 99_999_999, "aflyst", "tester")
    assert err.value.value == 99_999_999
