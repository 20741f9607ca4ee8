"""Booking on the demo region with a year of slots: find, book, and 8 clients at once.

Targets (issue 2): find ≤ 20 ms median, book ≤ 10 ms median, ≥ 200 bookings/s with
8 concurrent clients on PostgreSQL, and no double booking ever.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import time
from collections.abc import Sequence
from multiprocessing import Queue
from multiprocessing.synchronize import Event
from typing import Any

from rich.progress import track
from sqlalchemy import func, select

from bench.common import BACKENDS, Row, backend_context, console, latency_rows, timed
from lysbord.bootstrap import build_context
from lysbord.config import Settings
from lysbord.demo import build_demo
from lysbord.domain.errors import SlotTaken
from lysbord.domain.priorities import Priority
from lysbord.services.core.context import Context
from lysbord.services.operations.check import run_checks
from lysbord.services.pathway import booking, referrals
from lysbord.store.models import Appointment, PatientIdentifier, ProcedureCode

SUITE = "booking"
QUICK = os.environ.get("LYSBORD_BENCH_QUICK") == "1"  # a small region, to try the bench out
SCALE, SAMPLES, PER_CLIENT = (0.05, 30, 40) if QUICK else (1.0, 300, 100)
CLIENTS = 8
PRIORITIES = (Priority.ROUTINE, Priority.URGENT, Priority.CANCER_PATHWAY)


def new_accessions(ctx: Context, n: int, rng: random.Random) -> list[str]:
    """Fresh referrals for demo patients, one procedure each, made before timing starts."""
    with ctx.uow(readonly=True) as uow:
        numbers = list(uow.session.scalars(select(PatientIdentifier.value).limit(2000)))
        codes = list(uow.session.scalars(select(ProcedureCode.code)))
    out = []
    for _ in track(range(n), description="referrals to book", console=console):
        cmd = referrals.NewReferral(
            cpr=rng.choice(numbers),
            referring_unit="Bench",
            clinical_question="Benchmark",
            priority=rng.choice(PRIORITIES),
            procedures=[rng.choice(codes)],
        )
        out.append(referrals.create_referral(ctx, cmd, "bench").procedures[0].accession)
    return out


def book_like_a_clerk(ctx: Context, accession: str, actor: str, rng: random.Random) -> bool:
    """What a clerk does (as demo/runner.py's clerks): look up the earliest slots, take the
    first mostly, else one of the first four; if it was taken meanwhile, the next one still
    free in the list."""
    offers = booking.find_slots(ctx, booking.SlotSearch(accession, limit=10))
    if offers and rng.random() >= 0.6:
        offers.insert(0, offers.pop(rng.randrange(min(4, len(offers)))))
    for offer in offers:
        try:
            booking.book(ctx, accession, offer.slot_id, actor)
            return True
        except SlotTaken:
            continue
    return False


def sequential(ctx: Context, backend: str, accessions: Sequence[str]) -> list[Row]:
    find_ms, book_ms = [], []
    for acc in track(accessions, description="find and book", console=console):
        offers, ms = timed(booking.find_slots, ctx, booking.SlotSearch(acc))
        find_ms.append(ms)
        _, ms = timed(booking.book, ctx, acc, offers[0].slot_id, "bench")
        book_ms.append(ms)
    return latency_rows(SUITE, backend, "find earliest slots", find_ms, 20) + latency_rows(
        SUITE, backend, "book", book_ms, 10
    )


def _client(
    settings: dict[str, Any], accessions: Sequence[str], actor: str, ready: Queue[int], go: Event
) -> None:
    """One client process: its own engine and connections, as each clerk's session has.

    It looks its first procedure's slots up before the clock starts: a clerk's server is
    already connected and warm, and a process's first connection and statement compiles
    (some 150 ms) would otherwise weigh on the few bookings of a quick run."""
    ctx = build_context(Settings.model_validate(settings), migrate=False)
    rng = random.Random(actor)
    booking.find_slots(ctx, booking.SlotSearch(accessions[0], limit=10))
    ready.put(0)
    go.wait()
    ready.put(sum(book_like_a_clerk(ctx, acc, actor, rng) for acc in accessions))
    ctx.db.dispose()


def concurrent(ctx: Context, backend: str, accessions: Sequence[str]) -> list[Row]:
    """8 client processes, each finding and booking its own procedures, all hunting the same
    slots; processes, not threads, so the clients are not serialised by one interpreter."""
    spawn = multiprocessing.get_context("spawn")
    ready: Queue[int] = spawn.Queue()
    go = spawn.Event()
    settings = ctx.settings.model_dump()
    clients = [
        spawn.Process(
            target=_client, args=(settings, accessions[i::CLIENTS], f"bench{i}", ready, go)
        )
        for i in range(CLIENTS)
    ]
    for c in clients:
        c.start()
    for _ in clients:
        ready.get(timeout=120)
    start = time.perf_counter()
    go.set()
    booked = sum(ready.get(timeout=600) for _ in clients)
    rate = booked / (time.perf_counter() - start)
    for c in clients:
        c.join()
    target = 200 if backend == "postgresql" else 0
    return [
        Row(
            SUITE,
            backend,
            f"bookings/s, {CLIENTS} clients (find + book)",
            f"{rate:.0f}",
            f"≥ {target}" if target else "",
            ("ok" if rate >= target else "MISSED") if target else "",
        ),
        Row(SUITE, backend, "bookings made / attempted", f"{booked} / {len(accessions)}"),
    ]


def double_bookings(ctx: Context, backend: str) -> list[Row]:
    with ctx.uow(readonly=True) as uow:
        twice = uow.session.scalar(
            select(func.count()).select_from(
                select(Appointment.slot_id)
                .where(Appointment.active.is_(True))
                .group_by(Appointment.slot_id)
                .having(func.count() > 1)
                .subquery()
            )
        )
    broken = sum(f.count for f in run_checks(ctx))
    return [
        Row(
            SUITE,
            backend,
            "double bookings found",
            str(twice),
            "0",
            "ok" if twice == 0 else "MISSED",
        ),
        Row(
            SUITE,
            backend,
            "lysbord check: broken invariants",
            str(broken),
            "0",
            "ok" if broken == 0 else "MISSED",
        ),
    ]


def run() -> list[Row]:
    rows: list[Row] = []
    rng = random.Random(42)
    for backend in BACKENDS:
        with backend_context(backend, SUITE) as ctx:
            console.rule(f"booking on {backend}: building the demo region (a year of slots)")
            build_demo(ctx, scale=SCALE, seed=7, console=console)
            rows += sequential(ctx, backend, new_accessions(ctx, SAMPLES, rng))
            rows += concurrent(ctx, backend, new_accessions(ctx, CLIENTS * PER_CLIENT, rng))
            rows += double_bookings(ctx, backend)
    return rows
