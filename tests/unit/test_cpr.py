"""CPR and replacement numbers: century table, real dates, sex, modulus 11, e-CPR, errors."""

from __future__ import annotations

from datetime import date

import pytest

from lysbord.domain.cpr import IdKind, PersonNumber, age_on, parse_person_number
from lysbord.domain.errors import InvalidCpr, InvalidValue

# DOMAIN.md §2: the century for digit 7 in each YY column (00–36, 37–57, 58–99).
ROWS = {0: (19, 19, 19), 4: (20, 19, 19), 5: (20, 20, 18)}
ROW_OF_DIGIT = {0: 0, 1: 0, 2: 0, 3: 0, 4: 4, 9: 4, 5: 5, 6: 5, 7: 5, 8: 5}
YY_COLUMNS = ((0, 0), (36, 0), (37, 1), (57, 1), (58, 2), (99, 2))  # both ends of each

CENTURY_CASES = [
    (digit, yy, ROWS[row][column] * 100)
    for digit, row in ROW_OF_DIGIT.items()
    for yy, column in YY_COLUMNS
]


@pytest.mark.parametrize(("digit", "yy", "century"), CENTURY_CASES)
def test_century_table(digit: int, yy: int, century: int) -> None:
    pn = parse_person_number(f"0101{yy:02d}{digit}000")
    assert pn.birth_date == date(century + yy, 1, 1)
    assert pn.kind is IdKind.CPR


@pytest.mark.parametrize(
    ("text", "century"),
    [("0101001000", 1900), ("0101364000", 2036), ("0101375000", 2037), ("0101588000", 1858)],
)
def test_century_table_spot_checks(text: str, century: int) -> None:
    assert parse_person_number(text).birth_date.year == century


def test_29_february_2000_exists_with_digit_4() -> None:
    assert parse_person_number("290200-4001").birth_date == date(2000, 2, 29)


def test_29_february_1900_does_not_exist_with_digit_0() -> None:
    with pytest.raises(InvalidCpr, match="29 February 1900 does not exist"):
        parse_person_number("290200-0001")


def test_29_february_2000_exists_with_digit_5() -> None:
    assert parse_person_number("2902005001").birth_date == date(2000, 2, 29)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0707614285", "0707614285"),
        ("070761-4285", "0707614285"),
        ("  070761-4285\n", "0707614285"),
        ("\t0707614285 ", "0707614285"),
    ],
)
def test_with_or_without_dash_and_spaces(text: str, value: str) -> None:
    pn = parse_person_number(text)
    assert pn.value == value
    assert pn.formatted == "070761-4285"


def test_fields_of_a_valid_number() -> None:
    pn = parse_person_number("070761-4285")
    assert pn == PersonNumber("0707614285", IdKind.CPR, date(1961, 7, 7), "M", True)


@pytest.mark.parametrize(("last", "sex"), [(str(d), "M" if d % 2 else "F") for d in range(10)])
def test_sex_from_last_digit(last: str, sex: str) -> None:
    assert parse_person_number(f"150280123{last}").sex == sex


@pytest.mark.parametrize("text", ["0101650000", "0101654321", "1502801233"])
def test_modulus11_failure_is_accepted_and_noted(text: str) -> None:
    pn = parse_person_number(text)
    assert pn.modulus11_ok is False
    assert pn.kind is IdKind.CPR


@pytest.mark.parametrize("text", ["0707614285", "1502801240", "1502801259"])
def test_modulus11_success_is_noted(text: str) -> None:
    assert parse_person_number(text).modulus11_ok is True


@pytest.mark.parametrize(
    ("text", "kind", "birth", "sex"),
    [
        ("010190-1AB1", IdKind.X_ECPR, date(1990, 1, 1), "M"),
        ("0101901ZZ2", IdKind.X_ECPR, date(1990, 1, 1), "F"),
        ("150310-7XY3", IdKind.X_ECPR, date(2010, 3, 15), "M"),
        ("150399-7XY3", IdKind.X_ECPR, date(2099, 3, 15), "M"),
        ("010150-0AA4", IdKind.D_ECPR, date(1950, 1, 1), "F"),
        ("010110-0AA4", IdKind.D_ECPR, date(1910, 1, 1), "F"),
        ("010110-5AA5", IdKind.D_ECPR, date(2010, 1, 1), "M"),
        ("010160-5AA5", IdKind.D_ECPR, date(1860, 1, 1), "M"),
        ("010157-6BC6", IdKind.D_ECPR, date(2057, 1, 1), "F"),
        ("010158-6BC6", IdKind.D_ECPR, date(1858, 1, 1), "F"),
    ],
)
def test_replacement_numbers(text: str, kind: IdKind, birth: date, sex: str) -> None:
    pn = parse_person_number(text)
    assert pn.kind is kind
    assert pn.birth_date == birth
    assert pn.sex == sex
    assert pn.modulus11_ok is False


def test_replacement_letters_are_upper_cased() -> None:
    pn = parse_person_number("010190-1ab1")
    assert pn.value == "0101901AB1"
    assert pn.formatted == "010190-1AB1"


@pytest.mark.parametrize("digit", ["2", "3", "4", "8", "9"])
def test_replacement_number_with_other_century_digit_is_refused(digit: str) -> None:
    with pytest.raises(InvalidCpr, match=f"century digit {digit} is not one of"):
        parse_person_number(f"010190{digit}AB1")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "not 10 characters"),
        ("010165123", "not 10 characters"),
        ("01016512345", "not 10 characters"),
        ("0101-651234", "not 10 characters"),
        ("010165--1234", "not 10 characters"),
        ("0101651234x", "not 10 characters"),
        ("01016A1234", "first 6 characters"),
        ("０１０１６５1234", "first 6 characters"),
        ("010165123X", "sex digit"),
        ("0101651A34", "characters 7-9"),
        ("010165AB12", "characters 7-9"),
        ("0101651ÆØ2", "characters 7-9"),
        ("0101651ßa2", "characters 7-9"),
        ("0113651234", "month 13 does not exist"),
        ("0100651234", "month 0 does not exist"),
        ("3201651234", "day 32 does not exist"),
        ("0001651234", "day 0 does not exist"),
        ("3104651234", "31 April does not exist"),
        ("3002651234", "30 February does not exist"),
        ("2902651234", "29 February 1965 does not exist"),
        ("3109651234", "31 September does not exist"),
        ("3111651234", "31 November does not exist"),
        ("3206651AB1", "day 32 does not exist"),
    ],
)
def test_bad_numbers_name_the_reason(text: str, reason: str) -> None:
    with pytest.raises(InvalidCpr, match=reason) as info:
        parse_person_number(text)
    assert info.value.field == "cpr"
    assert info.value.value == text


@pytest.mark.parametrize(
    "text", ["3101651234", "2802651234", "2902644321", "3004651234", "3006651234", "3112651234"]
)
def test_last_days_of_months_exist(text: str) -> None:
    assert parse_person_number(text).birth_date.day == int(text[:2])


def test_error_message_names_field_value_and_reason() -> None:
    with pytest.raises(InvalidCpr) as info:
        parse_person_number("3201651234")
    assert str(info.value) == "Invalid cpr '3201651234': day 32 does not exist"


@pytest.mark.parametrize(
    ("birth", "day", "age"),
    [
        (date(1956, 5, 10), date(2026, 5, 9), 69),
        (date(1956, 5, 10), date(2026, 5, 10), 70),
        (date(1956, 5, 10), date(2026, 5, 11), 70),
        (date(1955, 12, 31), date(2026, 1, 1), 70),  # year minus year would say 71
        (date(1956, 1, 1), date(2026, 12, 31), 70),
        (date(2000, 2, 29), date(2001, 2, 28), 0),
        (date(2000, 2, 29), date(2001, 3, 1), 1),
        (date(2000, 2, 29), date(2004, 2, 28), 3),
        (date(2000, 2, 29), date(2004, 2, 29), 4),
        (date(2000, 2, 29), date(2100, 2, 28), 99),  # 2100 is not a leap year
        (date(2000, 2, 29), date(2100, 3, 1), 100),
        (date(1990, 3, 1), date(2026, 2, 28), 35),
        (date(1990, 3, 1), date(2026, 3, 1), 36),
        (date(2026, 4, 1), date(2026, 4, 1), 0),
    ],
)
def test_age_on(birth: date, day: date, age: int) -> None:
    assert age_on(birth, day) == age


def test_age_before_birth_is_refused() -> None:
    with pytest.raises(InvalidValue, match="before the birth date"):
        age_on(date(2026, 4, 2), date(2026, 4, 1))


def test_final_screening_birthday_boundary() -> None:
    """England 2018: a woman is 70 until the day before her 71st birthday."""
    birth = date(1955, 6, 15)
    assert age_on(birth, date(2026, 6, 14)) == 70
    assert age_on(birth, date(2026, 6, 15)) == 71
