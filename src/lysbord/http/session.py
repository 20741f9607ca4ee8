"""The browser session a request carries, and its CSRF secret: for pages and API alike.

The session cookie names a session (``services/people/sessions``); a write sent with
it must carry the session's own CSRF secret, in the ``csrf_token`` form field or the
``X-CSRF-Token`` header. Before sign-in a random value, also set as a cookie, stands
in for it (double submit).
"""

from __future__ import annotations

import secrets

from fastapi import Request

from lysbord.domain.access import CurrentUser
from lysbord.http.context import get_context
from lysbord.services.people.sessions import session_user

SESSION_COOKIE = "lysbord_session"
CSRF_COOKIE = "lysbord_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


def current(request: Request) -> CurrentUser | None:
    """The session's user, looked up once per request (blocking: call from a thread)."""
    if not hasattr(request.state, "user"):
        token = request.cookies.get(SESSION_COOKIE)
        found = session_user(get_context(request), token) if token else None
        request.state.user = found.user if found else None
        request.state.session_csrf = found.csrf if found else None
    user: CurrentUser | None = request.state.user
    return user


def csrf_token(request: Request) -> tuple[str, bool]:
    """The token forms must carry, and whether it is new (to be set as a cookie)."""
    current(request)
    session_csrf: str | None = request.state.session_csrf
    if session_csrf:
        return session_csrf, False
    cookie = request.cookies.get(CSRF_COOKIE)
    if cookie:
        return cookie, False
    if not hasattr(request.state, "new_csrf"):
        request.state.new_csrf = secrets.token_urlsafe(32)
    fresh: str = request.state.new_csrf
    return fresh, True
