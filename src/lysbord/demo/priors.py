"""Earlier studies at other hospitals: what a radiologist reads a case beside.

Some patients whose images have arrived were examined before, for the same body part,
at another hospital of the region: a routine referral weeks earlier, booked at another
site, performed (its images stored like any other) and reported. The reading screen then
shows that study with its signed report among the case's priors, the point of one
regional archive. It must have happened before the current examination and within the
demo's slots; when no slot of another site fits, the earlier referral is withdrawn.
"""

from __future__ import annotations

from datetime import timedelta

from lysbord.demo import texts
from lysbord.demo.plans import Fate, Plan, earlier_plan
from lysbord.demo.region_data import SITES
from lysbord.demo.runner import Booked, Runner
from lysbord.domain.calendar import local_date
from lysbord.services.pathway.procedures import Action

DAY = timedelta(days=1)
#: How often a case of each fate has an earlier study elsewhere.
SHARE = {Fate.AWAITING_REPORT: 0.3, Fate.REPORTED: 0.03}
#: At least this long between the earlier examination and the current one.
GAP = 7 * DAY


class Priors:
    """Earlier studies within ``history_days`` of slots before now."""

    def __init__(self, runner: Runner, history_days: int) -> None:
        self.r = runner
        self.history_days = history_days
        self.made = 0  # referrals, for the summary

    def maybe(self, plan: Plan, booked: list[Booked]) -> None:
        """Now and then, an earlier study for the first of a referral's procedures; always
        for the first case awaiting its report, so that even a tiny demo has one."""
        first = self.made == 0 and plan.fate is Fate.AWAITING_REPORT
        if booked and (first or self.r.rng.random() < SHARE.get(plan.fate, 0.0)):
            self.play(plan, booked[0])

    def play(self, plan: Plan, current: Booked) -> None:
        rng, now = self.r.rng, self.r.now
        lo = now - DAY * (self.history_days - 2)
        hi = current.start_at - GAP
        if hi - lo < DAY:
            return
        prior = earlier_plan(plan, local_date(now), rng)
        received = lo - DAY * rng.uniform(3, 20)
        p = prior
        accessions = self.r.receive(p.person.cpr, received, p.priority, p.codes, p.question, p.unit)
        self.made += 1
        others = [s.code for s in SITES if s.code != current.site]
        for acc in accessions:
            b = self.r.book(acc, received + DAY * rng.uniform(0.1, 2), lo, hi, others)
            if b is None:
                self.r.act(acc, Action.CANCEL, received + DAY * 2.5, rng.choice(texts.CANCEL))
            else:
                self.r.perform(b, "report")
