"""Synthetic Danish patients: names with æ, ø and å, and CPR numbers that parse.

The numbers are made up but obey the CPR rules (DOMAIN.md §2): the date exists,
digit 7 gives the right century, digit 10 the sex. People born before 2007 get a
number that also passes modulus 11, as real numbers of that age do; younger ones
are left to chance, as since 1 October 2007. A few patients carry replacement
numbers: national X-eCPR (century digit 1 or 7) and regional D-eCPR (0, 5 or 6).
"""

from __future__ import annotations

import random
import string
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from lysbord.domain.cpr import IdKind, parse_person_number

MOD11_WEIGHTS = (4, 3, 2, 7, 6, 5, 4, 3, 2, 1)
MOD11_UNTIL = date(2007, 10, 1)

MEN = (
    "Søren", "Jørgen", "Bjørn", "Mads", "Niels", "Jens", "Lars", "Henrik", "Poul", "Anders",
    "Rasmus", "Mikkel", "Frederik", "Kasper", "Thomas", "Ole", "Børge", "Knud", "Troels", "Åge",
    "Jakob", "Emil", "William", "Oscar", "Aksel", "Viggo", "Carl", "Magnus", "Torben", "Jørn",
)  # fmt: skip
WOMEN = (
    "Åse", "Bjørg", "Kirsten", "Mette", "Hanne", "Anne", "Inge", "Lone", "Susanne", "Birgit",
    "Marianne", "Bodil", "Grethe", "Karen", "Sofie", "Ida", "Freja", "Emma", "Clara", "Maja",
    "Signe", "Astrid", "Ellen", "Gudrun", "Solvej", "Bente", "Dorthe", "Sølvi", "Tove",
)  # fmt: skip
FAMILY = (
    "Jensen", "Nielsen", "Hansen", "Pedersen", "Andersen", "Christensen", "Larsen", "Sørensen",
    "Rasmussen", "Jørgensen", "Petersen", "Madsen", "Kristensen", "Olsen", "Thomsen",
    "Møller", "Østergaard", "Ærø", "Ågård", "Bøgh", "Løkke", "Lærkesen", "Dæhnfeldt",
    "Frølund", "Kjær", "Søgaard", "Brøndum", "Højgaard", "Åkjær", "Grønbæk", "Nørgaard",
    "Bæk", "Holm", "Schmidt", "Poulsen", "Iversen", "Dahl", "Lund", "Ærenlund", "Skovgård",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Person:
    """One demo patient before registration."""

    cpr: str
    family_name: str
    given_name: str
    sex: Literal["M", "F"]
    birth_date: date
    site: str

    def age_on(self, day: date) -> int:
        before = (day.month, day.day) < (self.birth_date.month, self.birth_date.day)
        return day.year - self.birth_date.year - int(before)


def birth_date(rng: random.Random, today: date) -> date:
    """Radiology patients are mostly older: a mix weighted towards 50-85 years."""
    age = rng.choice((rng.randint(0, 17), rng.randint(18, 49), *[rng.randint(50, 95)] * 3))
    return today - timedelta(days=age * 365 + rng.randrange(365))


def century_digit(rng: random.Random, born: date) -> int:
    """Digit 7 for this birth year, by the century table (DOMAIN.md §2)."""
    yy = born.year % 100
    if born.year < 2000:
        return rng.choice((0, 1, 2, 3, 4, 9) if yy >= 37 else (0, 1, 2, 3))
    if yy <= 36:
        return rng.choice((4, 9, 5, 6, 7, 8))
    return rng.choice((5, 6, 7, 8))


def _mod11_ok(digits: str) -> bool:
    return sum(int(c) * w for c, w in zip(digits, MOD11_WEIGHTS, strict=True)) % 11 == 0


def cpr_number(rng: random.Random, born: date, sex: str, taken: set[str]) -> str:
    """A fresh CPR number for this date and sex, checked by the real parser."""
    want_mod11 = born < MOD11_UNTIL
    while True:
        serial = f"{century_digit(rng, born)}{rng.randrange(100):02d}"
        last = rng.randrange(5) * 2 + (1 if sex == "M" else 0)
        value = f"{born:%d%m%y}{serial}{last}"
        if value in taken or (want_mod11 and not _mod11_ok(value)):
            continue
        number = parse_person_number(value)
        if number.birth_date == born and number.sex == sex and number.kind is IdKind.CPR:
            taken.add(value)
            return value


def replacement_number(rng: random.Random, born: date, sex: str, national: bool) -> str:
    """An X-eCPR (national) or D-eCPR (regional) number for someone without a CPR."""
    if national:
        digit = "1" if born.year < 2000 else "7"
    else:
        digit = "0" if born.year < 2000 else rng.choice("56")
    letters = "".join(rng.choice(string.ascii_uppercase) for _ in range(2))
    last = rng.randrange(5) * 2 + (1 if sex == "M" else 0)
    value = f"{born:%d%m%y}{digit}{letters}{last}"
    number = parse_person_number(value)
    if number.birth_date != born or number.sex != sex:
        raise ValueError(f"replacement number {value} does not say born {born}, sex {sex}")
    return value


def names(rng: random.Random, sex: str) -> tuple[str, str]:
    """(given, family); sometimes a middle name, sometimes a double family name."""
    first = MEN if sex == "M" else WOMEN
    given = rng.choice(first)
    if rng.random() < 0.15:
        given += " " + rng.choice([n for n in first if n != given])
    family = rng.choice(FAMILY)
    if rng.random() < 0.1:
        family = f"{rng.choice(FAMILY)}-{family}"
    return given, family


def make_people(
    rng: random.Random, n: int, today: date, sites: Sequence[tuple[str, int]]
) -> list[Person]:
    """``n`` distinct people; about 1 in 200 only has a replacement number (at least 2)."""
    taken: set[str] = set()
    codes, weights = zip(*sites, strict=True)
    n_replacement = max(2, n // 200)
    people = []
    for i in range(n):
        sex: Literal["M", "F"] = "F" if rng.random() < 0.53 else "M"
        born = birth_date(rng, today)
        if i < n_replacement:
            cpr = replacement_number(rng, born, sex, national=i % 2 == 0)
            if cpr in taken:
                continue
            taken.add(cpr)
        else:
            cpr = cpr_number(rng, born, sex, taken)
        given, family = names(rng, sex)
        site = rng.choices(codes, weights)[0]
        people.append(Person(cpr, family, given, sex, born, site))
    rng.shuffle(people)
    return people
