"""One inbound message, bytes in, answer bytes out: read, store, apply once, answer.

The answer is AA only once the change and the stored message are committed; AE
(with ERR) when the content cannot be applied; AR when the message cannot be read
or its type is not one we take. Everything received is kept in the inbox, even
bytes that are no message at all. A database failure raises: no answer is sent,
and the sender, not acknowledged, sends again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from lysbord.domain.errors import DomainError, Msg
from lysbord.hl7 import parse as p
from lysbord.hl7.ack import Location, Problem, ack
from lysbord.hl7.content import Handler, problem
from lysbord.hl7.inbound_adt import HANDLERS as ADT
from lysbord.hl7.inbound_orders import HANDLERS as ORDERS
from lysbord.hl7.mapping import cpr_of
from lysbord.hl7.parse import Header, Hl7ParseError, Parsed, encode_for, parse, segments
from lysbord.services.core.context import Context
from lysbord.services.messaging import inbox
from lysbord.services.messaging.inbox import APPLIED, ERROR, REJECTED, Outcome, Received

log = logging.getLogger(__name__)

HANDLERS: dict[str, Handler] = {**ADT, **ORDERS}
FAMILIES = frozenset(kind.split("^")[0] for kind in HANDLERS)


def handle(ctx: Context, raw: bytes, peer: str = "") -> bytes:
    """The answer to one frame's payload (not yet MLLP-framed)."""
    cfg = ctx.settings.hl7
    try:
        parsed = parse(raw, cfg.default_charset)
    except Hl7ParseError as exc:
        found = Problem(location_of(exc.field or "MSH"), exc.code, exc.message)
        return unreadable(ctx, raw, exc.header, found, peer)
    received = _received(raw, parsed, peer)
    handler = HANDLERS.get(parsed.header.type_code)
    if handler is None:
        return inbox.keep(ctx, received, _unsupported(ctx, parsed.header))
    try:
        return inbox.receive(ctx, received, *_steps(ctx, handler, parsed))
    except SQLAlchemyError:
        raise
    except Exception as exc:  # a bug must not lose the message: keep it, answer AE 207
        log.exception("applying HL7 message %s failed", parsed.header.control_id)
        where = Problem(Location("MSH", 9), p.INTERNAL, f"internal error: {type(exc).__name__}")
        outcome = _answer(ctx, parsed.header, "AE", where, ERROR)
        return inbox.record_error(ctx, received, outcome)


def handle_together(ctx: Context, frames: Sequence[tuple[bytes, str]]) -> list[bytes]:
    """The answers to frames that arrived together (payload, peer), in their order.

    The readable messages of types we take are applied in one transaction, one commit
    for all; the others, and all of them when that transaction cannot be committed
    whole, are handled one by one (``handle``), each answered after its own commit."""
    together: list[tuple[int, tuple[Received, inbox.Apply]]] = []
    if len(frames) > 1:
        for i, (raw, peer) in enumerate(frames):
            try:
                parsed = parse(raw, ctx.settings.hl7.default_charset)
            except Hl7ParseError:
                continue
            handler = HANDLERS.get(parsed.header.type_code)
            if handler is not None:
                apply, _ = _steps(ctx, handler, parsed)
                together.append((i, (_received(raw, parsed, peer), apply)))
    answers: list[bytes | None] = [None] * len(frames)
    items = [item for _, item in together]
    applied = inbox.receive_together(ctx, items) if len(items) > 1 else None
    if applied is not None:
        for (i, _), answer in zip(together, applied, strict=True):
            answers[i] = answer
    return [
        handle(ctx, raw, peer) if answer is None else answer
        for answer, (raw, peer) in zip(answers, frames, strict=True)
    ]


def steps_for_replay(ctx: Context, raw: bytes) -> tuple[inbox.Apply, inbox.Refuse]:
    """Apply and refuse for a stored message (replay after its cause was fixed)."""
    parsed = parse(raw, ctx.settings.hl7.default_charset)
    handler = HANDLERS.get(parsed.header.type_code)
    if handler is None:
        raise Hl7ParseError(
            Msg("{type_code} is not a type we take", type_code=parsed.header.type_code),
            field="MSH-9",
            code=p.UNSUPPORTED_TYPE,
        )
    return _steps(ctx, handler, parsed)


def _steps(ctx: Context, handler: Handler, parsed: Parsed) -> tuple[inbox.Apply, inbox.Refuse]:
    def apply(s: Session, now: datetime) -> Outcome:
        text = handler.apply(ctx, s, parsed, now)
        return Outcome(APPLIED, encode_for(parsed.header, text))

    def refuse(exc: DomainError) -> Outcome:
        found = problem(Location("MSH", 9), exc)
        text = handler.refuse(ctx, parsed, found)
        return Outcome(REJECTED, encode_for(parsed.header, text), found.reason, str(found.location))

    return apply, refuse


def unreadable(ctx: Context, raw: bytes, header: Header, found: Problem, peer: str = "") -> bytes:
    """Keep bytes that are not a readable message and answer AR saying why."""
    received = Received(
        raw=raw,
        peer=peer,
        sender_app=header.sender_app,
        sender_facility=header.sender_facility,
        control_id=header.control_id or None,
        message_type=header.type_code,
        version=header.version,
        charset=header.charset,
    )
    return inbox.keep(ctx, received, _answer(ctx, header, "AR", found, REJECTED))


def location_of(text: str) -> Location:
    """``MSH-18`` as a Location."""
    segment, _, field = text.partition("-")
    return Location(segment, int(field) if field.isdigit() else 0)


def _unsupported(ctx: Context, header: Header) -> Outcome:
    if header.message_type in FAMILIES:
        reason, code = f"event {header.trigger!r} of {header.message_type} is not supported", 201
    else:
        reason, code = f"message type {header.type_code!r} is not supported", 200
    return _answer(
        ctx, header, "AR", Problem(Location("MSH", 9), code, f"MSH-9: {reason}"), REJECTED
    )


def _answer(ctx: Context, header: Header, code: str, found: Problem, status: str) -> Outcome:
    cfg = ctx.settings.hl7
    text = ack(header, code, found, us=(cfg.application, cfg.facility))
    return Outcome(status, encode_for(header, text), found.reason, str(found.location))


def _received(raw: bytes, parsed: Parsed, peer: str) -> Received:
    h = parsed.header
    pids = segments(parsed.message, "PID")
    cpr = cpr_of(pids[0]).replace("-", "")[:64] if pids else None
    return Received(
        raw=raw,
        peer=peer,
        sender_app=h.sender_app,
        sender_facility=h.sender_facility,
        control_id=h.control_id,
        message_type=h.type_code,
        version=h.version,
        charset=h.charset,
        cpr=cpr or None,
    )
