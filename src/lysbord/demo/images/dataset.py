"""What every demo image shares: the exam's identity from the worklist, and compact pixels.

The headers carry what a scanner copies from its worklist entry (PatientID, name, birth
date and sex, Accession Number, Study Instance UID, the requested procedure) so the
archive matches them as it matches any arrival. Pixel data is RLE Lossless: the
phantom's flat tissues compress to a few kilobytes a frame, and the same anatomy is
encoded once and shared by every patient of that size (the callers cache frames).
"""

from __future__ import annotations

import hashlib
import heapq
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
from pydicom import Dataset
from pydicom.charset import convert_encodings
from pydicom.encaps import encapsulate
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element
from pydicom.pixels.encoders.base import get_encoder
from pydicom.uid import RLELossless, generate_uid

Array = np.ndarray[Any, Any]
TRANSFER_SYNTAX = str(RLELossless)
#: Series, instance and frame of reference UIDs are UUID-derived (2.25.<uuid>), as the
#: referral service's Study Instance UIDs are: no organisation's root is borrowed.
UID_ROOT = None
MANUFACTURER = "Lysbord demo"
CHARSET = "ISO_IR 192"
ENCODINGS = convert_encodings(CHARSET)


@dataclass(frozen=True, slots=True)
class Exam:
    """One procedure as the scanner's worklist gave it, and when it was performed."""

    accession: str
    study_uid: str
    patient_id: str
    issuer: str
    family_name: str
    given_name: str
    birth_date: date
    sex: str
    code: str
    code_name: str
    modality: str
    body_part: str
    ae_title: str
    institution: str
    started: datetime  # local time
    referring_unit: str = ""

    @property
    def build(self) -> float:
        """A patient's build (0.85, 1.0 or 1.15), fixed per patient: one anatomy each."""
        digest = hashlib.sha256(self.patient_id.encode()).digest()
        return (0.85, 1.0, 1.15)[digest[0] % 3]


@dataclass(frozen=True, slots=True)
class Frame:
    """One encoded frame (Pixel Data, encapsulated) and the pixel module that goes with it."""

    pixel_data: bytes
    rows: int
    columns: int
    bits_stored: int
    samples: int = 1
    photometric: str = "MONOCHROME2"


def frame(arr: Array, bits_stored: int, photometric: str = "MONOCHROME2") -> Frame:
    """``arr`` (rows x columns, or x 3 for RGB) RLE-encoded; 16 bits allocated above 8 stored."""
    samples = 3 if arr.ndim == 3 else 1
    allocated = 8 if bits_stored <= 8 else 16
    arr = np.ascontiguousarray(arr, dtype=np.uint8 if allocated == 8 else np.uint16)
    encoded = get_encoder(RLELossless).encode(
        arr,
        rows=arr.shape[0],
        columns=arr.shape[1],
        samples_per_pixel=samples,
        bits_allocated=allocated,
        bits_stored=bits_stored,
        pixel_representation=0,
        photometric_interpretation=photometric,
        number_of_frames=1,
        planar_configuration=0,
    )
    return Frame(
        encapsulate([encoded]), arr.shape[0], arr.shape[1], bits_stored, samples, photometric
    )


def study(exam: Exam, sop_class: str) -> Dataset:
    """The patient, study and equipment modules of every instance of this exam."""
    ds = Dataset()
    ds.SpecificCharacterSet = CHARSET
    ds.SOPClassUID = sop_class
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = exam.started.strftime("%Y%m%d")
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = exam.started.strftime("%H%M%S")
    ds.AccessionNumber = exam.accession
    ds.Modality = exam.modality
    ds.Manufacturer = MANUFACTURER
    ds.InstitutionName = exam.institution
    ds.ReferringPhysicianName = ""  # a unit refers, not a named physician
    ds.RequestingService = exam.referring_unit[:64]
    ds.StationName = exam.ae_title
    ds.StudyDescription = exam.code_name
    ds.PatientName = f"{exam.family_name}^{exam.given_name}"
    ds.PatientID = exam.patient_id
    if exam.issuer:
        ds.IssuerOfPatientID = exam.issuer
    ds.PatientBirthDate = exam.birth_date.strftime("%Y%m%d")
    ds.PatientSex = exam.sex if exam.sex in ("M", "F") else "O"
    ds.BodyPartExamined = exam.body_part
    ds.StudyInstanceUID = exam.study_uid
    ds.StudyID = exam.accession[-16:]
    ds.RequestedProcedureID = exam.accession
    ds.RequestedProcedureDescription = exam.code_name
    return ds


def series(base: Dataset, number: int, description: str, pixels: Frame, **tags: Any) -> Dataset:
    """A new series of ``base``'s study, with the pixel module its frames share and ``tags``."""
    ds = copy(base)
    ds.SeriesInstanceUID = generate_uid(UID_ROOT)
    ds.SeriesNumber = number
    ds.SeriesDescription = description
    modality = str(ds.Modality)
    ds.ImageType = ["ORIGINAL", "PRIMARY"] + (["AXIAL"] if modality in ("CT", "MR") else [])
    ds.SamplesPerPixel = pixels.samples
    ds.PhotometricInterpretation = pixels.photometric
    if pixels.samples == 3:
        ds.PlanarConfiguration = 0
    ds.Rows, ds.Columns = pixels.rows, pixels.columns
    ds.BitsAllocated = 8 if pixels.bits_stored <= 8 else 16
    ds.BitsStored = pixels.bits_stored
    ds.HighBit = pixels.bits_stored - 1
    ds.PixelRepresentation = 0
    for keyword, value in tags.items():
        setattr(ds, keyword, value)
    return ds


def copy(ds: Dataset) -> Dataset:
    """A new dataset holding the same elements: change it only by adding elements (setting
    an element both hold would change it in both)."""
    return Dataset(dict(ds.items()))


@dataclass(frozen=True, slots=True)
class Instance:
    """One image: the elements its whole series shares (one dataset) and its own."""

    series: Dataset
    own: Dataset

    @property
    def sop_class_uid(self) -> str:
        return str(self.series.SOPClassUID)

    @property
    def sop_instance_uid(self) -> str:
        return str(self.own.SOPInstanceUID)


def image(series_ds: Dataset, number: int, pixels: Frame, **tags: Any) -> Instance:
    """One instance of a series: its own UID, number, Pixel Data and ``tags`` (a tag the
    series has already is refused: the series' value holds for every instance)."""
    own = Dataset()
    mine = {"SOPInstanceUID": generate_uid(UID_ROOT), "InstanceNumber": number, **tags}
    for keyword, value in mine.items():
        if keyword in series_ds:
            raise ValueError(f"{keyword} belongs to the series; an instance cannot change it")
        setattr(own, keyword, value)
    own.PixelData = pixels.pixel_data
    own["PixelData"].VR = "OB"
    own["PixelData"].is_undefined_length = True
    return Instance(series_ds, own)


class Encoder:
    """Instances as a C-STORE carries them (explicit VR little endian, no file meta); the
    elements a series shares are encoded once, then merged by tag with each one's own."""

    def __init__(self) -> None:
        self._series: dict[int, tuple[Dataset, list[tuple[int, bytes]]]] = {}  # pins the id

    def encode(self, instance: Instance) -> bytes:
        shared = self._series.get(id(instance.series))
        if shared is None:
            shared = self._series[id(instance.series)] = (
                instance.series,
                _elements(instance.series),
            )
        return b"".join(data for _, data in heapq.merge(shared[1], _elements(instance.own)))


def _elements(ds: Dataset) -> list[tuple[int, bytes]]:
    out = []
    for elem in ds:
        fp = DicomBytesIO()
        fp.is_implicit_VR, fp.is_little_endian = False, True
        write_data_element(fp, elem, ENCODINGS)
        out.append((int(elem.tag), bytes(fp.getvalue())))
    return out


def axial_stack(
    base: Dataset,
    number: int,
    description: str,
    frames: tuple[tuple[Frame, float], ...],
    fov: float,
    **tags: Any,
) -> list[Instance]:
    """An axial series of (frame, level) slices, top first, with the geometry a viewer
    stacks by: orientation, spacing, thickness, and each slice's position and location
    (patient z is minus the level: the head is up)."""
    spacing = fov / frames[0][0].columns
    first, last = frames[0][1], frames[-1][1]
    stack = series(
        base,
        number,
        description,
        frames[0][0],
        FrameOfReferenceUID=generate_uid(UID_ROOT),
        PatientPosition="HFS",
        SliceThickness=round((last - first) / max(1, len(frames) - 1), 1),
        ImageOrientationPatient=[1, 0, 0, 0, 1, 0],
        PixelSpacing=[spacing, spacing],
        **tags,
    )
    corner = -fov / 2
    return [
        image(stack, n, pixels, ImagePositionPatient=[corner, corner, -level], SliceLocation=-level)
        for n, (pixels, level) in enumerate(frames, start=1)
    ]
