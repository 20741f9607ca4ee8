"""Local user accounts: adding them, their passwords, and signing in with lock-out.

Passwords are argon2id hashes (argon2-cffi's defaults, RFC 9106). Signing in gives no
hint which part was wrong: an unknown user costs the same hash check as a wrong
password, and a locked account answers like a wrong password. Every sign-in, failure,
lock-out and account change is an event, so the audit trail shows who tried what.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lysbord.domain.access import CurrentUser, Role, parse_roles
from lysbord.domain.errors import Conflict, InvalidValue, Msg, NotFound
from lysbord.services.core.context import Context
from lysbord.services.core.events import record
from lysbord.services.people import throttle
from lysbord.store.user_models import ApiToken, User, UserSession

USERNAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
MIN_PASSWORD = 10


@dataclass(frozen=True, slots=True)
class NewUser:
    username: str
    display_name: str
    roles: tuple[str, ...]
    password: str | None = None  # None: generate one


@dataclass(frozen=True, slots=True)
class UserView:
    username: str
    display_name: str
    roles: frozenset[Role]
    active: bool
    locked_until: datetime | None


def generate_password() -> str:
    """About 96 random bits in letters and digits a person can type from a printout."""
    return secrets.token_urlsafe(12)


@cache
def _hasher(memory_kib: int, time_cost: int) -> PasswordHasher:
    return PasswordHasher(memory_cost=memory_kib, time_cost=time_cost)


def hasher(ctx: Context) -> PasswordHasher:
    """argon2id with the configured cost; a hash of another cost is upgraded at sign-in."""
    web = ctx.settings.web
    return _hasher(web.password_hash_memory_kib, web.password_hash_time_cost)


@cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash(secrets.token_hex(16))


def current_user(user: User) -> CurrentUser:
    return CurrentUser(user.username, user.display_name, parse_roles(user.roles))


def _view(user: User) -> UserView:
    return UserView(
        user.username, user.display_name, parse_roles(user.roles), user.active, user.locked_until
    )


def _check_password(password: str) -> None:
    """White space does not count: ten spaces are no password."""
    if sum(not c.isspace() for c in password) < MIN_PASSWORD:
        raise InvalidValue(
            Msg(
                "at least {min_password} characters besides white space", min_password=MIN_PASSWORD
            ),
            field="password",
        )


def user_by_name(s: Session, username: str) -> User:
    user = s.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(Msg("no such user"), field="username", value=username)
    return user


def add_user(ctx: Context, cmd: NewUser, actor: str) -> tuple[UserView, str]:
    """Create an account; answers the view and the password (the one generated, if none)."""
    if not USERNAME.match(cmd.username):
        raise InvalidValue(
            Msg("1-64 letters, digits or . _ @ -"), field="username", value=cmd.username
        )
    if not cmd.roles:
        raise InvalidValue(Msg("at least one role"), field="roles")
    roles = parse_roles(cmd.roles)
    password = generate_password() if cmd.password is None else cmd.password
    _check_password(password)
    now = ctx.now()
    user = User(
        username=cmd.username,
        display_name=cmd.display_name.strip() or cmd.username,
        password_hash=hasher(ctx).hash(password),
        roles=sorted(roles),
        active=True,
        created_at=now,
        password_set_at=now,
    )
    with ctx.uow() as uow:
        uow.session.add(user)
        record(
            uow.session,
            "user.added",
            actor=actor,
            at=now,
            username=cmd.username,
            roles=sorted(roles),
        )
        try:
            uow.commit()
        except IntegrityError:
            raise Conflict(Msg("already taken"), field="username", value=cmd.username) from None
    return _view(user), password


def set_password(ctx: Context, username: str, password: str | None, actor: str) -> str:
    """A new password (generated when None); it also lifts a lock-out and ends every
    session and token issued before it."""
    password = generate_password() if password is None else password
    _check_password(password)
    now = ctx.now()
    with ctx.uow() as uow:
        user = user_by_name(uow.session, username)
        user.password_hash = hasher(ctx).hash(password)
        user.password_set_at = now
        end_access(uow.session, user, now, actor)
        user.locked_until = None
        throttle.clear(uow.session, username)
        record(uow.session, "user.password_set", actor=actor, at=now, username=username)
        uow.commit()
    return password


def end_access(s: Session, user: User, now: datetime, actor: str) -> None:
    """End every session and revoke every token of ``user``: after a password reset or a
    closed account, nothing issued before it works again (each token's end is an event)."""
    s.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .values(ended_at=now)
    )
    live = select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    for token in s.scalars(live):
        token.revoked_at = now
        record(s, "token.revoked", actor=actor, at=now, username=user.username, name=token.name)


def set_active(ctx: Context, username: str, active: bool, actor: str) -> None:
    """Close or reopen an account; closing also ends its sessions and revokes its tokens,
    so reopening it later brings back neither a browser left signed in nor an old token.
    Nobody closes their own account: the last administrator would lock everyone out."""
    if not active and username == actor:
        raise Conflict(
            Msg("you cannot deactivate your own account"), field="username", value=username
        )
    now = ctx.now()
    with ctx.uow() as uow:
        s = uow.session
        user = user_by_name(s, username)
        if user.active == active:
            return
        user.active = active
        if not active:
            end_access(s, user, now, actor)
        kind = "user.activated" if active else "user.deactivated"
        record(s, kind, actor=actor, at=now, username=username)
        uow.commit()


def list_users(ctx: Context) -> list[UserView]:
    with ctx.uow(readonly=True) as uow:
        users = uow.session.scalars(select(User).order_by(User.username))
        return [_view(user) for user in users]


@dataclass(frozen=True, slots=True)
class PasswordCheck:
    """The outcome of the slow part of signing in, done before any write transaction."""

    username: str
    right: bool
    new_hash: str | None  # the password re-hashed at the configured cost, if it changed


def check_password(ctx: Context, username: str, password: str) -> PasswordCheck:
    """One argon2 check, always (an unknown user is checked against a dummy hash, so
    timing does not tell it from a wrong password), outside any write transaction: on
    SQLite a writer holds the whole database, and argon2 is slow on purpose."""
    ph = hasher(ctx)
    username = username[:64]
    with ctx.uow(readonly=True) as uow:
        stored = uow.session.scalar(select(User.password_hash).where(User.username == username))
    try:
        right = ph.verify(stored or _dummy_hash(ph), password) and stored is not None
    except (VerificationError, InvalidHashError):
        right = False
    rehash = right and stored is not None and ph.check_needs_rehash(stored)
    return PasswordCheck(username, right, ph.hash(password) if rehash else None)


def admit(s: Session, ctx: Context, check: PasswordCheck, address: str) -> User | None:
    """The user if the password was right, the account open and neither it (from this
    address) nor the address locked; counts failures and earns locks (``throttle``). In
    the caller's transaction (signing in starts the session there), rows locked."""
    web, now = ctx.settings.web, ctx.now()
    everyone = throttle.row(s, throttle.ANY_ACCOUNT, address)
    user = s.scalar(select(User).where(User.username == check.username).with_for_update())

    def failed(**why: bool | int) -> None:
        data = cast(dict[str, Any], why)  # event data, none of record's own parameters
        record(s, "user.sign_in_failed", actor=check.username, at=now, address=address, **data)

    if throttle.locked(everyone, now):
        failed(known=user is not None, throttled=True)
        return None
    if user is None or not user.active:
        failed(known=user is not None)
        throttle.count(s, everyone, web, now)
        return None
    mine = throttle.row(s, user.username, address)
    if throttle.locked(mine, now):
        failed(known=True, locked=True)
        return None
    if not check.right:
        failed(known=True, attempts=mine.failures + 1)
        throttle.count(s, everyone, web, now)
        if throttle.count(s, mine, web, now):
            user.locked_until = mine.locked_until
            until = cast(datetime, mine.locked_until).isoformat()
            record(s, "user.locked", actor=user.username, at=now, until=until, address=address)
        return None
    mine.failures = 0
    if check.new_hash:
        user.password_hash = check.new_hash
    return user


def record_denied(ctx: Context, user: CurrentUser, what: str, needed: tuple[str, ...]) -> None:
    """Audit a refused page or API call: who, what, and which roles it needed."""
    with ctx.uow() as uow:
        record(
            uow.session,
            "access.denied",
            actor=user.username,
            at=ctx.now(),
            path=what,
            needed=list(needed),
        )
        uow.commit()
