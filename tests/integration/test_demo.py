"""The demo region: made only through the services, every queue filled, every check holding."""

from __future__ import annotations

import io
import random
from datetime import date

from rich.console import Console
from sqlalchemy import select

from lysbord.demo import build_demo, region_exists
from lysbord.demo.people import make_people
from lysbord.demo.plans import Fate, Plan, make_plans
from lysbord.domain.cpr import IdKind, parse_person_number
from lysbord.domain.priorities import Priority
from lysbord.domain.tracking import Queue
from lysbord.services.core.context import Context
from lysbord.services.operations import region
from lysbord.services.operations.check import run_checks
from lysbord.services.pathway import referral_queries, tracker
from lysbord.services.pathway.referral_queries import ReferralFilter
from lysbord.store.models import PatientMerge

#: A shorter slot calendar than the real demo's year, to keep the tests fast.
SHORT = {"days_before": 21, "days_after": 35}


def test_demo_fills_every_queue_and_holds_every_invariant(bare_ctx: Context) -> None:
    assert not region_exists(bare_ctx)
    out = io.StringIO()
    build_demo(bare_ctx, scale=0.02, seed=1, console=Console(file=out), **SHORT)

    assert region_exists(bare_ctx)
    sites = region.list_sites(bare_ctx)
    assert len(sites) == 9
    assert sum(len(s.rooms) for s in sites) >= 45
    assert len(region.list_procedure_codes(bare_ctx)) >= 35
    board = tracker.board(bare_ctx)
    empty = [q.value for q in Queue if board.by_queue.get(q.value, 0) == 0]
    assert empty == [], f"queues without an open referral: {empty}; board {board.by_queue}"
    closed, total = referral_queries.list_referrals(
        bare_ctx, ReferralFilter(state="closed", limit=200)
    )
    assert total > 0
    assert all(r.close_reason for r in closed)
    assert {r.close_reason for r in closed} >= {"all procedures reported", "ended: cancelled"}
    for priority in Priority:  # screening needs a round's due date, which intake cannot take
        _, n = referral_queries.list_referrals(bare_ctx, ReferralFilter(priority=priority, limit=1))
        assert (n > 0) == (priority is not Priority.SCREENING), priority
    with bare_ctx.uow(readonly=True) as uow:
        merges = [(m.reason, m.undone_at) for m in uow.session.scalars(select(PatientMerge))]
    assert len(merges) >= 2 and all(reason for reason, _ in merges)
    assert sum(undone is not None for _, undone in merges) == 1
    broken = [f for f in run_checks(bare_ctx) if f.count]
    assert broken == []
    assert "Demo: the Capital Region of Denmark" in out.getvalue()


def test_demo_people_have_valid_numbers_and_danish_names() -> None:
    people = make_people(random.Random(5), 600, date(2026, 11, 23), [("RH", 2), ("BOH", 1)])
    numbers = [parse_person_number(p.cpr) for p in people]
    assert len({n.value for n in numbers}) == len(people)
    assert all(
        n.birth_date == p.birth_date and n.sex == p.sex
        for n, p in zip(numbers, people, strict=True)
    )
    assert {n.kind for n in numbers} == set(IdKind)
    assert {p.sex for p in people} == {"M", "F"}
    ages = [p.age_on(date(2026, 11, 23)) for p in people]
    assert min(ages) < 18 and max(ages) > 80
    letters = set("".join(p.given_name + p.family_name for p in people))
    assert {"æ", "ø", "å", "Æ", "Ø", "Å"} <= letters
    assert {p.site for p in people} == {"RH", "BOH"}


def test_demo_plans_are_the_same_for_the_same_seed() -> None:
    def plans(seed: int) -> list[Plan]:
        rng = random.Random(seed)
        people = make_people(rng, 200, date(2026, 11, 23), [("RH", 1), ("HEH", 1)])
        return make_plans(people, 210, date(2026, 11, 23), rng)

    assert plans(7) == plans(7)
    assert plans(7) != plans(8)
    assert {p.fate for p in plans(7)} == set(Fate)
