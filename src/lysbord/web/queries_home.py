"""Read models for the start page: each role's own work, counted, with the first few items.

One small reading per role, each a handful of statements however long the queues are:
counts are aggregated in SQL, and only the few items shown come back as rows. The clerk's
waiting referrals are the booking inbox's (``queries_work.AWAITING_BOOKING``), the
radiologist's cases the reading list's (state ``completed``), the overdue counts the
tracker board's (``tracker_sql.placed``), so a count here and its list always agree.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select, true
from sqlalchemy.orm import Session

from lysbord.domain.access import Role
from lysbord.domain.calendar import local_date, start_of_local_day
from lysbord.domain.priorities import Priority
from lysbord.services.core.context import Context
from lysbord.services.pathway.tracker_sql import bind, placed, prefer_index_lookups
from lysbord.services.people.users import list_users
from lysbord.services.people.views import display_name, primary_identifiers
from lysbord.store.models import (
    Appointment,
    Event,
    Patient,
    Procedure,
    ProcedureCode,
    Referral,
    Room,
    Site,
    Slot,
)
from lysbord.store.reading_models import RosterEntry
from lysbord.web.queries_tracker import FLAGS
from lysbord.web.queries_work import AWAITING_BOOKING, priority_rank

#: How many items a section lists before "all of them" links to the screen.
SHOWN = 5
#: A room's procedures not yet started, and those done, on the radiographer's day.
WAITING_STATES = ("booked", "arrived")
DONE_STATES = ("completed", "reported")


@dataclass(frozen=True, slots=True)
class Item:
    """One referral or case on the start page: who, what, how urgent, by when."""

    accession: str  # the booking page's or the reading screen's address
    code_name: str
    priority: str
    due_at: datetime
    cpr: str
    patient_name: str


@dataclass(frozen=True, slots=True)
class Waiting:
    """Work in a queue: how much, how much of it by priority, and the first few."""

    total: int
    overdue: int
    by_priority: dict[str, int]
    first: list[Item]


@dataclass(slots=True)
class RoomDay:
    """One room's day as its list stands now."""

    ae_title: str
    name: str
    site: str
    waiting: int = 0
    in_progress: int = 0
    done: int = 0
    next_at: datetime | None = None
    mine: bool = False  # the radiographer has worked a procedure of this room today
    states: Counter[str] = field(default_factory=Counter)


def awaiting_booking(ctx: Context) -> Waiting:
    """Open referrals with a procedure awaiting booking; the soonest deadlines first, each
    by its first procedure awaiting booking (the booking page of that one)."""
    waiting = Procedure.state.in_(AWAITING_BOOKING)
    first_waiting = (
        select(func.min(Procedure.id))
        .where(Procedure.referral_id == Referral.id, waiting)
        .correlate(Referral)
        .scalar_subquery()
    )
    return _waiting(
        ctx,
        (waiting, Referral.closed_at.is_(None)),
        order=(Referral.due_at, Referral.id),
        listed=Procedure.id == first_waiting,
    )


def awaiting_report(ctx: Context) -> Waiting:
    """Performed procedures awaiting a report, most urgent and soonest due first."""
    return _waiting(
        ctx, (Procedure.state == "completed",), order=(priority_rank(), Referral.due_at)
    )


def _waiting(
    ctx: Context, where: tuple[Any, ...], *, order: tuple[Any, ...], listed: Any = None
) -> Waiting:
    """Referrals counted per priority in one statement; the first procedures in a second
    (``listed`` narrows which of a referral's procedures may stand for it); then their
    patients' names and numbers."""
    now = ctx.now()
    base = (
        select(Procedure, ProcedureCode.name, Referral)
        .join(ProcedureCode, ProcedureCode.code == Procedure.code)
        .join(Referral, Referral.id == Procedure.referral_id)
        .where(*where)
    )
    counted = base.with_only_columns(
        Referral.priority,
        func.count(func.distinct(Referral.id)),
        func.count(func.distinct(case((Referral.due_at < now, Referral.id)))),
    ).group_by(Referral.priority)
    with ctx.uow(readonly=True) as uow:
        s = uow.session
        counts = {p: (n, late) for p, n, late in s.execute(counted).tuples()}
        shown = base.where(true() if listed is None else listed)
        rows = s.execute(shown.order_by(*order, Procedure.id).limit(SHOWN))
        first = _items(s, rows.tuples().all())
    ranked = [p.value for p in sorted(Priority, key=lambda p: p.rank) if p.value in counts]
    return Waiting(
        total=sum(n for n, _ in counts.values()),
        overdue=sum(late for _, late in counts.values()),
        by_priority={p: counts[p][0] for p in ranked},
        first=first,
    )


def _items(s: Session, rows: Any) -> list[Item]:
    ids = {ref.patient_id for *_, ref in rows}
    names = {p.id: display_name(p) for p in s.scalars(select(Patient).where(Patient.id.in_(ids)))}
    numbers = primary_identifiers(s, ids)
    return [
        Item(
            p.accession or "",
            code_name,
            ref.priority,
            ref.due_at,
            numbers.get(ref.patient_id, ""),
            names[ref.patient_id],
        )
        for p, code_name, ref in rows
    ]


def rooms_today(ctx: Context, username: str) -> list[RoomDay]:
    """Every room with patients booked today, the user's own first: those they are
    rostered on today, and those whose procedures they moved today (a region that keeps no
    roster, or a colleague covering, still finds its rooms).

    One statement counts each room's procedures by state; two more find the user's rooms.
    """
    now = ctx.now()
    today = local_date(now)
    starts, ends = start_of_local_day(today), start_of_local_day(today + timedelta(days=1))
    todays = (  # today's appointments, through the slots' (start, room) index
        select()
        .select_from(Appointment)
        .join(Slot, Slot.id == Appointment.slot_id)
        .join(Room, Room.id == Slot.room_id)
        .where(Appointment.active.is_(True), Slot.start_at >= starts, Slot.start_at < ends)
    )
    counted = (
        todays.add_columns(Room.ae_title, Room.name, Site.code, Procedure.state)
        .add_columns(func.min(Slot.start_at), func.count())
        .join(Site, Site.id == Room.site_id)
        .join(Procedure, Procedure.id == Appointment.procedure_id)
        .group_by(Room.ae_title, Room.name, Site.code, Procedure.state)
    )
    moved_by_user = (  # looked up per appointment's procedure, never a scan of the events
        select(Event.id)
        .where(Event.procedure_id == Appointment.procedure_id)
        .where(Event.actor == username, Event.at >= starts)
        .exists()
    )
    worked = todays.add_columns(Room.ae_title).distinct().where(moved_by_user)
    rostered = (
        select(Room.ae_title)
        .join(RosterEntry, RosterEntry.room_id == Room.id)
        .where(RosterEntry.day == today, RosterEntry.username == username)
    )
    rooms: dict[str, RoomDay] = {}
    with ctx.uow(readonly=True) as uow:
        s = uow.session
        for ae, name, site, state, first_start, n in s.execute(counted).tuples():
            room = rooms.setdefault(ae, RoomDay(ae, name, site))
            room.states[state] += n
            if state in WAITING_STATES:
                room.next_at = min(filter(None, (room.next_at, first_start)))
        mine = set(s.scalars(worked)) | set(s.scalars(rostered))
    for room in rooms.values():
        room.waiting = sum(room.states[s] for s in WAITING_STATES)
        room.in_progress = room.states["in-progress"]
        room.done = sum(room.states[s] for s in DONE_STATES)
        room.mine = room.ae_title in mine
    return sorted(rooms.values(), key=lambda r: (not r.mine, r.site, r.name))


def overdue_counts(ctx: Context) -> dict[str, dict[str, int]]:
    """The board's three flags counted per priority (most urgent first), in one statement:
    flag -> {priority: count}, priorities with none left out."""
    places = placed().subquery()
    stmt = select(
        places.c.priority,
        func.sum(places.c.overdue),
        func.sum(places.c.booked_after_deadline),
        func.sum(places.c.notify_overdue),
    ).group_by(places.c.priority)
    found: dict[str, dict[str, int]] = defaultdict(dict)
    with ctx.uow(readonly=True) as uow:
        prefer_index_lookups(uow.session)
        rows = uow.session.execute(stmt, bind(ctx.now())).tuples().all()
    rank = {p.value: p.rank for p in Priority}
    for priority, *sums in sorted(rows, key=lambda r: rank.get(r[0], len(rank))):
        for flag, n in zip(FLAGS, sums, strict=True):
            if n:
                found[flag][priority] = int(n)
    return {flag: found.get(flag, {}) for flag in FLAGS}


@dataclass(frozen=True, slots=True)
class UserCounts:
    active: int
    inactive: int
    locked: int  # locked out by failed sign-ins right now
    by_role: dict[str, int]  # active users per role, in the roles' order


def user_counts(ctx: Context) -> UserCounts:
    """The administrator's overview of who may sign in (a region has tens of users)."""
    users = list_users(ctx)
    now = ctx.now()
    active = [u for u in users if u.active]
    return UserCounts(
        active=len(active),
        inactive=len(users) - len(active),
        locked=sum(1 for u in active if u.locked_until and u.locked_until > now),
        by_role={r.value: n for r in Role if (n := sum(r in u.roles for u in active))},
    )
