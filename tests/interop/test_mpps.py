"""MPPS N-CREATE / N-SET with pynetdicom as the scanner, against the running door."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydicom import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE
from pynetdicom.association import Association
from pynetdicom.sop_class import ModalityPerformedProcedureStep  # type: ignore[attr-defined]
from sqlalchemy import select

from lysbord.dicom.server import DicomDoor
from lysbord.services.core.context import Context
from lysbord.services.pathway import booking, procedures
from lysbord.store.archive_models import PerformedStep
from tests.helpers import new_referral
from tests.interop.conftest import plain_too

SCANNER = "AAACT1"


def booked(ctx: Context) -> tuple[str, str]:
    """(accession, Study Instance UID) of a CT booked into Alfa's CT 1."""
    accession = new_referral(ctx).procedures[0].accession
    offer = booking.find_slots(ctx, booking.SlotSearch(accession, sites=["AAA"], limit=1))[0]
    booking.book(ctx, accession, offer.slot_id, "tester")
    return accession, procedures.get_procedure(ctx, accession).procedure.study_uid


@pytest.fixture
def assoc(door: DicomDoor) -> Iterator[Association]:
    ae = AE(ae_title=SCANNER)
    ae.add_requested_context(ModalityPerformedProcedureStep)
    association = ae.associate("127.0.0.1", door.port, ae_title="LYSBORD")
    assert association.is_established
    yield association
    association.release()


def booked_group(ctx: Context) -> list[tuple[str, str]]:
    """CT thorax and CT abdomen of one patient's referral, booked: (accession, Study UID) each."""
    found = []
    for p in new_referral(ctx, codes=("UXCC00", "UXCD00")).procedures:
        offer = booking.find_slots(ctx, booking.SlotSearch(p.accession, limit=1))[0]
        booking.book(ctx, p.accession, offer.slot_id, "tester")
        found.append((p.accession, procedures.get_procedure(ctx, p.accession).procedure.study_uid))
    return found


def scheduled_step(accession: str, study_uid: str) -> Dataset:
    """One Scheduled Step Attributes Sequence item, with the keys the worklist gave."""
    item = Dataset()
    item.AccessionNumber = accession
    item.StudyInstanceUID = study_uid
    item.ScheduledProcedureStepID = accession
    item.RequestedProcedureID = accession
    return item


def started(accession: str, study_uid: str, status: str = "IN PROGRESS") -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.ScheduledStepAttributesSequence = [scheduled_step(accession, study_uid)]
    ds.PatientName = "Sørensen^Åse"
    ds.Modality = "CT"
    ds.PerformedStationAETitle = SCANNER
    ds.PerformedProcedureStepID = "1"
    ds.PerformedProcedureStepStartDate = "20261123"
    ds.PerformedProcedureStepStartTime = "090000"
    ds.PerformedProcedureStepStatus = status
    ds.PerformedSeriesSequence = []
    return ds


def started_group(steps: list[tuple[str, str]]) -> Dataset:
    """An N-CREATE performing several scheduled steps at once (IHE SWF group case)."""
    ds = started(*steps[0])
    ds.ScheduledStepAttributesSequence = [scheduled_step(*s) for s in steps]
    return ds


def ended(status: str, series: list[str] = (), reason: str | None = None) -> Dataset:  # type: ignore[assignment]
    ds = Dataset()
    ds.PerformedProcedureStepStatus = status
    ds.PerformedProcedureStepEndDate = "20261123"
    ds.PerformedProcedureStepEndTime = "091500"
    items = []
    for uid in series:
        item = Dataset()
        item.SeriesInstanceUID = uid
        item.ReferencedImageSequence = []
        items.append(item)
    ds.PerformedSeriesSequence = items
    if reason:
        code = Dataset()
        code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = "110514", "DCM", reason
        ds.PerformedProcedureStepDiscontinuationReasonCodeSequence = [code]
    return ds


def create(assoc: Association, ds: Dataset, uid: str | None) -> Any:
    status, _ = assoc.send_n_create(ds, ModalityPerformedProcedureStep, uid)
    return status


def update(assoc: Association, ds: Dataset, uid: str) -> Any:
    status, _ = assoc.send_n_set(ds, ModalityPerformedProcedureStep, uid)
    return status


def step(ctx: Context, uid: str) -> PerformedStep | None:
    with ctx.uow(readonly=True) as uow:
        found = uow.session.scalars(
            select(PerformedStep).where(PerformedStep.mpps_uid == uid)
        ).first()
        if found is not None:
            uow.session.expunge(found)  # a plain record from here on
        return found


@plain_too
def test_started_then_completed_moves_the_procedure_and_keeps_the_series(
    ctx: Context, assoc: Association
) -> None:
    accession, study_uid = booked(ctx)
    uid, series = generate_uid(), [generate_uid(), generate_uid()]
    assert create(assoc, started(accession, study_uid), uid).Status == 0x0000
    assert procedures.get_procedure(ctx, accession).procedure.state == "in-progress"
    assert update(assoc, ended("COMPLETED", series), uid).Status == 0x0000
    detail = procedures.get_procedure(ctx, accession)
    assert detail.procedure.state == "completed"
    assert {e.actor for e in detail.events[-3:]} == {f"dicom:{SCANNER}"}
    row = step(ctx, uid)
    assert row is not None and row.series_uids == series and row.status == "COMPLETED"
    assert row.attributes["00100010"]["Value"] == [{"Alphabetic": "Sørensen^Åse"}]


def test_discontinued_carries_the_scanners_reason(ctx: Context, assoc: Association) -> None:
    accession, study_uid = booked(ctx)
    uid = generate_uid()
    create(assoc, started(accession, study_uid), uid)
    assert update(assoc, ended("DISCONTINUED", reason="Patient uncooperative"), uid).Status == 0
    detail = procedures.get_procedure(ctx, accession)
    assert detail.procedure.state == "discontinued"
    assert [e.reason for e in detail.events if e.to_state == "discontinued"] == [
        "Patient uncooperative"
    ]


def test_off_worklist_step_is_accepted_and_kept_without_procedure(
    ctx: Context, assoc: Association
) -> None:
    uid = generate_uid()
    assert create(assoc, started("NOTOURS1", generate_uid()), uid).Status == 0x0000
    row = step(ctx, uid)
    assert row is not None and row.procedure_id is None


def test_the_scp_assigns_a_uid_when_the_scanner_gives_none(
    ctx: Context, assoc: Association
) -> None:
    accession, study_uid = booked(ctx)
    assert create(assoc, started(accession, study_uid), None).Status == 0x0000
    with ctx.uow(readonly=True) as uow:
        uid = uow.session.scalars(select(PerformedStep.mpps_uid)).one()
    assert uid.startswith(ctx.settings.uid_root + ".")


def test_every_refusal_has_its_status_and_comment_and_the_association_lives_on(
    ctx: Context, assoc: Association
) -> None:
    accession, study_uid = booked(ctx)
    uid = generate_uid()
    wrong = create(assoc, started(accession, study_uid, "COMPLETED"), uid)
    assert (wrong.Status, step(ctx, uid)) == (0x0106, None)
    assert "PerformedProcedureStepStatus" in wrong.ErrorComment
    assert create(assoc, started(accession, study_uid), uid).Status == 0x0000
    again = create(assoc, started(accession, study_uid), uid)
    assert again.Status == 0x0111 and "already exists" in again.ErrorComment
    unknown = update(assoc, ended("COMPLETED"), generate_uid())
    assert unknown.Status == 0x0112 and "no such MPPS" in unknown.ErrorComment
    assert update(assoc, ended("COMPLETED"), uid).Status == 0x0000
    late = update(assoc, ended("DISCONTINUED"), uid)
    assert late.Status == 0x0110 and "already completed" in late.ErrorComment
    unbooked = new_referral(ctx).procedures[0].accession
    illegal = create(assoc, started(unbooked, generate_uid()), generate_uid())
    assert illegal.Status == 0x0110
    assert "cannot go from requested to in-progress" in illegal.ErrorComment
    assert procedures.get_procedure(ctx, accession).procedure.state == "completed"
    assert assoc.is_established


def test_a_group_case_step_moves_every_procedure_it_names(ctx: Context, assoc: Association) -> None:
    group, uid = booked_group(ctx), generate_uid()
    assert create(assoc, started_group(group), uid).Status == 0x0000
    assert {procedures.get_procedure(ctx, a).procedure.state for a, _ in group} == {"in-progress"}
    assert update(assoc, ended("COMPLETED", [generate_uid()]), uid).Status == 0x0000
    for accession, _ in group:
        detail = procedures.get_procedure(ctx, accession)
        assert detail.procedure.state == "completed"
        moved = [(e.to_state, e.actor) for e in detail.events if e.to_state is not None]
        assert moved[-3:] == [
            ("arrived", f"dicom:{SCANNER}"),
            ("in-progress", f"dicom:{SCANNER}"),
            ("completed", f"dicom:{SCANNER}"),
        ]


def test_a_group_case_one_procedure_cannot_take_is_refused_whole(
    ctx: Context, assoc: Association
) -> None:
    (thorax, thorax_uid), (abdomen, abdomen_uid) = booked_group(ctx)
    procedures.act(ctx, abdomen, procedures.Action.CANCEL, "booker", "patient declined")
    uid = generate_uid()
    refused = create(assoc, started_group([(thorax, thorax_uid), (abdomen, abdomen_uid)]), uid)
    assert refused.Status == 0x0110
    assert refused.ErrorComment.startswith(f"{abdomen}: cannot go from cancelled")
    assert (step(ctx, uid), procedures.get_procedure(ctx, thorax).procedure.state) == (
        None,
        "booked",
    )
    assert assoc.is_established


def test_a_group_case_with_an_unknown_item_is_accepted_and_kept_visible(
    ctx: Context, assoc: Association
) -> None:
    (accession, study_uid), uid = booked(ctx), generate_uid()
    ds = started_group([(accession, study_uid), ("NOTOURS2", generate_uid())])
    assert create(assoc, ds, uid).Status == 0x0000
    row = step(ctx, uid)
    assert row is not None and row.unmatched_reason is not None
    assert "NOTOURS2" in row.unmatched_reason
    assert procedures.get_procedure(ctx, accession).procedure.state == "in-progress"
