"""The demo's image generators: valid DICOM that pydicom reads back, plausible pixels, the
tags a viewer and the archive rely on."""

from __future__ import annotations

import io
from datetime import date, datetime

import numpy as np
import pytest
from pydicom import Dataset, dcmread

from lysbord.demo.images import Exam, Instance, instances
from lysbord.demo.images.dataset import TRANSFER_SYNTAX, Encoder, image, series, study
from lysbord.demo.images.dx import radiograph
from lysbord.dicomcodec.header import read_header
from lysbord.dicomcodec.meta import file_meta
from lysbord.domain.calendar import COPENHAGEN


def exam(modality: str, body_part: str, patient_id: str = "0101701234") -> Exam:
    return Exam(
        accession="LB00000042",
        study_uid="2.25.42",
        patient_id=patient_id,
        issuer="",
        family_name="Sørensen",
        given_name="Åse",
        birth_date=date(1970, 1, 1),
        sex="F",
        code="UXCC00",
        code_name="CT af thorax",
        modality=modality,
        body_part=body_part,
        ae_title="HEHCT1",
        institution="Herlev Hospital",
        started=datetime(2026, 11, 23, 9, 5, tzinfo=COPENHAGEN),
        referring_unit="Lungemedicinsk afdeling",
    )


def read_back(made: list[Instance]) -> list[Dataset]:
    """Each instance as the archive stores it (file meta + bytes), read by pydicom."""
    encoder = Encoder()
    out: list[Dataset] = []
    for instance in made:
        data = encoder.encode(instance)
        meta = file_meta(instance.sop_class_uid, instance.sop_instance_uid, TRANSFER_SYNTAX)
        assert read_header(data, TRANSFER_SYNTAX)["AccessionNumber"] == "LB00000042"
        out.append(dcmread(io.BytesIO(meta + data)))
    return out


@pytest.mark.parametrize(
    ("modality", "body_part", "count"),
    [("CT", "CHEST", 24), ("CT", "CHESTABDOMEN", 32), ("MR", "KNEE", 16), ("DX", "CHEST", 1),
     ("CR", "HIP", 1), ("MG", "BREAST", 4), ("US", "ABDOMEN", 1)],
)  # fmt: skip
def test_every_generator_makes_a_study_pydicom_reads_back(
    modality: str, body_part: str, count: int
) -> None:
    found = read_back(instances(exam(modality, body_part)))
    assert len(found) == count
    assert len({ds.SOPInstanceUID for ds in found}) == count
    for ds in found:
        assert ds.file_meta.TransferSyntaxUID == TRANSFER_SYNTAX
        assert ds.Modality == modality
        assert (ds.PatientID, ds.AccessionNumber) == ("0101701234", "LB00000042")
        assert ds.StudyInstanceUID == "2.25.42"
        assert str(ds.PatientName) == "Sørensen^Åse"
        assert ds.BodyPartExamined == body_part
        assert ds.RequestingService == "Lungemedicinsk afdeling"
        assert ds.SeriesInstanceUID.startswith("2.25.")
        assert (ds.StudyDate, ds.StudyTime) == ("20261123", "090500")
        pixels = ds.pixel_array
        assert pixels.shape[:2] == (ds.Rows, ds.Columns)
        assert int(pixels.max()) < 2**ds.BitsStored
        assert pixels.std() > 5, "a blank image"


def test_ct_is_a_stack_in_hounsfield_units() -> None:
    found = read_back(instances(exam("CT", "CHEST")))
    z = [float(ds.ImagePositionPatient[2]) for ds in found]
    assert z == sorted(z, reverse=True) and len(set(z)) == len(z)
    assert [float(ds.SliceLocation) for ds in found] == z
    assert len({ds.SeriesInstanceUID for ds in found}) == 1
    ds = found[len(found) // 2]
    assert (ds.Rows, ds.Columns) == (256, 256) and ds.BitsAllocated == 16
    assert float(ds.PixelSpacing[0]) == pytest.approx(420 / 256)
    hu = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    assert hu.min() == -1000  # air around the body
    assert (hu == -850).mean() > 0.05  # the lungs
    assert hu.max() >= 1000  # the spine
    assert list(ds.WindowCenter) == [40, -600] and list(ds.WindowWidth) == [400, 1500]


def test_mammography_has_the_four_views_each_in_its_own_series() -> None:
    found = read_back(instances(exam("MG", "BREAST")))
    views = {(ds.ImageLaterality, ds.ViewPosition) for ds in found}
    assert views == {("R", "CC"), ("L", "CC"), ("R", "MLO"), ("L", "MLO")}
    assert len({ds.SeriesInstanceUID for ds in found}) == 4
    right, left = (ds.pixel_array for ds in found[:2])
    assert np.array_equal(right, left[:, ::-1])  # the left breast mirrored: chest wall opposite


def test_radiograph_and_ultrasound_are_one_grey_frame() -> None:
    (dx,) = read_back(instances(exam("DX", "CHEST")))
    assert (dx.PhotometricInterpretation, dx.ViewPosition) == ("MONOCHROME2", "PA")
    assert dx.SOPClassUID == "1.2.840.10008.5.1.4.1.1.1.1"  # DX for presentation
    (cr,) = read_back(instances(exam("CR", "HIP")))
    assert cr.SOPClassUID == "1.2.840.10008.5.1.4.1.1.1"
    (us,) = read_back(instances(exam("US", "KIDNEY")))
    assert (us.BitsAllocated, us.SamplesPerPixel) == (8, 1)


def test_the_anatomy_is_made_once_per_build_and_shared() -> None:
    a, b = instances(exam("CT", "HEAD")), instances(exam("CT", "HEAD"))
    assert a[0].own.PixelData is b[0].own.PixelData  # the same encoded bytes, not made again
    assert a[0].sop_instance_uid != b[0].sop_instance_uid
    builds = {exam("CT", "HEAD", f"01017012{n:02d}").build for n in range(30)}
    assert builds == {0.85, 1.0, 1.15}


def test_an_instance_cannot_change_what_its_series_shares() -> None:
    pixels, _ = radiograph("CHEST", 1.0)
    shared = series(study(exam("DX", "CHEST"), "1.2.840.10008.5.1.4.1.1.1.1"), 1, "", pixels)
    shared.ViewPosition = "PA"
    with pytest.raises(ValueError, match="ViewPosition belongs to the series"):
        image(shared, 1, pixels, ViewPosition="AP")
    assert shared.ViewPosition == "PA"
