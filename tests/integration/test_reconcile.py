"""Reconciliation: every study finds its procedure, or waits visibly with the reason why.

Instances go in through services.archive.storing.store_instance as the C-STORE door sends them:
the file meta header made by the door, then the dataset bytes as pydicom encodes them,
with the header read by the door's own reader. Merges carry the images and undo exactly.
"""

from __future__ import annotations

import random

from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from sqlalchemy import select

from lysbord.dicomcodec.header import read_header
from lysbord.dicomcodec.meta import file_meta
from lysbord.domain.calendar import local_date
from lysbord.services.archive import assignment, studies
from lysbord.services.archive.storing import InstanceIds, Received, StoreOutcome, store_instance
from lysbord.services.core.context import Context
from lysbord.services.operations.check import run_checks
from lysbord.services.pathway import booking, procedures
from lysbord.services.pathway.procedures import Action
from lysbord.services.people import patients
from lysbord.store.archive_models import Study
from lysbord.store.blobs import BlobStore
from lysbord.store.models import Event, PatientMerge
from tests.dicomdata import CT, base_dataset
from tests.helpers import new_patient, new_referral, random_cpr

CT1 = "AAACT1"  # the AE title of Alfa's CT 1 in the small region
MERGE_WHY = "samme person, bekræftet ved ID-kontrol"


def blobs(ctx: Context) -> BlobStore:
    return BlobStore(ctx.settings.data_dir / "blobs")


def send(
    ctx: Context,
    *,
    patient_id: str,
    accession: str = "",
    study_uid: str | None = None,
    series_uid: str | None = None,
    modality: str = "CT",
    study_date: str = "20261123",
    name: str = "Hansen^Jens",
    ae: str = CT1,
    count: int = 2,
) -> tuple[str, list[StoreOutcome]]:
    """``count`` instances of one series, stored like the door stores them; the study UID."""
    study_uid, series_uid = study_uid or generate_uid(), series_uid or generate_uid()
    outcomes = []
    for number in range(1, count + 1):
        ds = base_dataset(
            CT,
            patient_id=patient_id,
            patient_name=name,
            accession=accession,
            study_uid=study_uid,
            series_uid=series_uid,
            modality=modality,
            number=number + random.randrange(1000),
            study_date=study_date,
            size=8,
        )
        outcomes.append(store(ctx, ds, ae))
    return study_uid, outcomes


def store(ctx: Context, ds, ae: str = CT1, ids: InstanceIds | None = None) -> StoreOutcome:
    """One instance as the door stores it; ``ids``: the door's cache of study and series ids."""
    ts = str(ExplicitVRLittleEndian)
    fp = DicomBytesIO()
    fp.is_implicit_VR, fp.is_little_endian = False, True
    write_dataset(fp, ds)
    data = bytes(fp.getvalue())
    item = Received(CT, ds.SOPInstanceUID, ts, read_header(data, ts), ae)
    parts = [file_meta(CT, ds.SOPInstanceUID, ts), data]
    return store_instance(ctx, blobs(ctx), item, parts, ids)


def booked(ctx: Context, cpr: str | None = None, code: str = "UXCC00") -> tuple[str, str]:
    """A procedure booked at Alfa for a (new) patient: its accession and study date."""
    accession = new_referral(ctx, cpr, codes=(code,)).procedures[0].accession
    offer = booking.find_slots(ctx, booking.SlotSearch(accession, sites=["AAA"], limit=1))[0]
    view = booking.book(ctx, accession, offer.slot_id, "tester")
    return accession, local_date(view.start_at).strftime("%Y%m%d")


def study_row(ctx: Context, study_uid: str) -> Study:
    """The row as it is now, detached (a unit of work expires what it loaded on exit)."""
    with ctx.uow(readonly=True) as uow:
        row = uow.session.scalars(select(Study).where(Study.study_uid == study_uid)).one()
        uow.session.expunge(row)
        return row


def events(ctx: Context, kind: str) -> list[Event]:
    with ctx.uow(readonly=True) as uow:
        stmt = select(Event).where(Event.kind == kind).order_by(Event.id)
        found = list(uow.session.scalars(stmt))
        uow.session.expunge_all()
        return found


def holds(ctx: Context) -> list[tuple[str, list[str]]]:
    return [(f.rule, f.examples) for f in run_checks(ctx) if f.count]


def test_accession_links_the_study_and_the_procedure_has_its_images(ctx, clock):
    cpr = new_patient(ctx, family_name="Ærø", given_name="Søren")
    accession, day = booked(ctx, cpr)
    clock.advance(hours=1)
    uid, outcomes = send(ctx, patient_id=cpr, accession=accession, study_date=day, count=3)
    assert [o.status for o in outcomes] == ["stored"] * 3 and outcomes[0].new_study
    detail = procedures.get_procedure(ctx, accession)
    assert detail.procedure.images_received_at == clock()
    summary = detail.procedure.study
    assert summary is not None and summary.study_uid == uid
    assert (summary.modalities, summary.series_count, summary.instance_count) == (["CT"], 1, 3)
    received = [e for e in detail.events if e.kind == "procedure.images-received"]
    assert [e.data["matched_by"] for e in received] == ["accession number"]
    row = study_row(ctx, uid)
    assert (row.patient_key, row.patient_name, row.accession) == (cpr, "Ærø^Søren", accession)
    assert row.received_patient_name == "Hansen^Jens" and row.unmatched_reason is None
    assert studies.get_study(ctx, uid).site == "AAA"
    assert holds(ctx) == []


def test_accession_with_an_unknown_patient_links_and_corrects_the_patient(ctx):
    cpr = new_patient(ctx)
    accession, _ = booked(ctx, cpr)
    typo = random_cpr()
    uid, _ = send(ctx, patient_id=typo, accession=accession)
    row = study_row(ctx, uid)
    assert row.procedure_id is not None and row.patient_key == cpr
    assert row.received_patient_key == typo
    assert events(ctx, "procedure.images-received")[-1].data["from"]["patient_key"] == typo


def test_accession_of_another_known_patient_waits_for_a_person(ctx):
    accession, _ = booked(ctx)
    other = new_patient(ctx)
    uid, _ = send(ctx, patient_id=other, accession=accession)
    row = study_row(ctx, uid)
    assert row.procedure_id is None
    assert row.unmatched_reason == (
        f"accession number matches procedure {accession}, but it is another patient's"
        f" than PatientID '{other}'"
    )
    assert procedures.get_procedure(ctx, accession).procedure.images_received_at is None
    unmatched = events(ctx, "study.unmatched")[-1]
    assert unmatched.data["study_uid"] == uid and unmatched.reason == row.unmatched_reason
    assert holds(ctx) == []


def test_study_instance_uid_from_the_worklist_links_without_accession(ctx):
    cpr = new_patient(ctx)
    accession, _ = booked(ctx, cpr)
    worklist_uid = procedures.get_procedure(ctx, accession).procedure.study_uid
    send(ctx, patient_id=cpr, study_uid=worklist_uid, study_date="19990101")
    row = study_row(ctx, worklist_uid)
    assert row.accession == accession  # the corrected effective accession
    assert row.received_accession == ""
    assert events(ctx, "procedure.images-received")[-1].data["matched_by"] == "study instance uid"


def test_patient_date_and_modality_link_an_off_worklist_study(ctx):
    cpr = new_patient(ctx)
    accession, day = booked(ctx, cpr, code="UXRC00")  # an X-ray: DX
    uid, _ = send(ctx, patient_id=cpr, modality="CR", study_date=day)
    assert study_row(ctx, uid).accession == accession
    other_day, _ = send(ctx, patient_id=cpr, modality="CR", study_date="20300101")
    assert study_row(ctx, other_day).unmatched_reason == (
        "no booked procedure for this patient, modality and date 20300101"
    )


def test_unknown_patient_without_accession_is_kept_with_the_reason(ctx):
    stranger = random_cpr()
    uid, _ = send(ctx, patient_id=stranger, accession="XX999")
    row = study_row(ctx, uid)
    assert row.patient_id is None and row.procedure_id is None
    assert row.unmatched_reason == (
        f"unknown patient '{stranger}' and no procedure has accession number 'XX999'"
    )
    assert [v.study_uid for v in studies.list_unmatched(ctx)[0]] == [uid]


def test_study_before_its_patient_stays_queued_and_is_found_by_the_new_number(ctx):
    """No re-matching later: a later series joins the study as it is, still in the queue."""
    cpr = random_cpr()
    uid, _ = send(ctx, patient_id=cpr)
    new_patient(ctx, cpr=cpr)
    accession, _ = booked(ctx, cpr)
    send(ctx, patient_id=cpr, accession=accession, study_uid=uid)
    view = studies.get_study(ctx, uid)
    assert (view.status, view.series_count, view.instance_count) == ("unmatched", 2, 4)
    found, total = studies.list_studies(ctx, studies.StudyFilter(cpr=cpr))
    assert total == 1 and found[0].study_uid == uid


def test_a_second_study_for_the_same_accession_is_not_linked(ctx):
    cpr = new_patient(ctx)
    accession, _ = booked(ctx, cpr)
    first, _ = send(ctx, patient_id=cpr, accession=accession)
    second, _ = send(ctx, patient_id=cpr, accession=accession)
    assert study_row(ctx, second).unmatched_reason == (
        f"accession number matches procedure {accession},"
        f" but procedure {accession} already has study {first}"
    )
    assert procedures.get_procedure(ctx, accession).procedure.study.study_uid == first
    assert holds(ctx) == []


def test_images_for_a_cancelled_procedure_wait_for_a_person(ctx):
    cpr = new_patient(ctx)
    accession, _ = booked(ctx, cpr)
    procedures.act(ctx, accession, Action.CANCEL, "tester", "patienten aflyste")
    uid, _ = send(ctx, patient_id=cpr, accession=accession)
    assert study_row(ctx, uid).unmatched_reason.endswith(f"procedure {accession} is cancelled")


def test_a_study_sent_again_after_assignment_keeps_the_assignment(ctx):
    cpr = new_patient(ctx)
    accession, _ = booked(ctx, cpr)
    wrong = random_cpr()
    ds = base_dataset(
        CT,
        patient_id=wrong,
        patient_name="X^Y",
        accession="WRONG1",
        study_uid=generate_uid(),
        series_uid=generate_uid(),
        modality="CT",
        number=1,
        size=8,
    )
    assert store(ctx, ds).new_study
    uid = ds.StudyInstanceUID
    assignment.assign_study(
        ctx, uid, assignment.Assignment("tastefejl", accession=accession), "pacs"
    )
    again = store(ctx, ds)  # the same instance, as a modality re-sends a whole study
    more, _ = send(ctx, patient_id=wrong, accession="WRONG1", study_uid=uid)  # and a new series
    after = studies.get_study(ctx, uid)
    assert (again.status, again.new_study) == ("stored", False)
    assert (after.status, after.patient_key, after.accession) == ("linked", cpr, accession)
    assert (after.received_patient_key, after.received_accession) == (wrong, "WRONG1")
    assert (after.series_count, after.instance_count) == (2, 3)
    assert len(events(ctx, "study.unmatched")) == 1
    assert holds(ctx) == []


def test_merge_carries_the_studies_and_undo_brings_exactly_them_back(ctx):
    source = new_patient(ctx, family_name="Ukendt", given_name="")
    target = new_patient(ctx, family_name="Berg", given_name="Ida")
    accession, _ = booked(ctx, source)
    linked, _ = send(ctx, patient_id=source, accession=accession)
    loose, _ = send(ctx, patient_id=source)  # unmatched but known: the patient's too
    kept, _ = send(ctx, patient_id=target)
    view = patients.merge_patients(ctx, source, target, MERGE_WHY, "tester")
    for uid in (linked, loose):
        row = study_row(ctx, uid)
        assert (row.patient_id, row.patient_key, row.patient_name) == (view.id, target, "Berg^Ida")
    assert study_row(ctx, kept).patient_id == view.id
    with ctx.uow(readonly=True) as uow:
        merge = uow.session.scalars(select(PatientMerge)).one()
        uow.session.expunge(merge)
    ids = {study_row(ctx, u).id for u in (linked, loose)}
    assert set(merge.moved_study_ids) == ids
    assert set(events(ctx, "patient.merged")[-1].data["moved_study_ids"]) == ids
    assert holds(ctx) == []
    patients.undo_merge(ctx, merge.id, "forkert sammenlægning", "tester")
    for uid in (linked, loose):
        row = study_row(ctx, uid)
        assert (row.patient_key, row.patient_name) == (source, "Ukendt")
        assert row.received_patient_key == source
    assert study_row(ctx, kept).patient_key == target
    assert set(events(ctx, "patient.merge-undone")[-1].data["moved_study_ids"]) == ids
    assert holds(ctx) == []


def test_images_with_the_old_number_link_to_the_survivor_and_undo_follows(ctx):
    source, target = new_patient(ctx), new_patient(ctx)
    accession, day = booked(ctx, source)
    survivor = patients.merge_patients(ctx, source, target, MERGE_WHY, "tester")
    uid, _ = send(ctx, patient_id=source, study_date=day)  # the old number, no accession
    late, _ = send(ctx, patient_id=source, study_date="20300101")  # unmatched, old number
    row = study_row(ctx, uid)
    assert (row.procedure_id is not None, row.patient_id) == (True, survivor.id)
    assert row.patient_key == target and row.accession == accession
    assert study_row(ctx, late).patient_id == survivor.id
    patients.undo_merge(ctx, survivor.merges[0].id, "forkert sammenlægning", "tester")
    assert study_row(ctx, uid).patient_key == source
    assert study_row(ctx, late).patient_id != survivor.id
    assert holds(ctx) == []


def test_a_study_from_before_a_merged_record_existed_is_found_by_the_survivors_number(ctx):
    old = random_cpr()
    uid, _ = send(ctx, patient_id=old)  # nobody has this number yet
    new_patient(ctx, cpr=old)
    survivor = new_patient(ctx)
    patients.merge_patients(ctx, old, survivor, MERGE_WHY, "tester")
    found, total = studies.list_studies(ctx, studies.StudyFilter(cpr=survivor))
    assert total == 1 and found[0].study_uid == uid
    assert studies.list_studies(ctx, studies.StudyFilter(cpr=random_cpr()))[1] == 0
