"""The HL7 inbox: every inbound message kept raw, with its outcome, applied at most once.

A message is applied in the same transaction that stores it as ``applied``, so the
answer (AA) is only sent for what is durable. A refused message (a domain rule said
no) is rolled back and stored on its own as ``rejected`` with the reason; a crash
while applying stores it as ``error``. The key is (MSH-3, MSH-4, MSH-10): a copy
of a message already stored gets the stored answer and changes nothing, except
after an ``error``, which is tried again. The unique constraint settles two copies
arriving at once: the loser's transaction fails and, tried again, finds the winner's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import (
    Table,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ClauseElement

from lysbord.domain.errors import DomainError
from lysbord.services.core.context import Context
from lysbord.store.db import CompiledOnce
from lysbord.store.hl7_models import Hl7Message

log = logging.getLogger(__name__)

APPLIED, REJECTED, ERROR = "applied", "rejected", "error"
STATUSES = (APPLIED, REJECTED, ERROR)
_MESSAGES = cast(Table, Hl7Message.__table__)


@dataclass(frozen=True, slots=True)
class Received:
    """A message as it arrived, and what its header says (empty when unreadable)."""

    raw: bytes
    peer: str = ""
    sender_app: str = ""
    sender_facility: str = ""
    control_id: str | None = None
    message_type: str = ""
    version: str = ""
    charset: str = ""
    cpr: str | None = None

    def __post_init__(self) -> None:
        """Header values go to text columns and look-ups (see ``_storable``)."""
        for name in ("peer", "sender_app", "sender_facility", "control_id", "message_type",
                     "version", "charset", "cpr"):  # fmt: skip
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _text(value))


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str
    answer: bytes
    reason: str | None = None
    location: str | None = None


Apply = Callable[[Session, datetime], Outcome]
Refuse = Callable[[DomainError], Outcome]


def receive(ctx: Context, msg: Received, apply: Apply, refuse: Refuse) -> bytes:
    """Store and apply once; returns the answer to send (only after it is committed).

    A refusal is kept at once (``keep`` still answers a stored copy with its own answer),
    so a refused message is applied once, not again in a second transaction."""
    try:
        answers = receive_together(ctx, [(msg, apply)])
    except DomainError as exc:
        return keep(ctx, msg, refuse(exc))
    if answers is not None:
        return answers[0]
    try:
        return _receive_once(ctx, msg, apply, refuse)
    except IntegrityError:
        # A copy on another connection won the unique key (or an order number) meanwhile.
        return _receive_once(ctx, msg, apply, refuse)


def receive_together(ctx: Context, items: Sequence[tuple[Received, Apply]]) -> list[bytes] | None:
    """Store and apply several new messages in one transaction: one commit serves them all
    (group commit, issue 4). Only the common case, new messages applied: when any is a copy,
    is refused or fails, nothing is kept and None says so; the caller then receives each
    on its own. A single message is on its own already: its refusal is raised.
    No look-up first: the row's insert finds a copy (issue 4)."""
    now = ctx.now()
    with ctx.uow() as uow:
        s = uow.session
        answers = []
        for msg, apply in items:
            try:
                outcome = apply(s, now)
            except DomainError:
                if len(items) == 1:
                    raise
                return None  # which one was refused is said by each on its own
            except Exception:  # a bug, or the database: tried again on its own
                return None
            row = _new_row(msg, outcome, now)
            if _INSERT_UNLESS_STORED.execute(s.connection(), row).first() is None:
                return None  # a copy is stored: its answer is the answer
            answers.append(outcome.answer)
        try:
            uow.commit()
        except IntegrityError:  # a copy or an order number committed meanwhile elsewhere
            return None
    return answers


def keep(ctx: Context, msg: Received, outcome: Outcome) -> bytes:
    """Store a message that is answered without being applied (unreadable, unsupported)."""
    with ctx.uow() as uow:
        s = uow.session
        stored = _stored(s, msg)
        if stored is not None and stored.status != ERROR:
            return stored.answer or outcome.answer
        _write(s, msg, stored, outcome, ctx.now())
        try:
            uow.commit()
        except IntegrityError:
            return _answer_of_winner(ctx, msg, outcome)
    return outcome.answer


def _receive_once(ctx: Context, msg: Received, apply: Apply, refuse: Refuse) -> bytes:
    now = ctx.now()
    with ctx.uow() as uow:
        s = uow.session
        stored = _stored(s, msg)
        if stored is not None and stored.status != ERROR:
            return stored.answer or b""
        try:
            outcome = apply(s, now)
        except DomainError as exc:
            refused = refuse(exc)
        else:
            _write(s, msg, stored, outcome, now)
            uow.commit()  # a copy that won meanwhile makes this fail: receive() tries again
            return outcome.answer
    return keep(ctx, msg, refused)


def _answer_of_winner(ctx: Context, msg: Received, fallback: Outcome) -> bytes:
    with ctx.uow(readonly=True) as uow:
        stored = _stored(uow.session, msg)
    if stored is None or stored.answer is None:
        return fallback.answer
    return stored.answer


def record_error(ctx: Context, msg: Received, outcome: Outcome) -> bytes:
    """Keep a message whose applying crashed; a re-sent copy will be tried again."""
    log.error("HL7 message %r from %s: %s", msg.control_id, msg.sender_app, outcome.reason)
    return keep(ctx, msg, outcome)


@dataclass(frozen=True, slots=True)
class _Stored:
    id: int
    status: str
    answer: bytes | None


def _stored(s: Session, msg: Received) -> _Stored | None:
    """The copy of this message stored already, if any (Core: this runs for every message)."""
    if msg.control_id is None:
        return None
    c = _MESSAGES.c
    stmt = select(c.id, c.status, c.answer).where(
        c.sender_app == msg.sender_app,
        c.sender_facility == msg.sender_facility,
        c.control_id == msg.control_id,
    )
    row = s.execute(stmt).first()
    return _Stored(*row) if row is not None else None


def _write(
    s: Session, msg: Received, stored: _Stored | None, outcome: Outcome, now: datetime
) -> None:
    """Store the message with its outcome: a new row, or the failed copy tried again."""
    if stored is None:
        s.execute(insert(_MESSAGES), _new_row(msg, outcome, now))
        return
    values = _outcome(outcome, now)
    attempts = _MESSAGES.c.attempts + 1
    s.execute(
        update(_MESSAGES).where(_MESSAGES.c.id == stored.id).values(attempts=attempts), values
    )


def _outcome(outcome: Outcome, now: datetime) -> dict[str, object]:
    return _storable(
        {
            "status": outcome.status,
            "answer": outcome.answer,
            "reason": outcome.reason,
            "location": outcome.location,
            "updated_at": now,
        }
    )


def _storable(row: dict[str, object]) -> dict[str, object]:
    return {k: _text(v) if isinstance(v, str) else v for k, v in row.items()}


def _text(value: str) -> str:
    """NUL becomes U+FFFD: PostgreSQL refuses NUL in text, and a message whose header or
    reason carries one must still be kept and answered (its raw bytes keep it as sent).
    The same every time, so a copy still finds its original."""
    return value.replace("\x00", "\ufffd")


def _new_row(msg: Received, outcome: Outcome, now: datetime) -> dict[str, object]:
    return {
        "received_at": now,
        "peer": msg.peer[:64],
        "sender_app": msg.sender_app,
        "sender_facility": msg.sender_facility,
        "control_id": msg.control_id,
        "message_type": msg.message_type[:16],
        "version": msg.version[:8],
        "charset": msg.charset[:32],
        "cpr": msg.cpr,
        "attempts": 1,
        "raw": msg.raw,
    } | _outcome(outcome, now)


def _insert_unless_stored(dialect: str) -> ClauseElement:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id: no row back means a copy is stored."""
    insert_for = pg_insert if dialect == "postgresql" else sqlite_insert
    c = _MESSAGES.c
    stmt = insert_for(_MESSAGES).on_conflict_do_nothing(
        index_elements=[c.sender_app, c.sender_facility, c.control_id]
    )
    return stmt.returning(c.id)


_INSERT_UNLESS_STORED = CompiledOnce(
    _insert_unless_stored, [c.name for c in _MESSAGES.c if c.name != "id"]
)
