"""The tracker: where every open referral is right now, and which are overdue.

One query over open referrals and their procedures; queues and flags come from
the domain, so the board, the lists and `lysbord check` agree by construction.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, and_, select
from sqlalchemy.orm import Session

from lysbord.domain.tracking import Flags, ProcedureSnapshot, Queue, flags, referral_queue
from lysbord.domain.workflow import TERMINAL, ProcedureState
from lysbord.services.context import Context
from lysbord.services.views import display_name, primary_identifiers
from lysbord.store.models import Appointment, Patient, Procedure, Referral, Room, Site, Slot

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
        .outerjoin(
            Appointment,
            and_(Appointment.procedure_id == Procedure.id, Appointment.active.is_(True)),
        )
        .outerjoin(Slot, Slot.id == Appointment.slot_id)
        .outerjoin(Room, Room.id == Slot.room_id)
        .where(Referral.closed_at.is_(None))
        .order_by(Referral.id)
    )
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
    a patient who arrived at another hospital than the preferred one is counted there.
    Without an open appointment the referral belongs to its preferred site.
    """
    held = [r for r in rows if r.start_at is not None and r.state in _OPEN_STATES]
    if not held:
        return rows[0].preferred_site_id  # type: ignore[no-any-return]
    return min(held, key=lambda r: r.start_at).site_id  # type: ignore[no-any-return]


def board(ctx: Context) -> Board:
    now = ctx.now()
    with ctx.uow(readonly=True) as uow:
        places = placements(uow.session, now)
        late = sorted((p for p in places if p.flags.overdue), key=lambda p: p.due_at)
        overdue = _overdue_items(uow.session, late[:OVERDUE_LIST_LIMIT])
    by_site: dict[str, Counter[str]] = defaultdict(Counter)
    for p in places:
        by_site[p.site][p.queue.value if p.queue else "none"] += 1
    return Board(
        at=now,
        open_referrals=len(places),
        by_queue=dict(Counter(p.queue.value if p.queue else "none" for p in places)),
        by_site={site: dict(c) for site, c in sorted(by_site.items())},
        overdue=len(late),
        booked_after_deadline=sum(p.flags.booked_after_deadline for p in places),
        notify_overdue=sum(p.flags.notify_overdue for p in places),
        overdue_list=overdue,
    )


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
            p.queue.value if p.queue else "none",
            p.site,
        )
        for p in late
    ]
