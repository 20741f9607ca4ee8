"""The tracker: where every open referral is right now, and which are overdue.

Two readings of one rule. ``placements`` places each open referral in Python with the
domain's own functions; ``lysbord check`` uses it to prove the invariants. The board and
its lists need thousands of referrals per page view, so ``placed`` does the same in SQL:
its CASE expressions are sampled from the domain functions (``tracker_sql``), and the
tests and ``lysbord check`` hold the two readings equal.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Row, Select, func, select
from sqlalchemy.orm import Session

from lysbord.domain.tracking import Flags, ProcedureSnapshot, Queue, flags, referral_queue
from lysbord.domain.workflow import TERMINAL, ProcedureState
from lysbord.services.core.context import Context
from lysbord.services.pathway import tracker_sql
from lysbord.services.people.views import display_name, primary_identifiers
from lysbord.store.models import Patient, Procedure, Referral, Room, Site, Slot

UNASSIGNED = "-"
OVERDUE_LIST_LIMIT = 500


@dataclass(frozen=True, slots=True)
class Placement:
    """One open referral's place on the board."""

    referral_id: int
    patient_id: int
    priority: str
    due_at: datetime
    site: str
    queue: Queue | None
    flags: Flags


@dataclass(frozen=True, slots=True)
class OverdueItem:
    referral_id: int
    cpr: str
    patient_name: str
    priority: str
    due_at: datetime
    queue: str
    site: str


@dataclass(frozen=True, slots=True)
class Board:
    at: datetime
    open_referrals: int
    by_queue: dict[str, int]
    by_site: dict[str, dict[str, int]]
    overdue: int
    booked_after_deadline: int
    notify_overdue: int
    overdue_list: list[OverdueItem]


def placements(s: Session, now: datetime) -> list[Placement]:
    """Every open referral with its one queue (None would be a broken invariant)."""
    stmt = (
        select(
            Referral.id,
            Referral.patient_id,
            Referral.priority,
            Referral.due_at,
            Referral.notify_by,
            Referral.preferred_site_id,
            Procedure.state,
            Procedure.images_received_at,
            Slot.start_at,
            Room.site_id,
        )
        .join(Procedure, Procedure.referral_id == Referral.id)
        .order_by(Referral.id, Procedure.id)
    )
    stmt = tracker_sql.open_with_active_slot(stmt)
    grouped: dict[int, list[Row[tuple]]] = defaultdict(list)  # type: ignore[type-arg]
    for row in s.execute(stmt):
        grouped[row.id].append(row)
    sites = dict(s.execute(select(Site.id, Site.code)).tuples().all())
    return [_place(rows, sites, now) for rows in grouped.values()]


def _place(rows: list[Row[tuple]], sites: dict[int, str], now: datetime) -> Placement:  # type: ignore[type-arg]
    first = rows[0]
    snaps = [
        ProcedureSnapshot(
            ProcedureState(r.state),
            r.start_at if r.state == "booked" else None,
            r.images_received_at is not None,
        )
        for r in rows
    ]
    queue = referral_queue(snaps, now)
    booked = [r for r in rows if r.start_at is not None and r.state == "booked"]
    last_start = max((r.start_at for r in booked), default=None)
    return Placement(
        first.id,
        first.patient_id,
        first.priority,
        first.due_at,
        sites.get(_site_id(rows) or 0, UNASSIGNED),
        queue,
        flags(queue, first.due_at, first.notify_by, last_start, now),
    )


_OPEN_STATES = frozenset(s.value for s in ProcedureState if s not in TERMINAL)


def _site_id(rows: list[Row[tuple]]) -> int | None:  # type: ignore[type-arg]
    """Where the patient is expected or already is: the earliest open appointment's site.

    Booked, arrived, in-progress and completed procedures keep their appointment, so
    a patient who arrived at another hospital than the preferred one is counted there;
    of two at the same time, the first procedure's (rows come in procedure order).
    Without an open appointment the referral belongs to its preferred site.
    """
    held = [r for r in rows if r.start_at is not None and r.state in _OPEN_STATES]
    if not held:
        return rows[0].preferred_site_id  # type: ignore[no-any-return]
    return min(held, key=lambda r: r.start_at).site_id  # type: ignore[no-any-return]


def placed_in_sql(s: Session, now: datetime) -> list[Placement]:
    """``placements`` as the database computes them (``tracker_sql``): must be equal."""
    return [_placement(row) for row in s.execute(tracker_sql.placed(), tracker_sql.bind(now))]


def _placement(row: Row[Any]) -> Placement:
    return Placement(
        row.referral_id,
        row.patient_id,
        row.priority,
        row.due_at,
        row.site or UNASSIGNED,
        tracker_sql.queue_of(row.stage),
        Flags(bool(row.overdue), bool(row.booked_after_deadline), bool(row.notify_overdue)),
    )


def board(ctx: Context) -> Board:
    """The counts aggregated in SQL; only the overdue list's referrals come back as rows."""
    now = ctx.now()
    params = tracker_sql.bind(now)
    by_queue: Counter[str] = Counter()
    by_site: dict[str, Counter[str]] = defaultdict(Counter)
    totals: Counter[str] = Counter()
    with ctx.uow(readonly=True) as uow:
        tracker_sql.prefer_index_lookups(uow.session)
        for site, stage, n, overdue, after, untold in uow.session.execute(_counts(), params):
            queue = _queue_key(tracker_sql.queue_of(stage))
            by_queue[queue] += n
            by_site[site or UNASSIGNED][queue] += n
            totals.update(overdue=overdue, after=after, untold=untold)
        late = map(_placement, uow.session.execute(_most_late(), params))
        overdue_list = _overdue_items(uow.session, late)
    return Board(
        at=now,
        open_referrals=by_queue.total(),
        by_queue=dict(by_queue),
        by_site={site: dict(c) for site, c in sorted(by_site.items())},
        overdue=totals["overdue"],
        booked_after_deadline=totals["after"],
        notify_overdue=totals["untold"],
        overdue_list=overdue_list,
    )


@cache
def _counts() -> Select[Any]:
    """Referrals and flags counted per site and queue."""
    places = tracker_sql.placed().subquery()
    return select(
        places.c.site,
        places.c.stage,
        func.count(),
        func.sum(places.c.overdue),
        func.sum(places.c.booked_after_deadline),
        func.sum(places.c.notify_overdue),
    ).group_by(places.c.site, places.c.stage)


@cache
def _most_late() -> Select[Any]:
    late = tracker_sql.placed(overdue_only=True).subquery()
    return select(late).order_by(late.c.due_at, late.c.referral_id).limit(OVERDUE_LIST_LIMIT)


def _queue_key(queue: Queue | None) -> str:
    return queue.value if queue else "none"


def _overdue_items(s: Session, late: Iterable[Placement]) -> list[OverdueItem]:
    late = list(late)
    patient_ids = {p.patient_id for p in late}
    names = {
        p.id: display_name(p) for p in s.scalars(select(Patient).where(Patient.id.in_(patient_ids)))
    }
    numbers = primary_identifiers(s, patient_ids)
    return [
        OverdueItem(
            p.referral_id,
            numbers.get(p.patient_id, ""),
            names[p.patient_id],
            p.priority,
            p.due_at,
            _queue_key(p.queue),
            p.site,
        )
        for p in late
    ]
