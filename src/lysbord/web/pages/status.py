"""System status for managers: each door up or down, queue depths, the last check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from lysbord.config import Settings
from lysbord.http.context import get_context
from lysbord.services.operations.status import last_check, listening, queue_depths, running
from lysbord.web.auth import CurrentUser, Role, require
from lysbord.web.templating import render

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True, slots=True)
class Door:
    name: str  # catalog key
    address: str
    up: bool | None  # None: not configured (port 0)
    detail: str = ""


def _probe(key: str, host: str, port: int, detail: str = "") -> Door:
    up = listening(host, port) if port else None
    return Door(key, f"{host}:{port}", up, detail)


def doors(request: Request, s: Settings) -> list[Door]:
    """HTTP is up (it is answering); the others are asked on their ports."""
    pids: list[int] = getattr(request.app.state, "dicom_pids", [])
    alive = f"{sum(map(running, pids))}/{len(pids)}" if pids else ""
    return [
        Door("status.door_http", f"{s.http_host}:{s.http_port}", True),
        _probe("status.door_dicom", s.dicom_host, s.dicom_port, alive),
        _probe("status.door_hl7", s.hl7.host, s.hl7_port),
    ]


@router.get("/status")
def status_page(
    request: Request, user: Annotated[CurrentUser, Depends(require(Role.manager))]
) -> HTMLResponse:
    ctx = get_context(request)
    return render(
        request,
        "status.html",
        doors=doors(request, ctx.settings),
        queues=queue_depths(ctx),
        check=last_check(ctx),
    )
