"""WADO-RS with dicomweb-client: instances, metadata, frames and bulk data come back right.

Right means: the bytes as stored for ``transfer-syntax=*``, decoded pixels equal to
the sent ones in Explicit VR Little Endian, DICOM JSON that pydicom reads back with
BulkDataURIs that resolve, and the study's corrected patient after an assignment.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from dicomweb_client.api import DICOMwebClient
from pydicom import Dataset
from pydicom.uid import ExplicitVRLittleEndian, RLELossless
from requests import HTTPError

from lysbord.services.archive import assignment
from lysbord.services.archive.assignment import Assignment
from lysbord.services.core.context import Context
from tests.dicomweb.helpers import ct, get, multiframe
from tests.helpers import new_patient, random_cpr

ANY = ("application/dicom", "*")
EXPLICIT = ("application/dicom", str(ExplicitVRLittleEndian))
NATIVE_FRAMES = ("application/octet-stream", "*")


def key(ds: Dataset) -> tuple[str, str, str]:
    return ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID


def test_a_study_comes_back_as_it_was_sent(dw: DICOMwebClient, tmp_path: Path) -> None:
    sent = ct(tmp_path, 3, patient_id=random_cpr())
    dw.store_instances(sent)
    got = {ds.SOPInstanceUID: ds for ds in dw.retrieve_study(sent[0].StudyInstanceUID,
                                                             media_types=(ANY,))}  # fmt: skip
    assert set(got) == {ds.SOPInstanceUID for ds in sent}  # STOW-RS stores in parallel: any order
    for mine in sent:
        theirs = got[mine.SOPInstanceUID]
        assert theirs.PixelData == mine.PixelData
        assert str(theirs.PatientName) == "Sørensen^Åse"
        assert theirs.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    series = dw.retrieve_series(*key(sent[1])[:2], media_types=None)
    assert {ds.SOPInstanceUID for ds in series} == set(got)
    alone = dw.retrieve_instance(*key(sent[2]))
    assert alone.SOPInstanceUID == sent[2].SOPInstanceUID


def test_compressed_instances_leave_as_stored_or_decoded(
    dw: DICOMwebClient, tmp_path: Path
) -> None:
    ds = multiframe(tmp_path, compressed=True)
    original = ds.pixel_array.copy()
    dw.store_instances([ds])
    native = dw.retrieve_instance(*key(ds), media_types=(ANY,))
    assert native.file_meta.TransferSyntaxUID == RLELossless
    assert native.PixelData == ds.PixelData
    decoded = dw.retrieve_instance(*key(ds), media_types=(EXPLICIT,))
    assert decoded.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert np.array_equal(decoded.pixel_array, original)


def test_a_transfer_syntax_that_cannot_be_made_is_406(
    dw: DICOMwebClient, dicomweb_url: str, tmp_path: Path
) -> None:
    ds = ct(tmp_path, 1, patient_id=random_cpr())[0]
    dw.store_instances([ds])
    jpeg_ls = ("application/dicom", "1.2.840.10008.1.2.4.80")
    with pytest.raises(HTTPError, match="406"):
        dw.retrieve_instance(*key(ds), media_types=(jpeg_ls,))
    url = f"{dicomweb_url}/studies/{ds.StudyInstanceUID}"
    response = get(url, Accept="application/json")
    assert (response.status_code, response.json()["field"]) == (406, "Accept")


def test_metadata_is_dicom_json_with_bulk_data_uris(dw: DICOMwebClient, tmp_path: Path) -> None:
    sent = ct(tmp_path, 2, patient_id=random_cpr())
    dw.store_instances(sent)
    metadata = dw.retrieve_series_metadata(*key(sent[0])[:2])
    assert len(metadata) == 2
    fetched: list[str] = []

    def bulk(tag: str, vr: str, uri: str) -> bytes:
        fetched.append(uri)
        return bytes(dw.retrieve_bulkdata(uri)[0])

    [first] = [m for m in metadata if m["00080018"]["Value"] == [sent[0].SOPInstanceUID]]
    ds = Dataset.from_json(first, bulk_data_uri_handler=bulk)
    assert (ds.SOPInstanceUID, str(ds.PatientName), ds.Rows) == (sent[0].SOPInstanceUID,
                                                                "Sørensen^Åse", 64)  # fmt: skip
    assert ds.PixelData == sent[0].PixelData
    assert fetched[0].endswith(f"/instances/{sent[0].SOPInstanceUID}/bulkdata/7FE00010")
    [study_level] = dw.retrieve_study_metadata(sent[0].StudyInstanceUID)[:1]
    assert study_level["0020000D"]["Value"] == [sent[0].StudyInstanceUID]
    one = dw.retrieve_instance_metadata(*key(sent[1]))
    assert one["00080018"]["Value"] == [sent[1].SOPInstanceUID]


def test_frames_native_and_uncompressed(dw: DICOMwebClient, tmp_path: Path) -> None:
    plain = multiframe(tmp_path / "plain")
    packed = multiframe(tmp_path / "rle", compressed=True)
    dw.store_instances([plain, packed])
    frames = plain.pixel_array
    first, third = dw.retrieve_instance_frames(*key(plain), frame_numbers=[1, 3])
    assert (first, third) == (frames[0].tobytes(), frames[2].tobytes())
    [second] = dw.retrieve_instance_frames(*key(packed), frame_numbers=[2])
    assert second == frames[1].tobytes()  # decoded from RLE
    [native] = dw.retrieve_instance_frames(
        *key(packed), frame_numbers=[2], media_types=(NATIVE_FRAMES,)
    )
    assert native[:4] != second[:4] and len(native) < len(second)  # the RLE frame itself


def test_frames_name_their_transfer_syntax(dicomweb_url: str, dw: DICOMwebClient,
                                           tmp_path: Path) -> None:  # fmt: skip
    packed = multiframe(tmp_path, compressed=True)
    dw.store_instances([packed])
    s, se, i = key(packed)
    url = f"{dicomweb_url}/studies/{s}/series/{se}/instances/{i}/frames/1"
    accept = "multipart/related; type=application/octet-stream; transfer-syntax=*"
    response = get(url, Accept=accept)
    assert response.status_code == 200
    assert (
        f"Content-Type: application/octet-stream; transfer-syntax={RLELossless}".encode()
        in (response.content[:200])
    )


def test_a_corrected_study_leaves_with_its_effective_patient(
    bare_ctx: Context, ctx: Context, dw: DICOMwebClient, tmp_path: Path
) -> None:
    cpr = new_patient(ctx, family_name="Ærø", given_name="Søren")
    sent = ct(tmp_path, 2, patient_id=random_cpr(), accession="TYPO")
    dw.store_instances(sent)
    study = sent[0].StudyInstanceUID
    assignment.assign_study(ctx, study, Assignment(reason="forkert CPR", cpr=cpr), "tester")
    got = dw.retrieve_study(study)
    assert {(ds.PatientID, str(ds.PatientName)) for ds in got} == {(cpr, "Ærø^Søren")}
    meta = dw.retrieve_instance_metadata(*key(sent[0]))
    assert meta["00100020"]["Value"] == [cpr]
    [found] = dw.search_for_studies(search_filters={"PatientID": cpr})
    assert Dataset.from_json(found).StudyInstanceUID == study


@pytest.mark.parametrize(
    ("path", "status", "field"),
    [
        ("/studies/1.2.3.999", 404, "study"),
        ("/studies/1.2.3.999/metadata", 404, "study"),
        ("/studies/abc", 400, "study"),
        ("/studies/{s}/series/1.2.3.999", 404, "series"),
        ("/studies/{s}/series/{se}/instances/{i}/frames/0", 400, "frames"),
        ("/studies/{s}/series/{se}/instances/{i}/frames/9", 404, "frames"),
        ("/studies/{s}/series/{se}/instances/{i}/bulkdata/00100010", 404, "path"),
    ],
)
def test_unknown_and_malformed_paths_are_named(
    dw: DICOMwebClient, dicomweb_url: str, tmp_path: Path, path: str, status: int, field: str
) -> None:
    ds = ct(tmp_path, 1, patient_id=random_cpr())[0]
    dw.store_instances([ds])
    s, se, i = key(ds)
    response = get(dicomweb_url + path.format(s=s, se=se, i=i))
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == field


def test_a_study_sent_as_stored_has_its_length_and_a_transcoded_one_is_chunked(
    dw: DICOMwebClient, dicomweb_url: str, tmp_path: Path
) -> None:
    sent = ct(tmp_path / "ct", 3, patient_id=random_cpr())
    rle = multiframe(tmp_path / "rle", compressed=True)
    dw.store_instances([*sent, rle])
    accept = 'multipart/related; type="application/dicom"; transfer-syntax='
    whole = get(f"{dicomweb_url}/studies/{sent[0].StudyInstanceUID}", Accept=f"{accept}*")
    assert whole.status_code == 200
    assert int(whole.headers["Content-Length"]) == len(whole.content)
    assert whole.content.count(b"Content-Type: application/dicom") == 3
    decoded = get(f"{dicomweb_url}/studies/{rle.StudyInstanceUID}",
                  Accept=f"{accept}{ExplicitVRLittleEndian}")  # fmt: skip
    assert decoded.status_code == 200
    assert decoded.headers.get("Transfer-Encoding") == "chunked"
    assert "Content-Length" not in decoded.headers
