"""Every open referral is in exactly one queue, and the flags that call for action."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lysbord.domain.errors import InvalidValue
from lysbord.domain.tracking import (
    Flags,
    ProcedureSnapshot,
    Queue,
    days_overdue,
    flags,
    procedure_queue,
    referral_queue,
)
from lysbord.domain.workflow import ProcedureState

S = ProcedureState
NOW = datetime(2026, 3, 30, 10, 0, tzinfo=UTC)  # Monday 12:00 in Copenhagen
LATER = datetime(2026, 4, 2, 10, 0, tzinfo=UTC)


def snap(
    state: ProcedureState, slot_start: datetime | None = None, images: bool = False
) -> ProcedureSnapshot:
    return ProcedureSnapshot(state=state, slot_start=slot_start, images_received=images)


def test_queue_order_is_pipeline_order() -> None:
    assert [q.value for q in Queue] == [
        "awaiting-booking",
        "on-hold",
        "booked",
        "today",
        "arrived",
        "in-progress",
        "awaiting-images",
        "awaiting-report",
    ]


@pytest.mark.parametrize(
    ("p", "queue"),
    [
        (snap(S.REQUESTED), Queue.AWAITING_BOOKING),
        (snap(S.NO_SHOW, NOW - timedelta(days=1)), Queue.AWAITING_BOOKING),
        (snap(S.ON_HOLD), Queue.ON_HOLD),
        (snap(S.BOOKED, LATER), Queue.BOOKED),
        (snap(S.BOOKED, None), Queue.BOOKED),
        (snap(S.BOOKED, NOW + timedelta(hours=2)), Queue.TODAY),
        (snap(S.BOOKED, NOW - timedelta(hours=3)), Queue.TODAY),  # earlier today, not arrived
        (snap(S.ARRIVED, NOW), Queue.ARRIVED),
        (snap(S.IN_PROGRESS, NOW), Queue.IN_PROGRESS),
        (snap(S.COMPLETED, NOW), Queue.AWAITING_IMAGES),
        (snap(S.COMPLETED, NOW, images=True), Queue.AWAITING_REPORT),
        (snap(S.REPORTED, NOW, images=True), None),
        (snap(S.CANCELLED), None),
        (snap(S.DISCONTINUED, NOW), None),
    ],
)
def test_procedure_queue(p: ProcedureSnapshot, queue: Queue | None) -> None:
    assert procedure_queue(p, NOW) is queue


@pytest.mark.parametrize(
    ("slot_start", "queue"),
    [
        (datetime(2026, 3, 29, 21, 59, tzinfo=UTC), Queue.BOOKED),  # 23:59 local on the 29th
        (datetime(2026, 3, 29, 22, 0, tzinfo=UTC), Queue.TODAY),  # 00:00 local on the 30th
        (datetime(2026, 3, 30, 21, 59, tzinfo=UTC), Queue.TODAY),  # 23:59 local
        (datetime(2026, 3, 30, 22, 0, tzinfo=UTC), Queue.BOOKED),  # 00:00 local on the 31st
    ],
)
def test_today_is_the_copenhagen_day(slot_start: datetime, queue: Queue) -> None:
    assert procedure_queue(snap(S.BOOKED, slot_start), NOW) is queue


def test_every_state_has_a_queue_unless_terminal() -> None:
    for state in S:
        queue = procedure_queue(snap(state, NOW), NOW)
        assert (queue is None) is (state in {S.REPORTED, S.CANCELLED, S.DISCONTINUED})


@pytest.mark.parametrize(
    ("procs", "queue"),
    [
        ([snap(S.REPORTED), snap(S.REQUESTED)], Queue.AWAITING_BOOKING),
        ([snap(S.COMPLETED, images=True), snap(S.BOOKED, LATER)], Queue.BOOKED),
        ([snap(S.BOOKED, NOW), snap(S.BOOKED, LATER)], Queue.BOOKED),
        ([snap(S.BOOKED, NOW), snap(S.IN_PROGRESS)], Queue.TODAY),
        ([snap(S.ON_HOLD), snap(S.NO_SHOW)], Queue.AWAITING_BOOKING),
        ([snap(S.ON_HOLD), snap(S.ARRIVED)], Queue.ON_HOLD),
        ([snap(S.COMPLETED, images=True), snap(S.COMPLETED)], Queue.AWAITING_IMAGES),
        ([snap(S.COMPLETED, images=True), snap(S.CANCELLED)], Queue.AWAITING_REPORT),
        ([snap(S.REPORTED), snap(S.CANCELLED), snap(S.DISCONTINUED)], None),
        ([], None),
    ],
)
def test_referral_queue(procs: list[ProcedureSnapshot], queue: Queue | None) -> None:
    assert referral_queue(procs, NOW) is queue


DUE = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
NOTIFY = datetime(2026, 3, 31, 21, 59, 59, tzinfo=UTC)
BEFORE = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)  # before notify_by and due_at
BETWEEN = datetime(2026, 4, 1, 6, 0, tzinfo=UTC)  # after notify_by, before due_at
AFTER = datetime(2026, 4, 1, 12, 0, 1, tzinfo=UTC)  # after both


@pytest.mark.parametrize(
    ("queue", "expected"),
    [
        (Queue.AWAITING_BOOKING, True),
        (Queue.ON_HOLD, True),
        (Queue.BOOKED, True),
        (Queue.TODAY, True),
        (Queue.ARRIVED, True),
        (Queue.IN_PROGRESS, False),
        (Queue.AWAITING_IMAGES, False),
        (Queue.AWAITING_REPORT, False),
        (None, False),
    ],
)
def test_overdue_only_where_work_up_has_not_started(queue: Queue | None, expected: bool) -> None:
    assert flags(queue, DUE, None, None, AFTER).overdue is expected
    assert flags(queue, DUE, None, None, BETWEEN).overdue is False


def test_overdue_is_strictly_after_the_deadline() -> None:
    assert flags(Queue.BOOKED, DUE, None, None, DUE).overdue is False
    assert flags(Queue.BOOKED, DUE, None, None, DUE + timedelta(seconds=1)).overdue is True


@pytest.mark.parametrize(
    ("slot_start", "expected"),
    [
        (None, False),
        (DUE - timedelta(minutes=1), False),
        (DUE, False),
        (DUE + timedelta(minutes=1), True),
    ],
)
def test_booked_after_deadline(slot_start: datetime | None, expected: bool) -> None:
    assert flags(Queue.BOOKED, DUE, None, slot_start, BEFORE).booked_after_deadline is expected


@pytest.mark.parametrize(
    ("queue", "notify_by", "now", "expected"),
    [
        (Queue.AWAITING_BOOKING, NOTIFY, BETWEEN, True),
        (Queue.ON_HOLD, NOTIFY, BETWEEN, True),
        (Queue.AWAITING_BOOKING, NOTIFY, BEFORE, False),
        (Queue.AWAITING_BOOKING, NOTIFY, NOTIFY, False),
        (Queue.AWAITING_BOOKING, None, AFTER, False),
        (Queue.BOOKED, NOTIFY, BETWEEN, False),  # the patient has a date
        (Queue.TODAY, NOTIFY, AFTER, False),
        (None, NOTIFY, AFTER, False),
    ],
)
def test_notify_overdue(
    queue: Queue | None, notify_by: datetime | None, now: datetime, expected: bool
) -> None:
    assert flags(queue, DUE, notify_by, None, now).notify_overdue is expected


def test_all_flags_together() -> None:
    late_slot = DUE + timedelta(days=3)
    assert flags(Queue.ON_HOLD, DUE, NOTIFY, late_slot, AFTER) == Flags(True, True, True)
    assert flags(Queue.AWAITING_REPORT, DUE, NOTIFY, None, BEFORE) == Flags(False, False, False)


def test_flags_refuse_naive_times() -> None:
    with pytest.raises(InvalidValue) as info:
        flags(Queue.BOOKED, datetime(2026, 4, 1), None, None, NOW)
    assert info.value.field == "due_at"


@pytest.mark.parametrize(
    ("due", "now", "days"),
    [
        (datetime(2026, 3, 2, 7, tzinfo=UTC), datetime(2026, 3, 2, 9, tzinfo=UTC), 0),
        # 23:30 UTC on the 2nd is already the 3rd in Copenhagen: one day, not zero
        (datetime(2026, 3, 2, 7, tzinfo=UTC), datetime(2026, 3, 2, 23, 30, tzinfo=UTC), 1),
        (datetime(2026, 3, 2, 23, 30, tzinfo=UTC), datetime(2026, 3, 5, 7, tzinfo=UTC), 2),
        # across the spring change (29 March 2026) whole days still count as days
        (datetime(2026, 3, 27, 11, tzinfo=UTC), datetime(2026, 4, 3, 10, tzinfo=UTC), 7),
    ],
)
def test_days_overdue_counts_copenhagen_calendar_days(
    due: datetime, now: datetime, days: int
) -> None:
    assert days_overdue(due, now) == days
