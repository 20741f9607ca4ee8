"""The HL7 inbox read: pages of kept messages, one message in full, and who a message was about."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    String,
    func,
    literal,
    select,
    union,
)

from lysbord.domain.errors import Msg, NotFound
from lysbord.services.core.context import Context
from lysbord.store.hl7_models import Hl7Message
from lysbord.store.queries import numbers_of_person


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


def get_message(ctx: Context, message_id: int) -> MessageDetail:
    with ctx.uow(readonly=True) as uow:
        row = uow.session.get(Hl7Message, message_id)
        if row is None:
            raise NotFound(Msg("no such HL7 message"), field="message_id", value=message_id)
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
