"""The system's health as a manager sees it: doors, queue depths, the last ``lysbord check``.

Queue tables belong to doors that land one by one (HL7 inbox, outbox), so they are read
by name and defensively: a table that is missing or unreadable shows as unknown rather
than breaking the page. Doors are probed with a TCP connect to their port, the cheapest
question that tells "listening" from "not".
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from lysbord.services.core.context import Context
from lysbord.services.core.events import record
from lysbord.services.operations.check import Finding
from lysbord.store.models import Event
from lysbord.store.schema import metadata

CHECK_EVENT = "check.ran"
#: (queue name, table, status column): every status of these tables is counted.
QUEUES = (("outbox", "outbox_messages", "status"), ("hl7_inbox", "hl7_messages", "status"))


@dataclass(frozen=True, slots=True)
class CheckRun:
    at: datetime
    actor: str
    rules: int
    broken: dict[str, int]
    skipped_blobs: bool


@dataclass(frozen=True, slots=True)
class QueueDepth:
    queue: str
    counts: dict[str, int] | None  # None: the table cannot be read (not there yet)


def record_check(
    ctx: Context, findings: Iterable[Finding], *, skipped_blobs: bool, actor: str
) -> None:
    """Keep the outcome of ``lysbord check`` as an event, for the status page."""
    found = list(findings)
    broken = {f.rule: f.count for f in found if f.count}
    with ctx.uow() as uow:
        record(
            uow.session,
            CHECK_EVENT,
            actor=actor,
            at=ctx.now(),
            rules=len(found),
            broken=broken,
            skipped_blobs=skipped_blobs,
        )
        uow.commit()


def last_check(ctx: Context) -> CheckRun | None:
    with ctx.uow(readonly=True) as uow:
        event = uow.session.scalar(
            select(Event).where(Event.kind == CHECK_EVENT).order_by(Event.id.desc()).limit(1)
        )
        if event is None:
            return None
        data = event.data
        return CheckRun(
            event.at,
            event.actor,
            int(data.get("rules", 0)),
            dict(data.get("broken", {})),
            bool(data.get("skipped_blobs")),
        )


def _counts(ctx: Context, table_name: str, column: str) -> dict[str, int] | None:
    table = metadata.tables.get(table_name)
    if table is None or column not in table.c:
        return None
    try:
        with ctx.uow(readonly=True) as uow:
            rows = uow.session.execute(
                select(table.c[column], func.count()).group_by(table.c[column])
            ).all()
    except SQLAlchemyError:
        return None
    return {str(status): int(n) for status, n in rows}


def queue_depths(ctx: Context) -> list[QueueDepth]:
    return [QueueDepth(name, _counts(ctx, table, column)) for name, table, column in QUEUES]


def listening(host: str, port: int, timeout: float = 0.5) -> bool:
    """Does something accept TCP connections there? (A door that is down refuses.)"""
    probe_host = "127.0.0.1" if host in ("0.0.0.0", "") else host
    try:
        with socket.create_connection((probe_host, port), timeout=timeout):
            return True
    except OSError:
        return False


def running(pid: int) -> bool:
    """Whether process ``pid`` runs (Linux): any process of this node may answer the status
    page, so it asks the kernel rather than holding the DICOM workers' handles. A dead
    worker its parent has not yet reaped is a zombie: not running."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in (b"Z", b"X")
