"""Intake through the service layer: deadlines stored on the referral, procedures, lists.

The clock is fixed at Monday 23 November 2026, 08:00 Copenhagen (07:00 UTC), so the
expected deadlines below are written out by hand, not computed by the code under test.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from lysbord.domain.errors import (
    InvalidValue,
    NotFound,
    UnknownPatient,
    UnknownProcedureCode,
    UnknownSite,
)
from lysbord.domain.priorities import Priority
from lysbord.domain.tracking import Queue
from lysbord.services.core.context import Context
from lysbord.services.pathway import booking, procedures, referral_queries, referrals
from lysbord.services.pathway.procedures import Action
from lysbord.services.people import registration
from lysbord.store.models import Event, Procedure, Referral
from tests.helpers import new_patient, new_referral, random_cpr

T0 = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


def stored(ctx: Context, referral_id: int) -> tuple[datetime, datetime | None, datetime | None]:
    """due_at, notify_by and earliest_at as read back from the database."""
    view = referral_queries.get_referral(ctx, referral_id)
    return view.due_at, view.notify_by, view.earliest_at


def count(ctx: Context, model: type) -> int:
    with ctx.uow(readonly=True) as uow:
        return uow.session.scalar(select(func.count()).select_from(model)) or 0


def listed(ctx: Context, **kwargs: object) -> tuple[list[int], int]:
    page, total = referral_queries.list_referrals(ctx, referral_queries.ReferralFilter(**kwargs))  # type: ignore[arg-type]
    return [r.id for r in page], total


@pytest.mark.parametrize(
    ("priority", "due"),
    [
        (Priority.ACUTE, T0 + timedelta(hours=4)),
        (Priority.URGENT, T0 + timedelta(days=7)),
        (Priority.ROUTINE, T0 + timedelta(days=30)),
    ],
)
def test_deadline_is_stored_per_priority(ctx, priority, due):
    ref = new_referral(ctx, priority=priority)
    assert (ref.due_at, ref.notify_by, ref.earliest_at) == (due, None, None)
    assert stored(ctx, ref.id) == (due, None, None)
    assert stored(ctx, ref.id)[0].tzinfo is not None


def test_cancer_pathway_due_in_14_days_and_told_within_8_working_days(ctx):
    ref = new_referral(ctx, priority=Priority.CANCER_PATHWAY)
    # 8 weekdays after Monday 23 Nov: Thursday 3 Dec, 23:59:59 CET = 22:59:59 UTC.
    told = datetime(2026, 12, 3, 22, 59, 59, tzinfo=UTC)
    assert stored(ctx, ref.id) == (T0 + timedelta(days=14), told, None)


def test_cancer_pathway_protocol_days_shorten_the_deadline(ctx):
    ref = new_referral(ctx, priority=Priority.CANCER_PATHWAY, protocol_days=2)
    assert stored(ctx, ref.id)[0] == T0 + timedelta(days=2)


def test_follow_up_due_around_the_requested_date(ctx):
    ref = new_referral(ctx, priority=Priority.FOLLOW_UP, requested_date=date(2027, 1, 20))
    # ± 14 days: from 6 Jan 00:00 CET to 3 Feb 23:59:59 CET.
    due = datetime(2027, 2, 3, 22, 59, 59, tzinfo=UTC)
    earliest = datetime(2027, 1, 5, 23, 0, tzinfo=UTC)
    assert stored(ctx, ref.id) == (due, None, earliest)


def test_received_at_in_another_zone_counts_from_that_instant(ctx):
    received = datetime(2026, 11, 23, 6, 30, tzinfo=ZoneInfo("Europe/Copenhagen"))
    ref = new_referral(ctx, priority=Priority.ACUTE, received_at=received)
    assert ref.received_at == datetime(2026, 11, 23, 5, 30, tzinfo=UTC)
    assert stored(ctx, ref.id)[0] == datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


def test_several_procedures_get_unique_accession_and_study_uid(ctx):
    first = new_referral(ctx, codes=("UXCC00", "UXMA00", "UXRC00"))
    second = new_referral(ctx, codes=("UXCC00", "UXCC00"))
    procs = first.procedures + second.procedures
    assert [p.code for p in first.procedures] == ["UXCC00", "UXMA00", "UXRC00"]
    assert len({p.accession for p in procs}) == len({p.study_uid for p in procs}) == 5
    for p in procs:
        assert p.state == "requested"
        assert p.accession.startswith(ctx.settings.accession_prefix)
        assert p.study_uid.startswith(ctx.settings.uid_root + ".")
        assert len(p.study_uid) <= 64 and p.study_uid.replace(".", "").isdigit()


def test_intake_records_received_and_requested_events(ctx):
    ref = new_referral(ctx, codes=("UXCC00", "UXUD00"))
    with ctx.uow(readonly=True) as uow:
        rows = uow.session.execute(
            select(Event.kind, Event.procedure_id, Event.to_state, Event.actor)
            .where(Event.referral_id == ref.id)
            .order_by(Event.id)
        ).all()
    assert [(k, p, t) for k, p, t, _ in rows] == [
        ("referral.received", None, None),
        *[("procedure.requested", p.id, "requested") for p in ref.procedures],
    ]
    assert {a for *_, a in rows} == {"tester"}


def test_referral_uses_patient_preferred_site_unless_given(ctx):
    cpr = random_cpr()
    registration.register_patient(ctx, registration.NewPatient(cpr, "Berg", "", "BBB"), "tester")
    assert new_referral(ctx, cpr).preferred_site == "BBB"
    assert new_referral(ctx, cpr, preferred_site="AAA").preferred_site == "AAA"


# --- bad input: refused with the field named, and nothing half-written -----------------


def assert_nothing_written(ctx: Context) -> None:
    assert count(ctx, Referral) == 0
    assert count(ctx, Procedure) == 0
    with ctx.uow(readonly=True) as uow:
        kinds = set(uow.session.scalars(select(Event.kind)))
    assert kinds <= {"patient.registered"}


def test_empty_procedure_list_is_refused(ctx):
    with pytest.raises(InvalidValue) as err:
        new_referral(ctx, codes=())
    assert err.value.field == "procedures"
    assert_nothing_written(ctx)


def test_unknown_code_names_its_index_and_writes_nothing(ctx):
    with pytest.raises(UnknownProcedureCode) as err:
        new_referral(ctx, codes=("UXCC00", "NOPE99"))
    assert (err.value.field, err.value.value) == ("procedures[1]", "NOPE99")
    assert "procedures[1]" in str(err.value)
    assert_nothing_written(ctx)


def test_unknown_patient_is_refused(ctx):
    with pytest.raises(UnknownPatient):
        new_referral(ctx, random_cpr())
    assert_nothing_written(ctx)


def test_unknown_preferred_site_is_refused(ctx):
    with pytest.raises(UnknownSite) as err:
        new_referral(ctx, preferred_site="ZZZ")
    assert err.value.field == "preferred_site"
    assert_nothing_written(ctx)


def test_received_in_the_future_is_refused(ctx):
    with pytest.raises(InvalidValue) as err:
        new_referral(ctx, received_at=T0 + timedelta(minutes=1))
    assert err.value.field == "received_at"
    assert_nothing_written(ctx)


def test_naive_received_at_is_refused_as_a_domain_error(ctx):
    with pytest.raises(InvalidValue) as err:
        new_referral(ctx, received_at=datetime(2026, 11, 23, 6, 0))
    assert err.value.field == "received_at"
    assert_nothing_written(ctx)


@pytest.mark.parametrize(
    ("priority", "kwargs", "field"),
    [
        (Priority.FOLLOW_UP, {}, "requested_date"),
        (Priority.ROUTINE, {"protocol_days": 2}, "protocol_days"),
        (Priority.CANCER_PATHWAY, {"protocol_days": 15}, "protocol_days"),
        (Priority.ROUTINE, {"referring_unit": " "}, "referring_unit"),
        (Priority.ROUTINE, {"clinical_question": ""}, "clinical_question"),
    ],
)
def test_inconsistent_referral_is_refused(ctx, priority, kwargs, field):
    cpr = new_patient(ctx)
    base = {"referring_unit": "Kir. afd.", "clinical_question": "Smerter", **kwargs}
    cmd = referrals.NewReferral(cpr=cpr, priority=priority, procedures=["UXCC00"], **base)
    with pytest.raises(InvalidValue) as err:
        referrals.create_referral(ctx, cmd, "tester")
    assert err.value.field == field
    assert_nothing_written(ctx)


# --- lists: filters and pagination -------------------------------------------------------


def test_list_is_ordered_by_deadline_and_pages_keep_the_total(ctx):
    made = [
        new_referral(ctx, priority=p)
        for p in (Priority.ROUTINE, Priority.ACUTE, Priority.URGENT, Priority.CANCER_PATHWAY)
    ]
    made.append(new_referral(ctx, priority=Priority.ACUTE))
    expected = [r.id for r in sorted(made, key=lambda r: (r.due_at, r.id))]
    pages = [listed(ctx, limit=2, offset=o) for o in (0, 2, 4, 6)]
    assert [total for _, total in pages] == [5, 5, 5, 5]
    assert [i for ids, _ in pages for i in ids] == expected
    assert pages[-1][0] == []


def test_filter_by_cpr_priority_and_open_or_closed(ctx):
    cpr = new_patient(ctx)
    mine = [new_referral(ctx, cpr), new_referral(ctx, cpr, priority=Priority.URGENT)]
    other = new_referral(ctx, priority=Priority.URGENT)
    acc = mine[0].procedures[0].accession
    procedures.act(ctx, acc, Action.CANCEL, "tester", "ikke længere relevant")
    assert listed(ctx, cpr=cpr)[1] == 2
    assert listed(ctx, cpr=f"{cpr[:6]}-{cpr[6:]}", state="open") == ([mine[1].id], 1)
    assert listed(ctx, cpr=cpr, state="closed") == ([mine[0].id], 1)
    assert listed(ctx, priority=Priority.URGENT)[1] == 2
    assert set(listed(ctx, priority=Priority.URGENT, state="open")[0]) == {mine[1].id, other.id}


def test_filter_by_queue_with_several_procedures_uses_the_earliest_stage(ctx):
    both = new_referral(ctx, codes=("UXCC00", "UXRC00"))
    booked = new_referral(ctx)
    offer = booking.find_slots(ctx, booking.SlotSearch(booked.procedures[0].accession))[0]
    booking.book(ctx, booked.procedures[0].accession, offer.slot_id, "tester")
    other = booking.find_slots(ctx, booking.SlotSearch(both.procedures[0].accession))[0]
    booking.book(ctx, both.procedures[0].accession, other.slot_id, "tester")
    # One procedure booked, the other still waiting: the referral waits for booking.
    assert listed(ctx, state="awaiting-booking") == ([both.id], 1)
    assert listed(ctx, state=Queue.TODAY.value) == ([booked.id], 1)
    procedures.act(ctx, both.procedures[1].accession, Action.CANCEL, "tester", "dublet")
    assert listed(ctx, state="awaiting-booking") == ([], 0)
    assert set(listed(ctx, state="today")[0]) == {both.id, booked.id}


def test_filter_by_site_counts_a_booked_referral_where_it_is_booked(ctx):
    """As the tracker counts it: the booked site, else the preferred one."""
    at_a = new_referral(ctx, preferred_site="AAA")
    at_b = new_referral(ctx, preferred_site="BBB")
    moved = new_referral(ctx, preferred_site="AAA")
    acc = moved.procedures[0].accession
    slot = booking.find_slots(ctx, booking.SlotSearch(acc, sites=["BBB"]))[0]
    booking.book(ctx, acc, slot.slot_id, "tester")
    assert set(listed(ctx, site="AAA")[0]) == {at_a.id}
    assert set(listed(ctx, site="BBB")[0]) == {at_b.id, moved.id}
    with pytest.raises(UnknownSite):
        listed(ctx, site="ZZZ")


def test_filter_overdue_and_paginate_the_computed_list(ctx, clock):
    late = [new_referral(ctx, priority=Priority.ACUTE) for _ in range(3)]
    on_time = new_referral(ctx, priority=Priority.ROUTINE)
    clock.advance(hours=5)
    first, total = listed(ctx, overdue=True, limit=2)
    second, total2 = listed(ctx, overdue=True, limit=2, offset=2)
    assert (total, total2) == (3, 3)
    assert first + second == [r.id for r in late]
    assert listed(ctx, overdue=False) == ([on_time.id], 1)
    assert listed(ctx, overdue=True, state="awaiting-booking")[1] == 3


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"state": "lost"}, "state"),
        ({"limit": 0}, "limit"),
        ({"offset": -1}, "offset"),
        ({"limit": 0, "overdue": True}, "limit"),
        ({"offset": -1, "state": "booked"}, "offset"),
    ],
)
def test_list_refuses_bad_filters(ctx, kwargs, field):
    new_referral(ctx)
    with pytest.raises(InvalidValue) as err:
        listed(ctx, **kwargs)
    assert err.value.field == field


def test_get_unknown_referral_is_not_found(ctx):
    with pytest.raises(NotFound) as err:
        referral_queries.get_referral(ctx, 424242)
    assert err.value.field == "referral_id"
