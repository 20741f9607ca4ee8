"""Driving the real services at chosen moments, so the demo's past is a real past.

The services read the time from the Context's clock. The runner owns a small
mutable clock, sets it to the moment each step happens (a referral received 20 days
ago, booked an hour later, performed at the slot time...) and calls the service
through a Context that carries that clock. Every event, deadline and check is
therefore the service's own; nothing is written around it.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta

from lysbord.demo import texts
from lysbord.demo.images.store import DemoArchive, scheduled_exam
from lysbord.domain.priorities import Priority
from lysbord.services.core.context import Context
from lysbord.services.pathway import booking, procedures, referrals
from lysbord.services.pathway.booking import SlotOffer, SlotSearch
from lysbord.services.pathway.procedures import Action
from lysbord.services.pathway.reports import write_report

CLERK = "demo-sekretær"
RADIOGRAPHER = "demo-radiograf"
RADIOLOGIST = "demo-radiolog"
AUTHOR = "radiolog"  # the demo's radiologist user (users.py) signs the reports
REFERRER = "demo-henviser"
OFFERS = 8


class SimClock:
    """A clock set by hand; unset, it is the real clock it stands in for."""

    def __init__(self, real: Callable[[], datetime]) -> None:
        self.real = real
        self.at: datetime | None = None

    def __call__(self) -> datetime:
        return self.at if self.at is not None else self.real()


@dataclasses.dataclass
class Booked:
    """One procedure in a slot: what later steps need to know about it."""

    accession: str
    appointment_id: int
    start_at: datetime
    end_at: datetime
    booked_at: datetime
    site: str


class Runner:
    """Service calls at given moments; never later than ``now`` (the demo's present)."""

    def __init__(
        self, ctx: Context, rng: random.Random, now: datetime, archive: DemoArchive
    ) -> None:
        self.clock = SimClock(ctx.clock)
        self.ctx = dataclasses.replace(ctx, clock=self.clock)
        self.rng = rng
        self.now = now
        self.archive = archive

    def at(self, moment: datetime | None) -> Context:
        """The context at ``moment`` (None: the real clock); the future is refused."""
        if moment is not None and moment > self.now:
            raise ValueError(f"demo step at {moment.isoformat()} lies after now {self.now}")
        self.clock.at = moment
        return self.ctx

    def receive(
        self,
        cpr: str,
        at: datetime,
        priority: Priority,
        codes: Sequence[str],
        question: str,
        unit: str,
        requested_date: date | None = None,
    ) -> list[str]:
        """A referral arrives at ``at``; returns its accession numbers."""
        cmd = referrals.NewReferral(
            cpr=cpr,
            referring_unit=unit,
            clinical_question=question,
            priority=priority,
            procedures=list(codes),
            requested_date=requested_date,
        )
        view = referrals.create_referral(self.at(at), cmd, REFERRER)
        return [p.accession for p in view.procedures]

    def book(
        self,
        accession: str,
        at: datetime | None,
        start_from: datetime,
        start_before: datetime,
        sites: Sequence[str] | None = None,
    ) -> Booked | None:
        """Book one of the first free slots in the window (at one of ``sites``, if given),
        as a clerk would; None if none."""
        ctx = self.at(at)
        search = SlotSearch(accession, sites, start_from=start_from, start_before=start_before)
        offers = booking.find_slots(ctx, dataclasses.replace(search, limit=OFFERS))
        offers = [o for o in offers if start_from <= o.start_at < start_before]
        if not offers:
            return None
        offer = self._pick(offers)
        view = booking.book(ctx, accession, offer.slot_id, CLERK)
        return Booked(accession, view.id, offer.start_at, offer.end_at, ctx.now(), offer.site_code)

    def _pick(self, offers: list[SlotOffer]) -> SlotOffer:
        """Mostly the first offer (the preferred site, within the deadline), not always."""
        return offers[0] if self.rng.random() < 0.6 else self.rng.choice(offers[:4])

    def act(self, accession: str, action: Action, at: datetime, reason: str | None = None) -> None:
        actor = CLERK if action in (Action.CANCEL, Action.HOLD, Action.RELEASE) else RADIOGRAPHER
        procedures.apply(self.at(at), accession, action, actor, reason)

    def cancel_appointment(self, b: Booked, at: datetime, reason: str) -> None:
        booking.cancel_appointment(self.at(at), b.appointment_id, reason, CLERK)

    def minutes(self, lo: int, hi: int) -> timedelta:
        return timedelta(minutes=self.rng.randint(lo, hi))

    def perform(self, b: Booked, upto: str) -> None:
        """The scanner's part at the slot time: arrive, start, complete, images, report.

        ``upto`` names the last step taken (``arrive``, ``start``, ``complete``,
        ``images`` or ``report``); the report comes hours to days later, never after now.
        The scanner reads the patient from its worklist once arrived, and its images
        reach the archive minutes after the examination.
        """
        steps = ("arrive", "start", "complete", "images", "report")
        arrive = max(b.booked_at + timedelta(minutes=1), b.start_at - self.minutes(2, 20))
        self.act(b.accession, Action.ARRIVE, min(arrive, self.now))
        start = min(max(arrive + timedelta(minutes=1), b.start_at + self.minutes(0, 5)), self.now)
        if steps.index(upto) >= 3:
            exam = scheduled_exam(self.ctx, b.accession, start)
        if steps.index(upto) >= 1:
            self.act(b.accession, Action.START, start)
        if steps.index(upto) >= 2:
            self.act(b.accession, Action.COMPLETE, b.end_at)
        if steps.index(upto) >= 3:
            self.archive.store(self.at(min(b.end_at + self.minutes(1, 25), self.now)), exam)
        if steps.index(upto) >= 4:
            at = self.at(min(b.end_at + self.minutes(60, 60 * 48), self.now))
            text = texts.report_text(exam.code_name, exam.body_part)
            write_report(at, b.accession, text=text, author=AUTHOR, final=True, actor=RADIOLOGIST)
