"""The scanners' worklist: booked procedures as scheduled procedure steps (IHE SWF).

A scanner asks "who is next in my room?" many times a day, so one query answers it:
one SQL statement over the active appointments (``Database.read``: no transaction
round trips around it), driven by the slot's (room, start) index when the station AE
title and the date are given. Dates are Copenhagen days (the slot is stored in UTC);
times of day are matched in Copenhagen time as well.

Matching follows PS3.4 C.2.2.2: an empty value or ``*`` matches everything,
``*`` and ``?`` are wildcards, text is matched exactly (case-sensitive) except
person names, which match case-insensitively, either as the whole ``Family^Given``
value or component by component (so ``Sørensen`` finds ``Sørensen^Åse``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import QueryableAttribute, aliased

from lysbord.domain.calendar import COPENHAGEN, start_of_local_day
from lysbord.domain.errors import DomainError, Msg
from lysbord.domain.workflow import ProcedureState
from lysbord.services.core.context import Context
from lysbord.store.models import (
    Appointment,
    Patient,
    PatientIdentifier,
    Procedure,
    ProcedureCode,
    Referral,
    Room,
    Site,
    Slot,
)

#: Procedures a scanner may still perform from its worklist.
SCHEDULED_STATES = (ProcedureState.BOOKED.value, ProcedureState.ARRIVED.value)
#: More matches than this is a query that forgot its date or room: refused, never cut short.
MAX_ITEMS = 5000


class TooManyMatches(DomainError):
    """The query would return more items than one answer may carry."""


@dataclass(frozen=True, slots=True)
class WorklistQuery:
    """What a scanner asked for; None or "" means universal matching."""

    date_from: date | None = None
    date_to: date | None = None
    time_from: time | None = None
    time_to: time | None = None  # inclusive
    modality: str | None = None
    ae_title: str | None = None
    patient_id: str | None = None
    patient_name: str | None = None
    accession: str | None = None
    study_uids: tuple[str, ...] = ()
    performing_physician: str | None = None
    limit: int = MAX_ITEMS


@dataclass(frozen=True, slots=True)
class WorklistItem:
    """One scheduled procedure step, with everything the scanner needs to perform it."""

    accession: str
    study_uid: str
    state: str
    code: str
    code_name: str
    start_at: datetime
    ae_title: str
    modality: str
    room_name: str
    site_code: str
    family_name: str
    given_name: str
    birth_date: date
    sex: str
    patient_id: str
    issuer: str
    referring_unit: str
    priority: str

    @property
    def local_start(self) -> datetime:
        return self.start_at.astimezone(COPENHAGEN)


def find_items(ctx: Context, q: WorklistQuery) -> list[WorklistItem]:
    """The scheduled steps matching ``q``, earliest first, in one read-only SQL query."""
    if not is_universal(q.performing_physician) and not _matches(q.performing_physician, ""):
        return []  # no performing physician is ever scheduled: only universal matching hits
    rows = ctx.db.read(_statement(q, ctx.db.engine.dialect.name).limit(q.limit + 1))
    if len(rows) > q.limit:
        raise TooManyMatches(
            Msg(
                "more than {limit} scheduled steps match; give a date or station AE title",
                limit=q.limit,
            )
        )
    items = [WorklistItem(*row) for row in rows]
    return [i for i in items if _time_ok(i, q) and _name_ok(i, q.patient_name)]


def _statement(q: WorklistQuery, dialect: str) -> Select[Any]:
    stmt = _base().where(*_filters(q, dialect))
    slots = _slot_filters(q, dialect)
    if dialect != "sqlite":
        return stmt.where(Procedure.state.in_(SCHEDULED_STATES), *slots)
    # ``|| ''`` keeps SQLite off the state index, which it would otherwise start from.
    stmt = stmt.where((Procedure.state + "").in_(SCHEDULED_STATES))
    return stmt.where(Appointment.slot_id.in_(_slot_ids(slots))) if slots else stmt


@cache
def _base() -> Select[Any]:
    """The joins and columns of every worklist query, built once (statements are immutable)."""
    first = aliased(PatientIdentifier)
    first_id = select(func.min(first.id)).where(first.patient_id == Patient.id).scalar_subquery()
    return (
        select(
            Procedure.accession,
            Procedure.study_uid,
            Procedure.state,
            Procedure.code,
            ProcedureCode.name,
            Slot.start_at,
            Room.ae_title,
            Room.modality,
            Room.name,
            Site.code,
            Patient.family_name,
            Patient.given_name,
            Patient.birth_date,
            Patient.sex,
            PatientIdentifier.value,
            PatientIdentifier.issuer,
            Referral.referring_unit,
            Referral.priority,
        )
        .select_from(Appointment)
        .join(Slot, Slot.id == Appointment.slot_id)
        .join(Room, Room.id == Slot.room_id)
        .join(Site, Site.id == Room.site_id)
        .join(Procedure, Procedure.id == Appointment.procedure_id)
        .join(ProcedureCode, ProcedureCode.code == Procedure.code)
        .join(Referral, Referral.id == Procedure.referral_id)
        .join(Patient, Patient.id == Referral.patient_id)
        .outerjoin(PatientIdentifier, PatientIdentifier.id == first_id)
        .where(Appointment.active.is_(True))
        .order_by(Slot.start_at, Procedure.id)
    )


def _slot_ids(where: list[ColumnElement[bool]]) -> Select[Any]:
    """The room's slots of the asked days, as a list the query starts from.

    For SQLite, which has no statistics: as plain joins it starts from every booked
    procedure of the region; ``slot_id IN (...)`` (and the state index out of its reach)
    makes it start from the (room, start) index. PostgreSQL plans the joins well and the
    IN list badly, so it gets the joins.
    """
    return select(Slot.id).join(Room, Room.id == Slot.room_id).where(*where)


def _slot_filters(q: WorklistQuery, dialect: str) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool] | None] = [
        text_clause(Room.modality, q.modality, dialect),
        text_clause(Room.ae_title, q.ae_title, dialect),
    ]
    if q.date_from is not None:
        found.append(Slot.start_at >= start_of_local_day(q.date_from))
    if q.date_to is not None:
        found.append(Slot.start_at < start_of_local_day(q.date_to + timedelta(days=1)))
    return [f for f in found if f is not None]


def _filters(q: WorklistQuery, dialect: str) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool] | None] = [
        text_clause(PatientIdentifier.value, q.patient_id, dialect),
        text_clause(Procedure.accession, q.accession, dialect),
        name_clause(q.patient_name),
        Procedure.study_uid.in_(q.study_uids) if q.study_uids else None,
    ]
    return [f for f in found if f is not None]


def is_universal(pattern: str | None) -> bool:
    """PS3.4 C.2.2.2.3: an empty value, or nothing but ``*``, matches every value."""
    return pattern is None or pattern.strip().strip("*") == ""


def has_wildcards(pattern: str) -> bool:
    return "*" in pattern or "?" in pattern


def like_pattern(pattern: str, *, ascii_only: bool = False) -> str:
    """A DICOM wildcard pattern as SQL LIKE (escape ``\\``).

    With ``ascii_only`` every non-ASCII character becomes ``_``: SQLite folds case
    only for ASCII, so the pattern then matches a superset that Python narrows.
    """
    out = []
    for ch in pattern:
        if ch == "*":
            out.append("%")
        elif ch == "?" or (ascii_only and not ch.isascii()):
            out.append("_")
        elif ch in "%_\\":
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def text_clause(
    col: QueryableAttribute[Any], pattern: str | None, dialect: str
) -> ColumnElement[bool] | None:
    """Case-sensitive single value or wildcard matching of a text column; None if universal."""
    if pattern is None or is_universal(pattern):
        return None
    value = pattern.strip()
    if not has_wildcards(value):
        return col == value
    if dialect == "sqlite":  # SQLite's LIKE ignores ASCII case; GLOB does not
        glob: ColumnElement[bool] = col.op("GLOB", is_comparison=True)(value.replace("[", "[[]"))
        return glob
    return col.like(like_pattern(value), escape="\\")


def name_clause(pattern: str | None) -> ColumnElement[bool] | None:
    """A superset of the person-name match in SQL; ``_name_ok`` then decides exactly."""
    if pattern is None or is_universal(pattern):
        return None
    value = pattern.split("=")[0].strip()
    whole = (Patient.family_name + "^" + Patient.given_name).ilike(
        like_pattern(value, ascii_only=True), escape="\\"
    )
    parts = [
        col.ilike(like_pattern(part, ascii_only=True), escape="\\")
        for col, part in zip(
            (Patient.family_name, Patient.given_name), value.split("^"), strict=False
        )
        if not is_universal(part)
    ]
    return or_(whole, and_(*parts)) if parts else whole


def _name_ok(item: WorklistItem, pattern: str | None) -> bool:
    if pattern is None or is_universal(pattern):
        return True
    value = pattern.split("=")[0].strip()
    whole = item.family_name + (f"^{item.given_name}" if item.given_name else "")
    if _matches(value, whole):
        return True
    have = [item.family_name, item.given_name, "", "", ""]
    parts = value.split("^")
    return len(parts) <= len(have) and all(
        is_universal(p) or _matches(p, v) for p, v in zip(parts, have, strict=False)
    )


def _matches(pattern: str | None, value: str) -> bool:
    """Case-insensitive wildcard matching, Unicode-aware (``Ø`` is ``ø``)."""
    if pattern is None:
        return True
    regex = "".join(
        ".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern.strip()
    )
    return re.fullmatch(regex, value.strip(), re.IGNORECASE | re.DOTALL) is not None


def _time_ok(item: WorklistItem, q: WorklistQuery) -> bool:
    """Times of day are matched on their own (PS3.4 C.2.2.2.5), in Copenhagen time."""
    at = item.local_start.time()
    if q.time_from is not None and at < q.time_from:
        return False
    return q.time_to is None or at <= q.time_to
