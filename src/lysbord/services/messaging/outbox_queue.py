"""The outbox as a queue: claim what is due, record what happened, list, resend.

Order per patient per destination: a (destination, patient) line is claimed from
its oldest pending message on, and sent in order up to its first failure, so a
later message never overtakes an earlier one that is not yet sent or dead. Claims
are leases (``lease_until``) taken in a short transaction (PostgreSQL: ``FOR
UPDATE SKIP LOCKED`` on the heads; SQLite: its write lock), so no transaction stays
open while a message is on the wire and several
``lysbord serve`` processes share the work. A worker that dies mid-send leaves a
lease that expires; the message is then sent again under the same control ID
(MSH-10), which lets the receiver recognise it. After an ACK is recorded the row
is ``sent`` and never claimed again.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Row, func, or_, select, tuple_, update
from sqlalchemy.orm import Session

from lysbord.config.hl7_out import Hl7OutSettings
from lysbord.domain.errors import Conflict, Msg, NotFound
from lysbord.services.core.context import Context
from lysbord.services.core.events import record
from lysbord.store.outbox_models import OutboxMessage

M = OutboxMessage


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"


@dataclass(frozen=True, slots=True)
class Claimed:
    """A leased message, ready to render and send."""

    id: int
    destination: str
    patient_key: str
    message_type: str
    payload: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to a claimed message: sent, failed (an attempt), or given back."""

    id: int
    sent: bool = False
    error: str | None = None

    @property
    def released(self) -> bool:
        """Not tried (the destination failed earlier in the batch): no attempt counted."""
        return not self.sent and self.error is None


@dataclass(frozen=True, slots=True)
class OutboxView:
    id: int
    destination: str
    message_type: str
    patient_key: str
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str | None
    payload: dict[str, Any]


def backoff(settings: Hl7OutSettings, attempts: int) -> timedelta:
    """Wait after the ``attempts``-th failure: base, doubling, capped."""
    seconds = settings.backoff_base_seconds * 2 ** min(max(attempts - 1, 0), 30)
    return timedelta(seconds=min(seconds, settings.backoff_cap_seconds))


#: What a claim reads: enough to send, and to cut a line at a busy message.
_CLAIM = (
    M.id,
    M.destination,
    M.patient_key,
    M.message_type,
    M.payload,
    M.created_at,
    M.next_attempt_at,
    M.lease_until,
)


def claim(ctx: Context, limit: int, lease: timedelta, skip: Collection[str] = ()) -> list[Claimed]:
    """Lease due lines, oldest first: each line's head and the due messages right behind it.

    A line's messages go out in id order in one batch; the sender stops a line at its
    first failure, so nothing overtakes a message that is not yet sent or dead.
    """
    now = ctx.now()
    heads = select(func.min(M.id)).where(M.status == OutboxStatus.PENDING)
    if skip:
        heads = heads.where(M.destination.not_in(list(skip)))
    stmt = (
        select(*_CLAIM)
        .where(M.id.in_(heads.group_by(M.destination, M.patient_key)), *_free(now))
        .order_by(M.id)
        .limit(limit)
        .with_for_update(of=M, skip_locked=True)
    )
    with ctx.uow() as uow:
        s = uow.session
        rows = list(s.execute(stmt))
        rows += _followers(s, rows, limit - len(rows), now)
        ids = [r.id for r in rows]
        if ids:
            s.execute(update(M).where(M.id.in_(ids)).values(lease_until=now + lease))
        uow.commit()
    return sorted((Claimed(*r[:6]) for r in rows), key=lambda c: c.id)


def _free(now: datetime) -> tuple[Any, ...]:
    """Due, and not leased by a worker that may still be sending it."""
    return M.next_attempt_at <= now, or_(M.lease_until.is_(None), M.lease_until <= now)


def _followers(s: Session, heads: list[Row[Any]], room: int, now: datetime) -> list[Row[Any]]:
    """The pending messages behind the claimed heads, each line cut at its first busy one.

    Plain ``FOR UPDATE`` (no SKIP LOCKED): a skipped row would leave a gap in a line.
    """
    if room <= 0 or not heads:
        return []
    lines = {(h.destination, h.patient_key) for h in heads}
    rows = s.execute(
        select(*_CLAIM)
        .where(
            M.status == OutboxStatus.PENDING,
            tuple_(M.destination, M.patient_key).in_(list(lines)),
            M.id.not_in([h.id for h in heads]),
        )
        .order_by(M.id)
        .limit(room)
        .with_for_update(of=M)
    )
    taken: list[Row[Any]] = []
    for row in rows:
        line = (row.destination, row.patient_key)
        if line not in lines:
            continue
        if row.next_attempt_at > now or (row.lease_until is not None and row.lease_until > now):
            lines.discard(line)
            continue
        taken.append(row)
    return taken


def finish(ctx: Context, settings: Hl7OutSettings, outcomes: Sequence[Outcome]) -> None:
    """Record a batch's outcomes in one transaction; a failure waits for its backoff.

    The usual outcomes (sent, given back) are one UPDATE each for the whole batch.
    """
    if not outcomes:
        return
    now = ctx.now()
    pending = M.status == OutboxStatus.PENDING
    with ctx.uow() as uow:
        s = uow.session
        sent = [o.id for o in outcomes if o.sent]
        if sent:
            s.execute(
                update(M)
                .where(M.id.in_(sent), pending)
                .values(status=OutboxStatus.SENT, sent_at=now, attempts=M.attempts + 1)
            )
        s.execute(update(M).where(M.id.in_([o.id for o in outcomes])).values(lease_until=None))
        failed = {o.id: o.error for o in outcomes if o.error is not None}
        for row in s.scalars(select(M).where(M.id.in_(list(failed)), pending)):
            row.attempts += 1
            row.last_error = f"attempt {row.attempts}: {failed[row.id]}"[:2000]
            if row.attempts >= settings.max_attempts:
                row.status = OutboxStatus.DEAD
            else:
                row.next_attempt_at = now + backoff(settings, row.attempts)
        uow.commit()


def list_messages(
    ctx: Context,
    status: OutboxStatus | None = None,
    destination: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[OutboxView], int]:
    """Messages newest first, with the total for paging."""
    where = [c for c in (_eq(M.status, status), _eq(M.destination, destination)) if c is not None]
    with ctx.uow(readonly=True) as uow:
        s = uow.session
        total = s.scalar(select(func.count()).select_from(M).where(*where)) or 0
        rows = s.scalars(select(M).where(*where).order_by(M.id.desc()).limit(limit).offset(offset))
        return [_view(r) for r in rows], total


def resend(ctx: Context, message_id: int, actor: str) -> OutboxView:
    """Give a dead message a fresh set of attempts (after its cause was fixed)."""
    now = ctx.now()
    with ctx.uow() as uow:
        s = uow.session
        row = s.get(M, message_id, with_for_update=True)
        if row is None:
            raise NotFound(
                Msg("no outbox message has this id"), field="message_id", value=message_id
            )
        if row.status != OutboxStatus.DEAD:
            raise Conflict(
                Msg("only a dead message can be resent; this one is {status}", status=row.status),
                field="status",
                value=row.status,
            )
        row.status, row.attempts, row.next_attempt_at = OutboxStatus.PENDING, 0, now
        record(
            s,
            "outbox.resent",
            actor=actor,
            at=now,
            patient_id=int(row.patient_key) if row.patient_key.isdigit() else None,
            outbox_id=row.id,
            destination=row.destination,
            last_error=row.last_error,
        )
        view = _view(row)
        uow.commit()
    return view


def _eq(column: Any, value: object) -> Any:
    return None if value is None else column == value


def _view(r: OutboxMessage) -> OutboxView:
    return OutboxView(
        r.id,
        r.destination,
        r.message_type,
        r.patient_key,
        r.status,
        r.attempts,
        r.created_at,
        r.next_attempt_at,
        r.sent_at,
        r.last_error,
        r.payload,
    )
