"""Every web page on the demo region, each role signed in: under 200 ms (issue 6).

Each page is fetched through Starlette's TestClient (the whole app: routing, session,
queries, template), once to warm up and then ``SAMPLES`` times; the row is the median
wall time, this process's median CPU time (on SQLite that includes the database's work;
on a busy machine it is the steadier number) and the SQL statements one fetch runs.
"""

from __future__ import annotations

import os
import re
import secrets
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from bench.common import BACKENDS, Row, backend_context, console, timed
from lysbord.app import create_app
from lysbord.demo import build_demo
from lysbord.domain.access import CurrentUser, Role
from lysbord.services.core.context import Context
from lysbord.services.people.users import NewUser, add_user
from lysbord.store.models import PatientIdentifier, Procedure, Referral, Room
from lysbord.web.nav import NAV

SUITE = "web"
QUICK = os.environ.get("LYSBORD_BENCH_QUICK") == "1"  # a small region, to try the bench out
SCALE, SAMPLES = (0.05, 3) if QUICK else (1.0, 7)
TARGET_MS = 200.0
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def run() -> list[Row]:
    rows: list[Row] = []
    for backend in BACKENDS:
        with backend_context(backend, SUITE) as ctx:
            build_demo(ctx, scale=SCALE, seed=7, console=console)
            rows += page_rows(ctx, backend)
    return rows


def page_rows(ctx: Context, backend: str, samples: int = SAMPLES) -> list[Row]:
    """Time every nav page for every role, then the detail pages, on a built demo."""
    rows: list[Row] = []
    with TestClient(create_app(ctx)) as client, _statements(ctx) as counter:
        for role in Role:
            user = CurrentUser(role.value, role.value, frozenset({role}))
            _sign_in(client, ctx, role)
            for path in ["/", *(i.path for i in NAV if user.may(*i.roles, read=True))]:
                rows.append(_time(client, counter, backend, f"{role.value} {path}", path, samples))
        _sign_in(client, ctx, *Role)
        for path in detail_paths(ctx):
            rows.append(_time(client, counter, backend, path, path, samples))
    return rows


def detail_paths(ctx: Context) -> list[str]:
    """The heavy pages behind the nav: the busiest patient, room and queues."""
    with ctx.uow(readonly=True) as uow:
        s = uow.session
        busiest = (
            select(PatientIdentifier.value)
            .join(Referral, Referral.patient_id == PatientIdentifier.patient_id)
            .where(PatientIdentifier.kind == "cpr")
            .group_by(PatientIdentifier.value)
            .order_by(func.count().desc())
            .limit(1)
        )
        cpr = s.scalar(busiest)
        requested = s.scalar(
            select(Procedure.accession).where(Procedure.state == "requested").limit(1)
        )
        completed = s.scalar(
            select(Procedure.accession).where(Procedure.state == "completed").limit(1)
        )
        ae = s.scalar(select(Room.ae_title).order_by(Room.ae_title).limit(1))
        referral = s.scalar(select(Referral.id).where(Referral.closed_at.is_(None)).limit(1))
    return [
        f"/patients/{cpr}",
        f"/patients?q={cpr}",
        f"/referrals/{referral}/triage",
        f"/booking/{requested}",
        f"/reading/{completed}",
        f"/rooms/{ae}",
        f"/rooms/{ae}/calendar?view=day",
        f"/rooms/{ae}/calendar?view=week",
        "/tracker/list",
        "/tracker/list?queue=awaiting-booking&flag=overdue",
        "/tracker/list?queue=booked&offset=1000",
        "/api/v1/tracker",
    ]


def _sign_in(client: TestClient, ctx: Context, *roles: Role) -> None:
    """A new user with ``roles``, signed in through the form as a browser would."""
    name = f"bench-{'-'.join(r.value for r in roles)[:30]}.{secrets.token_hex(3)}"
    _, password = add_user(ctx, NewUser(name, name, tuple(r.value for r in roles)), actor=SUITE)
    client.cookies.clear()
    found = CSRF_INPUT.search(client.get("/login").text)
    assert found, "no CSRF token on /login"
    form = {"username": name, "password": password, "csrf_token": found.group(1)}
    response = client.post("/login", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text


@contextmanager
def _statements(ctx: Context) -> Iterator[list[int]]:
    """A one-cell counter of the SQL statements the engine runs."""
    counter = [0]

    def count(*_: object) -> None:
        counter[0] += 1

    event.listen(ctx.db.engine, "before_cursor_execute", count)
    try:
        yield counter
    finally:
        event.remove(ctx.db.engine, "before_cursor_execute", count)


def _time(
    client: TestClient, counter: list[int], backend: str, what: str, path: str, samples: int
) -> Row:
    before = counter[0]
    response = client.get(path)
    assert response.status_code == 200, f"{path}: {response.status_code}"
    statements = counter[0] - before
    wall, cpu = [], []
    for _ in range(samples):
        started = time.process_time()
        wall.append(timed(client.get, path)[1])
        cpu.append((time.process_time() - started) * 1000)
    median = statistics.median(wall)
    return Row(
        SUITE,
        backend,
        f"{what} ({statements} SQL)",
        f"{median:.1f} ms (CPU {statistics.median(cpu):.1f})",
        f"< {TARGET_MS:g} ms",
        "ok" if median < TARGET_MS else "MISSED",
    )
