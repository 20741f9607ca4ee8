"""C-FIND on the archive (Patient Root and Study Root) through DCMTK's findscu and pynetdicom.

findscu writes each response to a file (-X), read back with pydicom: sturdier than
parsing its log. Bad identifiers go through pynetdicom on one association, to show
the association stays usable after each failure.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydicom import Dataset, config, dcmread
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataelem import DataElement
from pynetdicom import AE
from pynetdicom.association import Association
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    PatientRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelFind,
)

from lysbord.dicom.server import DicomDoor
from tests.dicomdata import ct_series, mammogram
from tests.helpers import random_cpr
from tests.interop.conftest import dcmtk, plain_too

PATIENT_ROOT, STUDY_ROOT = "-P", "-S"


@dataclass
class Stored:
    """What the tests stored: a CT series, a 4-view mammogram and an older CT study."""

    ct: list[Path]
    mg: list[Path]
    old: list[Path]

    def header(self, files: list[Path]) -> Dataset:
        return dcmread(files[0], stop_before_pixels=True)


def store(port: int, *files: Path) -> None:
    result = dcmtk("storescu", "-aec", "LYSBORD", "127.0.0.1", str(port), *map(str, files))
    assert result.returncode == 0, result.stderr


def store_archive(port: int, folder: Path) -> Stored:
    """Three patients, each with one study, sent with storescu; test_retrieve uses it too."""
    accession = f"T{random.randrange(10**8):08d}"
    ct = ct_series(folder / "ct", 5, patient_id=random_cpr(), accession=accession)
    mg = mammogram(folder / "mg", patient_id=random_cpr())
    old = ct_series(
        folder / "old", 2, patient_id=random_cpr(), patient_name="Hansen^Ole", study_date="20260115"
    )
    store(port, *ct, *mg, *old)
    return Stored(ct, mg, old)


@pytest.fixture
def stored(door: DicomDoor, tmp_path: Path) -> Stored:
    return store_archive(door.port, tmp_path / "sent")


def findscu(door: DicomDoor, out: Path, model: str, *keys: str) -> list[Dataset]:
    """Run findscu with ``-k`` keys; the responses as datasets, in the order received."""
    out.mkdir()
    args = [x for key in keys for x in ("-k", key)]
    result = dcmtk(
        "findscu",
        "-aec",
        "LYSBORD",
        model,
        "-X",
        "-od",
        str(out),
        *args,
        "127.0.0.1",
        str(door.port),
    )
    assert result.returncode == 0, result.stderr
    return [dcmread(p) for p in sorted(out.glob("rsp*.dcm"))]


def test_patient_level_by_patient_id_with_counts(
    door: DicomDoor, stored: Stored, tmp_path: Path
) -> None:
    ct = stored.header(stored.ct)
    found = findscu(
        door,
        tmp_path / "q",
        PATIENT_ROOT,
        "QueryRetrieveLevel=PATIENT",
        f"PatientID={ct.PatientID}",
        "PatientName",
        "PatientSex",
        "NumberOfPatientRelatedStudies",
        "NumberOfPatientRelatedSeries",
        "NumberOfPatientRelatedInstances",
    )
    assert len(found) == 1
    answer = found[0]
    assert answer.PatientID == ct.PatientID
    assert str(answer.PatientName) == "Sørensen^Åse"
    assert answer.SpecificCharacterSet == "ISO_IR 192"
    assert (
        answer.NumberOfPatientRelatedStudies,
        answer.NumberOfPatientRelatedSeries,
        answer.NumberOfPatientRelatedInstances,
    ) == (1, 1, 5)


@plain_too
def test_study_level_wildcard_name_returns_exactly_the_requested_keys(
    door: DicomDoor, stored: Stored, tmp_path: Path
) -> None:
    ct, mg = stored.header(stored.ct), stored.header(stored.mg)
    wanted = [
        "StudyInstanceUID",
        "PatientID",
        "StudyDate",
        "AccessionNumber",
        "ModalitiesInStudy",
        "NumberOfStudyRelatedSeries",
        "NumberOfStudyRelatedInstances",
        "StudyDescription",
    ]
    found = findscu(
        door, tmp_path / "q", STUDY_ROOT, "QueryRetrieveLevel=STUDY", "PatientName=*REN*", *wanted
    )
    by_uid = {ds.StudyInstanceUID: ds for ds in found}
    assert set(by_uid) == {ct.StudyInstanceUID, mg.StudyInstanceUID}  # not Hansen^Ole
    answer = by_uid[ct.StudyInstanceUID]
    assert {e.keyword for e in answer} == {
        *wanted,
        "PatientName",
        "QueryRetrieveLevel",
        "SpecificCharacterSet",
    }
    assert answer.PatientID == ct.PatientID
    assert answer.StudyDate == "20261123" and answer.AccessionNumber == ct.AccessionNumber
    assert answer.ModalitiesInStudy == "CT" and answer.StudyDescription == ""
    assert (answer.NumberOfStudyRelatedSeries, answer.NumberOfStudyRelatedInstances) == (1, 5)
    assert by_uid[mg.StudyInstanceUID].NumberOfStudyRelatedInstances == 4


def study_uids(door: DicomDoor, out: Path, *keys: str) -> set[str]:
    found = findscu(door, out, STUDY_ROOT, "QueryRetrieveLevel=STUDY", "StudyInstanceUID", *keys)
    return {ds.StudyInstanceUID for ds in found}


def test_date_ranges_uid_lists_and_modalities_in_study(
    door: DicomDoor, stored: Stored, tmp_path: Path
) -> None:
    ct, mg, old = (stored.header(f).StudyInstanceUID for f in (stored.ct, stored.mg, stored.old))
    assert study_uids(door, tmp_path / "a", "StudyDate=20261101-20261130") == {ct, mg}
    assert study_uids(door, tmp_path / "b", "StudyDate=-20260131") == {old}
    assert study_uids(door, tmp_path / "c", "StudyDate=20260101-") == {ct, mg, old}
    assert study_uids(door, tmp_path / "d", "StudyTime=0800-0830") == {ct, mg, old}
    assert study_uids(door, tmp_path / "e", f"StudyInstanceUID={ct}\\{old}") == {ct, old}
    assert study_uids(door, tmp_path / "f", "ModalitiesInStudy=MG") == {mg}
    assert study_uids(door, tmp_path / "g", "ModalitiesInStudy=CT") == {ct, old}


def test_series_and_image_levels(door: DicomDoor, stored: Stored, tmp_path: Path) -> None:
    ct, mg = stored.header(stored.ct), stored.header(stored.mg)
    series = findscu(
        door,
        tmp_path / "s",
        STUDY_ROOT,
        "QueryRetrieveLevel=SERIES",
        f"StudyInstanceUID={ct.StudyInstanceUID}",
        "SeriesInstanceUID",
        "Modality",
        "SeriesNumber",
        "NumberOfSeriesRelatedInstances",
    )
    assert [
        (s.SeriesInstanceUID, s.Modality, s.SeriesNumber, s.NumberOfSeriesRelatedInstances)
        for s in series
    ] == [(ct.SeriesInstanceUID, "CT", 1, 5)]
    images = findscu(
        door,
        tmp_path / "i",
        PATIENT_ROOT,
        "QueryRetrieveLevel=IMAGE",
        f"PatientID={mg.PatientID}",
        f"StudyInstanceUID={mg.StudyInstanceUID}",
        f"SeriesInstanceUID={mg.SeriesInstanceUID}",
        "SOPInstanceUID",
        "SOPClassUID",
        "InstanceNumber",
    )
    expected = {dcmread(p).SOPInstanceUID: n + 1 for n, p in enumerate(stored.mg)}
    assert {i.SOPInstanceUID: i.InstanceNumber for i in images} == expected
    assert {i.SOPClassUID for i in images} == {mg.SOPClassUID}


@plain_too
def test_danish_name_round_trips(door: DicomDoor, stored: Stored, tmp_path: Path) -> None:
    found = findscu(
        door,
        tmp_path / "q",
        STUDY_ROOT,
        "QueryRetrieveLevel=STUDY",
        "SpecificCharacterSet=ISO_IR 192",
        "PatientName=Sørensen^Åse",
        "StudyInstanceUID",
    )
    assert [str(ds.PatientName) for ds in found] == ["Sørensen^Åse"]
    assert found[0].StudyInstanceUID == stored.header(stored.ct).StudyInstanceUID


# --- bad identifiers, through pynetdicom on one association -------------------------


@pytest.fixture
def assoc(door: DicomDoor) -> Iterator[Association]:
    ae = AE(ae_title="QRTEST")
    ae.add_requested_context(PatientRootQueryRetrieveInformationModelFind)
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
    association = ae.associate("127.0.0.1", door.port, ae_title="LYSBORD")
    assert association.is_established
    yield association
    association.release()


def c_find(assoc: Association, model: str, **keys: str) -> list[tuple[int, Dataset | None]]:
    ds = Dataset()
    for keyword, value in keys.items():  # malformed values on purpose: no validation
        ds[keyword] = DataElement(
            tag_for_keyword(keyword), dictionary_VR(keyword), value, validation_mode=config.IGNORE
        )
    return [
        (int(status.Status), status if status.Status >= 0xA000 else ident)
        for status, ident in assoc.send_c_find(ds, model)
    ]


def test_bad_identifiers_fail_and_the_association_stays_usable(
    assoc: Association, stored: Stored
) -> None:
    study_root, patient_root = (
        StudyRootQueryRetrieveInformationModelFind,
        PatientRootQueryRetrieveInformationModelFind,
    )
    cases = [
        (study_root, {"StudyInstanceUID": ""}, 0xA900, "QueryRetrieveLevel"),
        (study_root, {"QueryRetrieveLevel": "FOO", "StudyInstanceUID": ""}, 0xA900, "FOO"),
        (study_root, {"QueryRetrieveLevel": "PATIENT", "PatientID": ""}, 0xA900, "PATIENT"),
        (
            patient_root,
            {"QueryRetrieveLevel": "STUDY", "StudyInstanceUID": ""},
            0xA900,
            "PatientID",
        ),
        (
            study_root,
            {"QueryRetrieveLevel": "STUDY", "StudyDate": "2026-11-23"},
            0xC000,
            "StudyDate",
        ),
    ]
    for model, keys, status, named in cases:
        [(got, answer)] = c_find(assoc, model, **keys)
        assert got == status, keys
        assert answer is not None and named in answer.ErrorComment, answer
    good = c_find(assoc, study_root, QueryRetrieveLevel="STUDY", StudyInstanceUID="")
    assert [s for s, _ in good] == [0xFF00, 0xFF00, 0xFF00, 0x0000]
