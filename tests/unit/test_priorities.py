"""Priorities and every deadline rule (DOMAIN.md §3)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from lysbord.domain.calendar import COPENHAGEN
from lysbord.domain.errors import InvalidValue
from lysbord.domain.priorities import DeadlinePolicy, Deadlines, Priority, compute_deadlines

RECEIVED = datetime(2026, 3, 30, 7, 0, tzinfo=UTC)  # Monday 09:00 in Copenhagen


def test_rank_follows_declaration_order() -> None:
    assert [p.rank for p in Priority] == [0, 1, 2, 3, 4, 5]
    assert Priority.ACUTE.rank == 0
    assert Priority.SCREENING.rank == 5
    shuffled = [Priority.ROUTINE, Priority.SCREENING, Priority.ACUTE, Priority.URGENT]
    assert sorted(shuffled, key=lambda p: p.rank) == [
        Priority.ACUTE,
        Priority.URGENT,
        Priority.ROUTINE,
        Priority.SCREENING,
    ]


def test_priority_values() -> None:
    assert [p.value for p in Priority] == [
        "acute",
        "cancer-pathway",
        "urgent",
        "routine",
        "follow-up",
        "screening",
    ]


def test_acute_is_four_hours() -> None:
    result = compute_deadlines(Priority.ACUTE, RECEIVED)
    assert result == Deadlines(datetime(2026, 3, 30, 11, 0, tzinfo=UTC), None, None)


@pytest.mark.parametrize(
    ("priority", "delta"),
    [
        (Priority.ACUTE, timedelta(hours=4)),
        (Priority.URGENT, timedelta(days=7)),
        (Priority.ROUTINE, timedelta(days=30)),
    ],
)
def test_simple_deadlines(priority: Priority, delta: timedelta) -> None:
    result = compute_deadlines(priority, RECEIVED)
    assert result.due_at == RECEIVED + delta
    assert result.notify_by is None
    assert result.earliest_at is None


def test_cancer_pathway_14_days_and_told_within_8_weekdays_across_easter() -> None:
    result = compute_deadlines(Priority.CANCER_PATHWAY, RECEIVED)
    assert result.due_at == datetime(2026, 4, 13, 7, 0, tzinfo=UTC)
    # 31/3, 1/4, (Easter 2-6/4), 7, 8, 9, 10, 13, 14 April: the 8th weekday is 14 April.
    assert result.notify_by == datetime(2026, 4, 14, 21, 59, 59, tzinfo=UTC)
    assert result.earliest_at is None


def test_cancer_notify_uses_the_local_receipt_date() -> None:
    # 22:30Z on Sunday 29 March is 00:30 on Monday 30 March in Copenhagen.
    received = datetime(2026, 3, 29, 22, 30, tzinfo=UTC)
    result = compute_deadlines(Priority.CANCER_PATHWAY, received)
    assert result.notify_by == datetime(2026, 4, 14, 21, 59, 59, tzinfo=UTC)


def test_cancer_notify_end_of_day_in_winter() -> None:
    received = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # Monday
    result = compute_deadlines(Priority.CANCER_PATHWAY, received)
    assert result.notify_by == datetime(2026, 1, 15, 22, 59, 59, tzinfo=UTC)


@pytest.mark.parametrize("days", [1, 2, 14])
def test_cancer_protocol_days(days: int) -> None:
    result = compute_deadlines(Priority.CANCER_PATHWAY, RECEIVED, protocol_days=days)
    assert result.due_at == RECEIVED + timedelta(days=days)
    assert result.notify_by == datetime(2026, 4, 14, 21, 59, 59, tzinfo=UTC)


@pytest.mark.parametrize("days", [0, -1, 15, 30])
def test_cancer_protocol_days_out_of_range(days: int) -> None:
    with pytest.raises(InvalidValue, match="must be 1 to 14") as info:
        compute_deadlines(Priority.CANCER_PATHWAY, RECEIVED, protocol_days=days)
    assert info.value.field == "protocol_days"
    assert info.value.value == days


@pytest.mark.parametrize("priority", [p for p in Priority if p is not Priority.CANCER_PATHWAY])
def test_protocol_days_only_for_cancer_pathway(priority: Priority) -> None:
    with pytest.raises(InvalidValue, match="only a cancer-pathway") as info:
        compute_deadlines(
            priority,
            RECEIVED,
            protocol_days=2,
            requested_date=date(2026, 5, 1),
            screening_due=RECEIVED,
        )
    assert info.value.field == "protocol_days"


def test_follow_up_window_in_summer() -> None:
    result = compute_deadlines(Priority.FOLLOW_UP, RECEIVED, requested_date=date(2026, 9, 15))
    assert result.due_at == datetime(2026, 9, 29, 21, 59, 59, tzinfo=UTC)
    assert result.earliest_at == datetime(2026, 8, 31, 22, 0, tzinfo=UTC)
    assert result.notify_by is None


def test_follow_up_window_in_winter_and_custom_tolerance() -> None:
    policy = DeadlinePolicy(follow_up_tolerance_days=7)
    result = compute_deadlines(
        Priority.FOLLOW_UP, RECEIVED, policy, requested_date=date(2026, 12, 1)
    )
    assert result.due_at == datetime(2026, 12, 8, 22, 59, 59, tzinfo=UTC)
    assert result.earliest_at == datetime(2026, 11, 23, 23, 0, tzinfo=UTC)


def test_follow_up_zero_tolerance_is_the_requested_day() -> None:
    policy = DeadlinePolicy(follow_up_tolerance_days=0)
    result = compute_deadlines(
        Priority.FOLLOW_UP, RECEIVED, policy, requested_date=date(2026, 12, 1)
    )
    assert result.earliest_at is not None
    assert result.earliest_at.astimezone(COPENHAGEN).date() == date(2026, 12, 1)
    assert result.due_at.astimezone(COPENHAGEN).date() == date(2026, 12, 1)


def test_follow_up_needs_requested_date() -> None:
    with pytest.raises(InvalidValue, match="a follow-up needs the requested date") as info:
        compute_deadlines(Priority.FOLLOW_UP, RECEIVED)
    assert info.value.field == "requested_date"


def test_screening_due_from_the_round() -> None:
    due = datetime(2026, 6, 1, 12, 0, tzinfo=COPENHAGEN)
    result = compute_deadlines(Priority.SCREENING, RECEIVED, screening_due=due)
    assert result == Deadlines(datetime(2026, 6, 1, 10, 0, tzinfo=UTC))
    assert result.due_at.tzinfo is UTC


def test_screening_needs_due_date() -> None:
    with pytest.raises(InvalidValue) as info:
        compute_deadlines(Priority.SCREENING, RECEIVED)
    assert info.value.field == "screening_due"


def test_screening_due_must_be_aware() -> None:
    with pytest.raises(InvalidValue) as info:
        compute_deadlines(Priority.SCREENING, RECEIVED, screening_due=datetime(2026, 6, 1))
    assert info.value.field == "screening_due"


@pytest.mark.parametrize("priority", list(Priority))
def test_received_at_must_be_aware(priority: Priority) -> None:
    with pytest.raises(InvalidValue, match="timezone-aware") as info:
        compute_deadlines(priority, datetime(2026, 3, 30, 9, 0))
    assert info.value.field == "received_at"


def test_received_at_in_local_time_gives_utc_results() -> None:
    received = datetime(2026, 3, 30, 9, 0, tzinfo=COPENHAGEN)
    result = compute_deadlines(Priority.URGENT, received)
    assert result.due_at == datetime(2026, 4, 6, 7, 0, tzinfo=UTC)
    assert result.due_at.tzinfo is UTC


def test_custom_policy() -> None:
    policy = DeadlinePolicy(
        acute_hours=2, cancer_days=10, cancer_notify_weekdays=3, urgent_days=5, routine_days=20
    )
    assert compute_deadlines(Priority.ACUTE, RECEIVED, policy).due_at == RECEIVED + timedelta(
        hours=2
    )
    cancer = compute_deadlines(Priority.CANCER_PATHWAY, RECEIVED, policy)
    assert cancer.due_at == RECEIVED + timedelta(days=10)
    assert cancer.notify_by == datetime(2026, 4, 7, 21, 59, 59, tzinfo=UTC)
    assert compute_deadlines(Priority.URGENT, RECEIVED, policy).due_at == RECEIVED + timedelta(
        days=5
    )
    assert compute_deadlines(Priority.ROUTINE, RECEIVED, policy).due_at == RECEIVED + timedelta(
        days=20
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("acute_hours", 0),
        ("cancer_days", 0),
        ("cancer_notify_weekdays", 0),
        ("urgent_days", -1),
        ("routine_days", 0),
        ("follow_up_tolerance_days", -1),
    ],
)
def test_policy_refuses_nonsense(field: str, value: int) -> None:
    with pytest.raises(InvalidValue) as info:
        DeadlinePolicy(**{field: value})
    assert info.value.field == field


def test_default_policy() -> None:
    assert DeadlinePolicy() == DeadlinePolicy(4, 14, 8, 7, 30, 14)
