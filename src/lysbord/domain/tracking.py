"""Where every open referral is: exactly one queue each, and the flags that need action.

The dangerous failures are silent (DOMAIN.md §1): a referral that is in no queue is
a patient nobody will call. Every non-terminal procedure maps to a queue; a referral
sits in the earliest-stage queue of its open procedures; a referral whose procedures
are all finished has no queue and should be closed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from lysbord.domain.calendar import local_date, require_aware
from lysbord.domain.workflow import TERMINAL, ProcedureState


class Queue(StrEnum):
    """A work queue; declared in pipeline order, earliest stage first."""

    AWAITING_BOOKING = "awaiting-booking"
    ON_HOLD = "on-hold"
    BOOKED = "booked"
    TODAY = "today"
    ARRIVED = "arrived"
    IN_PROGRESS = "in-progress"
    AWAITING_IMAGES = "awaiting-images"
    AWAITING_REPORT = "awaiting-report"


_STAGE = {q: i for i, q in enumerate(Queue)}

_DIRECT: dict[ProcedureState, Queue] = {
    ProcedureState.REQUESTED: Queue.AWAITING_BOOKING,
    ProcedureState.NO_SHOW: Queue.AWAITING_BOOKING,
    ProcedureState.ON_HOLD: Queue.ON_HOLD,
    ProcedureState.ARRIVED: Queue.ARRIVED,
    ProcedureState.IN_PROGRESS: Queue.IN_PROGRESS,
}

#: Queues in which work-up has not started yet: past the deadline they are overdue.
_NOT_STARTED = frozenset(
    {Queue.AWAITING_BOOKING, Queue.ON_HOLD, Queue.BOOKED, Queue.TODAY, Queue.ARRIVED}
)
#: Queues in which the patient has not yet been given a date.
_NOT_TOLD = frozenset({Queue.AWAITING_BOOKING, Queue.ON_HOLD})


@dataclass(frozen=True, slots=True)
class ProcedureSnapshot:
    """The facts about one procedure that decide its queue."""

    state: ProcedureState
    slot_start: datetime | None
    images_received: bool


@dataclass(frozen=True, slots=True)
class Flags:
    """What needs attention: a missed deadline, a late booking, an untold patient."""

    overdue: bool
    booked_after_deadline: bool
    notify_overdue: bool


def procedure_queue(p: ProcedureSnapshot, now: datetime) -> Queue | None:
    """The queue of one procedure, or None when it is finished (terminal)."""
    if p.state in TERMINAL:
        return None
    if p.state in _DIRECT:
        return _DIRECT[p.state]
    if p.state is ProcedureState.BOOKED:
        today = p.slot_start is not None and local_date(p.slot_start) == local_date(now)
        return Queue.TODAY if today else Queue.BOOKED
    # Only COMPLETED is left: performed, waiting for images, then for the report.
    return Queue.AWAITING_REPORT if p.images_received else Queue.AWAITING_IMAGES


def referral_queue(procs: Sequence[ProcedureSnapshot], now: datetime) -> Queue | None:
    """The earliest-stage queue among a referral's open procedures.

    None when every procedure is terminal: the referral should then be closed.
    """
    queues = [q for q in (procedure_queue(p, now) for p in procs) if q is not None]
    return min(queues, key=_STAGE.__getitem__, default=None)


def flags(
    queue: Queue | None,
    due_at: datetime,
    notify_by: datetime | None,
    slot_start: datetime | None,
    now: datetime,
) -> Flags:
    """Flags for a referral in ``queue`` with these deadlines, judged at ``now``."""
    now = require_aware(now, "now")
    due = require_aware(due_at, "due_at")
    overdue = queue in _NOT_STARTED and now > due
    late = slot_start is not None and require_aware(slot_start, "slot_start") > due
    untold = (
        notify_by is not None and queue in _NOT_TOLD and now > require_aware(notify_by, "notify_by")
    )
    return Flags(overdue=overdue, booked_after_deadline=late, notify_overdue=untold)


def days_overdue(due_at: datetime, now: datetime) -> int:
    """Copenhagen calendar days from the deadline's day to today: 0 when it passed today.

    Whole days as people count them on a ward ("three days over"), not 24-hour periods."""
    return (local_date(now) - local_date(due_at)).days
