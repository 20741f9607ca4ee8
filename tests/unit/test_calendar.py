"""Danish holidays, working days and Copenhagen local time (DST)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest

from lysbord.domain.calendar import (
    COPENHAGEN,
    add_working_days,
    danish_holidays,
    easter_sunday,
    end_of_local_day,
    holiday_name,
    is_working_day,
    local_date,
    local_datetime,
    require_aware,
    start_of_local_day,
)
from lysbord.domain.errors import InvalidValue


def _fixed(year: int) -> dict[date, str]:
    return {
        date(year, 1, 1): "Nytårsdag",
        date(year, 6, 5): "Grundlovsdag",
        date(year, 12, 24): "Juleaftensdag",
        date(year, 12, 25): "Juledag",
        date(year, 12, 26): "2. Juledag",
        date(year, 12, 31): "Nytårsaftensdag",
    }


HOLIDAYS = {
    2023: {
        date(2023, 4, 6): "Skærtorsdag",
        date(2023, 4, 7): "Langfredag",
        date(2023, 4, 9): "Påskedag",
        date(2023, 4, 10): "2. Påskedag",
        date(2023, 5, 5): "Store Bededag",
        date(2023, 5, 18): "Kristi Himmelfartsdag",
        date(2023, 5, 28): "Pinsedag",
        date(2023, 5, 29): "2. Pinsedag",
        **_fixed(2023),
    },
    2024: {
        date(2024, 3, 28): "Skærtorsdag",
        date(2024, 3, 29): "Langfredag",
        date(2024, 3, 31): "Påskedag",
        date(2024, 4, 1): "2. Påskedag",
        date(2024, 5, 9): "Kristi Himmelfartsdag",
        date(2024, 5, 19): "Pinsedag",
        date(2024, 5, 20): "2. Pinsedag",
        **_fixed(2024),
    },
    2026: {
        date(2026, 4, 2): "Skærtorsdag",
        date(2026, 4, 3): "Langfredag",
        date(2026, 4, 5): "Påskedag",
        date(2026, 4, 6): "2. Påskedag",
        date(2026, 5, 14): "Kristi Himmelfartsdag",
        date(2026, 5, 24): "Pinsedag",
        date(2026, 5, 25): "2. Pinsedag",
        **_fixed(2026),
    },
}


@pytest.mark.parametrize("year", sorted(HOLIDAYS))
def test_danish_holidays(year: int) -> None:
    assert danish_holidays(year) == frozenset(HOLIDAYS[year])
    assert {d: holiday_name(d) for d in danish_holidays(year)} == HOLIDAYS[year]


@pytest.mark.parametrize(
    ("day", "is_holiday"),
    [(date(2022, 5, 13), True), (date(2023, 5, 5), True), (date(2024, 4, 26), False)],
)
def test_store_bededag_abolished_from_2024(day: date, is_holiday: bool) -> None:
    # Store Bededag is the 4th Friday after Easter; 26 April 2024 would have been it.
    assert (holiday_name(day) == "Store Bededag") is is_holiday
    assert is_working_day(day) is not is_holiday


@pytest.mark.parametrize(
    "easter",
    [
        date(2000, 4, 23),
        date(2008, 3, 23),
        date(2011, 4, 24),
        date(2019, 4, 21),
        date(2023, 4, 9),
        date(2024, 3, 31),
        date(2025, 4, 20),
        date(2026, 4, 5),
        date(2038, 4, 25),
        date(2285, 3, 22),
    ],
)
def test_easter_sunday(easter: date) -> None:
    assert easter_sunday(easter.year) == easter


def test_holidays_are_cached_and_immutable() -> None:
    first = danish_holidays(2026)
    assert isinstance(first, frozenset)
    assert danish_holidays(2026) is first


def test_pinsedag_on_grundlovsdag_counts_once() -> None:
    # 2022: Easter 17 April, so Pinsedag fell on 5 June.
    assert holiday_name(date(2022, 6, 5)) == "Pinsedag"
    assert len(danish_holidays(2022)) == 13  # 14 holidays with Store Bededag, one shared day


def test_holiday_name_of_ordinary_day_is_none() -> None:
    assert holiday_name(date(2026, 4, 7)) is None


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 3, 30), True),  # Monday
        (date(2026, 4, 1), True),  # Wednesday before Easter
        (date(2026, 4, 2), False),  # Skærtorsdag
        (date(2026, 4, 4), False),  # Saturday
        (date(2026, 4, 5), False),  # Sunday and Påskedag
        (date(2026, 4, 6), False),  # 2. Påskedag
        (date(2026, 4, 7), True),
        (date(2026, 6, 5), False),  # Grundlovsdag, a Friday
        (date(2026, 12, 24), False),
        (date(2026, 12, 31), False),
    ],
)
def test_is_working_day(day: date, working: bool) -> None:
    assert is_working_day(day) is working


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (date(2026, 4, 1), 0, date(2026, 4, 1)),
        (date(2026, 4, 4), 0, date(2026, 4, 4)),  # n = 0 is start, even on a Saturday
        (date(2026, 4, 1), 1, date(2026, 4, 7)),  # across Easter
        (date(2026, 3, 27), 5, date(2026, 4, 8)),
        (date(2026, 4, 2), 1, date(2026, 4, 7)),  # starting on a holiday
        (date(2026, 3, 30), 8, date(2026, 4, 14)),
        (date(2026, 12, 23), 1, date(2026, 12, 28)),
        (date(2026, 12, 30), 1, date(2027, 1, 4)),
        (date(2026, 1, 5), 5, date(2026, 1, 12)),  # an ordinary week
    ],
)
def test_add_working_days(start: date, n: int, expected: date) -> None:
    assert add_working_days(start, n) == expected


def test_add_negative_working_days_is_refused() -> None:
    with pytest.raises(InvalidValue, match="must be 0 or more"):
        add_working_days(date(2026, 4, 1), -1)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (datetime(2026, 1, 15, 22, 59, tzinfo=UTC), date(2026, 1, 15)),
        (datetime(2026, 1, 15, 23, 0, tzinfo=UTC), date(2026, 1, 16)),
        (datetime(2026, 3, 31, 21, 59, tzinfo=UTC), date(2026, 3, 31)),
        (datetime(2026, 3, 31, 22, 0, tzinfo=UTC), date(2026, 4, 1)),
        (datetime(2026, 4, 1, 0, 30, tzinfo=COPENHAGEN), date(2026, 4, 1)),
        (datetime(2026, 4, 1, 0, 30, tzinfo=timezone(timedelta(hours=-5))), date(2026, 4, 1)),
    ],
)
def test_local_date(at: datetime, expected: date) -> None:
    assert local_date(at) == expected


def test_local_date_refuses_naive() -> None:
    with pytest.raises(InvalidValue, match="timezone-aware"):
        local_date(datetime(2026, 4, 1, 12, 0))


@pytest.mark.parametrize(
    ("day", "t", "utc"),
    [
        (date(2026, 1, 12), time(8, 0), datetime(2026, 1, 12, 7, 0, tzinfo=UTC)),
        (date(2026, 3, 30), time(8, 0), datetime(2026, 3, 30, 6, 0, tzinfo=UTC)),
        (date(2026, 3, 28), time(23, 59, 59), datetime(2026, 3, 28, 22, 59, 59, tzinfo=UTC)),
        # Spring forward: 02:00-03:00 does not exist; it moves forward by the gap.
        (date(2026, 3, 29), time(2, 0), datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
        (date(2026, 3, 29), time(2, 30), datetime(2026, 3, 29, 1, 30, tzinfo=UTC)),
        (date(2026, 3, 29), time(3, 0), datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
        # Fall back: 02:00-03:00 happens twice; the first (summer time) is taken.
        (date(2026, 10, 25), time(2, 30), datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
        (date(2026, 10, 25), time(3, 0), datetime(2026, 10, 25, 2, 0, tzinfo=UTC)),
        (date(2026, 10, 26), time(8, 0), datetime(2026, 10, 26, 7, 0, tzinfo=UTC)),
    ],
)
def test_local_datetime(day: date, t: time, utc: datetime) -> None:
    result = local_datetime(day, t)
    assert result == utc
    assert result.tzinfo is UTC


def test_skipped_time_lands_after_the_gap() -> None:
    local = local_datetime(date(2026, 3, 29), time(2, 30)).astimezone(COPENHAGEN)
    assert (local.hour, local.minute) == (3, 30)


def test_local_datetime_refuses_aware_time() -> None:
    with pytest.raises(InvalidValue, match="without tzinfo"):
        local_datetime(date(2026, 1, 12), time(8, 0, tzinfo=UTC))


def test_start_and_end_of_local_day() -> None:
    assert start_of_local_day(date(2026, 7, 1)) == datetime(2026, 6, 30, 22, 0, tzinfo=UTC)
    assert end_of_local_day(date(2026, 7, 1)) == datetime(2026, 7, 1, 21, 59, 59, tzinfo=UTC)


def test_require_aware_converts_to_utc() -> None:
    at = datetime(2026, 7, 1, 10, 0, tzinfo=COPENHAGEN)
    assert require_aware(at, "at") == datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
    assert require_aware(at, "at").tzinfo is UTC
    with pytest.raises(InvalidValue) as info:
        require_aware(datetime(2026, 7, 1), "received_at")
    assert info.value.field == "received_at"
