"""Slot generation from weekly templates (DST-correct) and whether a slot fits."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from lysbord.domain.errors import InvalidValue, SlotUnsuitable
from lysbord.domain.slots import (
    OpeningHours,
    check_slot_fits,
    generate_slots,
    modalities_compatible,
)

MONDAY_TO_FRIDAY = [OpeningHours(d, time(8, 0), time(9, 0), 30) for d in range(5)]


def utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def starts(hours: list[OpeningHours], first: date, last: date) -> list[datetime]:
    return [start for start, _ in generate_slots(hours, first, last)]


@pytest.mark.parametrize(
    ("day", "first_slot"),
    [
        (date(2026, 3, 27), utc(2026, 3, 27, 7, 0)),  # Friday before spring forward: CET
        (date(2026, 3, 30), utc(2026, 3, 30, 6, 0)),  # Monday after 29 March: CEST
        (date(2026, 10, 23), utc(2026, 10, 23, 6, 0)),  # Friday before fall back: CEST
        (date(2026, 10, 26), utc(2026, 10, 26, 7, 0)),  # Monday after 25 October: CET
    ],
)
def test_dst_correct_slots(day: date, first_slot: datetime) -> None:
    slots = list(generate_slots(MONDAY_TO_FRIDAY, day, day))
    assert slots == [
        (first_slot, first_slot + timedelta(minutes=30)),
        (first_slot + timedelta(minutes=30), first_slot + timedelta(minutes=60)),
    ]
    assert all(s.tzinfo is UTC and e.tzinfo is UTC for s, e in slots)


def test_week_across_spring_forward() -> None:
    got = starts(MONDAY_TO_FRIDAY, date(2026, 3, 26), date(2026, 3, 30))
    assert got == [
        utc(2026, 3, 26, 7, 0),
        utc(2026, 3, 26, 7, 30),
        utc(2026, 3, 27, 7, 0),
        utc(2026, 3, 27, 7, 30),
        utc(2026, 3, 30, 6, 0),
        utc(2026, 3, 30, 6, 30),
    ]


def test_holidays_and_weekends_have_no_slots() -> None:
    every_day = [OpeningHours(d, time(8, 0), time(8, 30), 30) for d in range(7)]
    got = starts(every_day, date(2026, 4, 1), date(2026, 4, 7))  # Easter week
    assert got == [utc(2026, 4, 1, 6, 0), utc(2026, 4, 7, 6, 0)]


@pytest.mark.parametrize(
    ("opens", "closes", "minutes", "count"),
    [
        (time(8, 0), time(12, 0), 20, 12),
        (time(8, 0), time(12, 10), 20, 12),  # a partial slot at the end is not made
        (time(8, 0), time(8, 19), 20, 0),
        (time(7, 45), time(15, 30), 15, 31),
        (time(0, 0), time(23, 59), 60, 23),
    ],
)
def test_slot_count(opens: time, closes: time, minutes: int, count: int) -> None:
    hours = [OpeningHours(0, opens, closes, minutes)]
    slots = list(generate_slots(hours, date(2026, 1, 12), date(2026, 1, 12)))
    assert len(slots) == count
    assert all(e - s == timedelta(minutes=minutes) for s, e in slots)
    assert all(a[1] == b[0] for a, b in zip(slots, slots[1:], strict=False))


def test_several_templates_on_one_day_come_in_time_order() -> None:
    hours = [
        OpeningHours(0, time(13, 0), time(14, 0), 60),
        OpeningHours(1, time(9, 0), time(10, 0), 60),
        OpeningHours(0, time(8, 0), time(9, 0), 60),
    ]
    got = starts(hours, date(2026, 1, 12), date(2026, 1, 12))
    assert got == [utc(2026, 1, 12, 7, 0), utc(2026, 1, 12, 12, 0)]


def test_empty_range_and_empty_template() -> None:
    assert starts(MONDAY_TO_FRIDAY, date(2026, 1, 13), date(2026, 1, 12)) == []
    assert starts([], date(2026, 1, 1), date(2026, 12, 31)) == []


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"weekday": 7}, "weekday"),
        ({"weekday": -1}, "weekday"),
        ({"slot_minutes": 0}, "slot_minutes"),
        ({"closes": time(8, 0)}, "closes"),
        ({"closes": time(7, 0)}, "closes"),
    ],
)
def test_opening_hours_refuse_nonsense(kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {
        "weekday": 0,
        "opens": time(8, 0),
        "closes": time(16, 0),
        "slot_minutes": 15,
    }
    with pytest.raises(InvalidValue) as info:
        OpeningHours(**{**args, **kwargs})  # type: ignore[arg-type]
    assert info.value.field == field


NOW = utc(2026, 3, 2, 8, 0)
START = utc(2026, 3, 3, 8, 0)


def fits(**overrides: object) -> None:
    args: dict[str, object] = {
        "slot_start": START,
        "slot_end": START + timedelta(minutes=30),
        "duration_minutes": 30,
        "slot_modality": "MR",
        "procedure_modality": "MR",
        "now": NOW,
        "earliest_at": None,
    }
    check_slot_fits(**{**args, **overrides})  # type: ignore[arg-type]


def test_a_fitting_slot_passes() -> None:
    fits()
    fits(duration_minutes=20)
    fits(now=START)  # starting right now is not in the past
    fits(earliest_at=START)


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        (
            {"slot_modality": "CT"},
            "modality CT does not match procedure modality MR",
        ),
        ({"duration_minutes": 45}, "slot is 30 minutes, procedure needs 45"),
        (
            {"slot_end": START + timedelta(minutes=15)},
            "slot is 15 minutes, procedure needs 30",
        ),
        (
            {"now": START + timedelta(minutes=1)},
            "the slot started at 2026-03-03 09:00, in the past",
        ),
        (
            {"earliest_at": START + timedelta(days=1)},
            "slot is before the earliest date for this follow-up",
        ),
    ],
)
def test_unsuitable_slots_say_why(overrides: dict[str, object], reason: str) -> None:
    with pytest.raises(SlotUnsuitable) as info:
        fits(**overrides)
    assert info.value.reason.startswith(reason)
    assert info.value.field == "slot_id"


@pytest.mark.parametrize(
    ("slot", "procedure", "ok"),
    [
        ("DX", "CR", True),
        ("CR", "DX", True),
        ("DX", "DX", True),
        ("CR", "CR", True),
        ("CT", "CT", True),
        ("MG", "MG", True),
        ("CT", "MR", False),
        ("DX", "MG", False),
        ("US", "CR", False),
    ],
)
def test_modality_families(slot: str, procedure: str, ok: bool) -> None:
    assert modalities_compatible(slot, procedure) is ok
    if ok:
        fits(slot_modality=slot, procedure_modality=procedure)
    else:
        with pytest.raises(SlotUnsuitable, match="does not match"):
            fits(slot_modality=slot, procedure_modality=procedure)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"duration_minutes": 0}, "duration_minutes"),
        ({"now": datetime(2026, 3, 2, 8, 0)}, "now"),
        ({"slot_start": datetime(2026, 3, 3, 8, 0)}, "slot_start"),
    ],
)
def test_bad_arguments_are_invalid_values(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidValue) as info:
        fits(**overrides)
    assert info.value.field == field
