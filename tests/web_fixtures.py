"""Signed-in clients for page and API tests: one user per role, made through the service.

``user_for(ctx, *roles)`` adds a user and answers its name and password;
``signed_in(client, ctx, *roles)`` signs a TestClient in through the real form (so the
session cookie and CSRF token are the browser's); ``csrf_of(client)`` reads the token a
form on ``/`` carries; ``bearer(ctx, *roles)`` makes an API token's header.
"""

from __future__ import annotations

import os
import re
import secrets

from fastapi.testclient import TestClient

from lysbord.domain.access import Role
from lysbord.services.core.context import Context
from lysbord.services.people.sessions import create_token
from lysbord.services.people.users import NewUser, add_user

# argon2id at its lowest cost in tests (RFC 9106's 64 MiB costs a second on a busy CI box);
# every Settings built after this import reads it.
os.environ.setdefault("LYSBORD_WEB__PASSWORD_HASH_MEMORY_KIB", "1024")
os.environ.setdefault("LYSBORD_WEB__PASSWORD_HASH_TIME_COST", "1")

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def user_for(ctx: Context, *roles: Role, username: str | None = None) -> tuple[str, str]:
    """A new active user with ``roles`` (every role if none): (username, password)."""
    names = tuple(r.value for r in roles or tuple(Role))
    username = username or f"{'-'.join(n[:5] for n in names)[:40]}.{secrets.token_hex(3)}"
    _, password = add_user(ctx, NewUser(username, f"Test {username}", names), actor="test")
    return username, password


def csrf_of(client: TestClient, path: str = "/login") -> str:
    match = CSRF_INPUT.search(client.get(path).text)
    assert match, f"no CSRF token in the form on {path}"
    return match.group(1)


def sign_in(client: TestClient, username: str, password: str) -> None:
    form = {"username": username, "password": password, "csrf_token": csrf_of(client)}
    response = client.post("/login", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text


def signed_in(client: TestClient, ctx: Context, *roles: Role) -> str:
    """Sign ``client`` in as a new user with ``roles``; answers the username."""
    username, password = user_for(ctx, *roles)
    sign_in(client, username, password)
    return username


def bearer(ctx: Context, *roles: Role, username: str | None = None) -> dict[str, str]:
    """``Authorization`` header of a new API token of a new user with ``roles``."""
    username, _ = user_for(ctx, *roles, username=username)
    return {"Authorization": f"Bearer {create_token(ctx, username, 'test', actor='test')}"}
