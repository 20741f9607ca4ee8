"""A study sent with a wrong accession and an unknown patient is never lost.

DCMTK's storescu sends it to the running door; it waits in the unmatched queue (REST);
a person assigns it to the right accession; the procedure then has its images, the
study carries the corrected patient and accession, and a C-GET (getscu) sends them out.
"""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from pydicom import dcmread

from lysbord.app import create_app
from lysbord.dicom.server import DicomDoor
from lysbord.domain.access import Role
from lysbord.services.core.context import Context
from lysbord.services.operations.check import run_checks
from lysbord.services.pathway import booking
from tests.dicomdata import ct_series
from tests.helpers import new_patient, new_referral, random_cpr
from tests.interop.conftest import dcmtk
from tests.web_fixtures import bearer


def booked(ctx: Context, cpr: str) -> str:
    accession = new_referral(ctx, cpr).procedures[0].accession
    offer = booking.find_slots(ctx, booking.SlotSearch(accession, limit=1))[0]
    booking.book(ctx, accession, offer.slot_id, "tester")
    return accession


def test_wrong_accession_and_unknown_patient_wait_then_are_assigned(
    ctx: Context, door: DicomDoor, tmp_path: Path
) -> None:
    cpr = new_patient(ctx, family_name="Ærø", given_name="Søren")
    accession = booked(ctx, cpr)
    typo, wrong = random_cpr(), f"X{accession[1:]}9"
    files = ct_series(tmp_path / "sent", 3, patient_id=typo, accession=wrong)
    sent = dcmtk(
        "storescu",
        "-aet",
        "AAACT1",
        "-aec",
        "LYSBORD",
        "127.0.0.1",
        str(door.port),
        *map(str, files),
    )
    assert sent.returncode == 0, sent.stderr
    study_uid = str(dcmread(files[0]).StudyInstanceUID)
    with TestClient(create_app(ctx), headers=bearer(ctx, Role.radiographer)) as api:
        queue = api.get("/api/v1/unmatched-studies").json()
        assert [s["study_uid"] for s in queue["items"]] == [study_uid]
        waiting = queue["items"][0]
        assert (waiting["patient_key"], waiting["accession"]) == (typo, wrong)
        assert waiting["unmatched_reason"] == (
            f"unknown patient '{typo}' and no procedure has accession number '{wrong}'"
        )
        assert (waiting["calling_ae"], waiting["site"], waiting["instance_count"]) == (
            "AAACT1",
            "AAA",
            3,
        )
        body = {"accession": accession, "reason": "forkert CPR og accession på CT 1"}
        answer = api.post(f"/api/v1/unmatched-studies/{study_uid}/assign", json=body)
        assert answer.status_code == 200, answer.text
        detail = api.get(f"/api/v1/procedures/{accession}").json()
        assert api.get("/api/v1/unmatched-studies").json()["total"] == 0
    assert detail["procedure"]["images_received_at"] is not None
    assert detail["procedure"]["study"]["study_uid"] == study_uid
    study = answer.json()
    assert (study["patient_key"], study["patient_name"], study["accession"]) == (
        cpr,
        "Ærø^Søren",
        accession,
    )
    assert (study["received_patient_key"], study["received_accession"]) == (typo, wrong)
    got = tmp_path / "got"
    got.mkdir()
    fetched = dcmtk(
        "getscu",
        "-aec",
        "LYSBORD",
        "-S",
        "-od",
        str(got),
        "-k",
        "QueryRetrieveLevel=STUDY",
        "-k",
        f"StudyInstanceUID={study_uid}",
        "127.0.0.1",
        str(door.port),
    )
    assert fetched.returncode == 0, fetched.stderr
    headers = [dcmread(p) for p in got.iterdir()]
    assert len(headers) == 3
    assert {(ds.PatientID, str(ds.PatientName), ds.AccessionNumber) for ds in headers} == {
        (cpr, "Ærø^Søren", accession)
    }
    assert [f.rule for f in run_checks(ctx) if f.count] == []
