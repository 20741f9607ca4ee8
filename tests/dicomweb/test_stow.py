"""STOW-RS with dicomweb-client and raw bodies: stored as C-STORE stores, refusals named.

Every refusal is per instance (FailedSOPSequence with a FailureReason, and a Warning
header in words) unless the body cannot be read at all; nothing is half-stored.
"""

from __future__ import annotations

from pathlib import Path

import httpx2 as httpx
import pytest
from dicomweb_client.api import DICOMwebClient
from pydicom import Dataset
from requests import HTTPError
from sqlalchemy import func, select

from lysbord.services.archive import studies
from lysbord.services.core.context import Context
from lysbord.store.archive_models import Instance, InstanceConflict
from tests.dicomweb.helpers import BOUNDARY, MULTIPART_DICOM, body, ct, part10, post
from tests.helpers import new_referral, random_cpr

FAILED, REFERENCED, REASON = "FailedSOPSequence", "ReferencedSOPSequence", "FailureReason"


def count(ctx: Context, model: type = Instance) -> int:
    with ctx.uow(readonly=True) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model)) or 0)


def failures(response: httpx.Response) -> list[tuple[str, int]]:
    answer = Dataset.from_json(response.json())
    return [
        (item.get("ReferencedSOPInstanceUID", ""), item.FailureReason)
        for item in answer.get(FAILED, [])
    ]


def test_stored_instances_are_listed_with_their_urls(
    bare_ctx: Context, dw: DICOMwebClient, dicomweb_url: str, tmp_path: Path
) -> None:
    sent = ct(tmp_path, 3, patient_id=random_cpr())
    answer = dw.store_instances(sent)
    study = sent[0].StudyInstanceUID
    assert answer.RetrieveURL == f"{dicomweb_url}/studies/{study}"
    refs = {item.ReferencedSOPInstanceUID: item for item in answer.ReferencedSOPSequence}
    assert set(refs) == {ds.SOPInstanceUID for ds in sent}
    first = refs[sent[0].SOPInstanceUID]
    assert first.ReferencedSOPClassUID == sent[0].SOPClassUID
    assert first.RetrieveURL.endswith(
        f"/studies/{study}/series/{sent[0].SeriesInstanceUID}/instances/{sent[0].SOPInstanceUID}"
    )
    assert FAILED not in answer
    assert len(dw.search_for_instances(study_instance_uid=study)) == 3


def test_the_same_instances_again_are_stored_once(
    bare_ctx: Context, dw: DICOMwebClient, tmp_path: Path
) -> None:
    sent = ct(tmp_path, 2, patient_id=random_cpr())
    dw.store_instances(sent)
    again = dw.store_instances(sent)
    assert len(again.ReferencedSOPSequence) == 2
    assert count(bare_ctx) == 2


def test_other_bytes_under_a_stored_uid_are_kept_as_a_conflict(
    bare_ctx: Context, dicomweb_url: str, tmp_path: Path
) -> None:
    ds = ct(tmp_path, 1, patient_id=random_cpr())[0]
    assert (
        post(f"{dicomweb_url}/studies", body(("application/dicom", part10(ds)))).status_code == 200
    )
    ds.StudyDescription = "changed"
    response = post(f"{dicomweb_url}/studies", body(("application/dicom", part10(ds))))
    assert response.status_code == 409, response.text
    assert failures(response) == [(ds.SOPInstanceUID, 0xC001)]
    assert "kept as conflict" in response.headers["Warning"]
    assert (count(bare_ctx), count(bare_ctx, InstanceConflict)) == (1, 1)


def test_an_instance_of_another_study_than_the_path_is_refused_alone(
    bare_ctx: Context, dw: DICOMwebClient, tmp_path: Path
) -> None:
    mine = ct(tmp_path / "a", 2, patient_id=random_cpr())
    other = ct(tmp_path / "b", 1, patient_id=random_cpr())
    answer = dw.store_instances(mine + other, study_instance_uid=mine[0].StudyInstanceUID)
    assert [i.ReferencedSOPInstanceUID for i in answer.ReferencedSOPSequence] == [
        ds.SOPInstanceUID for ds in mine
    ]
    assert [(i.ReferencedSOPInstanceUID, i.FailureReason) for i in answer.FailedSOPSequence] == [
        (other[0].SOPInstanceUID, 0xA900)
    ]
    assert (
        dw.search_for_studies(search_filters={"StudyInstanceUID": other[0].StudyInstanceUID}) == []
    )


def test_parts_that_are_not_dicom_fail_with_a_reason(
    bare_ctx: Context, dicomweb_url: str, tmp_path: Path
) -> None:
    good = ct(tmp_path, 1, patient_id=random_cpr())[0]
    data = body(
        ("application/dicom", part10(good)),
        ("application/dicom", b"this is not DICOM"),
        ("image/jpeg", b"\xff\xd8\xff"),
    )
    response = post(f"{dicomweb_url}/studies", data, Accept="application/dicom+json")
    assert response.status_code == 202, response.text
    assert response.headers["content-type"] == "application/dicom+json"
    assert failures(response) == [("", 0xC000), ("", 0xC000)]
    warning = response.headers["Warning"]
    assert "part 2: cannot read the part: not a DICOM Part 10 file" in warning
    assert "part 3: a part of type 'image/jpeg'" in warning
    assert count(bare_ctx) == 1


def test_dicom_without_uids_is_refused(
    bare_ctx: Context, dicomweb_url: str, tmp_path: Path
) -> None:
    ds = ct(tmp_path, 1, patient_id=random_cpr())[0]
    del ds.SeriesInstanceUID
    response = post(f"{dicomweb_url}/studies", body(("application/dicom", part10(ds))))
    assert response.status_code == 409
    assert failures(response) == [(ds.SOPInstanceUID, 0xA900)]
    assert "missing SeriesInstanceUID" in response.headers["Warning"]


@pytest.mark.parametrize(
    ("content_type", "data", "status", "reason"),
    [
        ("application/dicom", b"DICM", 415, "multipart/related"),
        ('multipart/related; type="application/dicom+json"; boundary=x', b"", 415, "JSON"),
        ('multipart/related; type="application/dicom"', b"", 400, "no boundary"),
        (MULTIPART_DICOM.replace(BOUNDARY, "other"), body(), 400, "no part starts"),
        (
            MULTIPART_DICOM,
            body(("application/dicom", b"x" * 300), closing=False),
            400,
            "no closing",
        ),
        (MULTIPART_DICOM, f"--{BOUNDARY}--\r\n".encode(), 400, "no parts"),
    ],
)
def test_bodies_that_cannot_be_read_store_nothing(
    bare_ctx: Context, dicomweb_url: str, content_type: str, data: bytes, status: int, reason: str
) -> None:
    response = post(f"{dicomweb_url}/studies", data, content_type)
    assert response.status_code == status, response.text
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert reason in problem["detail"]
    assert problem["field"] in ("Content-Type", "body")
    assert count(bare_ctx) == 0


def test_a_part_over_the_size_limit_ends_the_request_after_what_was_stored(
    bare_ctx: Context, dicomweb_url: str, tmp_path: Path
) -> None:
    bare_ctx.settings.dicomweb.stow_max_instance_mb = 1
    small = ct(tmp_path / "small", 1, patient_id=random_cpr())[0]
    large = ct(tmp_path / "large", 1, patient_id=random_cpr(), size=1024)[0]  # 2 MB
    data = body(("application/dicom", part10(small)), ("application/dicom", part10(large)))
    response = post(f"{dicomweb_url}/studies", data)
    assert response.status_code == 202, response.text
    assert failures(response) == [("", 0xC000)]
    assert "part 2 is larger than 1048576 bytes" in response.headers["Warning"]
    assert count(bare_ctx) == 1


def test_a_response_type_other_than_json_is_not_acceptable(
    bare_ctx: Context, dicomweb_url: str, tmp_path: Path
) -> None:
    ds = ct(tmp_path, 1, patient_id=random_cpr())[0]
    data = body(("application/dicom", part10(ds)))
    response = post(f"{dicomweb_url}/studies", data, Accept="application/dicom+xml")
    assert response.status_code == 406
    assert response.json()["field"] == "Accept"
    assert count(bare_ctx) == 0


def test_a_bad_uid_in_the_path_is_refused(bare_ctx: Context, dicomweb_url: str) -> None:
    response = post(f"{dicomweb_url}/studies/not-a-uid", body())
    assert (response.status_code, response.json()["field"]) == (400, "study")


def test_stored_instances_are_reconciled_like_c_store(
    ctx: Context, dw: DICOMwebClient, tmp_path: Path
) -> None:
    referral = new_referral(ctx)
    accession = referral.procedures[0].accession
    sent = ct(tmp_path, 2, patient_id=referral.cpr, accession=accession)
    dw.store_instances(sent)
    view = studies.get_study(ctx, sent[0].StudyInstanceUID)
    assert (view.procedure_accession, view.unmatched_reason) == (accession, None)


def test_a_study_that_matches_nothing_waits_in_the_unmatched_queue(
    bare_ctx: Context, dw: DICOMwebClient, tmp_path: Path
) -> None:
    sent = ct(tmp_path, 1, patient_id=random_cpr(), accession="NOSUCHACC")
    dw.store_instances(sent)
    waiting, total = studies.list_unmatched(bare_ctx)
    assert total == 1 and waiting[0].study_uid == sent[0].StudyInstanceUID
    assert waiting[0].unmatched_reason


def test_a_refused_store_raises_in_dicomweb_client(
    bare_ctx: Context, dw: DICOMwebClient, tmp_path: Path
) -> None:
    other = ct(tmp_path, 1, patient_id=random_cpr())
    with pytest.raises(HTTPError, match="409"):
        dw.store_instances(other, study_instance_uid="1.2.3.4")
