"""Danish working days and Copenhagen local time, for deadlines and slot templates.

Deadlines counted in weekdays ("the patient must be told the date within 8 weekdays")
skip Saturdays, Sundays and Danish public holidays (DOMAIN.md §3). Instants are stored
in UTC; the local day (what "today" means on the ward) is the day in Europe/Copenhagen.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from types import MappingProxyType
from zoneinfo import ZoneInfo

from lysbord.domain.errors import InvalidValue, Msg

COPENHAGEN = ZoneInfo("Europe/Copenhagen")

#: Store Bededag was abolished as a public holiday from 2024 (law passed in 2023).
LAST_STORE_BEDEDAG_YEAR = 2023

#: Holidays at a fixed date. Grundlovsdag (5 June), Juleaftensdag (24 December) and
#: Nytårsaftensdag (31 December) are not official public holidays but customary closing
#: days; they are included as non-working days for hospital outpatient scheduling.
_FIXED: tuple[tuple[int, int, str], ...] = (
    (1, 1, "Nytårsdag"),
    (6, 5, "Grundlovsdag"),
    (12, 24, "Juleaftensdag"),
    (12, 25, "Juledag"),
    (12, 26, "2. Juledag"),
    (12, 31, "Nytårsaftensdag"),
)

#: Holidays as days from Easter Sunday.
_FROM_EASTER: tuple[tuple[int, str], ...] = (
    (-3, "Skærtorsdag"),
    (-2, "Langfredag"),
    (0, "Påskedag"),
    (1, "2. Påskedag"),
    (39, "Kristi Himmelfartsdag"),
    (49, "Pinsedag"),
    (50, "2. Pinsedag"),
)


def easter_sunday(year: int) -> date:
    """Easter Sunday by the anonymous Gregorian algorithm (Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    el = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * el) // 451
    month, day = divmod(h + el - 7 * m + 114, 31)
    return date(year, month, day + 1)


@lru_cache(maxsize=256)
def _holidays(year: int) -> Mapping[date, str]:
    """Every non-working holiday of ``year`` with its Danish name."""
    easter = easter_sunday(year)
    days = {date(year, m, d): name for m, d, name in _FIXED}
    days.update({easter + timedelta(days=n): name for n, name in _FROM_EASTER})
    if year <= LAST_STORE_BEDEDAG_YEAR:
        days[easter + timedelta(days=26)] = "Store Bededag"  # 4th Friday after Easter
    return MappingProxyType(days)


@lru_cache(maxsize=256)
def danish_holidays(year: int) -> frozenset[date]:
    """The days hospital outpatient clinics are closed in ``year``, besides weekends.

    Official public holidays plus Grundlovsdag, Juleaftensdag and Nytårsaftensdag
    (customary closing days). Store Bededag counts only until 2023.
    """
    return frozenset(_holidays(year))


def holiday_name(day: date) -> str | None:
    """The Danish name of the holiday on ``day``, or None on an ordinary day."""
    return _holidays(day.year).get(day)


def is_working_day(day: date) -> bool:
    """Monday to Friday and not a holiday: a weekday in the legal sense."""
    return day.weekday() < 5 and day not in _holidays(day.year)


def add_working_days(start: date, n: int) -> date:
    """The ``n``-th working day after ``start`` (``start`` itself when ``n`` is 0)."""
    if n < 0:
        raise InvalidValue(Msg("must be 0 or more"), field="n", value=n)
    day = start
    while n > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            n -= 1
    return day


def require_aware(at: datetime, field: str) -> datetime:
    """``at`` converted to UTC; naive datetimes are refused (their zone is a guess)."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidValue(Msg("must be timezone-aware"), field=field, value=at.isoformat())
    return at.astimezone(UTC)


def local_date(at: datetime) -> date:
    """The calendar date in Copenhagen at instant ``at``: what "today" means locally."""
    return require_aware(at, "at").astimezone(COPENHAGEN).date()


def local_datetime(day: date, t: time) -> datetime:
    """Copenhagen wall time ``t`` on ``day`` as an aware UTC datetime.

    A wall time skipped by the spring-forward change moves forward by the gap
    (02:30 becomes 03:30 CEST); an ambiguous autumn time takes the first (fold=0).
    """
    if t.tzinfo is not None:
        raise InvalidValue(Msg("must be a wall-clock time without tzinfo"), field="t", value=str(t))
    return datetime.combine(day, t, tzinfo=COPENHAGEN).replace(fold=0).astimezone(UTC)


def start_of_local_day(day: date) -> datetime:
    """00:00 Copenhagen time on ``day``, in UTC."""
    return local_datetime(day, time(0, 0))


def end_of_local_day(day: date) -> datetime:
    """23:59:59 Copenhagen time on ``day``, in UTC: the last moment of a deadline day."""
    return local_datetime(day, time(23, 59, 59))


def local_dt(at: datetime | None) -> str:
    """UTC -> ``26.11.2026 10:15`` in Copenhagen; empty for None."""
    return at.astimezone(COPENHAGEN).strftime("%d.%m.%Y %H:%M") if at else ""
