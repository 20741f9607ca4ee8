"""Signing in and out, and the language switch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from lysbord.http.context import get_context
from lysbord.http.session import CSRF_COOKIE, SESSION_COOKIE, current
from lysbord.services.people.sessions import end_session, sign_in
from lysbord.web.auth import CsrfForm, safe_next
from lysbord.web.i18n import pick_lang
from lysbord.web.templating import LANG_COOKIE, flash, render

router = APIRouter(include_in_schema=False)
ONE_YEAR = 365 * 24 * 3600


@router.get("/login")
def login_form(request: Request, next: str = "/", expired: bool = False) -> Response:
    if current(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    response = render(
        request, "login.html", next=safe_next(next), expired=expired, error=None, username=""
    )
    response.delete_cookie(SESSION_COOKIE)  # a stale one would only say "expired" again
    return response


@router.post("/login")
async def login(
    request: Request,
    _: CsrfForm,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """One answer for every refusal (unknown user, wrong password, locked): no hint which."""
    ctx = get_context(request)
    address = request.client.host if request.client else ""
    signed = await run_in_threadpool(sign_in, ctx, username.strip(), password, address)
    if signed is None:
        return render(
            request,
            "login.html",
            status_code=401,
            next=safe_next(next),
            expired=False,
            error="auth.refused",
            username=username,
        )
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        signed.token,
        max_age=int(ctx.settings.web.session_hours * 3600),  # relative: no clock skew
        httponly=True,
        samesite="lax",
        secure=ctx.settings.web.cookie_secure,
    )
    response.delete_cookie(CSRF_COOKIE)
    return response


@router.post("/logout")
async def logout(request: Request, _: CsrfForm) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await run_in_threadpool(end_session, get_context(request), token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    flash(response, "auth.signed_out")
    return response


@router.get("/lang")
def switch_language(to: str, next: str = "/") -> Response:
    """A preference, not a change of data: a GET that only sets a cookie."""
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(LANG_COOKIE, pick_lang(to), max_age=ONE_YEAR, samesite="lax")
    return response
