"""Who is calling the REST API or DICOMweb, and whether their roles let them.

Every call names its user: ``Authorization: Bearer <token>`` (``lysbord user token``),
or the browser's session cookie, where a write must also send the session's
``X-CSRF-Token`` header. Reads need any valid user (``Reader``, applied to every
resource router in ``create_app``); a write also needs a role that may make it
(``actor_for(*roles)``; admin passes everything). No user or an unknown token is
**401** (``field: "Authorization"``), a user without the role **403**, audited as an
``access.denied`` event. The caller of a write is checked before its body is even read
(``guard.WriteGuard``), the role before the body reaches a service.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated, cast

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from lysbord.domain.access import CurrentUser, Role
from lysbord.http.context import ContextDep
from lysbord.http.problems import problem
from lysbord.http.session import CSRF_HEADER, current
from lysbord.services.core.context import Context
from lysbord.services.people.sessions import token_user
from lysbord.services.people.users import record_denied

R = Role
READS = frozenset({"GET", "HEAD", "OPTIONS"})


class NotAuthenticated(Exception):
    """No user, or a token or session that is unknown, revoked or expired."""


class NotPermitted(Exception):
    """A user whose roles may not make this call."""

    def __init__(self, needed: tuple[Role, ...]) -> None:
        super().__init__(", ".join(needed))
        self.needed = needed


BEARER = HTTPBearer(
    auto_error=False, description="The caller's API token (`lysbord user token USERNAME`)"
)


def _session(request: Request) -> CurrentUser:
    user = current(request)
    if user is None:
        raise NotAuthenticated("a bearer token or a session is needed")
    if request.method not in READS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), str(request.state.session_csrf).encode()):
            raise NotAuthenticated(f"a write with a session needs its {CSRF_HEADER} header")
    return user


def get_user(
    request: Request,
    ctx: ContextDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)],
) -> CurrentUser:
    """The calling user, from the bearer token or else the session cookie; looked up once
    per request (``guard.WriteGuard`` asks first, before a write's body is read)."""
    known: CurrentUser | None = getattr(request.state, "caller", None)
    if known is not None:
        return known
    if "authorization" not in request.headers:
        user = _session(request)
    else:
        found = token_user(ctx, credentials.credentials) if credentials else None
        if found is None:
            raise NotAuthenticated("an unknown, revoked or malformed bearer token")
        user = found
    request.state.caller = user
    return user


def bearer_of(request: Request) -> HTTPAuthorizationCredentials | None:
    """The bearer credentials of a request, read as ``BEARER`` reads them."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    return HTTPAuthorizationCredentials(scheme=scheme, credentials=token)


Reader = Annotated[CurrentUser, Depends(get_user)]


def actor_for(*roles: Role, read: bool = False) -> Callable[..., str]:
    """A write's dependency: the caller's username, if one of ``roles`` (or admin) may;
    ``read=True`` for a read kept to some roles, which a manager may also make."""

    def dependency(request: Request, ctx: ContextDep, user: Reader) -> str:
        if not user.may(*roles, read=read):
            record_denied(ctx, user, f"{request.method} {request.url.path}", tuple(roles))
            raise NotPermitted(roles)
        return user.username

    return dependency


def check_role(ctx: Context, request: Request, user: CurrentUser, roles: tuple[Role, ...]) -> str:
    """The same check, for a route whose role depends on a value in the path."""
    return actor_for(*roles)(request, ctx, user)


ActorDep = Annotated[str, Depends(actor_for())]  # any signed-in user
ClerkActor = Annotated[str, Depends(actor_for(R.booking_clerk, R.screening_coordinator))]
RadiographerActor = Annotated[str, Depends(actor_for(R.radiographer))]
RadiologistActor = Annotated[str, Depends(actor_for(R.radiologist))]
AdminActor = Annotated[str, Depends(actor_for(R.admin))]
RadiographerReader = Annotated[str, Depends(actor_for(R.radiographer, read=True))]


async def _not_authenticated(request: Request, exc: Exception) -> JSONResponse:
    return not_authenticated(request, exc)


def not_authenticated(request: Request, exc: Exception) -> JSONResponse:
    """401 as a problem detail naming ``Authorization``."""
    response = problem(
        401,
        "Not authenticated",
        str(exc),
        instance=request.url.path,
        field="Authorization",
        reason=str(exc),
    )
    response.headers["WWW-Authenticate"] = "Bearer"
    return response


async def _not_permitted(request: Request, exc: Exception) -> JSONResponse:
    needed = " or ".join(cast(NotPermitted, exc).needed) or "admin"
    reason = f"needs the role {needed}"
    return problem(403, "Forbidden", reason, instance=request.url.path, reason=reason)


def install(app: FastAPI) -> None:
    """Answer 401 and 403 as problem details, like every other error."""
    app.add_exception_handler(NotAuthenticated, _not_authenticated)
    app.add_exception_handler(NotPermitted, _not_permitted)
