"""procedures.act through the service layer: every action from every state.

The expected matrix below is written out by hand from the scheduled workflow (IHE SWF),
not read from the state machine under test.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from lysbord.domain.errors import IllegalTransition, InvalidValue, UnknownProcedure
from lysbord.domain.tracking import Queue
from lysbord.services.core.context import Context
from lysbord.services.pathway import booking, procedures, referral_queries
from lysbord.services.pathway.procedures import Action
from lysbord.store.models import Appointment, Event
from tests.helpers import new_referral

WHY = "klinisk begrundelse"

#: How to reach each state from "requested", as a list of actions ("book" books a slot).
PATHS: dict[str, list[str]] = {
    "requested": [],
    "booked": ["book"],
    "arrived": ["book", "arrive"],
    "in-progress": ["book", "arrive", "start"],
    "completed": ["book", "arrive", "start", "complete"],
    "reported": ["book", "arrive", "start", "complete", "report"],
    "no-show": ["book", "no-show"],
    "on-hold": ["hold"],
    "cancelled": ["cancel"],
    "discontinued": ["book", "arrive", "start", "discontinue"],
}

#: The states each action may be taken from, and where it leads.
ALLOWED: dict[Action, tuple[set[str], str]] = {
    Action.ARRIVE: ({"booked"}, "arrived"),
    Action.NO_SHOW: ({"booked"}, "no-show"),
    Action.START: ({"arrived"}, "in-progress"),
    Action.COMPLETE: ({"in-progress"}, "completed"),
    Action.DISCONTINUE: ({"in-progress"}, "discontinued"),
    Action.CANCEL: ({"requested", "booked", "arrived", "no-show", "on-hold"}, "cancelled"),
    Action.HOLD: ({"requested", "booked"}, "on-hold"),
    Action.RELEASE: ({"on-hold"}, "requested"),
    Action.REPORT: ({"completed", "reported"}, "reported"),
}

CASES = [(state, action) for state in PATHS for action in Action]


def drive(ctx: Context, acc: str, state: str) -> None:
    for step in PATHS[state]:
        if step == "book":
            slot = booking.find_slots(ctx, booking.SlotSearch(acc))[0]
            booking.book(ctx, acc, slot.slot_id, "tester")
        else:
            procedures.act(ctx, acc, Action(step), "tester", WHY)
    assert procedures.get_procedure(ctx, acc).procedure.state == state


def event_count(ctx: Context) -> int:
    with ctx.uow(readonly=True) as uow:
        return len(uow.session.scalars(select(Event.id)).all())


def active_slots(ctx: Context, procedure_id: int) -> list[int]:
    with ctx.uow(readonly=True) as uow:
        stmt = select(Appointment.slot_id).where(
            Appointment.procedure_id == procedure_id, Appointment.active.is_(True)
        )
        return list(uow.session.scalars(stmt))


@pytest.mark.parametrize(("state", "action"), CASES, ids=[f"{s}-{a}" for s, a in CASES])
def test_action_from_state(ctx, state, action):
    acc = new_referral(ctx, codes=("UXCC00", "UXRC00")).procedures[0].accession
    drive(ctx, acc, state)
    sources, target = ALLOWED[action]
    before = event_count(ctx)
    if state in sources:
        detail = procedures.act(ctx, acc, action, "radiograf", WHY)
        last = detail.events[-1]
        assert detail.procedure.state == target
        assert (last.from_state, last.to_state, last.actor) == (state, target, "radiograf")
        assert last.kind == f"procedure.{target}" and last.at == ctx.now()
    else:
        with pytest.raises(IllegalTransition) as err:
            procedures.act(ctx, acc, action, "radiograf", WHY)
        assert state in err.value.message and target in err.value.message
        assert procedures.get_procedure(ctx, acc).procedure.state == state
        assert event_count(ctx) == before


@pytest.mark.parametrize(
    ("state", "action"),
    [("requested", Action.CANCEL), ("in-progress", Action.DISCONTINUE), ("booked", Action.HOLD)],
)
@pytest.mark.parametrize("reason", [None, "", "   "])
def test_ending_or_pausing_needs_a_reason(ctx, state, action, reason):
    acc = new_referral(ctx).procedures[0].accession
    drive(ctx, acc, state)
    with pytest.raises(InvalidValue) as err:
        procedures.act(ctx, acc, action, "tester", reason)
    assert err.value.field == "reason"
    assert procedures.get_procedure(ctx, acc).procedure.state == state


def test_reason_is_recorded_on_the_event(ctx):
    acc = new_referral(ctx).procedures[0].accession
    detail = procedures.act(ctx, acc, Action.HOLD, "tester", "afventer nyretal")
    assert detail.events[-1].reason == "afventer nyretal"


@pytest.mark.parametrize(
    ("action", "end_reason"),
    [(Action.NO_SHOW, "no-show"), (Action.CANCEL, WHY), (Action.HOLD, WHY)],
)
def test_leaving_booked_frees_the_slot(ctx, action, end_reason):
    acc = new_referral(ctx).procedures[0].accession
    drive(ctx, acc, "booked")
    detail = procedures.get_procedure(ctx, acc)
    slot_id = detail.procedure.appointment.slot_id
    after = procedures.act(ctx, acc, action, "tester", None if action is Action.NO_SHOW else WHY)
    assert after.procedure.appointment is None
    assert active_slots(ctx, detail.procedure.id) == []
    with ctx.uow(readonly=True) as uow:
        ended = uow.session.scalars(select(Appointment.end_reason)).one()
    assert ended == end_reason
    other = new_referral(ctx).procedures[0].accession
    assert booking.book(ctx, other, slot_id, "tester").slot_id == slot_id


def test_cancel_after_arrival_frees_the_slot_but_discontinue_keeps_the_record(ctx):
    cancelled = new_referral(ctx).procedures[0].accession
    drive(ctx, cancelled, "arrived")
    pid = procedures.act(ctx, cancelled, Action.CANCEL, "tester", WHY).procedure.id
    assert active_slots(ctx, pid) == []
    stopped = new_referral(ctx).procedures[0].accession
    drive(ctx, stopped, "discontinued")
    detail = procedures.get_procedure(ctx, stopped)
    assert len(active_slots(ctx, detail.procedure.id)) == 1  # the room was used


def test_cancelling_every_procedure_closes_the_referral(ctx):
    ref = new_referral(ctx, codes=("UXCC00", "UXMA00"))
    first, second = (p.accession for p in ref.procedures)
    procedures.act(ctx, first, Action.CANCEL, "tester", WHY)
    assert referral_queries.get_referral(ctx, ref.id).closed_at is None
    detail = procedures.act(ctx, second, Action.CANCEL, "tester", WHY)
    closed = detail.referral
    assert closed.closed_at == ctx.now() and closed.close_reason == "ended: cancelled"
    assert closed.queue is None


def test_reporting_the_last_procedure_closes_the_referral(ctx, clock):
    ref = new_referral(ctx)
    acc = ref.procedures[0].accession
    drive(ctx, acc, "completed")
    clock.advance(hours=3)
    closed = procedures.act(ctx, acc, Action.REPORT, "radiolog").referral
    assert closed.close_reason == "all procedures reported"
    assert closed.closed_at == ctx.now()
    with ctx.uow(readonly=True) as uow:
        kinds = uow.session.scalars(
            select(Event.kind).where(Event.referral_id == ref.id, Event.procedure_id.is_(None))
        ).all()
    assert kinds == ["referral.received", "referral.closed"]
    # An addendum later changes nothing about the closing.
    clock.advance(days=1)
    again = procedures.act(ctx, acc, Action.REPORT, "radiolog").referral
    assert again.closed_at == closed.closed_at


def test_mixed_endings_are_named_in_the_close_reason(ctx):
    ref = new_referral(ctx, codes=("UXCC00", "UXRC00"))
    first, second = (p.accession for p in ref.procedures)
    drive(ctx, first, "reported")
    assert referral_queries.get_referral(ctx, ref.id).closed_at is None
    procedures.act(ctx, second, Action.CANCEL, "tester", WHY)
    assert referral_queries.get_referral(ctx, ref.id).close_reason == "ended: cancelled, reported"


def test_release_only_from_on_hold_names_both_states(ctx):
    acc = new_referral(ctx).procedures[0].accession
    drive(ctx, acc, "booked")
    with pytest.raises(IllegalTransition) as err:
        procedures.act(ctx, acc, Action.RELEASE, "tester")
    assert "booked" in err.value.message and "requested" in err.value.message
    procedures.act(ctx, acc, Action.HOLD, "tester", WHY)
    assert procedures.act(ctx, acc, Action.RELEASE, "tester").procedure.state == "requested"


def test_release_given_as_plain_text_is_still_checked(ctx):
    """Doors may pass the action's value; the on-hold rule must not depend on identity."""
    acc = new_referral(ctx).procedures[0].accession
    drive(ctx, acc, "booked")
    with pytest.raises(IllegalTransition):
        procedures.act(ctx, acc, "release", "tester")  # type: ignore[arg-type]
    assert procedures.get_procedure(ctx, acc).procedure.state == "booked"


def test_images_received_moves_completed_to_the_reading_queue(ctx, clock):
    ref = new_referral(ctx)
    acc = ref.procedures[0].accession
    drive(ctx, acc, "completed")
    assert referral_queries.get_referral(ctx, ref.id).queue is Queue.AWAITING_IMAGES
    clock.advance(minutes=10)
    detail = procedures.mark_images_received(ctx, acc, "pacs")
    assert detail.procedure.images_received_at == ctx.now()
    assert detail.referral.queue is Queue.AWAITING_REPORT
    assert detail.events[-1].kind == "procedure.images-received"
    clock.advance(minutes=10)
    again = procedures.mark_images_received(ctx, acc, "pacs")
    assert again.procedure.images_received_at == ctx.now() - timedelta(minutes=10)
    assert len(again.events) == len(detail.events)


def test_unknown_accession_is_refused(ctx):
    with pytest.raises(UnknownProcedure) as err:
        procedures.act(ctx, "LB99999999", Action.ARRIVE, "tester")
    assert err.value.field == "accession"
