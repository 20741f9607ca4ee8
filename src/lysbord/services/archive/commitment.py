"""Storage Commitment (PS3.4 J): a request is kept durably until its report is delivered.

The requester asks "do you now hold these instances safely?"; Lysbord records the
question (so the N-ACTION success means it will be answered, even after a restart),
then a worker answers it: an instance counts as committed when it has an
``instances`` row, because that row is written only after its bytes were fsynced
(services/archive/storing.py), and when the SOP Class agrees with the request.

Delivery is at-least-once: the row stays locked (PostgreSQL: ``FOR UPDATE SKIP
LOCKED``, so another door process skips it; SQLite: the write lock) while the
report is sent, and ``reported_at`` is written in that transaction. A crash after
sending but before committing sends the same report again; its Transaction UID
lets the requester recognise it. While the row is locked the SQLite write lock is
held too, so the DICOM side keeps its delivery timeouts short.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from lysbord.services.core.context import Context
from lysbord.store.archive_models import CommitmentRequest, Instance

log = logging.getLogger(__name__)

# Failure Reason (0008,1197) values in the Failed SOP Sequence, PS3.4 Annex J.
NO_SUCH_OBJECT_INSTANCE = 0x0112
CLASS_INSTANCE_CONFLICT = 0x0119
# Event Type ID of the N-EVENT-REPORT (PS3.4 Annex J): all committed, or some failed.
ALL_COMMITTED, FAILURES_EXIST = 1, 2

FIRST_RETRY = timedelta(seconds=5)
MAX_RETRY = timedelta(minutes=10)
_CHUNK = 500  # SOP Instance UIDs per IN (...) query: well under SQLite's variable limit


@dataclass(frozen=True, slots=True)
class Reference:
    """One item of the Referenced SOP Sequence: the class and instance the requester sent."""

    sop_class_uid: str
    sop_instance_uid: str


@dataclass(frozen=True, slots=True)
class Failure:
    reference: Reference
    reason: int


@dataclass(frozen=True, slots=True)
class CommitmentReport:
    """What the N-EVENT-REPORT says about one request."""

    request_id: int
    transaction_uid: str
    calling_ae: str
    committed: list[Reference]
    failed: list[Failure]

    @property
    def event_type(self) -> int:
        return FAILURES_EXIST if self.failed else ALL_COMMITTED


def request_commitment(
    ctx: Context, transaction_uid: str, calling_ae: str, refs: Sequence[Reference]
) -> int:
    """Record a request durably; the N-ACTION success may be sent once this returns."""
    items = [
        {"sop_class_uid": r.sop_class_uid, "sop_instance_uid": r.sop_instance_uid} for r in refs
    ]
    with ctx.uow() as uow:
        row = CommitmentRequest(
            transaction_uid=transaction_uid,
            calling_ae=calling_ae.strip(),
            items=items,
            received_at=ctx.now(),
            attempts=0,
        )
        uow.session.add(row)
        uow.session.flush()
        request_id = row.id
        uow.commit()
    return request_id


def retry_delay(attempt: int) -> timedelta:
    """The wait after failed attempt ``attempt`` (0-based): 5 s, doubling, at most 10 min."""
    factor: int = 2 ** min(attempt, 8)
    return min(FIRST_RETRY * factor, MAX_RETRY)


def due_at(received_at: datetime, attempts: int) -> datetime:
    """When the next attempt is due, counted from the request along the backoff schedule.

    The table keeps no "last attempt" time, so the schedule is anchored on
    ``received_at``; after a long outage the overdue attempts come one per poll
    until the schedule catches up with the clock.
    """
    ramp = sum((retry_delay(k) for k in range(min(attempts, 8))), timedelta())
    return received_at + ramp + MAX_RETRY * max(attempts - 8, 0)


def due_requests(ctx: Context, limit: int = 1000) -> list[int]:
    """Ids of unreported requests whose next attempt is due, oldest first."""
    now = ctx.now()
    with ctx.uow(readonly=True) as uow:
        rows = uow.session.execute(unreported(limit)).all()
    return [r.id for r in rows if due_at(r.received_at, r.attempts) <= now]


def unreported(limit: int) -> Select[tuple[int, datetime, int]]:
    """The retry scan: unreported requests in id order, read through the partial index
    ``ix_commitment_requests_unreported`` (reported requests pile up; these stay few)."""
    return (
        select(CommitmentRequest.id, CommitmentRequest.received_at, CommitmentRequest.attempts)
        .where(CommitmentRequest.reported_at.is_(None))
        .order_by(CommitmentRequest.id)
        .limit(limit)
    )


def deliver(ctx: Context, request_id: int, send: Callable[[CommitmentReport], None]) -> bool:
    """Send one request's report if it is due and nobody else is sending it; True if sent.

    ``send`` raises on any failure to deliver; the failure is counted in
    ``attempts`` with its reason in ``last_error``, and the next attempt waits
    for the backoff.
    """
    with ctx.uow() as uow:
        row = uow.session.scalars(
            select(CommitmentRequest)
            .where(CommitmentRequest.id == request_id, CommitmentRequest.reported_at.is_(None))
            .with_for_update(skip_locked=True)
        ).one_or_none()
        if row is None or due_at(row.received_at, row.attempts) > ctx.now():
            return False
        report = evaluate(uow.session, row)
        row.attempts += 1
        try:
            send(report)
        except Exception as exc:  # any failure is one failed attempt, never a lost request
            row.last_error = f"attempt {row.attempts}: {type(exc).__name__}: {exc}"[:2000]
            log.warning(
                "commitment report %s to %s: %s",
                row.transaction_uid,
                row.calling_ae,
                row.last_error,
            )
            uow.commit()
            return False
        row.reported_at = ctx.now()
        uow.commit()
    return True


def evaluate(s: Session, row: CommitmentRequest) -> CommitmentReport:
    """Sort the requested references into committed and failed (with the reason)."""
    refs = [Reference(i["sop_class_uid"], i["sop_instance_uid"]) for i in row.items]
    stored = _stored_classes(s, [r.sop_instance_uid for r in refs])
    committed: list[Reference] = []
    failed: list[Failure] = []
    for ref in refs:
        sop_class = stored.get(ref.sop_instance_uid)
        if sop_class is None:
            failed.append(Failure(ref, NO_SUCH_OBJECT_INSTANCE))
        elif sop_class != ref.sop_class_uid:
            failed.append(Failure(ref, CLASS_INSTANCE_CONFLICT))
        else:
            committed.append(ref)
    return CommitmentReport(row.id, row.transaction_uid, row.calling_ae, committed, failed)


def _stored_classes(s: Session, uids: Iterable[str]) -> dict[str, str]:
    """SOP Class UID of each given SOP Instance UID that is in the index."""
    wanted = sorted(set(uids))
    found: dict[str, str] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        rows = s.execute(
            select(Instance.sop_instance_uid, Instance.sop_class_uid).where(
                Instance.sop_instance_uid.in_(chunk)
            )
        )
        found.update({r.sop_instance_uid: r.sop_class_uid for r in rows})
    return found
