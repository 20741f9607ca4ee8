"""Random walks through the services, checking after every step that nobody is lost.

A Hypothesis state machine registers patients, creates referrals, books, rebooks,
cancels, moves procedures through every action, merges and un-merges patients and
lets time pass, while a plain-Python model predicts each outcome: which refusal
(DomainError subclass) a step must get, or what the database must look like after
it. After every step the whole database is compared with the model: procedure
states, active appointments, referral owners and closures, queues on the board,
the event count (no change without an event, no trace of a refusal) and
`lysbord check`. Each example starts from a fresh database with the small region.
"""

from __future__ import annotations

import random
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select, text

from lysbord.config import Settings
from lysbord.domain import errors as E
from lysbord.domain.calendar import local_date
from lysbord.domain.priorities import Priority
from lysbord.domain.slots import modalities_compatible
from lysbord.domain.tracking import ProcedureSnapshot, referral_queue
from lysbord.domain.workflow import TERMINAL, TRANSITIONS, ProcedureState, needs_reason
from lysbord.services.core.context import Context
from lysbord.services.operations.check import run_checks
from lysbord.services.pathway import booking, procedures, referrals, tracker
from lysbord.services.pathway.procedures import FREES_SLOT, TARGETS, Action
from lysbord.services.people import patients, registration
from lysbord.store.db import make_engine
from lysbord.store.models import Appointment, Event, Procedure, Referral, Room, Slot
from lysbord.store.uow import Database
from tests.conftest import BACKENDS, T0, Clock, _truncate
from tests.helpers import CODES, build_small_region, random_cpr

S = ProcedureState
DURATION = {c.code: (c.modality, c.duration_minutes) for c in CODES}
IDX = st.integers(0, 1000)
#: One in five reasons is blank: refusals are tested, but most steps should go through.
REASONS = st.sampled_from(["", "patienten ønsker det", "scanner defekt", "dublet", "fejl"])
WALK = settings(
    max_examples=25,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
Outcome = type[E.DomainError] | None
#: What a walk writes; the region (sites, rooms, codes, slots) is built once per test.
WALK_TABLES = ("events", "appointments", "procedures", "patient_merges", "referrals",
               "patient_identifiers", "patients")  # fmt: skip
#: The next step of a procedure that goes well.
FORWARD = {
    S.BOOKED: Action.ARRIVE,
    S.ARRIVED: Action.START,
    S.IN_PROGRESS: Action.COMPLETE,
    S.COMPLETED: Action.REPORT,
    S.ON_HOLD: Action.RELEASE,
}


@dataclass
class SlotInfo:
    id: int
    start: datetime
    minutes: int
    modality: str


@dataclass
class Proc:
    accession: str
    code: str
    referral: int
    state: S = S.REQUESTED
    slot: int | None = None
    appointment: int | None = None
    images: bool = False


@dataclass
class Ref:
    id: int
    patient: int
    earliest: datetime | None
    accessions: list[str]
    closed: bool = False


@dataclass
class Merge:
    source: int
    target: int
    moved: list[int]
    undone: bool = False


@dataclass
class Model:
    """What the database must hold: the walk's own bookkeeping, never read back from it."""

    cprs: dict[str, int] = field(default_factory=dict)
    merged_into: dict[int, int | None] = field(default_factory=dict)
    refs: dict[int, Ref] = field(default_factory=dict)
    procs: dict[str, Proc] = field(default_factory=dict)
    merges: dict[int, Merge] = field(default_factory=dict)
    appointments: list[int] = field(default_factory=list)
    events: int = 0

    def survivor(self, pid: int) -> int:
        while (nxt := self.merged_into[pid]) is not None:
            pid = nxt
        return pid

    def slot_owner(self, slot_id: int) -> Proc | None:
        return next((p for p in self.procs.values() if p.slot == slot_id), None)


def pick(items: list[Any], i: int) -> Any:
    return items[i % len(items)]


class DatabaseFactory:
    """A fresh database with the small region for every example, on one backend."""

    def __init__(self, backend: str, request: pytest.FixtureRequest, tmp: Path) -> None:
        self.backend, self.tmp, self.n = backend, tmp, count()
        self.pg_engine = None
        if backend == "postgresql":
            self.pg_engine = make_engine(request.getfixturevalue("pg_url"))
            _truncate(self.pg_engine)
            build_small_region(self.context(self.pg_url, Clock()))
            return
        self.template = tmp / "region.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), self.template)
        ctx = self.context(f"sqlite:///{self.template}", Clock())
        build_small_region(ctx)
        ctx.db.dispose()

    def context(self, url: str, clock: Clock) -> Context:
        db = Database(self.pg_engine if self.pg_engine else make_engine(url))
        return Context(db=db, settings=Settings(data_dir=self.tmp, database_url=url), clock=clock)

    @property
    def pg_url(self) -> str:
        assert self.pg_engine is not None
        return self.pg_engine.url.render_as_string(hide_password=False)

    def fresh(self, clock: Clock) -> Context:
        """SQLite: a copy of the region file. PostgreSQL: empty all but the region's tables."""
        if self.pg_engine is None:
            path = self.tmp / f"walk{next(self.n)}.db"
            shutil.copy(self.template, path)
            return self.context(f"sqlite:///{path}", clock)
        with self.pg_engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {', '.join(WALK_TABLES)} RESTART IDENTITY CASCADE"))
        return self.context(self.pg_url, clock)

    def release(self, ctx: Context) -> None:
        if self.pg_engine is None:
            ctx.db.dispose()


class Walk(RuleBasedStateMachine):
    factory: DatabaseFactory

    def __init__(self) -> None:
        super().__init__()
        self.clock = Clock()
        self.ctx = self.factory.fresh(self.clock)
        self.m = Model()
        self.slots = self._load_slots()
        self.candidates = self._candidates()

    def teardown(self) -> None:
        self.factory.release(self.ctx)

    def _load_slots(self) -> dict[int, SlotInfo]:
        with self.ctx.uow(readonly=True) as uow:
            rows = uow.session.execute(
                select(Slot.id, Slot.start_at, Slot.minutes, Room.modality).join(Room)
            )
            return {r.id: SlotInfo(r.id, r.start_at, r.minutes, r.modality) for r in rows}

    def _candidates(self) -> list[SlotInfo]:
        """The first slots of each modality on three days: few enough to collide often."""
        day0 = local_date(self.clock())
        days = {day0, day0 + timedelta(days=1), day0 + timedelta(days=7)}
        seen: Counter[tuple[str, date]] = Counter()
        out = []
        for s in sorted(self.slots.values(), key=lambda s: s.start):
            key = (s.modality + str(s.minutes), local_date(s.start))
            if key[1] in days and seen[key] < 2:
                seen[key] += 1
                out.append(s)
        return out

    # -- the model's predictions --------------------------------------------------

    def fits(self, p: Proc, slot: SlotInfo) -> bool:
        modality, minutes = DURATION[p.code]
        earliest = self.m.refs[p.referral].earliest
        return (
            modalities_compatible(slot.modality, modality)
            and slot.minutes >= minutes
            and slot.start >= self.clock()
            and (earliest is None or slot.start >= earliest)
        )

    def expect_book(self, p: Proc, slot: SlotInfo) -> Outcome:
        if S.BOOKED not in TRANSITIONS[p.state]:
            return E.IllegalTransition
        if not self.fits(p, slot):
            return E.SlotUnsuitable
        return E.SlotTaken if self.m.slot_owner(slot.id) else None

    def expect_act(self, p: Proc, action: Action, reason: str) -> Outcome:
        target = TARGETS[action]
        if action is Action.RELEASE and p.state is not S.ON_HOLD:
            return E.IllegalTransition
        if target not in TRANSITIONS[p.state]:
            return E.IllegalTransition
        return E.InvalidValue if needs_reason(target) and not reason.strip() else None

    def attempt(self, expected: Outcome, call: Callable[[], Any]) -> Any:
        """Run one service call; a predicted refusal must come, exactly, and change nothing."""
        if expected is None:
            return call()
        before = self.db_events()
        with pytest.raises(E.DomainError) as info:
            call()
        assert info.type is expected, f"expected {expected.__name__}, got {info.value!r}"
        assert self.db_events() == before, f"{info.value!r} left events behind"
        return None

    def db_events(self) -> int:
        with self.ctx.uow(readonly=True) as uow:
            return uow.session.scalar(select(func.count(Event.id))) or 0

    # -- rules --------------------------------------------------------------------

    @initialize(seed=st.integers(0, 2**32))
    def first_patient(self, seed: int) -> None:
        self.register(seed, "Hansen", duplicate=False, dup_index=0)

    @rule(seed=st.integers(0, 2**32), name=st.sampled_from(["Ølgaard", " "]),
          duplicate=st.booleans(), dup_index=IDX)  # fmt: skip
    def register(self, seed: int, name: str, duplicate: bool, dup_index: int) -> None:
        cpr = pick(list(self.m.cprs), dup_index) if duplicate else random_cpr(random.Random(seed))
        expected: Outcome = None
        if not name.strip():
            expected = E.InvalidValue
        elif cpr in self.m.cprs:
            expected = E.DuplicateIdentifier
        cmd = registration.NewPatient(cpr, name, "Åse")
        view = self.attempt(expected, lambda: registration.register_patient(self.ctx, cmd, "walk"))
        if view is not None:
            self.m.cprs[cpr], self.m.merged_into[view.id] = view.id, None
            self.m.events += 1

    @rule(i=IDX, priority=st.sampled_from(list(Priority)),
          codes=st.lists(st.sampled_from(sorted(DURATION)), min_size=1, max_size=2),
          requested=st.none() | st.integers(-5, 40))  # fmt: skip
    def refer(self, i: int, priority: Priority, codes: list[str], requested: int | None) -> None:
        cpr = pick(list(self.m.cprs), i)
        day = None if requested is None else local_date(self.clock()) + timedelta(days=requested)
        cmd = referrals.NewReferral(cpr, "Med. afd.", "Tumor?", priority, codes, requested_date=day)
        no_date = priority is Priority.FOLLOW_UP and day is None
        expected = E.InvalidValue if no_date or priority is Priority.SCREENING else None
        view = self.attempt(expected, lambda: referrals.create_referral(self.ctx, cmd, "walk"))
        if view is None:
            return
        owner = self.m.survivor(self.m.cprs[cpr])
        assert view.patient_id == owner, f"referral {view.id} went to patient {view.patient_id}"
        accs = [p.accession for p in view.procedures]
        self.m.refs[view.id] = Ref(view.id, owner, view.earliest_at, accs)
        for p in view.procedures:
            self.m.procs[p.accession] = Proc(p.accession, p.code, view.id)
        self.m.events += 1 + len(codes)

    @precondition(lambda self: self.m.procs)
    @rule(i=IDX, j=IDX)
    def book(self, i: int, j: int) -> None:
        p, slot = pick(list(self.m.procs.values()), i), pick(self.candidates, j)
        self._book(p, slot, self.expect_book(p, slot))

    @precondition(lambda self: self.m.procs)
    @rule(i=IDX, j=IDX)
    def find_and_book(self, i: int, j: int) -> None:
        p = pick(list(self.m.procs.values()), i)
        offers = booking.find_slots(self.ctx, booking.SlotSearch(p.accession, limit=5))
        for o in offers:
            owner = self.m.slot_owner(o.slot_id)
            assert owner is None, f"slot {o.slot_id} offered but held by {owner}"
            assert self.fits(p, self.slots[o.slot_id]), f"slot {o.slot_id} offered, unfit for {p}"
        if offers:
            slot = self.slots[pick(offers, j).slot_id]
            self._book(p, slot, self.expect_book(p, slot))

    def _book(self, p: Proc, slot: SlotInfo, expected: Outcome) -> None:
        view = self.attempt(expected, lambda: booking.book(self.ctx, p.accession, slot.id, "walk"))
        if view is not None:
            assert view.slot_id == slot.id and view.active
            p.state, p.slot, p.appointment = S.BOOKED, slot.id, view.id
            self.m.appointments.append(view.id)
            self.m.events += 1

    @precondition(lambda self: self.m.appointments)
    @rule(i=IDX, reason=REASONS)
    def cancel_appointment(self, i: int, reason: str) -> None:
        """Any appointment ever made, or one that never was (the id after the last)."""
        appt = pick([*self.m.appointments, max(self.m.appointments) + 1], i)
        p = next((p for p in self.m.procs.values() if p.appointment == appt), None)
        expected: Outcome = None
        if not reason.strip():
            expected = E.InvalidValue
        elif appt not in self.m.appointments:
            expected = E.UnknownAppointment
        elif p is None:
            expected = E.Conflict  # it ended (rebooked, cancelled, no-show, on hold)
        elif S.REQUESTED not in TRANSITIONS[p.state]:
            expected = E.IllegalTransition
        call = lambda: booking.cancel_appointment(self.ctx, appt, reason, "walk")  # noqa: E731
        if self.attempt(expected, call) is not None and p is not None:
            p.state, p.slot, p.appointment = S.REQUESTED, None, None
            self.m.events += 1

    @precondition(lambda self: self.m.procs)
    @rule(i=IDX, j=IDX, any_action=st.booleans(), reason=REASONS)
    def act(self, i: int, j: int, any_action: bool, reason: str) -> None:
        """Half the time an action the workflow allows, so walks get deep enough to close."""
        p = pick(list(self.m.procs.values()), i)
        legal = [a for a in Action if self.expect_act(p, a, "x") is None]
        action = pick(list(Action) if any_action or not legal else legal, j)
        call = lambda: procedures.act(self.ctx, p.accession, action, "walk", reason)  # noqa: E731
        detail = self.attempt(self.expect_act(p, action, reason), call)
        if detail is None:
            return
        p.state = TARGETS[action]
        if p.state in FREES_SLOT:
            p.slot = p.appointment = None
        self.m.events += 1
        ref = self.m.refs[p.referral]
        if not ref.closed and all(self.m.procs[a].state in TERMINAL for a in ref.accessions):
            ref.closed = True
            self.m.events += 1
        assert detail.procedure.state == p.state

    @precondition(lambda self: self.m.procs)
    @rule(i=IDX, moves=st.lists(IDX, min_size=2, max_size=5))
    def progress(self, i: int, moves: list[int]) -> None:
        """Several steps the workflow allows for one procedure, so walks reach the end."""
        p = pick(list(self.m.procs.values()), i)
        for j in moves:
            if p.state in (S.REQUESTED, S.NO_SHOW):
                self.find_and_book(i, j)
            elif j % 4 and p.state in FORWARD:
                self.act(i, list(Action).index(FORWARD[p.state]), True, "fremdrift")
            else:
                self.act(i, j, False, "fremdrift")

    @precondition(lambda self: self.m.procs)
    @rule(i=IDX)
    def images_arrive(self, i: int) -> None:
        p = pick(list(self.m.procs.values()), i)
        detail = procedures.mark_images_received(self.ctx, p.accession, "archive")
        assert detail.procedure.images_received_at is not None
        self.m.events += 0 if p.images else 1
        p.images = True

    @precondition(lambda self: len(self.m.cprs) > 1)
    @rule(i=IDX, j=IDX, reason=REASONS)
    def merge(self, i: int, j: int, reason: str) -> None:
        src_cpr, tgt_cpr = pick(list(self.m.cprs), i), pick(list(self.m.cprs), j)
        src, tgt = self.m.cprs[src_cpr], self.m.survivor(self.m.cprs[tgt_cpr])
        expected: Outcome = None
        if not reason.strip():
            expected = E.InvalidValue
        elif self.m.merged_into[src] is not None or src == tgt:
            expected = E.MergeRefused
        call = lambda: patients.merge_patients(self.ctx, src_cpr, tgt_cpr, reason, "walk")  # noqa: E731
        view = self.attempt(expected, call)
        if view is None:
            return
        assert view.id == tgt
        moved = sorted(r.id for r in self.m.refs.values() if r.patient == src)
        merge_id = max(mv.id for mv in view.merges)
        self.m.merges[merge_id] = Merge(src, tgt, moved)
        self.m.merged_into[src] = tgt
        for rid in moved:
            self.m.refs[rid].patient = tgt
        self.m.events += 2
        assert registration.get_patient(self.ctx, src_cpr).id == tgt

    @precondition(lambda self: self.m.merges)
    @rule(i=IDX, reason=REASONS)
    def undo_merge(self, i: int, reason: str) -> None:
        merge_id = pick(sorted(self.m.merges), i)
        mg = self.m.merges[merge_id]
        expected: Outcome = None
        if not reason.strip():
            expected = E.InvalidValue
        elif mg.undone or self.m.survivor(mg.target) != mg.target:
            expected = E.MergeRefused
        call = lambda: patients.undo_merge(self.ctx, merge_id, reason, "walk")  # noqa: E731
        if self.attempt(expected, call) is None:
            return
        mg.undone, self.m.merged_into[mg.source] = True, None
        for rid in mg.moved:
            if self.m.refs[rid].patient == mg.target:
                self.m.refs[rid].patient = mg.source
        self.m.events += 2

    @precondition(lambda self: self.clock() - T0 < timedelta(days=10))
    @rule(hours=st.integers(1, 36))
    def time_passes(self, hours: int) -> None:
        self.clock.advance(hours=hours)

    # -- invariants ---------------------------------------------------------------

    @invariant()
    def checks_pass(self) -> None:
        broken = [f for f in run_checks(self.ctx) if f.count]
        assert not broken, broken

    @invariant()
    def database_matches_model(self) -> None:
        with self.ctx.uow(readonly=True) as uow:
            s = uow.session
            states = dict(s.execute(select(Procedure.accession, Procedure.state)).tuples().all())
            images = set(s.scalars(select(Procedure.accession).where(
                Procedure.images_received_at.is_not(None))))  # fmt: skip
            active = s.execute(
                select(Procedure.accession, Appointment.slot_id)
                .join(Appointment, Appointment.procedure_id == Procedure.id)
                .where(Appointment.active.is_(True))
            ).all()
            events = s.scalar(select(func.count(Event.id)))
        assert states == {a: p.state.value for a, p in self.m.procs.items()}
        assert images == {a for a, p in self.m.procs.items() if p.images}
        held = Counter(slot for _, slot in active)
        assert not [slot for slot, n in held.items() if n > 1], f"double booked: {held}"
        assert dict(active) == {a: p.slot for a, p in self.m.procs.items() if p.slot}
        assert events == self.m.events

    @invariant()
    def nobody_is_lost(self) -> None:
        now = self.clock()
        with self.ctx.uow(readonly=True) as uow:
            rows = uow.session.execute(
                select(Referral.id, Referral.patient_id, Referral.closed_at, Referral.close_reason)
            ).all()
            places = tracker.placements(uow.session, now)
        db = {r.id: r for r in rows}
        assert set(db) == set(self.m.refs)
        for ref in self.m.refs.values():
            row = db[ref.id]
            assert row.patient_id == ref.patient, f"referral {ref.id} owner"
            assert (row.closed_at is not None) == ref.closed, f"referral {ref.id} closed?"
            assert not ref.closed or (row.close_reason or "").strip(), f"{ref.id} no reason"
        queues = {p.referral_id: p.queue for p in places}
        assert len(queues) == len(places), "a referral placed twice"
        assert queues == {
            r.id: self.expected_queue(r) for r in self.m.refs.values() if not r.closed
        }
        assert None not in queues.values()
        assert tracker.board(self.ctx).open_referrals == len(queues)

    def expected_queue(self, ref: Ref) -> Any:
        procs = [self.m.procs[a] for a in ref.accessions]
        snaps = [
            ProcedureSnapshot(
                p.state,
                self.slots[p.slot].start if p.slot and p.state is S.BOOKED else None,
                p.images,
            )
            for p in procs
        ]
        return referral_queue(snaps, self.clock())


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_random_walks_lose_nobody(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    factory = DatabaseFactory(backend, request, tmp_path)
    machine = type(f"Walk_{backend}", (Walk,), {"factory": factory})
    try:
        run_state_machine_as_test(machine, settings=WALK)
    finally:
        if factory.pg_engine is not None:
            factory.pg_engine.dispose()
