"""Mounting the web application on the FastAPI app: pages, static files, error pages."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from lysbord.http.context import get_context
from lysbord.services.people.users import record_denied
from lysbord.web.auth import AccessDenied, CsrfRefused, SignInRequired, login_url
from lysbord.web.pages import PAGES
from lysbord.web.templating import render

STATIC = Path(__file__).parent / "static"


async def _sign_in_required(request: Request, exc: Exception) -> Response:
    exc = cast(SignInRequired, exc)  # registered for this type only
    url = login_url(exc.next_path, expired=exc.expired)
    if request.headers.get("HX-Request"):
        return Response(headers={"HX-Redirect": url})  # htmx then loads the whole page
    return RedirectResponse(url, status_code=303)


async def _access_denied(request: Request, exc: Exception) -> Response:
    """The 403 page; the refusal is an event (who, which page, which roles it needed)."""
    exc = cast(AccessDenied, exc)
    needed = tuple(str(role) for role in exc.needed)
    await run_in_threadpool(record_denied, get_context(request), exc.user, request.url.path, needed)
    return await run_in_threadpool(
        render, request, "403.html", status_code=403, reason="auth.forbidden"
    )


async def _csrf_refused(request: Request, exc: Exception) -> Response:
    return await run_in_threadpool(
        render, request, "403.html", status_code=403, reason="auth.csrf_refused"
    )


def mount_web(app: FastAPI) -> None:
    """Static assets (served by Lysbord itself, no CDN) and every page router."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in PAGES:
        app.include_router(module.router, include_in_schema=False)  # pages, not API
    app.add_exception_handler(SignInRequired, _sign_in_required)
    app.add_exception_handler(AccessDenied, _access_denied)
    app.add_exception_handler(CsrfRefused, _csrf_refused)
