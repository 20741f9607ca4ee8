"""The HL7 outbox: what was sent, what waits, what died; dead messages can be resent."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from lysbord.api.schemas import Page
from lysbord.http.context import ContextDep
from lysbord.http.deps import AdminActor
from lysbord.http.paging import Offset
from lysbord.services.messaging import outbox_queue
from lysbord.services.messaging.outbox_queue import OutboxStatus, OutboxView

router = APIRouter(prefix="/hl7/outbox", tags=["hl7"])


@router.get("")
def list_outbox(
    ctx: ContextDep,
    status: OutboxStatus | None = None,
    destination: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> Page[OutboxView]:
    """Outbound messages, newest first, with attempts and the last error."""
    items, total = outbox_queue.list_messages(ctx, status, destination, limit, offset)
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.post("/{message_id}/resend")
def resend(message_id: int, ctx: ContextDep, actor: AdminActor) -> OutboxView:
    """Send a dead message again, with a fresh set of attempts."""
    return outbox_queue.resend(ctx, message_id, actor)
