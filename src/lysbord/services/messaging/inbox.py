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
    ColumnElement,
    String,
    Table,
    func,
    insert,
    literal,
    select,
    union,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ClauseElement

from lysbord.domain.errors import Conflict, DomainError, NotFound
from lysbord.services.core.context import Context
from lysbord.services.core.events import record
from lysbord.store.db import CompiledOnce
from lysbord.store.hl7_models import Hl7Message
from lysbord.store.queries import numbers_of_person

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
#: How the HL7 door reads a stored message again: its apply and refuse (``replay``).
Reader = Callable[[Context, bytes], tuple[Apply, Refuse]]


@dataclass(frozen=True, slots=True)
class MessageView:
    """An inbox entry without its bytes (the list)."""

    id: int
    received_at: datetime
    updated_at: datetime
    peer: str
    sender_app: str
    sender_facility: str
    control_id: str | None
    message_type: str
    version: str
    charset: str
    cpr: str | None
    status: str
    reason: str | None
    location: str | None
    attempts: int


@dataclass(frozen=True, slots=True)
class MessageDetail:
    """An inbox entry with the bytes received and the answer given."""

    message: MessageView
    raw: bytes
    answer: bytes | None


def view(row: Hl7Message) -> MessageView:
    return MessageView(
        row.id,
        row.received_at,
        row.updated_at,
        row.peer,
        row.sender_app,
        row.sender_facility,
        row.control_id,
        row.message_type,
        row.version,
        row.charset,
        row.cpr,
        row.status,
        row.reason,
        row.location,
        row.attempts,
    )


def detail(row: Hl7Message) -> MessageDetail:
    return MessageDetail(view(row), row.raw, row.answer)


@dataclass(frozen=True, slots=True)
class InboxFilter:
    status: str | None = None
    message_type: str | None = None
    cpr: str | None = None
    limit: int = 50
    offset: int = 0


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
        raise NotFound("no such HL7 message", field="message_id", value=message_id)
    if row.status == APPLIED:
        raise Conflict("the message was applied already", field="message_id", value=message_id)
    return row


def get_message(ctx: Context, message_id: int) -> MessageDetail:
    with ctx.uow(readonly=True) as uow:
        row = uow.session.get(Hl7Message, message_id)
        if row is None:
            raise NotFound("no such HL7 message", field="message_id", value=message_id)
        return detail(row)


def list_messages(ctx: Context, flt: InboxFilter) -> tuple[list[MessageView], int]:
    """One page, newest first, and how many matched in all."""
    stmt = select(Hl7Message)
    if flt.status:
        stmt = stmt.where(Hl7Message.status == flt.status)
    if flt.message_type:
        kind = flt.message_type.strip().upper()
        stmt = stmt.where(Hl7Message.message_type.startswith(kind, autoescape=True))
    if flt.cpr:
        stmt = stmt.where(_of_person(flt.cpr))
    with ctx.uow(readonly=True) as uow:
        s = uow.session
        total = s.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        page = stmt.order_by(Hl7Message.id.desc()).limit(flt.limit).offset(flt.offset)
        return [view(row) for row in s.scalars(page)], total


def _of_person(cpr: str) -> ColumnElement[bool]:
    """Messages received under any number the person ever had, merged records included.

    A clerk asks by the number in front of them, which after a merge (A40, or by hand) or
    a new number (A47) may be the old one: the same messages must come back either way.
    The number as typed also matches literally, so the messages of a patient not (yet)
    registered are still found. It joins the person's numbers in one list rather than an
    OR, which would keep PostgreSQL from the index on ``cpr`` (a scan of the inbox).
    """
    number = cpr.strip().replace("-", "")
    as_typed = select(literal(number, String()))
    return Hl7Message.cpr.in_(union(numbers_of_person(number.upper()), as_typed))
