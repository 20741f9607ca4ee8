"""A group case's one study counts for each procedure it performed (services/archive/grouped.py).

CT thorax and CT abdomen in one acquisition: one MPPS links both, the images carry the
thorax's accession and reconcile to it. Whether the images or the MPPS comes first, the
abdomen gets its images received, reaches the reading worklist and finds the study.
Also: the unmatched MPPS queue (services/pathway/mpps_queue.py) as a person reads it.
"""

from __future__ import annotations

from sqlalchemy import select

from lysbord.services.archive import assignment
from lysbord.services.core.context import Context
from lysbord.services.operations.check import run_checks
from lysbord.services.operations.check_archive import GROUP_SHARES
from lysbord.services.pathway import mpps_queue, procedures
from lysbord.services.pathway.mpps import ScheduledRef, StepReport, start_step
from lysbord.store.models import Procedure
from lysbord.web.queries_work import ReadingFilter, reading_list
from tests.integration.test_mpps_service import AE, booked_group, finished, started, uid
from tests.integration.test_reconcile import send


def images_of(ctx: Context, accession: str) -> tuple[object, str | None, str | None]:
    """(images received at, the study it finds, the accession that study came with)."""
    detail = procedures.get_procedure(ctx, accession)
    study = detail.procedure.study
    return (
        detail.procedure.images_received_at,
        study.study_uid if study else None,
        study.shared_from if study else None,
    )


def shared_events(ctx: Context, accession: str) -> list[dict[str, object]]:
    events = procedures.get_procedure(ctx, accession).events
    return [e.data for e in events if e.kind == "procedure.images-received"]


def reading_uids(ctx: Context) -> dict[str, str]:
    items, _ = reading_list(ctx, ReadingFilter(), offset=0)
    return {i.accession: i.study_uid for i in items if i.images_received_at is not None}


def group_started(ctx: Context) -> tuple[str, str, str]:
    """A booked CT thorax and CT abdomen one started MPPS performs; their patient's CPR."""
    thorax, abdomen = booked_group(ctx)
    started(ctx, uid(), ScheduledRef(accession=thorax), ScheduledRef(abdomen))
    return thorax, abdomen, procedures.get_procedure(ctx, thorax).referral.cpr


def failing(ctx: Context) -> list[str]:
    return [f.rule for f in run_checks(ctx, blobs=False) if f.count]


def test_mpps_first_then_the_images_reach_both_procedures(ctx: Context, clock) -> None:
    thorax, abdomen = booked_group(ctx)
    started(ctx, step := uid(), ScheduledRef(accession=thorax), ScheduledRef(abdomen))
    cpr = procedures.get_procedure(ctx, thorax).referral.cpr
    clock.advance(minutes=5)
    study_uid, _ = send(ctx, patient_id=cpr, accession=thorax)
    finished(ctx, step, "COMPLETED")
    assert images_of(ctx, thorax) == (clock(), study_uid, None)
    assert images_of(ctx, abdomen) == (clock(), study_uid, thorax)
    [event] = shared_events(ctx, abdomen)
    assert (event["study_uid"], event["shared_from"], event["matched_by"]) == (
        study_uid,
        thorax,
        "group case",
    )
    assert reading_uids(ctx) == {thorax: study_uid, abdomen: study_uid}
    assert procedures.get_procedure(ctx, abdomen).viewer_url == (
        f"/viewer/viewer?StudyInstanceUIDs={study_uid}"
    )
    assert failing(ctx) == []


def test_images_first_then_the_group_mpps_shares_them(ctx: Context, clock) -> None:
    thorax, abdomen = booked_group(ctx)
    cpr = procedures.get_procedure(ctx, thorax).referral.cpr
    study_uid, _ = send(ctx, patient_id=cpr, accession=thorax)
    assert images_of(ctx, abdomen) == (None, None, None)
    clock.advance(minutes=2)
    started(ctx, step := uid(), ScheduledRef(accession=thorax), ScheduledRef(abdomen))
    assert images_of(ctx, abdomen) == (clock(), study_uid, thorax)
    assert [e["shared_from"] for e in shared_events(ctx, abdomen)] == [thorax]
    finished(ctx, step, "COMPLETED")
    assert reading_uids(ctx) == {thorax: study_uid, abdomen: study_uid}
    assert failing(ctx) == []


def test_a_procedure_with_its_own_study_keeps_it(ctx: Context) -> None:
    thorax, abdomen, cpr = group_started(ctx)
    first, _ = send(ctx, patient_id=cpr, accession=thorax)
    own, _ = send(ctx, patient_id=cpr, accession=abdomen)
    assert images_of(ctx, abdomen)[1:] == (own, None)
    assert len(shared_events(ctx, abdomen)) == 2  # shared first, then its own study
    assert images_of(ctx, thorax)[1:] == (first, None)


def test_moving_the_study_away_leaves_the_group_waiting_again(ctx: Context) -> None:
    thorax, abdomen, cpr = group_started(ctx)
    study_uid, _ = send(ctx, patient_id=cpr, accession=thorax)
    cmd = assignment.Assignment("wrong patient", cpr=cpr, reassign=True)
    assignment.assign_study(ctx, study_uid, cmd, "radiographer")
    assert images_of(ctx, thorax) == (None, None, None)
    assert images_of(ctx, abdomen) == (None, None, None)
    kinds = [e.kind for e in procedures.get_procedure(ctx, abdomen).events]
    assert kinds[-1] == "procedure.images-unlinked"
    assert failing(ctx) == []


def test_check_finds_a_group_procedure_left_without_images(ctx: Context) -> None:
    thorax, abdomen, cpr = group_started(ctx)
    study_uid, _ = send(ctx, patient_id=cpr, accession=thorax)
    with ctx.uow() as uow:  # what the code before the group rule left behind
        stmt = select(Procedure).where(Procedure.accession == abdomen)
        uow.session.scalars(stmt).one().images_received_at = None
        uow.commit()
    [finding] = [f for f in run_checks(ctx, blobs=False) if f.rule == GROUP_SHARES]
    assert finding.count == 1 and abdomen in finding.examples[0]
    assert study_uid in finding.examples[0] and thorax in finding.examples[0]


def test_the_unmatched_queue_says_what_the_scanner_named(ctx: Context, clock) -> None:
    thorax, _ = booked_group(ctx)
    refs = (ScheduledRef(accession=thorax), ScheduledRef(accession="NOSUCH7", step_id="S7"))
    attributes = {
        "00100010": {"vr": "PN", "Value": [{"Alphabetic": "Ærø^Søren"}]},
        "00100020": {"vr": "LO", "Value": ["0101650001"]},
        "00400270": {
            "vr": "SQ",
            "Value": [
                {"00080050": {"vr": "SH", "Value": [thorax]}},
                {
                    "00080050": {"vr": "SH", "Value": ["NOSUCH7"]},
                    "00400009": {"vr": "SH", "Value": ["S7"]},
                },
            ],
        },
    }
    start_step(ctx, StepReport(step := uid(), AE, "IN PROGRESS", attributes, refs=refs))
    started(ctx, uid(), ScheduledRef(accession="NOSUCH8"))
    items, total = mpps_queue.unmatched_steps(ctx, limit=1)
    assert total == 2 and len(items) == 1
    first = items[0]
    assert (first.mpps_uid, first.calling_ae, first.started_at) == (step, AE, clock())
    assert (first.patient_key, first.patient_name) == ("0101650001", "Ærø^Søren")
    assert first.named == [f"{thorax}/-/-", "NOSUCH7/S7/-"]
    assert first.accessions == [thorax] and "NOSUCH7" in first.unmatched_reason
    second = mpps_queue.unmatched_steps(ctx, limit=1, offset=1)[0][0]
    assert (second.patient_key, second.named) == ("", [])
