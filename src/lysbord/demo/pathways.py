"""Playing each referral's story through the services, at the moments it happened.

A story picks a window for its slot (weeks ago for a reported CT, the last hours
for one in progress, next month for one booked ahead), lets the referral arrive
a priority-typical lead time before it, books it through the region-wide search,
and takes the steps that belong to its fate. When no slot fits the window the
story stops early and the referral simply waits in the booking queue: still a
true state, never an invented one.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from lysbord.demo import texts
from lysbord.demo.plans import Plan
from lysbord.demo.priors import Priors
from lysbord.demo.runner import Booked, Runner
from lysbord.domain.calendar import is_working_day, local_date, local_datetime
from lysbord.domain.priorities import Priority
from lysbord.services.pathway.procedures import Action

HOUR, DAY = timedelta(hours=1), timedelta(days=1)
#: How long before the slot a referral of each priority typically arrives (days).
LEAD_DAYS = {
    Priority.CANCER_PATHWAY: (1.0, 6.0),
    Priority.URGENT: (1.0, 5.0),
    Priority.ROUTINE: (4.0, 25.0),
    Priority.FOLLOW_UP: (20.0, 60.0),
}
#: How long a referral that is still waiting (and not late) may have waited (days).
FRESH_DAYS = {
    Priority.ACUTE: 0.08,
    Priority.CANCER_PATHWAY: 5.0,
    Priority.URGENT: 3.0,
    Priority.ROUTINE: 20.0,
    Priority.FOLLOW_UP: 60.0,
}
#: Received this many days ago, the referral is past its deadline unbooked.
LATE_DAYS = {
    Priority.CANCER_PATHWAY: (15, 25),
    Priority.URGENT: (8, 20),
    Priority.ROUTINE: (31, 55),
    Priority.ACUTE: (1, 3),
}


class Pathways:
    """The stories; ``history`` days of past slots and slots until ``horizon``."""

    def __init__(self, runner: Runner, history_days: int, horizon: datetime) -> None:
        self.r = runner
        self.rng = runner.rng
        self.now = runner.now
        self.history_days = history_days
        self.horizon = horizon
        self.priors = Priors(runner, history_days)

    # --- moments -------------------------------------------------------------------

    def daytime(self, day: date) -> datetime:
        """A moment in working hours on ``day``, never after now."""
        t = time(7 + self.rng.randrange(7), self.rng.randrange(60))
        return min(local_datetime(day, t), self.now)

    def days_ago(self, lo: float, hi: float) -> datetime:
        return self.now - timedelta(days=self.rng.uniform(lo, hi))

    def past_day_start(self, lo_days: float, hi_days: float) -> datetime:
        """A moment in working hours some days ago: where a past slot window opens."""
        return self.daytime(local_date(self.days_ago(lo_days, hi_days)))

    def last_working_start(self) -> datetime:
        """07:00 on the last working day whose morning has begun (today, or before)."""
        day = local_date(self.now)
        if not is_working_day(day) or self.now < local_datetime(day, time(9)):
            day -= DAY
            while not is_working_day(day):
                day -= DAY
        return local_datetime(day, time(7))

    # --- the common path -----------------------------------------------------------

    def receive(self, p: Plan, slot_from: datetime) -> tuple[datetime, list[str]]:
        """The referral arrives a lead time before ``slot_from`` (follow-ups name a date)."""
        requested: date | None = None
        if p.priority is Priority.ACUTE:
            at = slot_from - timedelta(minutes=self.rng.randint(5, 60))
        else:
            lo, hi = LEAD_DAYS[p.priority]
            at = self.daytime(local_date(slot_from - DAY * self.rng.uniform(lo, hi)))
        if p.priority is Priority.FOLLOW_UP:
            requested = local_date(slot_from) + DAY * self.rng.randint(-7, 7)
        if at > self.now:  # the slot is soon: the referral came in lately
            longest = 60 if p.priority is Priority.ACUTE else 60 * 24 * 3
            at = self.now - timedelta(minutes=self.rng.randint(5, longest))
        return at, self._create(p, at, requested)

    def _create(self, p: Plan, at: datetime, requested: date | None) -> list[str]:
        return self.r.receive(p.person.cpr, at, p.priority, p.codes, p.question, p.unit, requested)

    def book_all(self, p: Plan, *windows: tuple[datetime, datetime]) -> list[Booked]:
        """Receive, then book every procedure in the first window with room.

        The referral arrives before the earliest window opens; it stays waiting for
        booking if no window has a fitting slot.
        """
        received, accessions = self.receive(p, min(lo for lo, _ in windows))
        booked: list[Booked] = []
        for acc in accessions:
            b = self._book_one(acc, received, windows)
            if b is None:
                break
            booked.append(b)
        return booked

    def _book_one(
        self, acc: str, received: datetime, windows: tuple[tuple[datetime, datetime], ...]
    ) -> Booked | None:
        for lo, hi in windows:
            if hi <= lo:
                continue
            at = received + (lo - received) * self.rng.uniform(0.05, 0.5)
            b = self.r.book(acc, min(max(at, received), self.now), lo, hi)
            if b is not None:
                return b
        return None

    def past(self, p: Plan, lo_days: float, hi_days: float, upto: str | None) -> list[Booked]:
        """Booked into a slot some days ago and performed as far as ``upto``."""
        lo = self.past_day_start(max(2.0, lo_days), max(2.0, hi_days))
        booked = self.book_all(p, (lo, min(lo + 3 * DAY, self.now - 20 * HOUR)))
        for b in booked:
            if upto is not None:
                self.r.perform(b, upto)
        return booked

    def future(self, p: Plan) -> list[Booked]:
        """Received lately, booked into a slot from now on (follow-ups near their date)."""
        if p.priority is Priority.FOLLOW_UP:
            span = max(1, min(60, (self.horizon - self.now).days - 25))
            first = self.now + DAY * self.rng.randint(1, span)
            return self.book_all(p, (first, self.horizon))
        lo, hi = LEAD_DAYS.get(p.priority, (0.1, 1.0))
        first = self.now + DAY * self.rng.uniform(0.2, max(0.3, hi - lo))
        return self.book_all(p, (first, self.horizon))

    # --- the fates -----------------------------------------------------------------

    def play(self, p: Plan) -> None:
        getattr(self, "fate_" + p.fate.name.lower())(p)

    def fate_reported(self, p: Plan) -> None:
        self.priors.maybe(p, self.past(p, 2, self.history_days - 3, "report"))

    def fate_awaiting_report(self, p: Plan) -> None:
        self.priors.maybe(p, self.past(p, 1, 6, "images"))

    def fate_discontinued(self, p: Plan) -> None:
        for b in self.past(p, 1, self.history_days - 3, "start"):
            reason = self.rng.choice(texts.DISCONTINUE)
            self.r.act(b.accession, Action.DISCONTINUE, b.start_at + self.r.minutes(6, 12), reason)

    def fate_awaiting_images(self, p: Plan) -> None:
        end = self.now - 40 * timedelta(minutes=1)
        windows = ((self.now - 4 * HOUR, end), (self.last_working_start(), end))
        for b in self.book_all(p, *windows):
            self.r.perform(b, "complete")

    def fate_in_progress(self, p: Plan) -> None:
        end = self.now - 10 * timedelta(minutes=1)
        for b in self.book_all(p, (self.now - HOUR, end), (self.last_working_start(), end)):
            self.r.perform(b, "start")

    def fate_arrived(self, p: Plan) -> None:
        windows = ((self.now - HOUR, self.now + HOUR), (self.last_working_start(), self.now))
        for b in self.book_all(p, *windows):
            self.r.perform(b, "arrive")

    def fate_today(self, p: Plan) -> None:
        """A slot today, later if possible; on a day without slots, the next one."""
        today = local_date(self.now)
        start, end = local_datetime(today, time(0)), local_datetime(today + DAY, time(0))
        if is_working_day(today):
            self.book_all(p, (self.now + 5 * timedelta(minutes=1), end), (start, end))
        else:
            self.future(p)

    def fate_booked(self, p: Plan) -> None:
        self.future(p)

    def fate_rebooked(self, p: Plan) -> None:
        """Moved to a later time, or cancelled and booked again, or booked after a no-show."""
        way = self.rng.randrange(3)
        booked = self.past(p, 2, 15, None) if way == 2 else self.future(p)
        for b in booked:
            at = self.rng.uniform(0.1, 0.9) * (self.now - b.booked_at) + b.booked_at
            if way == 0:
                self.r.book(b.accession, at, max(b.start_at + DAY, self.now), self.horizon)
            elif way == 1:
                self.r.cancel_appointment(b, at, self.rng.choice(texts.APPOINTMENT_CANCEL))
                self.r.book(
                    b.accession, min(at + self.r.minutes(2, 10), self.now), self.now, self.horizon
                )
            else:
                self.no_show(b)
                self.r.book(b.accession, min(b.end_at + DAY, self.now), self.now, self.horizon)

    def no_show(self, b: Booked) -> None:
        self.r.act(b.accession, Action.NO_SHOW, b.start_at + self.r.minutes(20, 40))

    def fate_no_show(self, p: Plan) -> None:
        for b in self.past(p, 2, 20, None):
            self.no_show(b)

    def fate_appointment_cancelled(self, p: Plan) -> None:
        for b in self.future(p):
            at = self.rng.uniform(0.2, 1.0) * (self.now - b.booked_at) + b.booked_at
            self.r.cancel_appointment(b, at, self.rng.choice(texts.APPOINTMENT_CANCEL))

    def waiting(self, p: Plan, days: tuple[float, float], requested: date | None) -> list[str]:
        at = self.days_ago(*days)
        return self._create(p, at, requested)

    def fate_awaiting(self, p: Plan) -> None:
        """Received lately and not booked yet; a few were on hold and released again."""
        requested = local_date(self.now) + DAY * self.rng.randint(20, 70)
        fresh = FRESH_DAYS[p.priority]
        accessions = self.waiting(
            p, (0.0, fresh), requested if p.priority is Priority.FOLLOW_UP else None
        )
        if self.rng.random() < 0.1:
            self.hold(accessions, release=True)

    def hold(self, accessions: list[str], release: bool = False) -> None:
        reason = self.rng.choice(texts.HOLD)
        for acc in accessions:
            at = self.r.clock() + self.r.minutes(10, 600)
            self.r.act(acc, Action.HOLD, min(at, self.now), reason)
            if release:
                self.r.act(acc, Action.RELEASE, min(at + self.r.minutes(60, 2000), self.now))

    def fate_overdue(self, p: Plan) -> None:
        if p.priority is Priority.FOLLOW_UP:
            requested = local_date(self.now) - DAY * self.rng.randint(16, 40)
            self.waiting(p, (45.0, 80.0), requested)
            return
        lo, hi = LATE_DAYS[p.priority]
        self.waiting(p, (lo, hi), None)

    def fate_notify_late(self, p: Plan) -> None:
        self.waiting(p, (11.5, 13.5), None)

    def fate_on_hold(self, p: Plan) -> None:
        if self.rng.random() < 0.7 or p.priority is Priority.FOLLOW_UP:
            requested = local_date(self.now) + DAY * self.rng.randint(10, 60)
            is_follow_up = p.priority is Priority.FOLLOW_UP
            self.hold(self.waiting(p, (1.0, 15.0), requested if is_follow_up else None))
            return
        booked = self.future(p)
        self.hold([b.accession for b in booked])

    def fate_cancelled(self, p: Plan) -> None:
        """Withdrawn before booking, or cancelled after it (the slot is given back)."""
        if self.rng.random() < 0.5 and p.priority is not Priority.FOLLOW_UP:
            accessions = self.waiting(p, (1.0, 30.0), None)
        else:
            accessions = [b.accession for b in self.future(p)]
        reason = self.rng.choice(texts.CANCEL)
        for acc in accessions:
            at = self.r.clock() + self.r.minutes(30, 3000)
            self.r.act(acc, Action.CANCEL, min(at, self.now), reason)
