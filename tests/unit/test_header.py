"""The fast header reader (dicom/header.py) against pydicom, which decodes everything.

The reader walks element headers by hand; pydicom's ``read_dataset`` is the reference.
Each case encodes a dataset with pydicom (or by hand, where pydicom would not write
what modalities do send: odd lengths, truncation) and asks both for the WANTED tags.
"""

from __future__ import annotations

import struct
import zlib
from io import BytesIO

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom import Dataset, Sequence
from pydicom.filebase import DicomBytesIO
from pydicom.filereader import read_dataset
from pydicom.filewriter import write_dataset
from pydicom.multival import MultiValue
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    generate_uid,
)

from lysbord.dicomcodec.header import WANTED, HeaderError, read_header
from tests.dicomdata import CT, base_dataset
from tests.helpers import random_cpr

LITTLE = [ImplicitVRLittleEndian, ExplicitVRLittleEndian, DeflatedExplicitVRLittleEndian]
ALL = [*LITTLE, ExplicitVRBigEndian]


def encode(ds: Dataset, ts: str) -> bytes:
    """The dataset as a C-STORE carries it in transfer syntax ``ts`` (no file meta)."""
    uid = UID(ts)
    fp = DicomBytesIO()
    fp.is_implicit_VR = uid.is_implicit_VR
    fp.is_little_endian = uid.is_little_endian
    write_dataset(fp, ds)
    data = bytes(fp.getvalue())
    if uid == DeflatedExplicitVRLittleEndian:
        deflate = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        data = deflate.compress(data) + deflate.flush()
    return data


def reference(data: bytes, ts: str) -> dict[str, str]:
    """What pydicom reads for the WANTED tags, as the archive wants them: stripped text."""
    uid = UID(ts)
    if uid == DeflatedExplicitVRLittleEndian:
        data = zlib.decompress(data, -zlib.MAX_WBITS)
    ds = read_dataset(BytesIO(data), uid.is_implicit_VR, uid.is_little_endian)
    out = {}
    for kw in WANTED.values():
        if kw == "SpecificCharacterSet" or kw not in ds:
            continue
        value = ds[kw].value
        values = value if isinstance(value, MultiValue) else ["" if value is None else value]
        out[kw] = "\\".join(str(v).strip(" \x00") for v in values)  # each value unpadded
    return out


def ct(name: str = "Sørensen^Åse", charset: str = "ISO_IR 192") -> Dataset:
    ds = base_dataset(
        CT,
        patient_id=random_cpr(),
        patient_name=name,
        accession="LB" + random_cpr()[:6],
        study_uid=generate_uid(),
        series_uid=generate_uid(),
        modality="CT",
        number=7,
        size=8,
    )
    ds.SpecificCharacterSet = charset
    ds.StudyDescription = "CT af thorax"
    ds.IssuerOfPatientID = "CPR"
    return ds


def with_nested_sequences(ds: Dataset) -> Dataset:
    """Undefined-length sequences, items nesting further sequences, before the UIDs."""
    inner = Dataset()
    inner.CodeValue = "UXCC00"
    inner.CodingSchemeDesignator = "SKS"
    modifier = Dataset()
    modifier.CodeValue = "deep"
    modifier.CodingSchemeDesignator = "99LB"
    inner.ConceptNameCodeSequence = Sequence([modifier])
    inner.ConceptNameCodeSequence[0].is_undefined_length_sequence_item = True
    inner.is_undefined_length_sequence_item = True
    ds.ProcedureCodeSequence = Sequence([inner, Dataset()])  # (0008,1032)
    ds["ProcedureCodeSequence"].is_undefined_length = True
    inner["ConceptNameCodeSequence"].is_undefined_length = True
    referenced = Dataset()
    referenced.ReferencedSOPClassUID = CT
    referenced.ReferencedSOPInstanceUID = generate_uid()
    ds.ReferencedImageSequence = Sequence([referenced])  # (0008,1140): defined length
    return ds


@pytest.mark.parametrize("ts", ALL)
def test_reads_what_pydicom_reads(ts: str) -> None:
    ds = ct()
    data = encode(ds, ts)
    header = read_header(data, ts)
    assert header == reference(data, ts)
    assert header["SOPInstanceUID"] == ds.SOPInstanceUID
    assert header["PatientName"] == "Sørensen^Åse"
    assert header["InstanceNumber"] == "7"


@pytest.mark.parametrize("ts", LITTLE)
def test_skips_nested_undefined_length_sequences_before_the_wanted_tags(ts: str) -> None:
    ds = with_nested_sequences(ct())
    data = encode(ds, ts)
    raw = zlib.decompress(data, -zlib.MAX_WBITS) if ts == DeflatedExplicitVRLittleEndian else data
    assert raw.count(b"\xfe\xff\xdd\xe0") >= 2, "the sequences must really be undefined length"
    header = read_header(data, ts)
    assert header == reference(data, ts)
    assert header["StudyInstanceUID"] == ds.StudyInstanceUID


@pytest.mark.parametrize(
    ("charset", "name", "encoding"),
    [
        ("ISO_IR 100", "Sørensen^Åse Ærø", "latin-1"),
        ("ISO_IR 192", "Sørensen^Åse=ソーレンセン", "utf-8"),
        ("", "Hansen^Jens", "ascii"),
    ],
)
@pytest.mark.parametrize("ts", ALL)
def test_decodes_names_per_specific_character_set(
    ts: str, charset: str, name: str, encoding: str
) -> None:
    ds = ct(name, charset)
    data = encode(ds, ts)
    if ts != DeflatedExplicitVRLittleEndian:
        assert name.encode(encoding) in data, "the name must be on the wire in its charset"
    header = read_header(data, ts)
    assert header["PatientName"] == name
    assert header == reference(data, ts)


def explicit(group: int, elem: int, vr: bytes, value: bytes) -> bytes:
    """One explicit VR little endian element, written as given (odd lengths too)."""
    return struct.pack("<HH2sH", group, elem, vr, len(value)) + value


def implicit(group: int, elem: int, value: bytes) -> bytes:
    return struct.pack("<HHI", group, elem, len(value)) + value


def odd_length_elements(uid: str) -> list[tuple[int, int, bytes, bytes]]:
    """Values of odd length, unpadded, as some modalities send them."""
    return [
        (0x0008, 0x0016, b"UI", CT.encode()),
        (0x0008, 0x0018, b"UI", uid.encode()),
        (0x0008, 0x0060, b"CS", b"CT "),
        (0x0010, 0x0010, b"PN", b"Odd^Len"),
        (0x0010, 0x0020, b"LO", b"1234567"),
        (0x0020, 0x000D, b"UI", b"1.2.3"),
        (0x0020, 0x000E, b"UI", b"1.2.3.4.5"),
        (0x0020, 0x0013, b"IS", b"123"),
    ]


@pytest.mark.parametrize("ts", [ImplicitVRLittleEndian, ExplicitVRLittleEndian])
def test_odd_lengths(ts: str) -> None:
    uid = "1.2.826.0.1.3680043.8.498.1"
    elements = odd_length_elements(uid)
    if ts == ImplicitVRLittleEndian:
        data = b"".join(implicit(g, e, v) for g, e, _, v in elements)
    else:
        data = b"".join(explicit(g, e, vr, v) for g, e, vr, v in elements)
    header = read_header(data, ts)
    assert header == reference(data, ts)
    assert header["SOPInstanceUID"] == uid
    assert header["PatientID"] == "1234567"
    assert header["SeriesInstanceUID"] == "1.2.3.4.5"


def test_big_endian_is_read_by_pydicom_with_the_same_answer() -> None:
    ds = ct("Ærø^Åse", "ISO_IR 100")
    ds.PatientBirthDate = ""  # an empty value: "", not "None"
    ds.StudyDescription = "Thorax\\Abdomen"  # two values
    data = encode(ds, ExplicitVRBigEndian)
    header = read_header(data, ExplicitVRBigEndian)
    assert header == reference(data, ExplicitVRBigEndian)
    assert header["PatientBirthDate"] == ""
    assert header["StudyDescription"] == "Thorax\\Abdomen"
    little = read_header(encode(ds, ExplicitVRLittleEndian), ExplicitVRLittleEndian)
    assert header == little


@pytest.mark.parametrize(
    "data",
    [
        b"\x08\x00\x16\x00\x01\x02\x04\x00abcd",  # a VR that is no VR, then nothing
        b"\x00" * 7,
        b"\xff" * 64,
        zlib.compress(b"not a dataset"),  # zlib framing where raw deflate belongs
    ],
)
@pytest.mark.parametrize("ts", [*LITTLE, ExplicitVRBigEndian])
def test_garbage_raises_or_has_no_uids(data: bytes, ts: str) -> None:
    try:
        header = read_header(data, ts)
    except HeaderError as exc:
        assert str(exc)
        return
    assert not header.get("SOPInstanceUID") and not header.get("StudyInstanceUID")


# Where a stream is cut, as bytes kept of it. Both little endian syntaxes have an 8-byte
# header for a UI element, and at least 8 for Pixel Data. Cut points are found in the
# very bytes the test cuts: UIDs are random, so their lengths differ from run to run.
CUTS = {
    "inside the Series Instance UID": lambda d: d.index(b"\x20\x00\x0e\x00") + 8 + 10,
    "inside an element header after the UIDs": lambda d: d.index(b"\xe0\x7f\x10\x00") + 3,
    "inside the Pixel Data": lambda d: len(d) - 17,
    "the last byte": lambda d: len(d) - 1,
}


@pytest.mark.parametrize("where", list(CUTS))
@pytest.mark.parametrize("ts", [ImplicitVRLittleEndian, ExplicitVRLittleEndian])
def test_truncated_dataset_is_refused(ts: str, where: str) -> None:
    """A stream cut short must not be archived as a good instance with wrong UIDs."""
    full = encode(ct(), ts)
    with pytest.raises(HeaderError, match="past the end|truncated"):
        read_header(full[: CUTS[where](full)], ts)


def test_truncated_deflate_stream_is_refused() -> None:
    data = encode(ct(), DeflatedExplicitVRLittleEndian)
    with pytest.raises(HeaderError):
        read_header(data[: len(data) // 2], DeflatedExplicitVRLittleEndian)


# --- random values ------------------------------------------------------------------

LATIN1 = st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f\\")
UNICODE = st.characters(
    codec="utf-8", exclude_categories=("Cc", "Cs", "Co", "Cn"), exclude_characters="\\"
)
ASCII = st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="\\")


@st.composite
def texts(draw: st.DrawFn, alphabet: st.SearchStrategy[str], max_size: int) -> str:
    """Text that sometimes starts or ends with whitespace that is content, not padding."""
    edge = st.sampled_from(["", " ", "\xa0", "\t"])
    return draw(edge) + draw(st.text(alphabet, max_size=max_size)) + draw(edge)


@st.composite
def datasets(draw: st.DrawFn) -> Dataset:
    charset = draw(st.sampled_from(["ISO_IR 100", "ISO_IR 192"]))
    alphabet = LATIN1 if charset == "ISO_IR 100" else UNICODE
    ds = ct(charset=charset)
    ds.PatientName = draw(texts(alphabet, 20).filter(lambda s: "=" not in s))
    ds.PatientID = draw(texts(alphabet, 20))
    several = st.lists(texts(alphabet, 12), min_size=1, max_size=3)
    ds.StudyDescription = "\\".join(draw(several))  # LO may hold several values
    ds.AccessionNumber = draw(st.text(ASCII, max_size=16))
    ds.StudyDate = draw(st.sampled_from(["", "20261123", "19000101"]))
    ds.InstanceNumber = draw(st.integers(0, 2**31 - 1))
    if draw(st.booleans()):
        ds = with_nested_sequences(ds)
    return ds


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ds=datasets(), ts=st.sampled_from(ALL))
def test_random_values_read_as_pydicom_reads_them(ds: Dataset, ts: str) -> None:
    data = encode(ds, ts)
    assert read_header(data, ts) == reference(data, ts)
