"""The region: sites, rooms with their opening hours, the procedure catalogue, slots, blocks."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from lysbord.domain.calendar import require_aware
from lysbord.domain.errors import InvalidValue, Msg, NotFound
from lysbord.domain.slots import OpeningHours, generate_slots
from lysbord.services.core.context import Context
from lysbord.services.core.events import record
from lysbord.store.models import Block, ProcedureCode, Room, Site, Slot
from lysbord.store.queries import site_by_code

MODALITIES = frozenset({"CT", "MR", "DX", "CR", "US", "MG"})
PHONE = re.compile(r"\+(\d{1,3}) (\d[\d ]{2,18}\d)")
INSERT_CHUNK = 5000


@dataclass(frozen=True, slots=True)
class RoomSpec:
    code: str
    name: str
    modality: str
    ae_title: str
    hours: Sequence[OpeningHours]


@dataclass(frozen=True, slots=True)
class RoomView:
    id: int
    code: str
    name: str
    modality: str
    ae_title: str
    active: bool
    opening_hours: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class SiteContact:
    """Who books a site's appointments and their telephone, as a patient's other systems
    show it (SIU SCH-16, SCH-17): the booking office's name, or a person's, and the
    number with its country code, ``+45 3545 1234`` (stored as ``+45 35451234``)."""

    name: str
    phone: str


@dataclass(frozen=True, slots=True)
class SiteView:
    code: str
    name: str
    rooms: list[RoomView]
    contact: SiteContact | None


@dataclass(frozen=True, slots=True)
class CodeView:
    code: str
    name: str
    modality: str
    duration_minutes: int
    body_part: str
    preparation: str


def hours_to_json(hours: Sequence[OpeningHours]) -> list[dict[str, Any]]:
    return [
        {
            "weekday": h.weekday,
            "opens": h.opens.isoformat("minutes"),
            "closes": h.closes.isoformat("minutes"),
            "slot_minutes": h.slot_minutes,
        }
        for h in hours
    ]


def hours_from_json(rows: Sequence[dict[str, Any]]) -> list[OpeningHours]:
    return [
        OpeningHours(
            r["weekday"],
            time.fromisoformat(r["opens"]),
            time.fromisoformat(r["closes"]),
            r["slot_minutes"],
        )
        for r in rows
    ]


def add_site(
    ctx: Context, code: str, name: str, rooms: Sequence[RoomSpec], contact: SiteContact
) -> None:
    if not contact.name.strip():
        raise InvalidValue(Msg("a site needs a contact for its appointments"), field="contact.name")
    phone = _phone(contact.phone)
    for room in rooms:
        if room.modality not in MODALITIES:
            raise InvalidValue(
                Msg("not one of {modalities}", modalities=", ".join(sorted(MODALITIES))),
                field="modality",
                value=room.modality,
            )
    with ctx.uow() as uow:
        site = Site(code=code, name=name, contact_name=contact.name.strip(), contact_phone=phone)
        uow.session.add(site)
        uow.session.flush()
        uow.session.add_all(
            Room(
                site_id=site.id,
                code=r.code,
                name=r.name,
                modality=r.modality,
                ae_title=r.ae_title,
                opening_hours=hours_to_json(r.hours),
                active=True,
            )
            for r in rooms
        )
        uow.commit()


def _phone(text: str) -> str:
    """``+45 3545 1234`` as ``+45 35451234``: the country code, a space, the digits."""
    m = PHONE.fullmatch(text.strip())
    if m is None:
        raise InvalidValue(
            Msg("not a telephone number with its country code, like +45 3545 1234"),
            field="contact.phone",
            value=text,
        )
    return f"+{m.group(1)} {m.group(2).replace(' ', '')}"


def add_procedure_codes(ctx: Context, codes: Sequence[CodeView]) -> None:
    with ctx.uow() as uow:
        uow.session.add_all(
            ProcedureCode(
                code=c.code,
                name=c.name,
                modality=c.modality,
                duration_minutes=c.duration_minutes,
                body_part=c.body_part,
                preparation=c.preparation,
            )
            for c in codes
        )
        uow.commit()


def open_slots(
    ctx: Context, first: date, last: date, progress: Callable[[int], None] | None = None
) -> int:
    """Lay out every room's slots from its weekly hours; slots already there are kept."""
    created = 0
    with ctx.uow() as uow:
        s = uow.session
        for room in s.scalars(select(Room).order_by(Room.id)):
            existing = set(s.scalars(select(Slot.start_at).where(Slot.room_id == room.id)))
            rows = [
                {
                    "room_id": room.id,
                    "start_at": a,
                    "end_at": b,
                    "minutes": int((b - a).total_seconds() // 60),
                }
                for a, b in generate_slots(hours_from_json(room.opening_hours), first, last)
                if a not in existing
            ]
            for i in range(0, len(rows), INSERT_CHUNK):
                s.execute(insert(Slot), rows[i : i + INSERT_CHUNK])
            created += len(rows)
            if progress:
                progress(len(rows))
        uow.commit()
    refresh_statistics(ctx)
    return created


def refresh_statistics(ctx: Context) -> None:
    """After a bulk load: without fresh statistics PostgreSQL plans slot searches badly."""
    with ctx.db.engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()


def block(
    ctx: Context,
    *,
    site: str,
    room: str | None,
    start_at: datetime,
    end_at: datetime,
    reason: str,
    actor: str,
) -> int:
    """Close a room or a whole site for a window; bookings inside it stay, visibly affected."""
    start_at, end_at = require_aware(start_at, "start_at"), require_aware(end_at, "end_at")
    if end_at <= start_at:
        raise InvalidValue(Msg("must be after start_at"), field="end_at", value=end_at.isoformat())
    if not reason.strip():
        raise InvalidValue(Msg("a block needs a reason"), field="reason")
    now = ctx.now()
    with ctx.uow() as uow:
        s = uow.session
        site_row = site_by_code(s, site)
        room_row = _room(s, site_row.id, room) if room else None
        b = Block(
            room_id=room_row.id if room_row else None,
            site_id=None if room_row else site_row.id,
            start_at=start_at,
            end_at=end_at,
            reason=reason,
            created_by=actor,
            created_at=now,
        )
        s.add(b)
        s.flush()
        record(
            s,
            "block.created",
            actor=actor,
            at=now,
            reason=reason,
            block_id=b.id,
            site=site,
            room=room,
            start_at=start_at.isoformat(),
            end_at=end_at.isoformat(),
        )
        uow.commit()
        return b.id


def _room(s: Session, site_id: int, code: str) -> Room:
    room = s.scalars(select(Room).where(Room.site_id == site_id, Room.code == code)).first()
    if room is None:
        raise NotFound(Msg("no such room at this site"), field="room", value=code)
    return room


def list_sites(ctx: Context) -> list[SiteView]:
    with ctx.uow(readonly=True) as uow:
        s = uow.session
        rooms = s.scalars(select(Room).order_by(Room.site_id, Room.code)).all()
        return [
            SiteView(
                site.code,
                site.name,
                [_room_view(r) for r in rooms if r.site_id == site.id],
                _contact(site),
            )
            for site in s.scalars(select(Site).order_by(Site.code))
        ]


def _contact(site: Site) -> SiteContact | None:
    if site.contact_name and site.contact_phone:
        return SiteContact(site.contact_name, site.contact_phone)
    return None


def _room_view(r: Room) -> RoomView:
    return RoomView(r.id, r.code, r.name, r.modality, r.ae_title, r.active, r.opening_hours)


def list_procedure_codes(ctx: Context) -> list[CodeView]:
    with ctx.uow(readonly=True) as uow:
        return [
            CodeView(c.code, c.name, c.modality, c.duration_minutes, c.body_part, c.preparation)
            for c in uow.session.scalars(select(ProcedureCode).order_by(ProcedureCode.code))
        ]
