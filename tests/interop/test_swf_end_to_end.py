"""IHE Scheduled Workflow, end to end: referral → booking → worklist → MPPS → images → report queue.

The scanner is played by DCMTK (``findscu -W``, ``storescu``) and pynetdicom (MPPS), all
calling as Alfa's CT 1 (AE title AAACT1); everything else goes through the services.
"""

from __future__ import annotations

from pathlib import Path

from pydicom import dcmread
from pydicom.uid import generate_uid
from pynetdicom import AE
from pynetdicom.association import Association
from pynetdicom.sop_class import ModalityPerformedProcedureStep  # type: ignore[attr-defined]
from sqlalchemy import select

from lysbord.dicom.server import DicomDoor
from lysbord.domain.tracking import Queue
from lysbord.services.core.context import Context
from lysbord.services.operations.check import run_checks
from lysbord.services.pathway import booking, procedures, referral_queries, tracker
from lysbord.store.archive_models import Instance, Series, Study
from lysbord.web.queries_work import ReadingFilter, reading_list
from tests.dicomdata import ct_series
from tests.helpers import new_patient, new_referral
from tests.interop.conftest import dcmtk
from tests.interop.test_mpps import booked_group, ended, started, started_group
from tests.interop.test_worklist import findscu

SCANNER = "AAACT1"


def mpps_association(door: DicomDoor) -> Association:
    """The scanner's association for MPPS."""
    ae = AE(ae_title=SCANNER)
    ae.add_requested_context(ModalityPerformedProcedureStep)
    assoc = ae.associate("127.0.0.1", door.port, ae_title="LYSBORD")
    assert assoc.is_established
    return assoc


def storescu(door: DicomDoor, files: list[Path]) -> str:
    """Send the images as the scanner, with DCMTK; the Series Instance UID they carry."""
    stored = dcmtk(
        "storescu",
        "-aet",
        SCANNER,
        "-aec",
        "LYSBORD",
        "127.0.0.1",
        str(door.port),
        *map(str, files),
    )
    assert stored.returncode == 0, stored.stderr
    return str(dcmread(files[0]).SeriesInstanceUID)


def complete(assoc: Association, mpps_uid: str, series_uid: str) -> None:
    """MPPS: completed, naming the series; the association ends."""
    status, _ = assoc.send_n_set(
        ended("COMPLETED", [series_uid]), ModalityPerformedProcedureStep, mpps_uid
    )
    assoc.release()
    assert status.Status == 0x0000


def test_a_ct_thorax_from_referral_to_awaiting_report(
    ctx: Context, door: DicomDoor, tmp_path: Path
) -> None:
    cpr = new_patient(ctx, family_name="Ærø", given_name="Søren")
    referral = new_referral(ctx, cpr)
    accession = referral.procedures[0].accession
    offers = booking.find_slots(ctx, booking.SlotSearch(accession, sites=["AAA"], limit=5))
    today = [o for o in offers if o.start_at.date() == ctx.now().date()]
    booking.book(ctx, accession, today[0].slot_id, "booker")

    # The scanner asks for its day and finds the patient with the RIS's keys.
    worklist = findscu(
        door,
        tmp_path,
        sps={"ScheduledStationAETitle": SCANNER, "ScheduledProcedureStepStartDate": "20261123"},
        calling=SCANNER,
    )
    [item] = [ds for ds in worklist if ds.PatientID == cpr]
    study_uid = procedures.get_procedure(ctx, accession).procedure.study_uid
    assert (item.AccessionNumber, item.StudyInstanceUID) == (accession, study_uid)
    assert str(item.PatientName) == "Ærø^Søren"

    # MPPS: started.
    assoc = mpps_association(door)
    mpps_uid = generate_uid()
    status, _ = assoc.send_n_create(
        started(item.AccessionNumber, item.StudyInstanceUID),
        ModalityPerformedProcedureStep,
        mpps_uid,
    )
    assert status.Status == 0x0000
    assert procedures.get_procedure(ctx, accession).procedure.state == "in-progress"

    # The images, carrying the worklist's accession and Study Instance UID.
    files = ct_series(
        tmp_path / "ct",
        4,
        patient_id=cpr,
        accession=item.AccessionNumber,
        study_uid=item.StudyInstanceUID,
        patient_name="Ærø^Søren",
    )
    series_uid = storescu(door, files)

    # MPPS: completed, naming the series.
    complete(assoc, mpps_uid, series_uid)

    detail = procedures.get_procedure(ctx, accession)
    assert detail.procedure.state == "completed"
    assert detail.procedure.images_received_at is not None
    with ctx.uow(readonly=True) as uow:
        s = uow.session
        study = s.scalars(select(Study).where(Study.study_uid == study_uid)).one()
        assert study.procedure_id == detail.procedure.id
        count = len(
            s.scalars(select(Instance.id).join(Series).where(Series.study_id == study.id)).all()
        )
        assert count == 4
    view = referral_queries.get_referral(ctx, referral.id)
    assert view.queue == Queue.AWAITING_REPORT
    assert tracker.board(ctx).by_queue.get(Queue.AWAITING_REPORT.value) == 1


def test_a_group_case_thorax_and_abdomen_in_one_acquisition(
    ctx: Context, door: DicomDoor, tmp_path: Path
) -> None:
    """One MPPS performs both procedures; the images carry the thorax's keys and reconcile to
    it, and count for the abdomen too: both wait on the reading worklist with that study."""
    group = booked_group(ctx)
    (thorax, study_uid), (abdomen, _) = group
    assoc = mpps_association(door)
    mpps_uid = generate_uid()
    status, _ = assoc.send_n_create(started_group(group), ModalityPerformedProcedureStep, mpps_uid)
    assert status.Status == 0x0000

    cpr = procedures.get_procedure(ctx, thorax).referral.cpr
    files = ct_series(tmp_path / "ct", 3, patient_id=cpr, accession=thorax, study_uid=study_uid)
    series_uid = storescu(door, files)
    complete(assoc, mpps_uid, series_uid)

    assert {procedures.get_procedure(ctx, a).procedure.state for a in (thorax, abdomen)} == {
        "completed"
    }
    with ctx.uow(readonly=True) as uow:
        study = uow.session.scalars(select(Study).where(Study.study_uid == study_uid)).one()
        assert study.procedure_id == procedures.get_procedure(ctx, thorax).procedure.id
    items, _ = reading_list(ctx, ReadingFilter(modality="CT"), offset=0)
    reading = {i.accession: (i.study_uid, i.images_received_at is not None) for i in items}
    assert reading == {thorax: (study_uid, True), abdomen: (study_uid, True)}
    shared = procedures.get_procedure(ctx, abdomen)
    assert shared.procedure.study is not None and shared.procedure.study.shared_from == thorax
    assert [f.rule for f in run_checks(ctx, blobs=False) if f.count] == []
