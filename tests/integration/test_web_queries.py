"""The screens' read models and the triage service, on both backends."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from lysbord.domain.calendar import local_date
from lysbord.domain.errors import Conflict, InvalidValue
from lysbord.domain.priorities import Priority
from lysbord.services.core.context import Context
from lysbord.services.pathway import booking, procedures, triage
from lysbord.services.pathway.booking import SlotSearch
from lysbord.services.pathway.procedures import Action
from lysbord.services.pathway.views import ReferralView
from lysbord.web import queries_patients, queries_rooms, queries_work
from tests.conftest import Clock
from tests.helpers import new_patient, new_referral


def _book_first(ctx: Context, ref: ReferralView) -> int:
    """The earliest slot at Alfa (its CT room), so that bookings share a day list."""
    acc = ref.procedures[0].accession
    offer = booking.find_slots(ctx, SlotSearch(acc, sites=["AAA"], limit=1))[0]
    booking.book(ctx, acc, offer.slot_id, "clerk")
    return offer.slot_id


def test_triage_recomputes_the_deadline_from_receipt(ctx: Context, clock: Clock) -> None:
    ref = new_referral(ctx, priority=Priority.ROUTINE)
    clock.advance(days=2)
    view = triage.triage(ctx, ref.id, triage.Triage(Priority.URGENT, "CT viste tumor"), "lege")
    assert view.priority == "urgent"
    assert view.due_at == ref.received_at + timedelta(days=7)
    page = queries_patients.patient_page(ctx, ref.cpr)
    event = [e for e in page.timelines[ref.id] if e.kind == "referral.triaged"][0]
    assert (event.actor, event.reason) == ("lege", "CT viste tumor")
    assert event.data["from_priority"] == "routine" and event.data["to_priority"] == "urgent"


def test_triage_needs_a_reason_and_an_open_referral(ctx: Context) -> None:
    ref = new_referral(ctx)
    with pytest.raises(InvalidValue) as exc:
        triage.triage(ctx, ref.id, triage.Triage(Priority.URGENT, "  "), "lege")
    assert exc.value.field == "reason"
    with pytest.raises(InvalidValue) as exc:
        triage.triage(ctx, ref.id, triage.Triage(Priority.FOLLOW_UP, "kontrol"), "lege")
    assert exc.value.field == "requested_date"
    procedures.act(ctx, ref.procedures[0].accession, Action.CANCEL, "clerk", "fortrudt")
    with pytest.raises(Conflict):
        triage.triage(ctx, ref.id, triage.Triage(Priority.URGENT, "x"), "lege")


def test_search_by_number_and_by_name(ctx: Context) -> None:
    cpr = new_patient(ctx, family_name="Kierkegaard", given_name="Søren")
    new_patient(ctx, family_name="Andersen", given_name="Hans Christian")
    assert [h.cpr for h in queries_patients.search_patients(ctx, cpr[:6] + "-" + cpr[6:])] == [cpr]
    hits = queries_patients.search_patients(ctx, "kierke søren")
    assert [h.name for h in hits] == ["Kierkegaard, Søren"]
    assert queries_patients.search_patients(ctx, "0101999999") == []


def test_inbox_orders_by_priority_then_deadline(ctx: Context) -> None:
    routine = new_referral(ctx, priority=Priority.ROUTINE)
    cancer = new_referral(ctx, priority=Priority.CANCER_PATHWAY)
    urgent = new_referral(ctx, priority=Priority.URGENT)
    booked = new_referral(ctx, priority=Priority.ACUTE)
    _book_first(ctx, booked)
    page, total = queries_work.inbox(ctx, priority=None, site=None, offset=0)
    assert [r.id for r in page] == [cancer.id, urgent.id, routine.id] and total == 3
    only, _ = queries_work.inbox(ctx, priority="urgent", site=None, offset=0)
    assert [r.id for r in only] == [urgent.id]


def test_day_list_shows_booked_no_shows_and_mpps_state(ctx: Context) -> None:
    first, second = new_referral(ctx), new_referral(ctx)
    slot_a, slot_b = _book_first(ctx, first), _book_first(ctx, second)
    acc_a, acc_b = first.procedures[0].accession, second.procedures[0].accession
    procedures.act(ctx, acc_b, Action.NO_SHOW, "radiograf")
    room_id = next(r.id for r in queries_rooms.rooms(ctx) if r.ae_title == "AAACT1")
    grid = queries_rooms.calendar(ctx, room_id, local_date(ctx.now()), 7)
    day = next(d for d, slots in grid.items() if any(s.slot_id == slot_a for s in slots))
    items = queries_rooms.day_list(ctx, room_id, day)
    assert [(i.accession, i.state) for i in items] == [(acc_a, "booked"), (acc_b, "no-show")]
    booked = [s for s in grid[day] if s.accession]
    assert [s.slot_id for s in booked] == [slot_a] and slot_b != slot_a


def test_reading_list_holds_performed_procedures(ctx: Context) -> None:
    ref = new_referral(ctx, priority=Priority.URGENT)
    _book_first(ctx, ref)
    acc = ref.procedures[0].accession
    for action in (Action.ARRIVE, Action.START, Action.COMPLETE):
        procedures.act(ctx, acc, action, "radiograf")
    items, total = queries_work.reading_list(ctx, queries_work.ReadingFilter(), offset=0)
    assert [i.accession for i in items] == [acc] and total == 1
    site = items[0].site
    assert site, "examined at its appointment's site"
    every = queries_work.ReadingFilter("CT", site, "CHEST", "urgent")
    assert queries_work.reading_list(ctx, every, offset=0)[1] == 1
    for other in (
        {"modality": "MR"},
        {"site": "NOSUCH"},
        {"body_part": "KNEE"},
        {"priority": "routine"},
    ):
        refused = replace(every, **other)
        assert queries_work.reading_list(ctx, refused, offset=0) == ([], 0), other


def test_calendar_has_every_day_asked_for(ctx: Context) -> None:
    room_id = queries_rooms.rooms(ctx)[0].id
    monday = date(2026, 11, 23)
    grid = queries_rooms.calendar(ctx, room_id, monday, 7)
    assert list(grid) == [monday + timedelta(days=i) for i in range(7)]
    assert grid[monday + timedelta(days=5)] == []  # Saturday: closed


def test_name_search_takes_percent_and_underscore_literally(ctx: Context) -> None:
    """Issue 20: ``%`` and ``_`` were LIKE wildcards, so ``%`` listed every patient."""
    new_patient(ctx, family_name="Kierkegaard", given_name="Søren")
    new_patient(ctx, family_name="Pct%_Navn", given_name="Test")
    assert [h.name for h in queries_patients.search_patients(ctx, "%")] == ["Pct%_Navn, Test"]
    assert [h.name for h in queries_patients.search_patients(ctx, "_")] == ["Pct%_Navn, Test"]
    assert [h.name for h in queries_patients.search_patients(ctx, "t%_n")] == ["Pct%_Navn, Test"]


def test_a_search_of_too_many_words_is_refused_naming_q(ctx: Context) -> None:
    """Issue 20: 2,000 words gave a 500 whose log line held the SQL and its parameters."""
    with pytest.raises(InvalidValue) as refused:
        queries_patients.search_patients(ctx, " ".join(["navn"] * 2000))
    assert refused.value.field == "q"
