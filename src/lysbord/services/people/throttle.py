"""Failed sign-ins counted per account *and* client address, and per address.

A lock-out holds for the address its failures came from: a stranger who types five
wrong passwords for ``admin`` locks ``admin`` out of the stranger's own address, not out
of the hospital's. An address that fails ``web.lockout_address_threshold`` times for any
accounts (guessing names) is refused for every account for ``web.lockout_minutes``. A
run of failures older than ``lockout_minutes`` starts again from zero.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from lysbord.config.web import WebSettings
from lysbord.services.core.events import record
from lysbord.store.user_models import SignInThrottle

ANY_ACCOUNT = ""  # the address's row


def row(s: Session, username: str, address: str) -> SignInThrottle:
    """The (account, address) counter, made if new; locked for this transaction."""
    insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    s.execute(
        insert(SignInThrottle)
        .values(username=username, address=address, failures=0)
        .on_conflict_do_nothing()
    )
    found = select(SignInThrottle).where(
        SignInThrottle.username == username, SignInThrottle.address == address
    )
    return s.execute(found.with_for_update()).scalar_one()


def locked(counter: SignInThrottle, now: datetime) -> bool:
    return counter.locked_until is not None and counter.locked_until > now


def count(s: Session, counter: SignInThrottle, web: WebSettings, now: datetime) -> bool:
    """One more failure; True when it earned a lock (the caller records which)."""
    window = timedelta(minutes=web.lockout_minutes)
    if counter.last_failure_at is not None and now - counter.last_failure_at > window:
        counter.failures = 0
    counter.failures += 1
    counter.last_failure_at = now
    limit = (
        web.lockout_address_threshold if counter.username == ANY_ACCOUNT else web.lockout_threshold
    )
    if counter.failures < limit:
        return False
    counter.failures, counter.locked_until = 0, now + window
    if counter.username == ANY_ACCOUNT:
        until = counter.locked_until.isoformat()
        record(
            s,
            "user.address_throttled",
            actor="system",
            at=now,
            address=counter.address,
            until=until,
        )
    return True


def clear(s: Session, username: str) -> None:
    """Lift every lock of ``username`` (a new password was set)."""
    s.execute(
        update(SignInThrottle)
        .where(SignInThrottle.username == username)
        .values(failures=0, locked_until=None)
    )
