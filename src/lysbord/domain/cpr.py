"""CPR numbers and replacement numbers (e-CPR), parsed strictly but fairly (DOMAIN.md §2).

A CPR number is ``DDMMYY-SSSS``: the date must exist, the century follows from digit 7,
and digit 10 gives the sex. Modulus 11 is recorded but never enforced: numbers failing
it have been issued since 1 October 2007. Replacement numbers are ``DDMMYY`` + a century
digit + two letters + a sex digit; national ones (X-eCPR) use 1 or 7, older regional
ones (D-eCPR) 0, 5 or 6.
"""

from __future__ import annotations

import string
from calendar import monthrange
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Literal

from lysbord.domain.errors import InvalidCpr, InvalidValue, Msg

_MOD11_WEIGHTS = (4, 3, 2, 7, 6, 5, 4, 3, 2, 1)
_X_ECPR_CENTURY = {"1": 1900, "7": 2000}
_D_ECPR_DIGITS = frozenset("056")
_ASCII_UPPER = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)
_MONTHS = (
    Msg("January"), Msg("February"), Msg("March"), Msg("April"), Msg("May"), Msg("June"),
    Msg("July"), Msg("August"), Msg("September"), Msg("October"), Msg("November"),
    Msg("December"),
)  # fmt: skip


class IdKind(StrEnum):
    """Which kind of personal identifier a number is."""

    CPR = "cpr"
    X_ECPR = "x-ecpr"
    D_ECPR = "d-ecpr"


@dataclass(frozen=True, slots=True)
class PersonNumber:
    """A parsed, valid CPR or replacement number, stored without the dash."""

    value: str
    kind: IdKind
    birth_date: date
    sex: Literal["M", "F"]
    modulus11_ok: bool

    @property
    def formatted(self) -> str:
        """The number as people write it: ``DDMMYY-SSSS``."""
        return f"{self.value[:6]}-{self.value[6:]}"


def parse_person_number(text: str) -> PersonNumber:
    """Parse a CPR or e-CPR number, with or without the dash and surrounding spaces.

    Raises InvalidCpr naming the precise reason; modulus 11 never causes a rejection.
    """
    value = _normalise(text)
    kind = _kind(value, text)
    century = _century(value[6], int(value[4:6]), kind)
    birth_date = _birth_date(value, century, text)
    sex: Literal["M", "F"] = "M" if int(value[9]) % 2 == 1 else "F"
    mod11 = kind is IdKind.CPR and _modulus11_ok(value)
    return PersonNumber(value, kind, birth_date, sex, mod11)


def age_on(birth_date: date, day: date) -> int:
    """Exact age in completed years on ``day`` (never calendar year minus birth year).

    England 2018: computing age as year minus year left 450,000 women uninvited.
    Someone born on 29 February has a birthday on 1 March in non-leap years.
    """
    if day < birth_date:
        raise InvalidValue(
            Msg("is before the birth date {birth_date}", birth_date=birth_date),
            field="day",
            value=day.isoformat(),
        )
    before_birthday = (day.month, day.day) < (birth_date.month, birth_date.day)
    return day.year - birth_date.year - int(before_birthday)


def _normalise(text: str) -> str:
    """Strip spaces and one dash after the date; upper-case ASCII letters only."""
    value = text.strip()
    if len(value) == 11 and value[6] == "-":
        value = value[:6] + value[7:]
    if len(value) != 10:
        raise InvalidCpr(Msg("not 10 characters"), field="cpr", value=text)
    return value.translate(_ASCII_UPPER)


def _kind(value: str, text: str) -> IdKind:
    """Tell a CPR number from X- and D-replacement numbers by characters 7–10."""
    if not value[:6].isascii() or not value[:6].isdigit():
        raise InvalidCpr(
            Msg("the first 6 characters (DDMMYY) must be digits"), field="cpr", value=text
        )
    if value[9] not in string.digits:
        raise InvalidCpr(
            Msg("the last character (sex digit) must be a digit"), field="cpr", value=text
        )
    if all(c in string.digits for c in value[6:9]):
        return IdKind.CPR
    letters_ok = all(c in string.ascii_uppercase for c in value[7:9])
    if value[6] not in string.digits or not letters_ok:
        raise InvalidCpr(
            Msg("characters 7-9 must be 3 digits, or a digit and 2 letters A-Z (e-CPR)"),
            field="cpr",
            value=text,
        )
    if value[6] in _X_ECPR_CENTURY:
        return IdKind.X_ECPR
    if value[6] in _D_ECPR_DIGITS:
        return IdKind.D_ECPR
    raise InvalidCpr(
        Msg("replacement number century digit {digit} is not one of 0, 1, 5, 6, 7", digit=value[6]),
        field="cpr",
        value=text,
    )


def _century(digit: str, yy: int, kind: IdKind) -> int:
    """The century of the birth year (DOMAIN.md §2 table; e-CPR 1/7 and 0 fixed)."""
    if kind is IdKind.X_ECPR:
        return _X_ECPR_CENTURY[digit]
    d = int(digit)
    if d <= 3:
        return 1900
    if d in (4, 9):
        return 2000 if yy <= 36 else 1900
    return 2000 if yy <= 57 else 1800


def _birth_date(value: str, century: int, text: str) -> date:
    """The birth date, refusing dates that do not exist with a precise reason."""
    day, month, year = int(value[0:2]), int(value[2:4]), century + int(value[4:6])
    if not 1 <= month <= 12:
        raise InvalidCpr(Msg("month {month} does not exist", month=month), field="cpr", value=text)
    last = monthrange(year, month)[1]
    if day == 0 or day > 31:
        raise InvalidCpr(Msg("day {day} does not exist", day=day), field="cpr", value=text)
    if day > last:
        reason = Msg("{day} {month} does not exist", day=day, month=_MONTHS[month - 1])
        if month == 2 and day == 29:
            reason = Msg("29 February {year} does not exist ({year} is not a leap year)", year=year)
        raise InvalidCpr(reason, field="cpr", value=text)
    return date(year, month, day)


def _modulus11_ok(value: str) -> bool:
    """The old check-digit rule; only a note since 2007, never a validity test."""
    return sum(int(c) * w for c, w in zip(value, _MOD11_WEIGHTS, strict=True)) % 11 == 0
