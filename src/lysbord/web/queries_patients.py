"""Read models for the patient screens: search, and everything about one patient.

A search by number follows merges (any number the person ever had finds them); a
search by name lists only surviving records, so a merged record never shows twice.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, or_, select

from lysbord.domain.errors import InvalidValue, Msg, NotFound
from lysbord.services.archive import studies
from lysbord.services.archive.studies import StudyView
from lysbord.services.core.context import Context
from lysbord.services.pathway.views import EventView, ReferralView, referral_views
from lysbord.services.people.views import (
    PatientView,
    display_name,
    patient_view,
    primary_identifiers,
)
from lysbord.store.models import Event, Patient, Referral
from lysbord.store.queries import patient_by_identifier

SEARCH_LIMIT = 50
MAX_WORDS = 8  # a name search longer than any name is refused, not run
_LIKE_SPECIAL = re.compile(r"[\\%_]")  # typed literally, not as LIKE's wildcards
STUDY_LIMIT = 200


@dataclass(frozen=True, slots=True)
class PatientHit:
    cpr: str
    name: str
    birth_date: date
    sex: str


@dataclass(frozen=True, slots=True)
class PatientPage:
    """One patient: identifiers and merges, every referral with its timeline, every study."""

    patient: PatientView
    referrals: list[ReferralView]
    timelines: dict[int, list[EventView]]
    patient_events: list[EventView]
    studies: list[StudyView]
    studies_total: int


def normal_number(text: str) -> str:
    return text.strip().replace("-", "").replace(" ", "").upper()


def looks_like_number(text: str) -> bool:
    """CPR and replacement numbers start with six digits (DDMMYY); names never do."""
    head = normal_number(text)[:6]
    return len(head) == 6 and head.isdigit()


def name_words(text: str) -> list[str]:
    """The words of a name search, lower-cased; more than a name has are refused."""
    words = [w.lower() for w in text.replace(",", " ").split()]
    if len(words) > MAX_WORDS:
        raise InvalidValue(
            Msg("at most {max_words} words", max_words=MAX_WORDS),
            field="q",
            value=f"{len(words)} words",
        )
    return words


def search_patients(ctx: Context, text: str) -> list[PatientHit]:
    """By any number the patient ever had, else by family or given name (case-insensitive)."""
    text = text.strip()
    if not text:
        return []
    with ctx.uow(readonly=True) as uow:
        s = uow.session
        if looks_like_number(text):
            try:
                found = [patient_by_identifier(s, normal_number(text))]
            except NotFound:
                return []
        else:
            stmt = select(Patient).where(Patient.merged_into_id.is_(None))
            for w in name_words(text):
                like = "%" + _LIKE_SPECIAL.sub(r"\\\g<0>", w) + "%"
                stmt = stmt.where(
                    or_(
                        func.lower(Patient.family_name).like(like, escape="\\"),
                        func.lower(Patient.given_name).like(like, escape="\\"),
                    )
                )
            order = (Patient.family_name, Patient.given_name, Patient.id)
            found = list(s.scalars(stmt.order_by(*order).limit(SEARCH_LIMIT)))
        numbers = primary_identifiers(s, [p.id for p in found])
        return [
            PatientHit(numbers.get(p.id, ""), display_name(p), p.birth_date, p.sex) for p in found
        ]


def patient_page(ctx: Context, cpr: str) -> PatientPage:
    """Everything about one patient in a handful of queries (found by any of their numbers)."""
    with ctx.uow(readonly=True) as uow:
        s = uow.session
        patient = patient_by_identifier(s, normal_number(cpr))
        view = patient_view(s, patient)
        refs = s.scalars(
            select(Referral)
            .where(Referral.patient_id == patient.id)
            .order_by(Referral.received_at.desc(), Referral.id.desc())
        ).all()
        referrals = referral_views(s, refs, ctx.now())
        events = s.scalars(
            select(Event)
            .where(or_(Event.referral_id.in_([r.id for r in refs]), Event.patient_id == patient.id))
            .order_by(Event.at, Event.id)
        ).all()
        timelines: dict[int, list[EventView]] = defaultdict(list)
        own: list[EventView] = []
        for e in events:
            ev = EventView(e.id, e.at, e.actor, e.kind, e.from_state, e.to_state, e.reason, e.data)
            (timelines[e.referral_id] if e.referral_id else own).append(ev)
    found, total = studies.list_studies(ctx, studies.StudyFilter(cpr=view.cpr, limit=STUDY_LIMIT))
    return PatientPage(view, referrals, dict(timelines), own, found, total)
