"""The tracker board: one queue per open referral, counted per site, and the flags.

"Today" is the day in Copenhagen, not in UTC: the clock is put on either side of
midnight to tell them apart.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lysbord.domain.priorities import Priority
from lysbord.services import booking, patients, procedures, tracker
from lysbord.services.context import Context
from lysbord.services.procedures import Action
from lysbord.services.views import ReferralView
from tests.helpers import new_referral, random_cpr

T0 = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # Monday 08:00 Copenhagen
WHY = "klinisk begrundelse"


def book_first(ctx: Context, ref: ReferralView, **search: object) -> datetime:
    acc = ref.procedures[0].accession
    offer = booking.find_slots(ctx, booking.SlotSearch(acc, **search))[0]  # type: ignore[arg-type]
    booking.book(ctx, acc, offer.slot_id, "tester")
    return offer.start_at


def act(ctx: Context, ref: ReferralView, *actions: Action) -> None:
    for action in actions:
        procedures.act(ctx, ref.procedures[0].accession, action, "tester", WHY)


def test_empty_region_has_an_empty_board(ctx):
    board = tracker.board(ctx)
    assert (board.open_referrals, board.by_queue, board.by_site, board.overdue_list) == (
        0,
        {},
        {},
        [],
    )
    assert board.at == T0


def test_counts_per_queue_and_site(ctx):
    new_referral(ctx, preferred_site="AAA")
    new_referral(ctx)
    book_first(ctx, new_referral(ctx, preferred_site="AAA"), sites=["BBB"])
    book_first(ctx, new_referral(ctx), sites=["AAA"], start_from=T0 + timedelta(days=1))
    act(ctx, new_referral(ctx, preferred_site="BBB"), Action.HOLD)
    arrived = new_referral(ctx, preferred_site="BBB")
    book_first(ctx, arrived, sites=["AAA"])
    act(ctx, arrived, Action.ARRIVE)
    done = new_referral(ctx)
    book_first(ctx, done, sites=["BBB"])
    act(ctx, done, Action.ARRIVE, Action.START, Action.COMPLETE)
    closed = new_referral(ctx)
    act(ctx, closed, Action.CANCEL)
    board = tracker.board(ctx)
    assert board.open_referrals == 7
    assert board.by_queue == {
        "awaiting-booking": 2,
        "today": 1,
        "booked": 1,
        "on-hold": 1,
        "arrived": 1,
        "awaiting-images": 1,
    }
    assert board.by_site == {
        "-": {"awaiting-booking": 1},
        "AAA": {"awaiting-booking": 1, "booked": 1, "arrived": 1},
        "BBB": {"today": 1, "on-hold": 1, "awaiting-images": 1},
    }


def test_several_procedures_count_once_in_the_earliest_queue(ctx):
    ref = new_referral(ctx, codes=("UXCC00", "UXRC00", "UXUD00"))
    book_first(ctx, ref)
    procedures.act(ctx, ref.procedures[1].accession, Action.HOLD, "tester", WHY)
    board = tracker.board(ctx)
    assert (board.open_referrals, board.by_queue) == (1, {"awaiting-booking": 1})
    procedures.act(ctx, ref.procedures[2].accession, Action.CANCEL, "tester", WHY)
    assert tracker.board(ctx).by_queue == {"on-hold": 1}


def test_today_is_the_copenhagen_date(ctx, clock):
    # Sunday 23:30 UTC is already Monday 00:30 in Copenhagen.
    clock.at = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)
    monday = book_first(ctx, new_referral(ctx))
    tuesday = book_first(ctx, new_referral(ctx), start_from=T0 + timedelta(hours=12))
    assert (monday, tuesday) == (T0, T0 + timedelta(days=1))
    assert tracker.board(ctx).by_queue == {"today": 1, "booked": 1}
    # Monday 22:30 UTC is still Monday in Copenhagen (23:30), 23:30 UTC is Tuesday.
    clock.at = datetime(2026, 11, 23, 22, 30, tzinfo=UTC)
    assert tracker.board(ctx).by_queue == {"today": 1, "booked": 1}
    clock.at = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
    board = tracker.board(ctx)
    assert board.by_queue == {"today": 1, "booked": 1}
    assert board.by_site == {"AAA": {"today": 1, "booked": 1}}


def test_today_follows_the_clock_across_midnight(ctx, clock):
    book_first(ctx, new_referral(ctx), start_from=T0 + timedelta(days=1))
    assert tracker.board(ctx).by_queue == {"booked": 1}
    clock.at = datetime(2026, 11, 23, 23, 0, tzinfo=UTC)  # Tuesday 00:00 Copenhagen
    assert tracker.board(ctx).by_queue == {"today": 1}


def test_overdue_once_the_clock_passes_the_deadline(ctx, clock):
    urgent = new_referral(ctx, priority=Priority.URGENT)
    booked = new_referral(ctx, priority=Priority.URGENT, received_at=T0 - timedelta(hours=1))
    book_first(ctx, booked, start_from=T0 + timedelta(days=14))
    performed = new_referral(ctx, priority=Priority.URGENT)
    book_first(ctx, performed)
    act(ctx, performed, Action.ARRIVE, Action.START, Action.COMPLETE)
    new_referral(ctx, priority=Priority.ROUTINE)
    clock.at = urgent.due_at
    assert tracker.board(ctx).overdue == 1  # only the one received an hour earlier
    clock.advance(seconds=1)
    board = tracker.board(ctx)
    assert board.overdue == 2
    assert [i.referral_id for i in board.overdue_list] == [booked.id, urgent.id]
    item = board.overdue_list[1]
    assert (item.cpr, item.patient_name, item.priority) == (urgent.cpr, "Sørensen, Åse", "urgent")
    assert (item.due_at, item.queue, item.site) == (urgent.due_at, "awaiting-booking", "-")
    assert board.overdue_list[0].queue == "booked"


def test_overdue_list_names_a_patient_without_given_name_plainly(ctx, clock):
    cpr = random_cpr()
    patients.register_patient(ctx, patients.NewPatient(cpr, "Ukendt"), "tester")
    new_referral(ctx, cpr, priority=Priority.ACUTE)
    clock.advance(hours=5)
    (item,) = tracker.board(ctx).overdue_list
    assert (item.cpr, item.patient_name) == (cpr, "Ukendt")


def test_booked_after_deadline_is_flagged_before_it_is_overdue(ctx, clock):
    acute = new_referral(ctx, priority=Priority.ACUTE)
    book_first(ctx, acute, start_from=T0 + timedelta(days=1))
    in_time = new_referral(ctx, priority=Priority.ACUTE)
    book_first(ctx, in_time)
    board = tracker.board(ctx)
    assert (board.booked_after_deadline, board.overdue) == (1, 0)
    clock.advance(hours=4, seconds=1)
    board = tracker.board(ctx)
    assert (board.booked_after_deadline, board.overdue) == (1, 2)


def test_cancer_pathway_notify_overdue_until_a_date_is_given(ctx, clock):
    untold = new_referral(ctx, priority=Priority.CANCER_PATHWAY)
    held = new_referral(ctx, priority=Priority.CANCER_PATHWAY)
    act(ctx, held, Action.HOLD)
    told = new_referral(ctx, priority=Priority.CANCER_PATHWAY)
    book_first(ctx, told, start_from=T0 + timedelta(days=12))
    new_referral(ctx, priority=Priority.ROUTINE)
    clock.at = untold.notify_by  # Thursday 3 December, 23:59:59 Copenhagen
    assert tracker.board(ctx).notify_overdue == 0
    clock.advance(seconds=1)
    board = tracker.board(ctx)
    assert (board.notify_overdue, board.overdue, board.booked_after_deadline) == (2, 0, 0)
    book_first(ctx, untold)
    assert tracker.board(ctx).notify_overdue == 1
