"""The tracker's placement rule as one SQL statement, sampled from the domain.

A procedure's queue depends only on its state, whether its slot is today (in
Copenhagen) and whether its images came; a referral's flags only on its queue and
its deadlines. Those inputs are finite classes, so the CASE expressions are built by
asking ``domain.tracking`` about one sample of each class: the SQL cannot drift from
the domain, and ``services.pathway.tracker.placements`` (the same rule in Python) checks it.
The statements are built once; the clock enters as bound parameters (``bind``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import product
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Subquery,
    and_,
    bindparam,
    case,
    false,
    func,
    literal,
    null,
    select,
    text,
)
from sqlalchemy.orm import Session

from lysbord.domain.calendar import local_date, start_of_local_day
from lysbord.domain.tracking import ProcedureSnapshot, Queue, flags, procedure_queue
from lysbord.domain.workflow import TERMINAL, ProcedureState
from lysbord.store.models import Appointment, Procedure, Referral, Room, Site, Slot

#: Queues in pipeline order; SQL works with their index (the earliest stage is the least).
QUEUES = list(Queue)
_OPEN_STATES = [s.value for s in ProcedureState if s not in TERMINAL]
#: Any instant serves as the samples' clock; a slot two days later is on another local day.
_SAMPLE_NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
_SAMPLE_OTHER_DAY = _SAMPLE_NOW + timedelta(days=2)

_NOW = bindparam("now", type_=Referral.due_at.type)
_TODAY_STARTS = bindparam("today_starts", type_=Slot.start_at.type)
_TODAY_ENDS = bindparam("today_ends", type_=Slot.start_at.type)


def prefer_index_lookups(s: Session) -> None:
    """For this transaction on PostgreSQL: placing reads the few booked slots among a
    year's half million by primary key, but the default random_page_cost (4, a spinning
    disk's) has the planner scan them all: 150 ms against 50 ms on the demo region."""
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("SET LOCAL random_page_cost = 1.1"))


def bind(now: datetime) -> dict[str, datetime]:
    """The parameters of ``placed`` for the clock reading ``now``."""
    today = local_date(now)
    return {
        "now": now,
        "today_starts": start_of_local_day(today),
        "today_ends": start_of_local_day(today + timedelta(days=1)),
    }


@cache
def placed(*, overdue_only: bool = False) -> Select[Any]:
    """Every open referral that has a procedure, placed at ``:now`` (see ``bind``);
    ``overdue_only`` keeps the overdue ones and reads only referrals past their deadline.

    Columns: referral_id, patient_id, priority, due_at, site (code; NULL when
    unassigned), stage (queue index; NULL when every procedure has ended) and the
    flags overdue, booked_after_deadline, notify_overdue as 1/0, so they can be summed.
    """
    per_procedure = _per_procedure(past_due_only=overdue_only)
    per_referral = (
        select(
            per_procedure.c.referral_id,
            func.min(per_procedure.c.stage).label("stage"),
            func.max(per_procedure.c.booked_start).label("last_start"),
            func.max(per_procedure.c.held_site).label("held_site"),
        )
        .group_by(per_procedure.c.referral_id)
        .subquery("per_referral")
    )
    stage = per_referral.c.stage
    late = per_referral.c.last_start > Referral.due_at
    untold = and_(
        Referral.notify_by.is_not(None),
        _stage_in(stage, _flagged("notify_overdue")),
        Referral.notify_by < _NOW,
    )
    overdue = and_(_stage_in(stage, _flagged("overdue")), Referral.due_at < _NOW)
    site_id = func.coalesce(per_referral.c.held_site, Referral.preferred_site_id)
    stmt = (
        select(
            Referral.id.label("referral_id"),
            Referral.patient_id,
            Referral.priority,
            Referral.due_at,
            Site.code.label("site"),
            stage,
            _as_int(overdue).label("overdue"),
            _as_int(late).label("booked_after_deadline"),
            _as_int(untold).label("notify_overdue"),
        )
        .join(per_referral, per_referral.c.referral_id == Referral.id)
        .outerjoin(Site, Site.id == site_id)
    )
    return stmt.where(overdue) if overdue_only else stmt


def queue_of(stage: int | None) -> Queue | None:
    return None if stage is None else QUEUES[stage]


def stage_of(queue: Queue) -> int:
    return QUEUES.index(queue)


def open_with_active_slot(stmt: Select[Any]) -> Select[Any]:
    """``stmt`` (over procedures and their referrals) narrowed to open referrals, with each
    procedure's active appointment, its slot and room outer-joined (None when unbooked)."""
    return (
        stmt.outerjoin(
            Appointment,
            and_(Appointment.procedure_id == Procedure.id, Appointment.active.is_(True)),
        )
        .outerjoin(Slot, Slot.id == Appointment.slot_id)
        .outerjoin(Room, Room.id == Slot.room_id)
        .where(Referral.closed_at.is_(None))
    )


def _per_procedure(*, past_due_only: bool) -> Subquery:
    """One row per procedure of an open referral: its queue index, the start of its
    booking, and the site of the referral's earliest open appointment."""
    held = and_(Slot.start_at.is_not(None), Procedure.state.in_(_OPEN_STATES))
    held_start = case((held, Slot.start_at))
    earliest_site = func.first_value(case((held, Room.site_id))).over(
        partition_by=Procedure.referral_id,
        order_by=(held_start.asc().nulls_last(), Procedure.id),
    )
    booked_start = case((Procedure.state == ProcedureState.BOOKED.value, Slot.start_at))
    stmt = select(
        Procedure.referral_id,
        _stage().label("stage"),
        booked_start.label("booked_start"),
        earliest_site.label("held_site"),
    ).join(Referral, Referral.id == Procedure.referral_id)
    stmt = open_with_active_slot(stmt)
    if past_due_only:
        stmt = stmt.where(Referral.due_at < _NOW)
    return stmt.subquery("per_procedure")


def _stage() -> ColumnElement[int | None]:
    """The procedure's queue index, by state, then by "slot today" and "images came"."""
    slot_today = and_(Slot.start_at >= _TODAY_STARTS, Slot.start_at < _TODAY_ENDS)
    images = Procedure.images_received_at.is_not(None)
    whens = {}
    for state in ProcedureState:
        if state in TERMINAL:
            continue
        by_class = {
            (on_day, came): procedure_queue(
                ProcedureSnapshot(state, _SAMPLE_NOW if on_day else _SAMPLE_OTHER_DAY, came),
                _SAMPLE_NOW,
            )
            for on_day, came in product((True, False), repeat=2)
        }
        whens[state.value] = _branch(by_class, slot_today, images)
    return case(whens, value=Procedure.state, else_=null())


def _branch(
    by_class: dict[tuple[bool, bool], Queue | None],
    slot_today: ColumnElement[bool],
    images: ColumnElement[bool],
) -> ColumnElement[int | None]:
    """A constant when the class does not matter, else a CASE over the four classes."""
    stages = {k: None if q is None else stage_of(q) for k, q in by_class.items()}
    if len(set(stages.values())) == 1:
        return literal(stages[True, True])
    return case(
        (and_(slot_today, images), stages[True, True]),
        (slot_today, stages[True, False]),
        (images, stages[False, True]),
        else_=stages[False, False],
    )


def _flagged(flag: str) -> list[int]:
    """The queue indexes in which a referral past its deadline (``overdue``) or past its
    notify-by date (``notify_overdue``) gets that flag."""
    past, later = _SAMPLE_NOW - timedelta(seconds=1), _SAMPLE_NOW + timedelta(days=1)
    due, notify = (past, None) if flag == "overdue" else (later, past)
    return [stage_of(q) for q in QUEUES if getattr(flags(q, due, notify, None, _SAMPLE_NOW), flag)]


def _stage_in(stage: ColumnElement[int | None], stages: list[int]) -> ColumnElement[bool]:
    return stage.in_(stages) if stages else false()


def _as_int(flag: ColumnElement[bool]) -> ColumnElement[int]:
    return case((flag, 1), else_=0)
