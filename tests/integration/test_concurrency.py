"""Races for slots: many bookers at once, and exactly one wins each slot.

The partial unique indexes on active appointments are the rule; these tests race
threads (and OS processes) against them on both backends. Who wins is left to
chance; the counts are not: one active appointment per slot, every loser told
SlotTaken, no procedure half-booked, `lysbord check` clean.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from lysbord.domain.errors import DomainError, MergeRefused, SlotTaken
from lysbord.services.core.context import Context
from lysbord.services.operations.check import run_checks
from lysbord.services.pathway import booking, procedures
from lysbord.services.pathway.procedures import Action
from lysbord.services.people import patients, registration
from lysbord.store.models import Appointment, Event, Procedure, Room, Slot
from tests.helpers import new_patient, new_referral

REPO = Path(__file__).resolve().parents[2]
N_SLOTS = 20
N_THREADS = 8


@dataclass
class Outcome:
    won: list[Any] = field(default_factory=list)
    taken: list[Any] = field(default_factory=list)
    other: list[str] = field(default_factory=list)


def race(n: int, work: Callable[[int], Any]) -> tuple[list[Any], list[BaseException]]:
    """Run ``work(i)`` in ``n`` threads released together; results and errors by thread."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n
    errors: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except BaseException as exc:  # collected and asserted on by the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a booker hung"
    return results, errors


def ct_slots(ctx: Context, n: int) -> list[int]:
    """The first ``n`` future CT slots long enough for a 15-minute CT of the thorax."""
    with ctx.uow(readonly=True) as uow:
        stmt = (
            select(Slot.id)
            .join(Room)
            .where(Room.modality == "CT", Slot.minutes >= 15, Slot.start_at >= ctx.now())
            .order_by(Slot.start_at, Slot.id)
            .limit(n)
        )
        return list(uow.session.scalars(stmt))


def accessions(ctx: Context, n: int) -> list[str]:
    """``n`` requested CT procedures on one referral (one transaction, not ``n``)."""
    return [p.accession for p in new_referral(ctx, codes=("UXCC00",) * n).procedures]


def try_book(ctx: Context, pairs: list[tuple[str, int]]) -> Outcome:
    out = Outcome()
    for accession, slot_id in pairs:
        try:
            booking.book(ctx, accession, slot_id, "racer")
            out.won.append((accession, slot_id))
        except SlotTaken:
            out.taken.append((accession, slot_id))
        except Exception as exc:  # any other answer to a lost race is a bug
            out.other.append(f"{accession} -> {slot_id}: {exc!r}")
    return out


def own_context(ctx: Context) -> Context:
    """A Context per thread, sharing the engine and its pool."""
    return Context(db=ctx.db, settings=ctx.settings, clock=ctx.clock)


def active_by_slot(ctx: Context) -> Counter[int]:
    with ctx.uow(readonly=True) as uow:
        return Counter(uow.session.scalars(select(Appointment.slot_id).where(Appointment.active)))


def states(ctx: Context) -> dict[str, str]:
    with ctx.uow(readonly=True) as uow:
        rows = uow.session.execute(select(Procedure.accession, Procedure.state))
        return dict(rows.tuples().all())


def event_kinds(ctx: Context) -> Counter[str]:
    with ctx.uow(readonly=True) as uow:
        rows = uow.session.execute(select(Event.kind, func.count()).group_by(Event.kind))
        return Counter(dict(rows.tuples().all()))


def assert_checks_clean(ctx: Context) -> None:
    broken = [f for f in run_checks(ctx) if f.count]
    assert not broken, broken


def test_eight_threads_one_winner_per_slot(ctx: Context) -> None:
    slots = ct_slots(ctx, N_SLOTS)
    procs = [accessions(ctx, N_SLOTS) for _ in range(N_THREADS)]

    def work(t: int) -> Outcome:
        order = list(range(N_SLOTS))
        random.Random(t).shuffle(order)
        return try_book(own_context(ctx), [(procs[t][k], slots[k]) for k in order])

    results, errors = race(N_THREADS, work)
    assert not errors, errors
    assert [o for r in results for o in r.other] == []
    won = [w for r in results for w in r.won]
    assert sorted(slot for _, slot in won) == sorted(slots), "exactly one winner per slot"
    assert sum(len(r.taken) for r in results) == N_THREADS * N_SLOTS - N_SLOTS
    assert active_by_slot(ctx) == Counter(slots)
    winners = {acc for acc, _ in won}
    everyone = {a for p in procs for a in p}
    assert states(ctx) == {a: "booked" if a in winners else "requested" for a in everyone}
    assert event_kinds(ctx)["procedure.booked"] == N_SLOTS
    assert_checks_clean(ctx)


def test_two_processes_one_winner_per_slot(ctx: Context) -> None:
    slots = ct_slots(ctx, N_SLOTS)
    procs = [accessions(ctx, N_SLOTS) for _ in range(2)]
    workers = [_spawn(ctx, [(procs[w][k], slots[k]) for k in _order(w)]) for w in range(2)]
    for proc in workers:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    for proc in workers:
        _go(proc)
    outs = [_result(proc) for proc in workers]
    assert [o for out in outs for o in out["other"]] == []
    assert sum(len(out["won"]) for out in outs) == N_SLOTS
    assert sum(len(out["taken"]) for out in outs) == N_SLOTS
    assert active_by_slot(ctx) == Counter(slots)
    won = {a for out in outs for a in out["won"]}
    assert {a for a, s in states(ctx).items() if s == "booked"} == won
    assert_checks_clean(ctx)


def test_same_procedure_into_two_slots_at_once(ctx: Context) -> None:
    """Two clerks book one procedure into different slots: it ends up booked exactly once."""
    slots = ct_slots(ctx, 20)
    for r, acc in enumerate(accessions(ctx, 10)):
        pair = slots[2 * r : 2 * r + 2]
        results = race_pairs(ctx, [(acc, pair[0]), (acc, pair[1])])
        wins = [slot for x in results for _, slot in x.won]
        assert wins, f"round {r}: nobody booked {acc}"
        rows = appointments_of(ctx, acc)
        active = [slot for slot, is_active, _ in rows if is_active]
        assert len(active) == 1 and active[0] in wins, f"round {r}: {rows}"
        assert len(rows) == len(wins), f"round {r}: a refused booking left a row: {rows}"
    kinds = event_kinds(ctx)
    assert kinds["procedure.booked"] == 10
    assert states(ctx) == dict.fromkeys(states(ctx), "booked")
    assert_checks_clean(ctx)


def test_two_rebookings_of_one_procedure_at_once(ctx: Context) -> None:
    """Both clerks move a booked procedure: one appointment stays, the old slot is free."""
    slots, moves = ct_slots(ctx, 30), 0
    for r, acc in enumerate(accessions(ctx, 10)):
        old, targets = slots[3 * r], slots[3 * r + 1 : 3 * r + 3]
        booking.book(ctx, acc, old, "clerk")
        results = race_pairs(ctx, [(acc, targets[0]), (acc, targets[1])])
        wins = [slot for x in results for _, slot in x.won]
        rows = appointments_of(ctx, acc)
        active = [slot for slot, is_active, _ in rows if is_active]
        assert len(active) == 1 and active[0] in targets, f"round {r}: {rows}"
        assert len(rows) == 1 + len(wins), f"round {r}: {rows}"
        assert {reason for _, a, reason in rows if not a} == {"rebooked"}
        moves += len(wins)
    assert event_kinds(ctx)["procedure.rebooked"] == moves
    assert_checks_clean(ctx)


def test_rebooking_loser_keeps_its_old_slot(ctx: Context) -> None:
    """Two booked procedures race for one free slot: the loser is told, and keeps its time."""
    slots = ct_slots(ctx, 30)
    for r in range(10):
        accs, (old_a, old_b, wanted) = accessions(ctx, 2), slots[3 * r : 3 * r + 3]
        for acc, old in zip(accs, (old_a, old_b), strict=True):
            booking.book(ctx, acc, old, "clerk")
        results = race_pairs(ctx, [(accs[0], wanted), (accs[1], wanted)])
        won = [acc for x in results for acc, _ in x.won]
        lost = [acc for x in results for acc, _ in x.taken]
        assert len(won) == 1 and len(lost) == 1, f"round {r}: {results}"
        still = dict(zip(accs, (old_a, old_b), strict=True))[lost[0]]
        assert _active_slot(ctx, won[0]) == wanted
        assert _active_slot(ctx, lost[0]) == still, f"round {r}: the loser lost its old slot"
    assert_checks_clean(ctx)


def test_cancel_and_move_one_appointment_at_once(ctx: Context) -> None:
    """A clerk cancels the appointment while another moves (or holds) the procedure.

    Either may win, but the loser must get a domain answer (Conflict,
    IllegalTransition), not a database error. Every use case locks the procedure
    before its appointment, so the two never deadlock.
    """
    slots = ct_slots(ctx, 30)
    for r, acc in enumerate(accessions(ctx, 10)):
        appt = booking.book(ctx, acc, slots[3 * r], "clerk")
        work = _cancel_or_move(ctx, appt.id, acc, slots[3 * r + 1], hold=bool(r % 2))
        _, errors = race(2, work)
        assert all(isinstance(e, DomainError) for e in errors), f"round {r}: {errors!r}"
        assert sum(active for _, active, _ in appointments_of(ctx, acc)) <= 1
    assert_checks_clean(ctx)


@pytest.mark.parametrize("chain", [False, True], ids=["opposite", "chained"])
def test_two_merges_at_once(ctx: Context, chain: bool) -> None:
    """Clerks merge A into B and B into A (or B into C) at the same moment.

    The outcome must be one survivor per person and no merged record holding
    referrals: merge_patients locks both records in id order, so the second merge
    sees the first (no merge cycle, no referrals left on a merged record).
    """
    for r in range(10):
        a, b, c = (new_patient(ctx) for _ in range(3))
        for cpr in (a, b, c):
            new_referral(ctx, cpr)
        jobs = [(a, b), (b, c if chain else a)]
        _, errors = race(2, lambda i, jobs=jobs: _merge(ctx, *jobs[i]))
        assert all(isinstance(e, MergeRefused) for e in errors), f"round {r}: {errors!r}"
        survivors = {registration.get_patient(ctx, cpr).id for cpr in (a, b)}
        assert len(survivors) == 1, f"round {r}: {a} and {b} are still two people"
        assert_checks_clean(ctx)


def _merge(ctx: Context, source: str, target: str) -> object:
    return patients.merge_patients(own_context(ctx), source, target, "dublet", "clerk")


def race_pairs(ctx: Context, pairs: list[tuple[str, int]]) -> list[Outcome]:
    """Each (accession, slot) booked by its own thread, all at once; none may crash."""
    results, errors = race(len(pairs), lambda i: try_book(own_context(ctx), [pairs[i]]))
    assert not errors and [o for x in results for o in x.other] == [], (errors, results)
    return results


def _cancel_or_move(
    ctx: Context, appointment_id: int, accession: str, slot_id: int, *, hold: bool
) -> Callable[[int], object]:
    """Thread 0 cancels the appointment; thread 1 holds the procedure or moves it."""

    def work(i: int) -> object:
        c = own_context(ctx)
        if i == 0:
            return booking.cancel_appointment(c, appointment_id, "flyttet", "clerk")
        if hold:
            return procedures.act(c, accession, Action.HOLD, "clerk", "venter på svar")
        return booking.book(c, accession, slot_id, "clerk")

    return work


def appointments_of(ctx: Context, accession: str) -> list[tuple[int, bool, str | None]]:
    """(slot, active, end reason) of every appointment the procedure ever had, oldest first."""
    with ctx.uow(readonly=True) as uow:
        stmt = (
            select(Appointment.slot_id, Appointment.active, Appointment.end_reason)
            .join(Procedure, Procedure.id == Appointment.procedure_id)
            .where(Procedure.accession == accession)
            .order_by(Appointment.id)
        )
        return [tuple(row) for row in uow.session.execute(stmt)]  # type: ignore[misc]


def _active_slot(ctx: Context, accession: str) -> int | None:
    return next((s for s, active, _ in appointments_of(ctx, accession) if active), None)


def _order(seed: int) -> list[int]:
    order = list(range(N_SLOTS))
    random.Random(seed).shuffle(order)
    return order


def _spawn(ctx: Context, pairs: list[tuple[str, int]]) -> subprocess.Popen[str]:
    url = ctx.db.engine.url.render_as_string(hide_password=False)
    args = [url, ctx.now().isoformat(), json.dumps({"pairs": pairs})]
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.concurrency_worker", *args],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def _go(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.write("go\n")
    proc.stdin.flush()


def _result(proc: subprocess.Popen[str]) -> dict[str, list[str]]:
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    result: dict[str, list[str]] = json.loads(out.strip().splitlines()[-1])
    return result
