"""The administrator's entry page: one menu item that leads to users, report templates
and the roster, so the header stays one row on a 1366-pixel screen for every role."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from lysbord.web.auth import CurrentUser, Role, require
from lysbord.web.templating import render

router = APIRouter()
AdminDep = Annotated[CurrentUser, Depends(require(Role.admin))]
#: Each administration page: its address and its catalog keys (title, what it is for).
SECTIONS = (
    ("/users", "nav.users", "admin.users_help"),
    ("/report-templates", "templates.title", "admin.templates_help"),
    ("/roster", "roster.title", "admin.roster_help"),
)


@router.get("/admin", response_class=HTMLResponse)
def index(request: Request, admin: AdminDep) -> HTMLResponse:
    """Links to every administration page."""
    return render(request, "admin/index.html", sections=SECTIONS)
