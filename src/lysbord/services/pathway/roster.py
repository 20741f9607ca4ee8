"""The room roster: which radiographer works which room on which day.

A start by hand is checked against it (``examination.start``). The roster is *kept* on
a day once anyone in the region is rostered that day; then a radiographer who is not
rostered on the room must give a reason, which stays on the start's event. A day with
no roster at all is not checked, so a region that keeps none is never stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from lysbord.domain.access import Role
from lysbord.domain.errors import Conflict, InvalidValue, Msg, NotFound
from lysbord.services.core.context import Context
from lysbord.services.core.events import record
from lysbord.services.people.users import user_by_name
from lysbord.store.models import Room, Site
from lysbord.store.reading_models import RosterEntry
from lysbord.store.user_models import User

#: The longest stretch one roster page or call lists.
MAX_DAYS = 31


@dataclass(frozen=True, slots=True)
class RosterEntryView:
    id: int
    day: date
    username: str
    display_name: str
    ae_title: str
    room_name: str
    site_code: str


def list_roster(ctx: Context, first: date, days: int = 7) -> list[RosterEntryView]:
    """The entries from ``first`` for ``days`` days, by day, site, room and name."""
    last = first + timedelta(days=min(max(days, 1), MAX_DAYS) - 1)
    stmt = (
        select(RosterEntry, Room, Site, User.display_name)
        .join(Room, Room.id == RosterEntry.room_id)
        .join(Site, Site.id == Room.site_id)
        .outerjoin(User, User.username == RosterEntry.username)
        .where(RosterEntry.day.between(first, last))
        .order_by(RosterEntry.day, Site.code, Room.code, RosterEntry.username)
    )
    with ctx.uow(readonly=True) as uow:
        return [
            RosterEntryView(e.id, e.day, e.username, name or e.username, r.ae_title, r.name, s.code)
            for e, r, s, name in uow.session.execute(stmt).tuples()
        ]


def add_to_roster(ctx: Context, ae_title: str, day: date, username: str, actor: str) -> int:
    """Roster an active radiographer on a room for a day; answers the entry's id."""
    now = ctx.now()
    with ctx.uow() as uow:
        s = uow.session
        room = s.scalar(select(Room).where(Room.ae_title == ae_title))
        if room is None:
            raise NotFound(Msg("no room has this AE title"), field="room", value=ae_title)
        user = user_by_name(s, username)
        if not user.active or Role.radiographer.value not in user.roles:
            raise InvalidValue(Msg("not an active radiographer"), field="username", value=username)
        taken = select(RosterEntry.id).where(
            RosterEntry.room_id == room.id, RosterEntry.day == day, RosterEntry.username == username
        )
        if s.scalar(taken) is not None:
            raise Conflict(
                Msg("already rostered on this room that day"), field="username", value=username
            )
        entry = RosterEntry(
            room_id=room.id, day=day, username=username, created_by=actor, created_at=now
        )
        s.add(entry)
        s.flush()
        record(
            s,
            "roster.added",
            actor=actor,
            at=now,
            room=ae_title,
            day=day.isoformat(),
            username=username,
        )
        uow.commit()
        return entry.id


def remove_from_roster(ctx: Context, entry_id: int, actor: str) -> None:
    """Take an entry off the roster (plans change); the event keeps what it was."""
    now = ctx.now()
    with ctx.uow() as uow:
        s = uow.session
        entry = s.get(RosterEntry, entry_id)
        if entry is None:
            raise NotFound(Msg("no roster entry has this id"), field="entry_id", value=entry_id)
        room = s.get_one(Room, entry.room_id)
        record(
            s,
            "roster.removed",
            actor=actor,
            at=now,
            room=room.ae_title,
            day=entry.day.isoformat(),
            username=entry.username,
        )
        s.delete(entry)
        uow.commit()


def off_roster(s: Session, room_id: int, day: date, username: str) -> list[str] | None:
    """Who is rostered on the room that day, if the roster is kept that day and
    ``username`` is not among them; None when ``username`` may start without a reason."""
    if s.scalar(select(RosterEntry.id).where(RosterEntry.day == day).limit(1)) is None:
        return None
    on_room = select(RosterEntry.username).where(
        RosterEntry.room_id == room_id, RosterEntry.day == day
    )
    names = list(s.scalars(on_room.order_by(RosterEntry.username)))
    return None if username in names else names


def off_roster_on(ctx: Context, room_id: int, day: date, username: str) -> list[str] | None:
    """``off_roster`` in its own read, for a screen that warns before the start."""
    with ctx.uow(readonly=True) as uow:
        return off_roster(uow.session, room_id, day, username)
