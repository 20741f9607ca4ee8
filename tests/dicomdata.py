"""DICOM test data made with pydicom: CT series and 4-view screening mammograms."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from pynetdicom import sop_class

CT = str(sop_class.CTImageStorage)
MG = str(sop_class.DigitalMammographyXRayImageStorageForPresentation)
_PATTERN = bytes(range(251))
MG_VIEWS = (("R", "CC"), ("L", "CC"), ("R", "MLO"), ("L", "MLO"))


def base_dataset(
    sop: str,
    *,
    patient_id: str,
    patient_name: str,
    accession: str,
    study_uid: str,
    series_uid: str,
    modality: str,
    number: int,
    study_date: str = "20261123",
    size: int = 64,
) -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = sop
    ds.SOPInstanceUID = generate_uid()
    ds.StudyDate = study_date
    ds.StudyTime = "081500"
    ds.AccessionNumber = accession
    ds.Modality = modality
    ds.PatientName = patient_name
    ds.PatientID = patient_id
    ds.PatientBirthDate = ""
    ds.PatientSex = ""
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.StudyID = "1"
    ds.SeriesNumber = 1
    ds.InstanceNumber = number
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = ds.Columns = size
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    n = size * size * 2
    ds.PixelData = (_PATTERN * (n // len(_PATTERN) + 2))[number % 251 : number % 251 + n]
    return ds


def save(ds: Dataset, path: Path, transfer_syntax: str = ExplicitVRLittleEndian) -> Path:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = transfer_syntax
    ds.file_meta = meta
    ds.save_as(path, enforce_file_format=True)
    return path


def ct_series(
    folder: Path,
    n: int,
    *,
    patient_id: str,
    accession: str = "",
    study_uid: str | None = None,
    patient_name: str = "Sørensen^Åse",
    size: int = 64,
    transfer_syntax: str = ExplicitVRLittleEndian,
    study_date: str = "20261123",
) -> list[Path]:
    """``n`` CT images of one series, written as Part 10 files."""
    folder.mkdir(parents=True, exist_ok=True)
    study_uid = study_uid or generate_uid()
    series_uid = generate_uid()
    return [
        save(
            base_dataset(
                CT,
                patient_id=patient_id,
                patient_name=patient_name,
                accession=accession,
                study_uid=study_uid,
                series_uid=series_uid,
                modality="CT",
                number=i + 1,
                size=size,
                study_date=study_date,
            ),
            folder / f"ct{i:04d}.dcm",
            transfer_syntax,
        )
        for i in range(n)
    ]


def mammogram(
    folder: Path,
    *,
    patient_id: str,
    accession: str = "",
    views: Sequence[tuple[str, str]] = MG_VIEWS,
) -> list[Path]:
    """A 4-view screening mammogram (CC and MLO of each breast)."""
    folder.mkdir(parents=True, exist_ok=True)
    study_uid, series_uid = generate_uid(), generate_uid()
    paths = []
    for i, (laterality, view) in enumerate(views):
        ds = base_dataset(
            MG,
            patient_id=patient_id,
            patient_name="Jensen^Karen",
            accession=accession,
            study_uid=study_uid,
            series_uid=series_uid,
            modality="MG",
            number=i + 1,
        )
        ds.ImageLaterality = laterality
        ds.ViewPosition = view
        ds.PresentationIntentType = "FOR PRESENTATION"
        paths.append(save(ds, folder / f"mg{i}.dcm"))
    return paths
