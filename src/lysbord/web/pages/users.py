"""Users for the administrator: list, add, reset a password, (de)activate, issue and
revoke API tokens.

A new password or token is shown once, on the answer page, and never again (only its
hash is stored). Every change is made by the service as the signed-in admin.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lysbord.domain.errors import LysbordError
from lysbord.http.context import get_context
from lysbord.services.people.sessions import create_token, live_tokens, revoke_token
from lysbord.services.people.users import NewUser, add_user, list_users, set_active, set_password
from lysbord.web.auth import CsrfForm, CurrentUser, Role, require
from lysbord.web.pages.shared import error_text, field_errors
from lysbord.web.templating import render

router = APIRouter(prefix="/users", include_in_schema=False)
AdminDep = Annotated[CurrentUser, Depends(require(Role.admin))]


def _page(
    request: Request,
    status_code: int = 200,
    *,
    typed: dict[str, object] | None = None,
    errors: dict[str, str] | None = None,
    secret: tuple[str, str, str] | None = None,
    problem: str | None = None,
) -> HTMLResponse:
    ctx = get_context(request)
    tokens: dict[str, list[object]] = {}
    for token in live_tokens(ctx):
        tokens.setdefault(token.username, []).append(token)
    return render(
        request,
        "users.html",
        status_code=status_code,
        users=list_users(ctx),
        tokens=tokens,
        roles=list(Role),
        typed=typed or {"username": "", "display_name": "", "roles": []},
        errors=errors or {},
        secret=secret,
        problem=problem,
    )


@router.get("")
def users_page(request: Request, admin: AdminDep) -> HTMLResponse:
    return _page(request)


@router.post("")
def add(
    request: Request,
    admin: AdminDep,
    _: CsrfForm,
    username: Annotated[str, Form(max_length=200)] = "",
    display_name: Annotated[str, Form(max_length=200)] = "",
    roles: Annotated[list[str] | None, Form()] = None,
) -> HTMLResponse:
    """Add a user with a generated password, shown once."""
    typed: dict[str, object] = {
        "username": username,
        "display_name": display_name,
        "roles": roles or [],
    }
    try:
        cmd = NewUser(username.strip(), display_name, tuple(roles or ()))
        user, password = add_user(get_context(request), cmd, admin.username)
    except LysbordError as exc:
        return _page(request, 422, typed=typed, errors=field_errors(request, exc, "username"))
    return _page(request, 201, secret=("users.password_for", user.username, password))


@router.post("/{username}/password")
def reset_password(request: Request, username: str, admin: AdminDep, _: CsrfForm) -> HTMLResponse:
    """A new generated password (also lifts a lock-out), shown once."""
    password = set_password(get_context(request), username, None, admin.username)
    return _page(request, secret=("users.password_for", username, password))


@router.post("/{username}/tokens")
def new_token(request: Request, username: str, admin: AdminDep, _: CsrfForm) -> HTMLResponse:
    """A new API token for the user, shown once."""
    token = create_token(get_context(request), username, "web", admin.username)
    return _page(request, secret=("users.token_for", username, token))


@router.post("/{username}/active")
def activate(
    request: Request,
    username: str,
    admin: AdminDep,
    _: CsrfForm,
    active: Annotated[bool, Form()] = False,
) -> Response:
    """Close an account (its sessions end at once) or reopen it."""
    try:
        set_active(get_context(request), username, active, admin.username)
    except LysbordError as exc:
        return _page(request, 409, problem=error_text(request, exc))
    return RedirectResponse("/users", status_code=303)


@router.post("/tokens/{token_id}/revoke")
def revoke(request: Request, token_id: int, admin: AdminDep, _: CsrfForm) -> Response:
    """The token stops working at once."""
    try:
        revoke_token(get_context(request), token_id, admin.username)
    except LysbordError as exc:
        return _page(request, 404, problem=error_text(request, exc))
    return RedirectResponse("/users", status_code=303)
