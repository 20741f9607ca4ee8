"""The capital region's demo: nine hospitals, a year of slots, patients in every state.

Everything is made through the services (region, patients, referrals, booking,
procedures, reports, the archive's store path for the images: ``images``), so every
event, deadline and invariant in the demo is real, and ``lysbord check`` holds over
it. The past is made by setting the services' clock to the moment each step happened
(see ``runner``). Deterministic for a seed, except the UIDs: the referral service
draws Study Instance UIDs at random, and so do the scanners for series and instances.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from lysbord.demo.images.store import DemoArchive
from lysbord.demo.merges import play_merges
from lysbord.demo.pathways import Pathways
from lysbord.demo.people import Person, make_people
from lysbord.demo.plans import make_plans
from lysbord.demo.region_data import SITES, contact, procedure_codes, room_specs
from lysbord.demo.runner import Runner
from lysbord.domain.calendar import is_working_day, local_date, local_datetime
from lysbord.domain.tracking import Queue
from lysbord.services.core.context import Context
from lysbord.services.operations import region
from lysbord.services.pathway import tracker
from lysbord.services.people import registration
from lysbord.store.blobs import BlobStore

__all__ = ["build_demo", "region_exists"]

PATIENTS_PER_SCALE = 5000
REFERRALS_PER_PATIENT = 1.05
#: Patients come from the population register on a day before any demo referral.
REGISTERED_DAYS_AGO = 180
ACTOR = "demo"


@dataclass(frozen=True, slots=True)
class Made:
    """What the demo created, for the summary."""

    rooms: int
    slots: int
    patients: int
    referrals: int
    merges: tuple[int, int]
    images: tuple[int, int]  # studies, instances


def region_exists(ctx: Context) -> bool:
    """True if any site exists: the demo is only made on an empty database."""
    return bool(region.list_sites(ctx))


def build_demo(
    ctx: Context,
    *,
    scale: float = 1.0,
    seed: int = 2026,
    console: Console | None = None,
    days_before: int = 60,
    days_after: int = 365,
) -> None:
    """Create the region and ``scale`` × 5,000 patients with referrals in every state.

    Slots run from ``days_before`` days before today to ``days_after`` days after it;
    tests shorten that to stay fast.
    """
    console = console or Console()
    rng = random.Random(seed)
    archive = DemoArchive(BlobStore(ctx.settings.data_dir / "blobs"))
    runner = Runner(ctx, rng, ctx.now(), archive)
    today = local_date(runner.now)
    rooms = _create_region(ctx)
    with _progress(console) as progress:
        slots = _open_slots(ctx, progress, today - timedelta(days=days_before), days_after)
        n = max(20, round(scale * PATIENTS_PER_SCALE))
        sites = [(s.code, s.weight) for s in SITES]
        people = make_people(rng, n, today, sites)
        _register(runner, people, progress)
        plans = make_plans(people, round(n * REFERRALS_PER_PATIENT), today, rng)
        horizon = local_datetime(today + timedelta(days=days_after + 1), time(0))
        paths = Pathways(runner, days_before, horizon)
        for plan in progress.track(plans, description="Referrals"):
            paths.play(plan)
        merges = play_merges(runner, people, rng)
    referrals = len(plans) + paths.priors.made
    runner.at(None)  # back to the real clock
    archive.close()
    region.refresh_statistics(ctx)
    images = (archive.studies, archive.instances)
    _summary(console, ctx, Made(rooms, slots, len(people), referrals, merges, images), today)


@contextmanager
def _progress(console: Console) -> Iterator[Progress]:
    columns = (
        TextColumn("{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        yield progress


def _create_region(ctx: Context) -> int:
    region.add_procedure_codes(ctx, procedure_codes())
    rooms = 0
    for site in SITES:
        specs = room_specs(site)
        region.add_site(ctx, site.code, site.name, specs, contact(site))
        rooms += len(specs)
    return rooms


def expected_slots(first: date, last: date) -> int:
    """How many slots the region's weekly hours give between two days (for the bar)."""
    per_weekday = [0] * 7
    for site in SITES:
        for spec in room_specs(site):
            for h in spec.hours:
                opens = datetime.combine(first, h.opens)
                minutes = (datetime.combine(first, h.closes) - opens).total_seconds() / 60
                per_weekday[h.weekday] += int(minutes // h.slot_minutes)
    days = (first + timedelta(days=i) for i in range((last - first).days + 1))
    return sum(per_weekday[d.weekday()] for d in days if is_working_day(d))


def _open_slots(ctx: Context, progress: Progress, first: date, days_after: int) -> int:
    last = local_date(ctx.now()) + timedelta(days=days_after)
    task = progress.add_task("Slots", total=expected_slots(first, last))
    return region.open_slots(ctx, first, last, lambda n: progress.advance(task, n))


def _register(runner: Runner, people: list[Person], progress: Progress) -> None:
    ctx = runner.at(runner.now - timedelta(days=REGISTERED_DAYS_AGO))
    for p in progress.track(people, description="Patients"):
        cmd = registration.NewPatient(p.cpr, p.family_name, p.given_name, p.site)
        registration.register_patient(ctx, cmd, ACTOR)


def _summary(console: Console, ctx: Context, made: Made, today: date) -> None:
    board = tracker.board(ctx)
    table = Table("what", "how many", title="Demo: the Capital Region of Denmark")
    closed = made.referrals - board.open_referrals
    rows: list[tuple[str, int | str]] = [
        ("sites", len(SITES)),
        ("rooms", made.rooms),
        ("slots", made.slots),
        ("patients", made.patients),
        ("merges (undone)", f"{made.merges[0]} ({made.merges[1]})"),
        ("referrals", made.referrals),
        ("  closed, with a reason", closed),
        ("  open", board.open_referrals),
        *((f"    {q.value}", board.by_queue.get(q.value, 0)) for q in Queue),
        ("  overdue", board.overdue),
        ("  not told their date in time", board.notify_overdue),
        ("studies (images)", f"{made.images[0]:,} ({made.images[1]:,})"),
    ]
    for what, count in rows:
        table.add_row(what, f"{count:,}" if isinstance(count, int) else count)
    console.print(table)
    if not is_working_day(today):
        console.print("Today is not a working day: no slots today, so the 'today' queue is empty.")
