"""Test data builders: a small region and random identifiers (never shared literals)."""

from __future__ import annotations

import asyncio
import random
import string
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import date, time, timedelta
from typing import Any, TypeVar

from lysbord.domain.cpr import parse_person_number
from lysbord.domain.priorities import Priority
from lysbord.domain.slots import OpeningHours
from lysbord.services.core.context import Context
from lysbord.services.operations.region import (
    CodeView,
    RoomSpec,
    SiteContact,
    add_procedure_codes,
    add_site,
    open_slots,
)
from lysbord.services.pathway import referrals
from lysbord.services.pathway.views import ReferralView
from lysbord.services.people import registration

WEEKDAYS = range(5)
T = TypeVar("T")


def run_loop(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``asyncio.run`` on a thread of its own: the Playwright fixtures of the browser
    tests keep an event loop running on this process's main thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(main())).result()


CODES = [
    CodeView("UXCC00", "CT af thorax", "CT", 15, "CHEST", ""),
    CodeView("UXCD00", "CT af abdomen", "CT", 30, "ABDOMEN", "Faste 4 timer"),
    CodeView("UXMA00", "MR af hjerne", "MR", 30, "HEAD", ""),
    CodeView("UXRC00", "Røntgen af thorax", "DX", 10, "CHEST", ""),
    CodeView("UXUD00", "UL af abdomen", "US", 20, "ABDOMEN", ""),
]


def hours(slot_minutes: int, opens: time = time(8), closes: time = time(12)) -> list[OpeningHours]:
    return [OpeningHours(d, opens, closes, slot_minutes) for d in WEEKDAYS]


def build_small_region(ctx: Context, weeks: int = 4) -> None:
    add_procedure_codes(ctx, CODES)
    add_site(
        ctx,
        "AAA",
        "Alfa Hospital",
        [
            RoomSpec("CT1", "CT 1", "CT", "AAACT1", hours(15)),
            RoomSpec("MR1", "MR 1", "MR", "AAAMR1", hours(30)),
            RoomSpec("DX1", "Røntgen 1", "DX", "AAADX1", hours(10)),
        ],
        SiteContact("Booking Alfa", "+45 0000 0001"),
    )
    add_site(
        ctx,
        "BBB",
        "Beta Hospital",
        [
            RoomSpec("CT1", "CT 1", "CT", "BBBCT1", hours(30)),
            RoomSpec("US1", "UL 1", "US", "BBBUS1", hours(20)),
        ],
        SiteContact("Booking Beta", "+45 0000 0002"),
    )
    first = ctx.now().date()
    open_slots(ctx, first, first + timedelta(weeks=weeks))


def random_cpr(rng: random.Random | None = None, *, female: bool | None = None) -> str:
    """A valid CPR number (date and century rule), unique enough for one test."""
    rng = rng or random.Random()
    while True:
        born = date(1930, 1, 1) + timedelta(days=rng.randrange(0, 365 * 90))
        yy = born.year % 100
        seventh = rng.choice([0, 1, 2, 3]) if born.year < 2000 else 4
        if born.year >= 2000 and yy > 36:
            continue
        last = rng.randrange(0, 10)
        if female is not None:
            last = last - last % 2 + (0 if female else 1)
        text = f"{born:%d%m%y}{seventh}{rng.randrange(0, 100):02d}{last}"
        if parse_person_number(text).birth_date == born:
            return text


def random_replacement_number(rng: random.Random | None = None) -> str:
    """A national replacement number (X-eCPR): DDMMYY, century digit 1, two letters A-Z
    and a sex digit, as an unidentified patient gets (DOMAIN.md §2)."""
    rng = rng or random.Random()
    born = date(1930, 1, 1) + timedelta(days=rng.randrange(0, 365 * 60))
    letters = "".join(rng.choice(string.ascii_uppercase) for _ in range(2))
    return f"{born:%d%m%y}1{letters}{rng.randrange(10)}"


def new_patient(ctx: Context, **kwargs: str) -> str:
    cpr = kwargs.pop("cpr", None) or random_cpr()
    registration.register_patient(
        ctx,
        registration.NewPatient(
            cpr, kwargs.pop("family_name", "Sørensen"), kwargs.pop("given_name", "Åse")
        ),
        "tester",
    )
    return cpr


def new_referral(
    ctx: Context,
    cpr: str | None = None,
    *,
    codes: tuple[str, ...] = ("UXCC00",),
    priority: Priority = Priority.ROUTINE,
    **kwargs: object,
) -> ReferralView:
    cpr = cpr or new_patient(ctx)
    said = {"referring_unit": "Lungemedicinsk afd.", "clinical_question": "Mistanke om lungecancer"}
    cmd = referrals.NewReferral(
        cpr=cpr, priority=priority, procedures=list(codes), **(said | kwargs)
    )  # type: ignore[arg-type]
    return referrals.create_referral(ctx, cmd, "tester")
