"""The search for free slots: the rooms that fit a procedure, and each one's earliest free slots.

Every offer runs it, so it is one round trip: on PostgreSQL a LATERAL scan per room,
on SQLite a UNION ALL of the same per-room scans; both compiled once (``CompiledOnce``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Integer,
    Select,
    String,
    and_,
    any_,
    bindparam,
    case,
    exists,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from lysbord.store.db import CompiledOnce
from lysbord.store.models import (
    Block,
    Room,
    Site,
    Slot,
)
from lysbord.store.slot_queries import SLOT_TAKEN, blocks_overlap


@dataclass(frozen=True, slots=True)
class RoomInfo:
    id: int
    site_id: int
    code: str
    name: str
    modality: str
    site_code: str
    site_name: str


@dataclass(frozen=True, slots=True)
class FreeSlot:
    id: int
    start_at: datetime
    end_at: datetime
    minutes: int
    room: RoomInfo


def fitting_rooms(
    session: Session, modalities: tuple[str, ...], site_ids: list[int] | None
) -> dict[int, RoomInfo]:
    """Open rooms of these modalities (at these sites), by room id: a slot search's scope."""
    values = _scope(modalities, site_ids)
    return {row[0]: RoomInfo(*row) for row in _ROOMS_STMT.execute(session.connection(), values)}


def _scope(modalities: tuple[str, ...], site_ids: list[int] | None) -> dict[str, Any]:
    return {
        "modalities": list(modalities),
        "site_ids": site_ids or [],
        "any_site": site_ids is None,
    }


_ROOM_INFO = (Room.id, Room.site_id, Room.code, Room.name, Room.modality, Site.code, Site.name)


def _fitting(dialect: str) -> ColumnElement[bool]:
    """Open rooms of ``modalities``, at ``site_ids`` unless ``any_site``: one statement text
    for any number of either (PostgreSQL prepares it once)."""
    if dialect == "postgresql":
        modalities = Room.modality == any_(bindparam("modalities", type_=ARRAY(String)))
        sites = Room.site_id == any_(bindparam("site_ids", type_=ARRAY(BigInteger)))
    else:
        modalities = Room.modality.in_(bindparam("modalities", expanding=True))
        sites = Room.site_id.in_(bindparam("site_ids", expanding=True))
    return and_(Room.active.is_(True), modalities, or_(bindparam("any_site", type_=Boolean), sites))


_ROOMS_STMT = CompiledOnce(
    lambda dialect: (
        select(*_ROOM_INFO).join(Site, Site.id == Room.site_id).where(_fitting(dialect))
    ),
    [],
)


@dataclass(frozen=True, slots=True)
class SlotWindow:
    """Where and when to look: free slots of ``min_minutes`` or more starting in
    [start_from, start_before); those starting by ``due_at`` come first, and among them
    those in ``preferred_site_id``; then by start and room."""

    min_minutes: int
    start_from: datetime
    start_before: datetime
    due_at: datetime
    preferred_site_id: int | None


def free_slots(
    session: Session,
    modalities: tuple[str, ...],
    site_ids: list[int] | None,
    w: SlotWindow,
    limit: int,
) -> list[FreeSlot]:
    """The first ``limit`` bookable slots in the open rooms of ``modalities`` (at
    ``site_ids``): long enough, not taken, not blocked.

    One index-ordered scan per room (its (room_id, start_at) index, stopping after
    ``limit`` free slots), merged and ranked in one statement: the cost follows the rooms
    that fit, and a fully booked stretch of one room does not slow the others down. Each
    room's first ``limit`` free slots hold every slot of it the ranking can pick. On
    PostgreSQL that one statement also picks the rooms (one round trip for the search).
    """
    values: dict[str, Any] = {
        "start_from": w.start_from,
        "start_before": w.start_before,
        "min_minutes": w.min_minutes,
        "due_at": w.due_at,
        "preferred_site_id": w.preferred_site_id,
        "limit": limit,
    }
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        values |= _scope(modalities, site_ids)
        return [
            FreeSlot(slot_id, start_at, end_at, minutes, RoomInfo(*room))
            for slot_id, start_at, end_at, minutes, *room in _FREE_SLOTS_LATERAL.execute(
                conn, values
            )
        ]
    rooms = fitting_rooms(session, modalities, site_ids)
    if not rooms:
        return []
    for i, room in enumerate(rooms.values()):
        values[f"room_{i}"], values[f"site_{i}"] = room.id, room.site_id
    return [
        FreeSlot(slot_id, start_at, end_at, minutes, rooms[room_id])
        for slot_id, start_at, end_at, minutes, room_id in _free_slots_union(len(rooms)).execute(
            conn, values
        )
    ]


_LIMIT = bindparam("limit", type_=Integer)


def _scan(room_id: Any, site_id: Any) -> Select[tuple[int, datetime, datetime, int, int]]:
    """One room's earliest free slots in the window, in its (room_id, start_at) index order."""
    return (
        select(Slot.id, Slot.start_at, Slot.end_at, Slot.minutes, Slot.room_id)
        .where(
            Slot.room_id == room_id,
            Slot.start_at >= bindparam("start_from"),
            Slot.start_at < bindparam("start_before"),
            Slot.minutes >= bindparam("min_minutes"),
            ~SLOT_TAKEN,
            # Correlated to the room outside too: in the LATERAL scan, an uncorrelated
            # rooms would make a block on any room hide every room's slots at that time.
            ~exists()
            .where(blocks_overlap(room_id, site_id, Slot.start_at, Slot.end_at))
            .correlate_except(Block),
        )
        .order_by(Slot.start_at)
        .limit(_LIMIT)
    )


def _ranked(start_at: Any, site_id: Any) -> tuple[ColumnElement[int], Any]:
    within = start_at <= bindparam("due_at")
    preferred = site_id == bindparam("preferred_site_id")
    return case((and_(within, preferred), 0), (within, 1), else_=2), start_at


def _lateral_select(dialect: str) -> Select[Any]:
    """PostgreSQL: the fitting rooms and each one's scan, one text for any number of rooms."""
    scan = _scan(Room.id, Room.site_id).lateral("scan")
    return (
        select(scan.c.id, scan.c.start_at, scan.c.end_at, scan.c.minutes, *_ROOM_INFO)
        .select_from(Room)
        .join(Site, Site.id == Room.site_id)
        .join(scan, true())
        .where(_fitting(dialect))
        .order_by(*_ranked(scan.c.start_at, Room.site_id), scan.c.room_id)
        .limit(_LIMIT)
    )


_FREE_SLOTS_LATERAL = CompiledOnce(_lateral_select, [])


@cache
def _free_slots_union(n_rooms: int) -> CompiledOnce:
    """SQLite has no LATERAL: one scan per room, merged with UNION ALL."""

    def build(_dialect: str) -> Select[tuple[int, datetime, datetime, int, int]]:
        scans = [
            _scan(bindparam(f"room_{i}"), bindparam(f"site_{i}")).subquery() for i in range(n_rooms)
        ]
        ids = union_all(*(select(s.c.id) for s in scans))
        return (
            select(Slot.id, Slot.start_at, Slot.end_at, Slot.minutes, Slot.room_id)
            .join(Room, Room.id == Slot.room_id)
            .where(Slot.id.in_(ids))
            .order_by(*_ranked(Slot.start_at, Room.site_id), Slot.room_id)
            .limit(_LIMIT)
        )

    return CompiledOnce(build, [])
