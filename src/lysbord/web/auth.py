"""Who is signed in, what their roles let them see, and CSRF protection for every form.

A page asks with a dependency: ``user: Annotated[CurrentUser, Depends(require(Role.x))]``.
Not signed in (or the session expired) -> redirect to ``/login?next=...``; signed in
without the role -> the 403 page, audited as an ``access.denied`` event. Admin passes
everything and manager passes every GET (``CurrentUser.may``).

CSRF: a signed-in user's forms carry the session's own secret; the sign-in form (no
session yet) a random value also set as a cookie (double submit). ``verify_csrf``
compares the ``csrf_token`` field, or the ``X-CSRF-Token`` header htmx sends, with
``hmac.compare_digest``.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from lysbord.domain.access import CurrentUser, Role
from lysbord.http.session import CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE, csrf_token, current

__all__ = [
    "CsrfForm",
    "CurrentUser",
    "Role",
    "UserDep",
    "require",
    "verify_csrf",
]

READS = frozenset({"GET", "HEAD"})


class SignInRequired(Exception):
    """No live session: the handler sends the browser to the sign-in page."""

    def __init__(self, next_path: str, *, expired: bool) -> None:
        super().__init__(next_path)
        self.next_path = next_path
        self.expired = expired


class AccessDenied(Exception):
    """Signed in, but no role that may use this page; answered with the 403 page."""

    def __init__(self, user: CurrentUser, needed: tuple[Role, ...]) -> None:
        super().__init__(user.username)
        self.user = user
        self.needed = needed


class CsrfRefused(Exception):
    """A form POST without the right CSRF token; nothing was done."""


def safe_next(path: str | None) -> str:
    """Only a path on this site: never ``//host`` or ``https://...`` (an open redirect)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


def _here(request: Request) -> str:
    """Where to come back to after signing in: this page, or for a POST the page it came from."""
    if request.method not in READS:
        referer = urlsplit(request.headers.get("referer", ""))
        return referer.path if referer.netloc == request.url.netloc else "/"
    query = f"?{request.url.query}" if request.url.query else ""
    return request.url.path + query


def _signed_in(request: Request) -> CurrentUser:
    user = current(request)
    if user is None:
        raise SignInRequired(_here(request), expired=SESSION_COOKIE in request.cookies)
    return user


def require(*roles: Role) -> Callable[[Request], CurrentUser]:
    """A page dependency: the signed-in user, if one of ``roles`` (or admin/manager) may."""

    def dependency(request: Request) -> CurrentUser:
        user = _signed_in(request)
        if not user.may(*roles, read=request.method in READS):
            raise AccessDenied(user, roles)
        return user

    return dependency


async def verify_csrf(request: Request) -> None:
    """Refuse a form POST whose token is missing or wrong (before anything is read from it)."""
    expected, fresh = await run_in_threadpool(csrf_token, request)
    if request.state.user is None and SESSION_COOKIE in request.cookies:
        raise SignInRequired(_here(request), expired=True)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        value = (await request.form()).get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if fresh or not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfRefused()


def login_url(next_path: str, *, expired: bool = False) -> str:
    url = f"/login?next={quote(safe_next(next_path), safe='/')}"
    return url + "&expired=1" if expired else url


UserDep = Annotated[CurrentUser, Depends(require())]
CsrfForm = Annotated[None, Depends(verify_csrf)]
