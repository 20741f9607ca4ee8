"""What happens to each demo referral: its fate, priority, procedures and words.

Fates are chosen by share but every fate gets at least one referral, so even a
tiny demo (the tests use 100 patients) fills every queue and every way of ending.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from lysbord.demo.people import Person
from lysbord.demo.region_data import CATALOGUE, MODALITY_WEIGHTS
from lysbord.demo.texts import CHILDREN, INDICATIONS, Indication
from lysbord.domain.priorities import Priority


class Fate(StrEnum):
    """Where a referral stands when the demo is done (the queue, or how it ended)."""

    REPORTED = "reported"
    AWAITING_REPORT = "awaiting-report"
    AWAITING_IMAGES = "awaiting-images"
    IN_PROGRESS = "in-progress"
    ARRIVED = "arrived"
    TODAY = "today"
    BOOKED = "booked"
    REBOOKED = "rebooked"
    APPOINTMENT_CANCELLED = "appointment-cancelled"
    AWAITING = "awaiting-booking"
    OVERDUE = "overdue"
    NOTIFY_LATE = "notify-late"
    ON_HOLD = "on-hold"
    CANCELLED = "cancelled"
    NO_SHOW = "no-show"
    DISCONTINUED = "discontinued"


#: Per 1,000 referrals. A region's snapshot: most work is done or booked ahead.
SHARES = {
    Fate.REPORTED: 300,
    Fate.AWAITING_REPORT: 50,
    Fate.AWAITING_IMAGES: 8,
    Fate.IN_PROGRESS: 5,
    Fate.ARRIVED: 8,
    Fate.TODAY: 30,
    Fate.BOOKED: 300,
    Fate.REBOOKED: 30,
    Fate.APPOINTMENT_CANCELLED: 10,
    Fate.AWAITING: 130,
    Fate.OVERDUE: 20,
    Fate.NOTIFY_LATE: 8,
    Fate.ON_HOLD: 20,
    Fate.CANCELLED: 50,
    Fate.NO_SHOW: 20,
    Fate.DISCONTINUED: 11,
}
#: Fates that need today's or the last hours' slots: played first, before others take them.
FIRST = (Fate.IN_PROGRESS, Fate.ARRIVED, Fate.AWAITING_IMAGES, Fate.TODAY)
#: An acute referral is done within hours; it is never booked weeks ahead or paused.
ACUTE_OK = frozenset(
    {
        Fate.REPORTED,
        Fate.AWAITING_REPORT,
        Fate.AWAITING_IMAGES,
        Fate.IN_PROGRESS,
        Fate.ARRIVED,
        Fate.TODAY,
        Fate.AWAITING,
        Fate.CANCELLED,
        Fate.DISCONTINUED,
    }
)
PRIORITY_WEIGHTS = {
    Priority.ACUTE: 8,
    Priority.CANCER_PATHWAY: 14,
    Priority.URGENT: 15,
    Priority.ROUTINE: 43,
    Priority.FOLLOW_UP: 20,
}
_MODALITY = {code: modality for code, _n, modality, *_ in CATALOGUE}
_BODY_PART = {code: body for code, _n, _m, _d, body, _p in CATALOGUE}


@dataclass(frozen=True, slots=True)
class Plan:
    """One referral to play: who, what, how urgent, and where it should end up."""

    person: Person
    fate: Fate
    priority: Priority
    codes: tuple[str, ...]
    question: str
    unit: str


def fates(n: int, rng: random.Random) -> list[Fate]:
    """About ``n`` fates by share, each at least once; the early ones first."""
    out = [f for f, share in SHARES.items() for _ in range(max(1, round(n * share / 1000)))]
    rng.shuffle(out)
    out.sort(key=lambda f: FIRST.index(f) if f in FIRST else len(FIRST))
    return out


def priority_for(fate: Fate, person: Person, rng: random.Random) -> Priority:
    if fate is Fate.NOTIFY_LATE:
        return Priority.CANCER_PATHWAY
    if not person.cpr.isdigit() and fate in ACUTE_OK:
        return Priority.ACUTE  # an unidentified patient came in through the trauma bay
    prio = rng.choices(list(PRIORITY_WEIGHTS), list(PRIORITY_WEIGHTS.values()))[0]
    if prio is Priority.ACUTE and fate not in ACUTE_OK:
        return Priority.URGENT
    return prio


def indication_for(
    person: Person, today: date, rng: random.Random
) -> tuple[Indication, tuple[str, ...]]:
    """A modality by how often it is asked for, then a question that fits the patient and
    the procedure of that modality that answers it (sometimes two); mammography for women."""
    modalities = [m for m in MODALITY_WEIGHTS if m != "MG" or _mammography_ok(person, today)]
    weights = [MODALITY_WEIGHTS[m] for m in modalities]
    modality = rng.choices(modalities, weights)[0]
    fitting = [
        i
        for i in INDICATIONS
        if i.sex in (None, person.sex) and any(_MODALITY[c] == modality for c in i.codes)
    ]
    indication = rng.choice(fitting)
    pool = [c for c in indication.codes if _MODALITY[c] == modality]
    n = 2 if rng.random() < 0.06 and len(pool) > 1 and modality in ("CT", "DX", "MR") else 1
    return indication, tuple(rng.sample(pool, n))


def unit_for(indication: Indication, person: Person, today: date, rng: random.Random) -> str:
    """One of the units that ask this; a child's from Børneafdelingen when it may ask."""
    child = person.age_on(today) < 18
    units = [u for u in indication.units if (u == CHILDREN) == child]
    return rng.choice(units or [u for u in indication.units if u != CHILDREN])


def earlier_plan(plan: Plan, today: date, rng: random.Random) -> Plan:
    """A routine referral of the same patient and body part, by any modality, for a question
    that fits them: the earlier study a radiologist compares with."""
    part = _BODY_PART[plan.codes[0]]
    person = plan.person
    fitting = [
        (i, code)
        for i in INDICATIONS
        if i.sex in (None, person.sex)
        for code in i.codes
        if _BODY_PART[code] == part and (_MODALITY[code] != "MG" or _mammography_ok(person, today))
    ]
    indication, code = rng.choice(fitting)
    unit = unit_for(indication, person, today, rng)
    return Plan(person, Fate.REPORTED, Priority.ROUTINE, (code,), indication.question, unit)


def _mammography_ok(person: Person, today: date) -> bool:
    return person.sex == "F" and person.age_on(today) >= 30


def make_plans(
    people: Sequence[Person], n_referrals: int, today: date, rng: random.Random
) -> list[Plan]:
    """Every person gets a referral; some get a second one."""
    plans = []
    for i, fate in enumerate(fates(n_referrals, rng)):
        person = people[i] if i < len(people) else rng.choice(people)
        indication, codes = indication_for(person, today, rng)
        plans.append(
            Plan(
                person=person,
                fate=fate,
                priority=priority_for(fate, person, rng),
                codes=codes,
                question=indication.question,
                unit=unit_for(indication, person, today, rng),
            )
        )
    return plans
