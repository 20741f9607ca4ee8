"""Booking on the demo region with a year of slots: find, book, and 8 clients at once.

Targets (issue 2): find ≤ 20 ms median, book ≤ 10 ms median, ≥ 200 bookings/s with
8 concurrent clients on PostgreSQL, and no double booking ever.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Sequence

from rich.progress import track
from sqlalchemy import func, select

from bench.common import BACKENDS, Row, backend_context, console, latency_rows, timed
from lysbord.demo import build_demo
from lysbord.domain.errors import SlotTaken
from lysbord.domain.priorities import Priority
from lysbord.services import booking, referrals
from lysbord.services.check import run_checks
from lysbord.services.context import Context
from lysbord.store.models import Appointment, PatientIdentifier, ProcedureCode

SUITE = "booking"
SAMPLES = 300
CLIENTS = 8
PER_CLIENT = 100
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


def book_first_free(ctx: Context, accession: str, actor: str) -> bool:
    """What a clerk does: look up the earliest slots, take the first still free."""
    for offer in booking.find_slots(ctx, booking.SlotSearch(accession, limit=10)):
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


def concurrent(ctx: Context, backend: str, accessions: Sequence[str]) -> list[Row]:
    """8 clients, each finding and booking its own procedures, all hunting the same slots."""
    booked = [0] * CLIENTS
    barrier = threading.Barrier(CLIENTS + 1)

    def client(i: int) -> None:
        mine = accessions[i::CLIENTS]
        barrier.wait()
        booked[i] = sum(book_first_free(ctx, acc, f"bench{i}") for acc in mine)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    rate = sum(booked) / (time.perf_counter() - start)
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
        Row(SUITE, backend, "bookings made / attempted", f"{sum(booked)} / {len(accessions)}"),
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
            build_demo(ctx, scale=1.0, seed=7, console=console)
            rows += sequential(ctx, backend, new_accessions(ctx, SAMPLES, rng))
            rows += concurrent(ctx, backend, new_accessions(ctx, CLIENTS * PER_CLIENT, rng))
            rows += double_bookings(ctx, backend)
    return rows
