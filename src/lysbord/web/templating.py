"""Rendering a page: the Jinja2 environment and the context every template gets.

Every template sees ``user``, ``lang``, ``t`` (translate into ``lang``), ``w`` (the
system's own names: event kinds, states, its reasons), ``csrf_token``, ``now``
(Copenhagen), ``nav`` and ``flash``; times go through the ``local_dt`` and
``local_date`` filters, because staff read Copenhagen time while the store keeps UTC;
site codes through ``site`` (``web.site_names``: the hospital's name, the code beside),
deadlines through ``days_overdue(now)``.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache, partial
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from lysbord.domain.calendar import COPENHAGEN, local_dt
from lysbord.domain.tracking import days_overdue
from lysbord.http.context import get_context
from lysbord.http.session import CSRF_COOKIE, csrf_token, current
from lysbord.web import i18n
from lysbord.web.nav import visible
from lysbord.web.site_names import site
from lysbord.web.words import Words

TEMPLATES = Path(__file__).parent / "templates"
LANG_COOKIE = "lang"
FLASH_COOKIE = "flash"
#: No framing (clickjacking), no MIME sniffing, no patient URLs leaked as a Referer, and
#: scripts only from our own files (no inline script can run, should one ever be injected).
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def local_date(at: date | datetime | None) -> str:
    """A date, or a UTC time's Copenhagen date, as ``26.11.2026``."""
    if at is None:
        return ""
    if isinstance(at, datetime):
        at = at.astimezone(COPENHAGEN).date()
    return at.strftime("%d.%m.%Y")


def local_time(at: datetime | None) -> str:
    return at.astimezone(COPENHAGEN).strftime("%H:%M") if at else ""


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        local_dt=local_dt,
        local_date=local_date,
        local_time=local_time,
        site=site,
        days_overdue=days_overdue,
    )
    return env


def lang_of(request: Request) -> str:
    return i18n.pick_lang(request.cookies.get(LANG_COOKIE))


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """The page as an HTMLResponse; sets the sign-in form's CSRF cookie when it is new."""
    user = current(request)
    lang = lang_of(request)
    token, fresh = csrf_token(request)
    flash = request.cookies.get(FLASH_COOKIE)
    html = (
        environment()
        .get_template(template)
        .render(
            request=request,
            user=user,
            lang=lang,
            t=partial(i18n.t, lang=lang),
            w=Words(lang),
            csrf_token=token,
            now=get_context(request).now().astimezone(COPENHAGEN),
            nav=visible(request.app, user),
            flash=i18n.t(flash, lang) if flash in i18n.catalog() else None,
            **context,
        )
    )
    response = HTMLResponse(html, status_code=status_code, headers=PAGE_HEADERS)
    secure = get_context(request).settings.web.cookie_secure
    if fresh:
        response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", secure=secure)
    if flash:
        response.delete_cookie(FLASH_COOKIE)
    return response


def flash(response: HTMLResponse | Any, key: str) -> None:
    """Show the text of catalog ``key`` once, on the next page rendered (after a redirect)."""
    response.set_cookie(FLASH_COOKIE, key, httponly=True, samesite="lax", max_age=60)
