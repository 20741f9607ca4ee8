"""Replaying a kept HL7 message once its cause is fixed: applied, or refused again, and
recorded either way."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from lysbord.domain.errors import Conflict, DomainError, Msg, NotFound
from lysbord.services.core.context import Context
from lysbord.services.core.events import record
from lysbord.services.messaging.inbox import APPLIED, Apply, Outcome, Refuse
from lysbord.services.messaging.inbox_queries import MessageDetail, detail
from lysbord.store.hl7_models import Hl7Message

#: How the HL7 door reads a stored message again: its apply and refuse (``replay``).
Reader = Callable[[Context, bytes], tuple[Apply, Refuse]]


def _finish(row: Hl7Message, outcome: Outcome, now: datetime) -> None:
    row.status, row.answer = outcome.status, outcome.answer
    row.reason, row.location = outcome.reason, outcome.location
    row.attempts = (row.attempts or 0) + 1
    row.updated_at = now


def replay(ctx: Context, message_id: int, actor: str, read: Reader) -> MessageDetail:
    """Apply a rejected (or failed) message again, after its cause was fixed."""
    now = ctx.now()
    with ctx.uow() as uow:
        s = uow.session
        row = _replayable(s, message_id)
        apply, refuse = read(ctx, row.raw)
        try:
            outcome = apply(s, now)
        except DomainError as exc:
            refused = refuse(exc)
        else:
            _finish(row, outcome, now)
            record(s, "hl7.replayed", actor=actor, at=now, message_id=row.id, status=APPLIED)
            uow.commit()
            return detail(row)
    with ctx.uow() as uow:
        s = uow.session
        row = _replayable(s, message_id)
        _finish(row, refused, now)
        record(s, "hl7.replayed", actor=actor, at=now, message_id=row.id, status=refused.status)
        uow.commit()
        return detail(row)


def _replayable(s: Session, message_id: int) -> Hl7Message:
    row = s.get(Hl7Message, message_id, with_for_update=True)
    if row is None:
        raise NotFound(Msg("no such HL7 message"), field="message_id", value=message_id)
    if row.status == APPLIED:
        raise Conflict(Msg("the message was applied already"), field="message_id", value=message_id)
    return row
