"""The tracker board: one queue per open referral, counted per site, and the flags.

"Today" is the day in Copenhagen, not in UTC: the clock is put on either side of
midnight to tell them apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from lysbord.domain.priorities import Priority
from lysbord.domain.tracking import Queue
from lysbord.services.core.context import Context
from lysbord.services.operations import check
from lysbord.services.pathway import booking, procedures, tracker
from lysbord.services.pathway.procedures import Action
from lysbord.services.pathway.tracker import UNASSIGNED
from lysbord.services.pathway.views import ReferralView
from lysbord.services.people import registration
from lysbord.web.queries_tracker import SORTS, Choice, Row, listing
from tests.conftest import Clock
from tests.helpers import new_patient, new_referral, random_cpr

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
    registration.register_patient(ctx, registration.NewPatient(cpr, "Ukendt"), "tester")
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


def book_procedure(ctx: Context, ref: ReferralView, index: int, **search: object) -> None:
    acc = ref.procedures[index].accession
    offer = booking.find_slots(ctx, booking.SlotSearch(acc, **search))[0]  # type: ignore[arg-type]
    booking.book(ctx, acc, offer.slot_id, "tester")


def every_kind_of_referral(ctx: Context) -> dict[str, ReferralView]:
    """One referral in each queue and with each flag, some with several procedures."""
    refs = {
        "waiting": new_referral(ctx, priority=Priority.URGENT),
        "held": new_referral(ctx, priority=Priority.CANCER_PATHWAY, preferred_site="BBB"),
        "today": new_referral(ctx, priority=Priority.ACUTE),
        "later": new_referral(ctx, priority=Priority.URGENT, preferred_site="AAA"),
        "arrived": new_referral(ctx, priority=Priority.URGENT),
        "started": new_referral(ctx),
        "imaged": new_referral(ctx),
        "two sites": new_referral(ctx, codes=("UXCC00", "UXUD00"), preferred_site="AAA"),
        "half done": new_referral(ctx, codes=("UXCC00", "UXRC00")),
        "untold": new_referral(ctx, priority=Priority.CANCER_PATHWAY),
    }
    act(ctx, refs["held"], Action.HOLD)
    book_first(ctx, refs["today"], sites=["BBB"])
    book_first(ctx, refs["later"], sites=["BBB"], start_from=T0 + timedelta(days=9))
    for name in ("arrived", "started", "imaged"):
        book_first(ctx, refs[name], sites=["AAA"])
    act(ctx, refs["arrived"], Action.ARRIVE)
    act(ctx, refs["started"], Action.ARRIVE, Action.START)
    act(ctx, refs["imaged"], Action.ARRIVE, Action.START, Action.COMPLETE)
    procedures.mark_images_received(ctx, refs["imaged"].procedures[0].accession, "tester")
    book_procedure(ctx, refs["two sites"], 0, sites=["AAA"], start_from=T0 + timedelta(days=3))
    book_procedure(ctx, refs["two sites"], 1, sites=["BBB"], start_from=T0 + timedelta(days=1))
    book_first(ctx, refs["half done"], sites=["AAA"])
    act(ctx, refs["half done"], Action.ARRIVE, Action.START, Action.COMPLETE)
    for booked in (True, False):  # cancelled: closed, not counted
        cancelled = new_referral(ctx)
        if booked:
            book_first(ctx, cancelled, sites=["AAA"])
        act(ctx, cancelled, Action.CANCEL)
    return refs


def test_the_board_counts_as_the_domain_places_at_any_hour(ctx, clock):
    """The SQL placement (board, lists) equals the Python one (``lysbord check``)."""
    refs = every_kind_of_referral(ctx)
    hours = (0, 3, 4.5, 15.5, 16.5, 24 * 3, 24 * 8 + 1, 24 * 11, 24 * 30)
    for hour in hours:
        clock.at = T0 + timedelta(hours=hour)
        with ctx.uow(readonly=True) as uow:
            domain = tracker.placements(uow.session, clock.at)
            in_sql = tracker.placed_in_sql(uow.session, clock.at)
        assert sorted(in_sql, key=lambda p: p.referral_id) == domain, f"at {clock.at}"
        assert {p.referral_id for p in domain} == {r.id for r in refs.values()}
    by_id = {p.referral_id: p for p in domain}
    assert by_id[refs["two sites"].id].site == "BBB"  # the earliest open appointment


def test_queue_site_and_flags_of_every_kind_of_referral(ctx, clock):
    refs = every_kind_of_referral(ctx)
    clock.at = T0 + timedelta(days=11)  # Friday: past the urgent deadlines and notify-by
    with ctx.uow(readonly=True) as uow:
        by_id = {p.referral_id: p for p in tracker.placed_in_sql(uow.session, clock.at)}
    placed = {name: by_id[ref.id] for name, ref in refs.items()}
    assert {n: (p.queue.value if p.queue else None, p.site) for n, p in placed.items()} == {
        "waiting": ("awaiting-booking", "-"),
        "held": ("on-hold", "BBB"),
        "today": ("booked", "BBB"),
        "later": ("booked", "BBB"),
        "arrived": ("arrived", "AAA"),
        "started": ("in-progress", "AAA"),
        "imaged": ("awaiting-report", "AAA"),
        "two sites": ("booked", "BBB"),
        "half done": ("awaiting-booking", "AAA"),
        "untold": ("awaiting-booking", "-"),
    }
    overdue = {n for n, p in placed.items() if p.flags.overdue}
    assert overdue == {"waiting", "today", "later", "arrived"}
    assert {n for n, p in placed.items() if p.flags.notify_overdue} == {"held", "untold"}
    assert {n for n, p in placed.items() if p.flags.booked_after_deadline} == {"later"}


def test_the_drill_down_lists_what_the_board_counts(ctx: Context, clock: Clock) -> None:
    every_kind_of_referral(ctx)
    clock.at = T0 + timedelta(days=11)
    board = tracker.board(ctx)
    for site, counts in board.by_site.items():
        for queue, n in counts.items():
            rows, total = listing(ctx, Choice(queue=queue, site=site))
            assert (total, len(rows)) == (n, n), (site, queue)
            assert {r.referral.queue or "none" for r in rows} == {queue}
            assert {r.site or UNASSIGNED for r in rows} == {site}
    rows, total = listing(ctx, Choice(flag="overdue"))
    assert total == board.overdue == len(board.overdue_list)
    assert [r.referral.id for r in rows] == [i.referral_id for i in board.overdue_list]
    for flag, n in (("booked_after_deadline", 1), ("notify_overdue", 2)):
        rows, total = listing(ctx, Choice(flag=flag))
        assert total == n == getattr(board, flag)
        assert all(getattr(r.referral.flags, flag) for r in rows)
    everyone, total = listing(ctx, Choice())
    assert total == len(everyone) == board.open_referrals
    rest, total = listing(ctx, Choice(offset=4))
    assert (rest, total) == (everyone[4:], board.open_referrals)


def test_a_list_sorts_by_any_column_both_ways_and_pages_in_that_order(
    ctx: Context, clock: Clock
) -> None:
    every_kind_of_referral(ctx)
    for family in ("Curie", "Andersen", "Bohr"):
        new_referral(ctx, new_patient(ctx, family_name=family, given_name="Eva"))
    clock.at = T0 + timedelta(days=11)
    for sort, key in SORT_KEYS.items():
        up, total = listing(ctx, Choice(sort=sort))
        down, _ = listing(ctx, Choice(sort=sort, descending=True))
        assert len(up) == len(down) == total
        assert [key(r) for r in up] == in_order([key(r) for r in up], descending=False), sort
        assert [key(r) for r in down] == in_order([key(r) for r in down], descending=True), sort
        pages = [listing(ctx, Choice(sort=sort, size=3, offset=o))[0] for o in range(0, total, 3)]
        assert [r.referral.id for page in pages for r in page] == [r.referral.id for r in up]
    assert set(SORT_KEYS) == set(SORTS)


def in_order(keys: list[object], *, descending: bool) -> list[object]:
    """The keys as the list must order them: by value either way, missing ones last."""
    known = sorted((k for k in keys if k is not None), reverse=descending)  # type: ignore[type-var]
    return [*known, *(k for k in keys if k is None)]


SORT_KEYS: dict[str, Callable[[Row], Any]] = {
    "due": lambda r: r.referral.due_at,
    "priority": lambda r: Priority(r.referral.priority).rank,
    "name": lambda r: r.referral.patient_name,  # ASCII names here: every collation agrees
    "queue": lambda r: list(Queue).index(r.referral.queue) if r.referral.queue else None,
    "site": lambda r: r.site,  # AAA is Alfa Hospital, BBB Beta: codes and names sort alike
}


def test_a_list_narrows_to_one_priority(ctx: Context) -> None:
    every_kind_of_referral(ctx)
    urgent = new_referral(ctx, priority=Priority.URGENT)
    rows, total = listing(ctx, Choice(priority="urgent"))
    assert urgent.id in {r.referral.id for r in rows}
    assert total == len(rows) and {r.referral.priority for r in rows} == {"urgent"}


def test_check_names_a_referral_the_board_counts_elsewhere(ctx, monkeypatch):
    new_referral(ctx)
    moved = new_referral(ctx, preferred_site="AAA")

    def elsewhere(s: Session, now: datetime) -> list[tracker.Placement]:
        places = tracker.placements(s, now)
        return [replace(p, site="BBB") if p.referral_id == moved.id else p for p in places]

    monkeypatch.setattr(check, "placed_in_sql", elsewhere)
    (finding,) = [f for f in check.run_checks(ctx, blobs=False) if f.count]
    assert finding.examples == [f"referral {moved.id} is counted otherwise than placed"]
