"""QIDO-RS with dicomweb-client: C-FIND's matching over HTTP, answers in DICOM JSON.

Three studies of two patients are stored by STOW-RS, then searched the ways a viewer
and a script search: keywords and tag numbers, wildcards, fuzzy names, date ranges,
UID lists, modalities in study, includefield, paging. Every answer is read back
with pydicom's ``Dataset.from_json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from dicomweb_client.api import DICOMwebClient
from pydicom import Dataset

from lysbord.services.core.context import Context
from tests.dicomweb.helpers import ct, get
from tests.helpers import random_cpr


@pytest.fixture
def stored(bare_ctx: Context, dw: DICOMwebClient, tmp_path: Path) -> dict[str, Dataset]:
    """Two studies of one patient (CT in October, MR in November) and one of another."""
    one, two = random_cpr(), random_cpr()
    found = {
        "ct": ct(tmp_path / "ct", 2, patient_id=one, accession="ACC1", study_date="20261015"),
        "mr": ct(tmp_path / "mr", 1, patient_id=one, accession="ACC2", study_date="20261120"),
        "smith": ct(tmp_path / "s", 3, patient_id=two, patient_name="Smith^John",
                    accession="ACC3", study_date="20261123"),
    }  # fmt: skip
    for ds in found["mr"]:
        ds.Modality = "MR"
    for datasets in found.values():
        dw.store_instances(datasets)
    return {name: datasets[0] for name, datasets in found.items()}


def uids(results: list[dict[str, Any]]) -> set[str]:
    return {str(Dataset.from_json(r).StudyInstanceUID) for r in results}


def test_studies_match_like_c_find(dw: DICOMwebClient, stored: dict[str, Dataset]) -> None:
    ct_uid, mr_uid, smith_uid = (stored[k].StudyInstanceUID for k in ("ct", "mr", "smith"))
    patient = stored["ct"].PatientID

    def search(**filters: str) -> set[str]:
        return uids(dw.search_for_studies(search_filters=filters))

    assert search(PatientID=patient) == {ct_uid, mr_uid}
    assert search(**{"00100020": patient}) == {ct_uid, mr_uid}
    assert search(PatientName="Smi*") == {smith_uid}
    assert search(PatientName="smith^john") == {smith_uid}
    assert search(StudyDate="20261001-20261031") == {ct_uid}
    assert search(StudyDate="20261101-") == {mr_uid, smith_uid}
    assert search(AccessionNumber="ACC3") == {smith_uid}
    assert search(ModalitiesInStudy="MR") == {mr_uid}
    assert search(StudyInstanceUID=f"{ct_uid},{smith_uid}") == {ct_uid, smith_uid}
    assert search(StudyInstanceUID=f"{ct_uid}\\{mr_uid}") == {ct_uid, mr_uid}
    assert search(StudyInstanceUID="") == {ct_uid, mr_uid, smith_uid}


def test_fuzzy_matching_finds_the_start_of_any_name_component(
    dw: DICOMwebClient, stored: dict[str, Dataset]
) -> None:
    smith = stored["smith"].StudyInstanceUID
    assert uids(dw.search_for_studies(search_filters={"PatientName": "joh"})) == set()
    found = dw.search_for_studies(fuzzymatching=True, search_filters={"PatientName": "joh"})
    assert uids(found) == {smith}


def test_study_answers_carry_the_default_attributes_in_dicom_json(
    dw: DICOMwebClient, dicomweb_url: str, stored: dict[str, Dataset]
) -> None:
    sent = stored["smith"]
    [answer] = dw.search_for_studies(search_filters={"PatientID": sent.PatientID})
    ds = Dataset.from_json(answer)
    assert (ds.PatientID, str(ds.PatientName), ds.AccessionNumber) == (
        sent.PatientID,
        "Smith^John",
        "ACC3",
    )
    assert (ds.StudyDate, ds.ModalitiesInStudy, ds.InstanceAvailability) == (
        "20261123",
        "CT",
        "ONLINE",
    )
    assert (ds.NumberOfStudyRelatedSeries, ds.NumberOfStudyRelatedInstances) == (1, 3)
    assert ds.RetrieveURL == f"{dicomweb_url}/studies/{sent.StudyInstanceUID}"
    assert answer["00100010"] == {"vr": "PN", "Value": [{"Alphabetic": "Smith^John"}]}


def test_includefield_adds_attributes_comma_separated_repeated_or_all(
    dicomweb_url: str, stored: dict[str, Dataset]
) -> None:
    url = f"{dicomweb_url}/studies/{stored['ct'].StudyInstanceUID}/series"
    repeated = get(f"{url}?includefield=00080020&includefield=StudyTime,AccessionNumber")
    [row] = repeated.json()
    assert {"00080020", "00080030", "00080050", "0020000E"} <= set(row)
    assert "00201208" not in row
    [everything] = get(f"{url}?includefield=all").json()
    ds = Dataset.from_json(everything)
    assert (ds.Modality, ds.NumberOfSeriesRelatedInstances, ds.SeriesNumber) == ("CT", 2, 1)


def test_series_and_instances_at_every_path(
    dw: DICOMwebClient, dicomweb_url: str, stored: dict[str, Dataset]
) -> None:
    sent = stored["ct"]
    study, series = sent.StudyInstanceUID, sent.SeriesInstanceUID
    [one] = dw.search_for_series(study_instance_uid=study)
    assert Dataset.from_json(one).SeriesInstanceUID == series
    assert len(dw.search_for_series(search_filters={"Modality": "CT"})) == 2
    all_mr = dw.search_for_series(search_filters={"Modality": "MR"})
    assert Dataset.from_json(all_mr[0]).PatientID == sent.PatientID  # study attributes too
    assert len(dw.search_for_instances(study, series)) == 2
    assert len(dw.search_for_instances(study)) == 2
    assert len(get(f"{dicomweb_url}/series/{series}/instances").json()) == 2
    assert len(dw.search_for_instances(search_filters={"PatientID": sent.PatientID})) == 3
    [instance] = dw.search_for_instances(search_filters={"SOPInstanceUID": sent.SOPInstanceUID})
    got = Dataset.from_json(instance)
    assert (got.SOPClassUID, got.InstanceNumber, got.SeriesInstanceUID) == (
        sent.SOPClassUID,
        1,
        series,
    )
    assert got.RetrieveURL.endswith(f"/series/{series}/instances/{sent.SOPInstanceUID}")


def test_limit_and_offset_page_through_in_order(
    dw: DICOMwebClient, stored: dict[str, Dataset]
) -> None:
    every = [Dataset.from_json(r).StudyInstanceUID for r in dw.search_for_studies()]
    assert len(every) == 3
    pages = [dw.search_for_studies(limit=2, offset=o) for o in (0, 2)]
    assert [Dataset.from_json(r).StudyInstanceUID for page in pages for r in page] == every
    assert dw.search_for_studies(limit=2, offset=3) == []


def test_no_match_is_204(dicomweb_url: str, stored: dict[str, Dataset]) -> None:
    response = get(f"{dicomweb_url}/studies?PatientID=nobody")
    assert (response.status_code, response.content) == (204, b"")


def test_an_attribute_not_indexed_is_ignored_with_a_warning(
    dicomweb_url: str, stored: dict[str, Dataset]
) -> None:
    response = get(f"{dicomweb_url}/studies?PatientAge=045Y")
    assert response.status_code == 200 and len(response.json()) == 3
    assert "PatientAge is not supported for matching" in response.headers["Warning"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("StudyDate=2026-11", "StudyDate"),
        ("NoSuchKeyword=1", "NoSuchKeyword"),
        ("limit=-1", "limit"),
        ("offset=999999999999999999999", "offset"),  # was a 500: no 64-bit integer
        ("fuzzymatching=maybe", "fuzzymatching"),
        ("includefield=Nonsense", "Nonsense"),
    ],
)
def test_a_query_that_cannot_be_read_is_400_naming_the_key(
    dicomweb_url: str, query: str, field: str
) -> None:
    response = get(f"{dicomweb_url}/studies?{query}")
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == field


def test_retrieve_urls_ignore_the_host_and_forwarded_headers_a_client_sends(
    dicomweb_url: str, stored: dict[str, Dataset]
) -> None:
    """Issue 20: RetrieveURL came from the request's Host and X-Forwarded-Proto, so a client
    could make the answers point a viewer at a host of its choosing."""
    sent = stored["smith"]
    forged = {"Host": "evil.example", "X-Forwarded-Proto": "https"}
    response = get(f"{dicomweb_url}/studies?PatientID={sent.PatientID}", **forged)
    [answer] = response.json()
    url = answer["00081190"]["Value"][0]
    assert url == f"{dicomweb_url}/studies/{sent.StudyInstanceUID}"


def test_xml_answers_are_not_offered(dicomweb_url: str) -> None:
    response = get(f"{dicomweb_url}/studies", Accept="application/dicom+xml")
    assert (response.status_code, response.json()["field"]) == (406, "Accept")
