"""The HL7 inbox: every message received, its outcome, and replay of a rejected one."""

from __future__ import annotations

import base64
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from lysbord.api.schemas import Page
from lysbord.config.hl7 import CHARSETS
from lysbord.http.context import ContextDep
from lysbord.http.deps import AdminActor
from lysbord.http.paging import Offset
from lysbord.services.messaging import inbox_queries, inbox_replay
from lysbord.services.messaging.inbox_queries import MessageDetail, MessageView

router = APIRouter(prefix="/hl7/messages", tags=["hl7"])

Status = Literal["applied", "rejected", "error"]


class Hl7MessagePublic(BaseModel):
    """One inbound message with its outcome; ``text`` decoded per MSH-18, ``raw_base64``
    the bytes exactly as received."""

    message: MessageView
    text: str
    raw_base64: str
    answer: str | None


def _public(found: MessageDetail) -> Hl7MessagePublic:
    codec = CHARSETS.get(found.message.charset.upper(), "latin-1")
    return Hl7MessagePublic(
        message=found.message,
        text=found.raw.decode(codec, errors="replace"),
        raw_base64=base64.b64encode(found.raw).decode("ascii"),
        answer=found.answer.decode(codec, errors="replace") if found.answer else None,
    )


@router.get("")
def list_messages(
    ctx: ContextDep,
    _: AdminActor,
    status: Status | None = None,
    type: Annotated[str | None, Query(max_length=16, description="e.g. ADT or ORM^O01")] = None,
    cpr: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> Page[MessageView]:
    """Inbound HL7 messages, newest first, with their outcome and reason (administrators)."""
    flt = inbox_queries.InboxFilter(status, type, cpr, limit, offset)
    items, total = inbox_queries.list_messages(ctx, flt)
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.get("/{message_id}")
def get_message(message_id: int, ctx: ContextDep, _: AdminActor) -> Hl7MessagePublic:
    """One inbound message: the bytes received, the answer sent, the outcome (administrators:
    the raw messages carry every patient's CPR)."""
    return _public(inbox_queries.get_message(ctx, message_id))


@router.post("/{message_id}/replay")
def replay(
    message_id: int, request: Request, ctx: ContextDep, actor: AdminActor
) -> Hl7MessagePublic:
    """Apply a rejected message again once its cause is fixed (409 if it was applied)."""
    return _public(inbox_replay.replay(ctx, message_id, actor, _hl7_reader(request)))


def _hl7_reader(request: Request) -> inbox_replay.Reader:
    """The HL7 door's reading of a message, handed over by the app factory (``lysbord.app``)
    so that this door need not import that one."""
    read: inbox_replay.Reader = request.app.state.hl7_reader
    return read
