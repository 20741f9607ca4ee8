"""MPPS use cases (services/pathway/mpps.py): procedures move with the scanner, refusals
write nothing."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import func, select

from lysbord.domain.errors import (
    Conflict,
    DuplicateIdentifier,
    IllegalTransition,
    InvalidValue,
    NotFound,
)
from lysbord.services.core.context import Context
from lysbord.services.pathway import booking, mpps, mpps_queue, procedures
from lysbord.services.pathway.mpps import ScheduledRef, StepReport
from lysbord.store.archive_models import PerformedStep, PerformedStepProcedure
from lysbord.store.models import Event, Procedure
from tests.helpers import new_referral

AE = "AAACT1"


def uid() -> str:
    return f"2.25.{random.getrandbits(120)}"


def booked_accession(ctx: Context) -> str:
    """A CT thorax booked into Alfa's CT 1 at the earliest free time."""
    accession = new_referral(ctx).procedures[0].accession
    offer = booking.find_slots(ctx, booking.SlotSearch(accession, sites=["AAA"], limit=1))[0]
    booking.book(ctx, accession, offer.slot_id, "tester")
    return accession


def started(
    ctx: Context, step_uid: str, *refs: ScheduledRef, status: str = "IN PROGRESS"
) -> mpps.StepView:
    attributes = {"00400252": {"vr": "CS", "Value": [status]}}
    return mpps.start_step(ctx, StepReport(step_uid, AE, status, attributes, refs=refs))


def finished(ctx: Context, step_uid: str, status: str, **kwargs: object) -> mpps.StepView:
    attributes = {"00400252": {"vr": "CS", "Value": [status]}}
    return mpps.update_step(ctx, StepReport(step_uid, AE, status, attributes, **kwargs))  # type: ignore[arg-type]


def state(ctx: Context, accession: str) -> str:
    with ctx.uow(readonly=True) as uow:
        return uow.session.scalars(
            select(Procedure.state).where(Procedure.accession == accession)
        ).one()


def steps(ctx: Context) -> int:
    with ctx.uow(readonly=True) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(PerformedStep)) or 0)


def moves(ctx: Context, accession: str) -> list[tuple[str | None, str | None, str]]:
    with ctx.uow(readonly=True) as uow:
        s = uow.session
        pid = s.scalars(select(Procedure.id).where(Procedure.accession == accession)).one()
        rows = s.execute(
            select(Event.from_state, Event.to_state, Event.actor)
            .where(Event.procedure_id == pid, Event.to_state.is_not(None))
            .order_by(Event.id)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def test_start_moves_a_booked_procedure_through_arrival_to_in_progress(ctx: Context) -> None:
    accession = booked_accession(ctx)
    view = started(ctx, step_uid := uid(), ScheduledRef(accession=accession))
    assert (view.accession, view.procedure_state, view.status) == (
        accession,
        "in-progress",
        "IN PROGRESS",
    )
    assert moves(ctx, accession)[-2:] == [
        ("booked", "arrived", f"dicom:{AE}"),
        ("arrived", "in-progress", f"dicom:{AE}"),
    ]
    with ctx.uow(readonly=True) as uow:
        row = uow.session.scalars(
            select(PerformedStep).where(PerformedStep.mpps_uid == step_uid)
        ).one()
        assert row.attributes["00400252"]["Value"] == ["IN PROGRESS"]
        assert row.calling_ae == AE


def test_an_arrived_patient_takes_one_step(ctx: Context) -> None:
    accession = booked_accession(ctx)
    procedures.act(ctx, accession, procedures.Action.ARRIVE, "porter")
    started(ctx, uid(), ScheduledRef(accession=accession))
    assert moves(ctx, accession)[-1] == ("arrived", "in-progress", f"dicom:{AE}")
    assert [m[1] for m in moves(ctx, accession)].count("arrived") == 1


def test_complete_records_the_series_and_completes_the_procedure(ctx: Context) -> None:
    accession = booked_accession(ctx)
    started(ctx, step_uid := uid(), ScheduledRef(accession=accession))
    series = [uid(), uid()]
    view = finished(ctx, step_uid, "COMPLETED", series_uids=series)
    assert (view.status, view.procedure_state, view.series_uids) == (
        "COMPLETED",
        "completed",
        series,
    )
    assert state(ctx, accession) == "completed"


def test_discontinue_gives_the_scanners_reason_or_a_default(ctx: Context) -> None:
    first, second = booked_accession(ctx), booked_accession(ctx)
    started(ctx, a := uid(), ScheduledRef(accession=first))
    started(ctx, b := uid(), ScheduledRef(accession=second))
    finished(ctx, a, "DISCONTINUED", reason="Patient refused")
    finished(ctx, b, "DISCONTINUED")
    detail = procedures.get_procedure(ctx, first)
    assert detail.procedure.state == "discontinued"
    assert detail.events[-1].reason == "Patient refused"
    assert detail.referral.closed_at is not None  # its only procedure has ended
    assert procedures.get_procedure(ctx, second).events[-1].reason == (
        "discontinued at the modality"
    )


def test_the_step_is_found_by_step_id_or_study_uid_alone(ctx: Context) -> None:
    by_step, by_uid = booked_accession(ctx), booked_accession(ctx)
    study_uid = procedures.get_procedure(ctx, by_uid).procedure.study_uid
    assert started(ctx, uid(), ScheduledRef(step_id=by_step)).accession == by_step
    assert started(ctx, uid(), ScheduledRef(study_uid=study_uid)).accession == by_uid


def test_off_worklist_step_is_kept_visible_without_a_procedure(ctx: Context) -> None:
    view = started(ctx, step_uid := uid(), ScheduledRef(accession="NOSUCH1"))
    assert view.procedure_id is None
    assert step_uid in [v.mpps_uid for v in mpps_queue.unmatched_steps(ctx)[0]]
    with ctx.uow(readonly=True) as uow:
        reasons = uow.session.scalars(select(Event.reason).where(Event.kind == "mpps.unmatched"))
        assert any("NOSUCH1" in (r or "") for r in reasons)
    assert finished(ctx, step_uid, "COMPLETED").status == "COMPLETED"


def test_second_step_keeps_the_procedure_running_until_both_end(ctx: Context) -> None:
    accession = booked_accession(ctx)
    started(ctx, a := uid(), ScheduledRef(accession=accession))
    started(ctx, b := uid(), ScheduledRef(accession=accession))
    finished(ctx, a, "COMPLETED")
    assert state(ctx, accession) == "in-progress"
    finished(ctx, b, "DISCONTINUED", reason="contrast reaction")
    assert state(ctx, accession) == "completed"  # one step completed: the procedure was done


def test_duplicate_create_is_refused_and_changes_nothing(ctx: Context) -> None:
    accession = booked_accession(ctx)
    started(ctx, step_uid := uid(), ScheduledRef(accession=accession))
    before = moves(ctx, accession)
    with pytest.raises(DuplicateIdentifier):
        started(ctx, step_uid, ScheduledRef(accession=accession))
    assert (steps(ctx), moves(ctx, accession)) == (1, before)


def test_create_must_say_in_progress(ctx: Context) -> None:
    accession = booked_accession(ctx)
    with pytest.raises(InvalidValue, match="PerformedProcedureStepStatus 'COMPLETED'"):
        started(ctx, uid(), ScheduledRef(accession=accession), status="COMPLETED")
    assert (steps(ctx), state(ctx, accession)) == (0, "booked")


def test_set_for_an_unknown_step_is_not_found(ctx: Context) -> None:
    with pytest.raises(NotFound, match="no such MPPS"):
        finished(ctx, uid(), "COMPLETED")


def test_a_finished_step_may_no_longer_be_updated(ctx: Context) -> None:
    accession = booked_accession(ctx)
    started(ctx, step_uid := uid(), ScheduledRef(accession=accession))
    finished(ctx, step_uid, "COMPLETED", series_uids=[first := uid()])
    with pytest.raises(Conflict, match="already completed"):
        finished(ctx, step_uid, "DISCONTINUED", series_uids=[uid()])
    assert mpps.get_step(ctx, step_uid).series_uids == [first]
    assert state(ctx, accession) == "completed"


def test_an_unknown_status_in_a_set_is_refused(ctx: Context) -> None:
    accession = booked_accession(ctx)
    started(ctx, step_uid := uid(), ScheduledRef(accession=accession))
    with pytest.raises(InvalidValue, match="PAUSED"):
        finished(ctx, step_uid, "PAUSED")
    assert mpps.get_step(ctx, step_uid).status == "IN PROGRESS"


def test_a_procedure_that_cannot_start_refuses_the_step_and_keeps_no_row(ctx: Context) -> None:
    accession = new_referral(ctx).procedures[0].accession  # requested, never booked
    with pytest.raises(IllegalTransition, match="cannot go from requested to in-progress"):
        started(ctx, uid(), ScheduledRef(accession=accession))
    assert (steps(ctx), state(ctx, accession)) == (0, "requested")


# IHE SWF group case: one step performs several requested procedures.


def booked_group(ctx: Context) -> tuple[str, str]:
    """CT thorax and CT abdomen of one referral (one patient), each booked where it fits."""
    thorax, abdomen = new_referral(ctx, codes=("UXCC00", "UXCD00")).procedures
    for accession in (thorax.accession, abdomen.accession):
        offer = booking.find_slots(ctx, booking.SlotSearch(accession, limit=1))[0]
        booking.book(ctx, accession, offer.slot_id, "tester")
    return thorax.accession, abdomen.accession


def links(ctx: Context) -> int:
    with ctx.uow(readonly=True) as uow:
        return int(
            uow.session.scalar(select(func.count()).select_from(PerformedStepProcedure)) or 0
        )


def test_a_group_step_moves_every_procedure_it_names_each_with_its_events(ctx: Context) -> None:
    thorax, abdomen = booked_group(ctx)
    view = started(ctx, step_uid := uid(), ScheduledRef(accession=thorax), ScheduledRef(abdomen))
    assert (view.accession, sorted(view.accessions), view.unmatched_reason) == (
        thorax,
        sorted([thorax, abdomen]),
        None,
    )
    for accession in (thorax, abdomen):
        assert moves(ctx, accession)[-2:] == [
            ("booked", "arrived", f"dicom:{AE}"),
            ("arrived", "in-progress", f"dicom:{AE}"),
        ]
    finished(ctx, step_uid, "COMPLETED", series_uids=[uid()])
    assert (state(ctx, thorax), state(ctx, abdomen)) == ("completed", "completed")
    assert moves(ctx, abdomen)[-1] == ("in-progress", "completed", f"dicom:{AE}")
    assert step_uid not in [v.mpps_uid for v in mpps_queue.unmatched_steps(ctx)[0]]


def test_a_discontinued_group_step_discontinues_each_procedure_with_the_reason(
    ctx: Context,
) -> None:
    thorax, abdomen = booked_group(ctx)
    started(ctx, step_uid := uid(), ScheduledRef(accession=thorax), ScheduledRef(abdomen))
    finished(ctx, step_uid, "DISCONTINUED", reason="Patient refused")
    for accession in (thorax, abdomen):
        detail = procedures.get_procedure(ctx, accession)
        assert (detail.procedure.state, detail.events[-1].reason) == (
            "discontinued",
            "Patient refused",
        )
    assert procedures.get_procedure(ctx, thorax).referral.closed_at is not None


def test_items_naming_one_procedure_twice_link_it_once(ctx: Context) -> None:
    accession = booked_accession(ctx)
    study_uid = procedures.get_procedure(ctx, accession).procedure.study_uid
    view = started(ctx, uid(), ScheduledRef(accession=accession), ScheduledRef(study_uid=study_uid))
    assert (view.accessions, links(ctx)) == ([accession], 1)
    assert [m[1] for m in moves(ctx, accession)].count("in-progress") == 1


def test_a_group_procedure_that_cannot_start_refuses_the_whole_step(ctx: Context) -> None:
    thorax, abdomen = booked_group(ctx)
    procedures.act(ctx, abdomen, procedures.Action.CANCEL, "booker", "patient declined")
    before = moves(ctx, thorax)
    with pytest.raises(IllegalTransition, match=f"{abdomen}: cannot go from cancelled"):
        started(ctx, uid(), ScheduledRef(accession=thorax), ScheduledRef(accession=abdomen))
    assert (steps(ctx), links(ctx), moves(ctx, thorax)) == (0, 0, before)
    assert state(ctx, thorax) == "booked"


def test_a_group_naming_two_patients_is_refused(ctx: Context) -> None:
    mine, theirs = booked_accession(ctx), booked_accession(ctx)
    with pytest.raises(Conflict, match="different patients"):
        started(ctx, uid(), ScheduledRef(accession=mine), ScheduledRef(accession=theirs))
    assert (steps(ctx), state(ctx, mine), state(ctx, theirs)) == (0, "booked", "booked")


def test_an_unknown_item_in_a_group_is_kept_visible_and_the_known_ones_move(
    ctx: Context,
) -> None:
    accession = booked_accession(ctx)
    view = started(
        ctx, step_uid := uid(), ScheduledRef(accession=accession), ScheduledRef("NOSUCH2")
    )
    assert (view.accessions, state(ctx, accession)) == ([accession], "in-progress")
    [unmatched] = [v for v in mpps_queue.unmatched_steps(ctx)[0] if v.mpps_uid == step_uid]
    assert unmatched.unmatched_reason is not None and "NOSUCH2" in unmatched.unmatched_reason
    assert accession not in unmatched.unmatched_reason
    with ctx.uow(readonly=True) as uow:
        reasons = uow.session.scalars(select(Event.reason).where(Event.kind == "mpps.unmatched"))
        assert any("NOSUCH2" in (r or "") for r in reasons)
    finished(ctx, step_uid, "COMPLETED")
    assert state(ctx, accession) == "completed"


def test_a_group_finish_that_one_procedure_cannot_take_changes_nothing(ctx: Context) -> None:
    thorax, abdomen = booked_group(ctx)
    started(ctx, step_uid := uid(), ScheduledRef(accession=thorax), ScheduledRef(abdomen))
    procedures.act(ctx, abdomen, procedures.Action.DISCONTINUE, "radiographer", "contrast")
    with pytest.raises(IllegalTransition, match=f"{abdomen}: cannot go from discontinued"):
        finished(ctx, step_uid, "COMPLETED")
    assert (state(ctx, thorax), mpps.get_step(ctx, step_uid).status) == (
        "in-progress",
        "IN PROGRESS",
    )


def test_a_procedure_in_a_group_waits_for_its_own_other_step(ctx: Context) -> None:
    thorax, abdomen = booked_group(ctx)
    started(ctx, group := uid(), ScheduledRef(accession=thorax), ScheduledRef(abdomen))
    started(ctx, extra := uid(), ScheduledRef(accession=abdomen))
    finished(ctx, group, "COMPLETED")
    assert (state(ctx, thorax), state(ctx, abdomen)) == ("completed", "in-progress")
    finished(ctx, extra, "COMPLETED")
    assert state(ctx, abdomen) == "completed"
