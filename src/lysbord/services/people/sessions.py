"""Browser sessions and API tokens: long random secrets, stored only as their SHA-256.

A session lives ``web.session_hours`` from sign-in and carries its own CSRF secret.
An API token lives ``web.token_days`` unless revoked first (a password reset or a
closed account revokes them all: ``users.end_access``); its last use is kept (to the
minute, so a busy client does not turn every read into a write).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from lysbord.domain.access import CurrentUser
from lysbord.domain.errors import InvalidValue, Msg, NotFound
from lysbord.services.core.context import Context
from lysbord.services.core.events import record
from lysbord.services.people.users import admit, check_password, current_user, user_by_name
from lysbord.store.user_models import ApiToken, User, UserSession

TOKEN_PREFIX = "lb_"
LAST_USED_STEP = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class SignedIn:
    """What the browser gets: the session id (cookie), its CSRF secret, the user."""

    token: str
    csrf: str
    expires_at: datetime
    user: CurrentUser


@dataclass(frozen=True, slots=True)
class SessionUser:
    user: CurrentUser
    csrf: str


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign_in(ctx: Context, username: str, password: str, address: str = "") -> SignedIn | None:
    """Check the password, then count the outcome and start a session in one transaction;
    None when refused (for any reason: the caller must not say which). ``address`` is the
    client's, for the lock-outs and the events."""
    check = check_password(ctx, username, password)
    with ctx.uow() as uow:
        s = uow.session
        user = admit(s, ctx, check, address[:64])
        if user is None:
            uow.commit()  # the failure count and its event are durable too
            return None
        signed = _start(ctx, user)
        s.add(
            UserSession(
                token_hash=digest(signed.token),
                user_id=user.id,
                csrf_secret=signed.csrf,
                created_at=ctx.now(),
                expires_at=signed.expires_at,
            )
        )
        record(s, "user.signed_in", actor=user.username, at=ctx.now(), address=address[:64])
        uow.commit()
    return signed


def _start(ctx: Context, user: User) -> SignedIn:
    expires = ctx.now() + timedelta(hours=ctx.settings.web.session_hours)
    return SignedIn(
        secrets.token_urlsafe(32), secrets.token_urlsafe(32), expires, current_user(user)
    )


def session_user(ctx: Context, token: str) -> SessionUser | None:
    """The user of a live session of an active account, else None (expired, ended, unknown)."""
    with ctx.uow(readonly=True) as uow:
        row = uow.session.execute(
            select(User, UserSession.csrf_secret)
            .join(UserSession, UserSession.user_id == User.id)
            .where(
                UserSession.token_hash == digest(token),
                UserSession.ended_at.is_(None),
                UserSession.expires_at > ctx.now(),
                User.active.is_(True),
            )
        ).first()
        return SessionUser(current_user(row[0]), row[1]) if row else None


def end_session(ctx: Context, token: str) -> None:
    """Sign out: the session row stays, ended."""
    now = ctx.now()
    with ctx.uow() as uow:
        s = uow.session
        session = s.scalar(select(UserSession).where(UserSession.token_hash == digest(token)))
        if session is None or session.ended_at is not None:
            return
        session.ended_at = now
        user = s.get(User, session.user_id)
        record(s, "user.signed_out", actor=user.username if user else "?", at=now)
        uow.commit()


def create_token(ctx: Context, username: str, name: str, actor: str) -> str:
    """A new API token for ``username``; shown once, stored only as its hash."""
    if not name.strip() or len(name) > 100:
        raise InvalidValue(Msg("1-100 characters"), field="name", value=name)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = ctx.now()
    with ctx.uow() as uow:
        user = user_by_name(uow.session, username)
        expires = now + timedelta(days=ctx.settings.web.token_days)
        uow.session.add(
            ApiToken(
                token_hash=digest(token),
                user_id=user.id,
                name=name.strip(),
                created_at=now,
                expires_at=expires,
            )
        )
        record(uow.session, "token.created", actor=actor, at=now, username=username, name=name)
        uow.commit()
    return token


@dataclass(frozen=True, slots=True)
class TokenView:
    """A live token as the administrator sees it: never the secret."""

    id: int
    username: str
    name: str
    created_at: datetime
    last_used_at: datetime | None


def live_tokens(ctx: Context) -> list[TokenView]:
    """Every token neither revoked nor expired, by user and age."""
    with ctx.uow(readonly=True) as uow:
        rows = uow.session.execute(
            select(ApiToken, User.username)
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.revoked_at.is_(None), ApiToken.expires_at > ctx.now())
            .order_by(User.username, ApiToken.id)
        )
        return [
            TokenView(t.id, username, t.name, t.created_at, t.last_used_at) for t, username in rows
        ]


def revoke_token(ctx: Context, token_id: int, actor: str) -> None:
    """The token stops working at once; its row stays, with when and by whom."""
    now = ctx.now()
    with ctx.uow() as uow:
        s = uow.session
        token = s.get(ApiToken, token_id, with_for_update=True)
        if token is None or token.revoked_at is not None:
            raise NotFound(Msg("no live token with this id"), field="token_id", value=token_id)
        token.revoked_at = now
        owner = s.get_one(User, token.user_id)
        record(s, "token.revoked", actor=actor, at=now, username=owner.username, name=token.name)
        uow.commit()


def token_user(ctx: Context, token: str) -> CurrentUser | None:
    """The owner of a live token of an active account; notes when it was last used."""
    now = ctx.now()
    with ctx.uow() as uow:
        row = uow.session.execute(
            select(User, ApiToken)
            .join(ApiToken, ApiToken.user_id == User.id)
            .where(
                ApiToken.token_hash == digest(token),
                ApiToken.revoked_at.is_(None),
                ApiToken.expires_at > now,
                User.active.is_(True),
            )
        ).first()
        if row is None:
            return None
        user, api_token = row
        if api_token.last_used_at is None or now - api_token.last_used_at >= LAST_USED_STEP:
            api_token.last_used_at = now
            uow.commit()
        return current_user(user)
