"""The start page: the screens this user may open."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from lysbord.web.auth import UserDep
from lysbord.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/")
def home(request: Request, user: UserDep) -> HTMLResponse:
    return render(request, "home.html")
