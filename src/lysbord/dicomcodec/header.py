"""Read the few indexed attributes from an encoded dataset without decoding it.

The store path must not build a pydicom Dataset per instance (DOMAIN.md §8): this
walks the little-endian element headers (PS3.5 7.1), skipping values and sequences,
and keeps only the wanted values. It walks on to the end (headers only, so the
cost is a few microseconds) because a stream cut short must be refused, not
archived: pydicom silently accepts a value shorter than its length. Anything else
it cannot walk (big endian, a bad VR) falls back to pydicom, which then decides
whether the dataset is readable at all.
"""

from __future__ import annotations

import struct
import zlib
from io import BytesIO

from pydicom.charset import convert_encodings, decode_bytes
from pydicom.filereader import read_dataset
from pydicom.multival import MultiValue
from pydicom.uid import UID, DeflatedExplicitVRLittleEndian, ImplicitVRLittleEndian

# keyword -> tag, for the attributes the archive indexes.
WANTED: dict[int, str] = {
    0x00080005: "SpecificCharacterSet",
    0x00080016: "SOPClassUID",
    0x00080018: "SOPInstanceUID",
    0x00080020: "StudyDate",
    0x00080030: "StudyTime",
    0x00080050: "AccessionNumber",
    0x00080060: "Modality",
    0x00080090: "ReferringPhysicianName",
    0x00081030: "StudyDescription",
    0x0008103E: "SeriesDescription",
    0x00100010: "PatientName",
    0x00100020: "PatientID",
    0x00100021: "IssuerOfPatientID",
    0x00100030: "PatientBirthDate",
    0x00100040: "PatientSex",
    0x00180015: "BodyPartExamined",
    0x0020000D: "StudyInstanceUID",
    0x0020000E: "SeriesInstanceUID",
    0x00200010: "StudyID",
    0x00200011: "SeriesNumber",
    0x00200013: "InstanceNumber",
}
LAST_WANTED = max(WANTED)
TEXT_WITH_CHARSET = {
    "PatientName",
    "ReferringPhysicianName",
    "StudyDescription",
    "SeriesDescription",
    "PatientID",
    "IssuerOfPatientID",
}
LONG_VRS = {
    b"OB",
    b"OD",
    b"OF",
    b"OL",
    b"OV",
    b"OW",
    b"SQ",
    b"SV",
    b"UC",
    b"UN",
    b"UR",
    b"UT",
    b"UV",
}
UNDEFINED = 0xFFFFFFFF
ITEM, ITEM_END, SEQ_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_TAG = struct.Struct("<HH")
_U32 = struct.Struct("<I")
_U16 = struct.Struct("<H")


class HeaderError(ValueError):
    """The stream is not a dataset this reader (or pydicom) can walk."""


class Truncated(HeaderError):
    """The stream ends inside an element: cut short by the sender or on the way."""


def read_header(data: bytes, transfer_syntax: str) -> dict[str, str]:
    """The WANTED attributes present in ``data``, as stripped text, decoded per charset."""
    try:
        raw = _walk(_inflate(data, transfer_syntax), transfer_syntax == ImplicitVRLittleEndian)
    except Truncated:
        raise  # pydicom would read what is there and call it a dataset
    except (IndexError, struct.error, HeaderError, zlib.error):
        return _with_pydicom(data, transfer_syntax)
    return _decode(raw)


def _inflate(data: bytes, transfer_syntax: str) -> bytes:
    if transfer_syntax == DeflatedExplicitVRLittleEndian:
        return zlib.decompress(data, -zlib.MAX_WBITS)
    if transfer_syntax == "1.2.840.10008.1.2.2":  # big endian: leave it to pydicom
        raise HeaderError("big endian")
    return data


def _walk(data: bytes, implicit: bool) -> dict[str, bytes]:
    """The raw WANTED values; every top-level element must end within ``data``."""
    found: dict[str, bytes] = {}
    pos, end = 0, len(data)
    while pos < end:
        if end - pos < 8 and not data[pos:].strip(b"\x00"):
            break  # a few zero bytes of padding after the last element
        tag, length, header = _element(data, pos, implicit)
        pos += header
        if length == UNDEFINED:
            pos = _skip_sequence(data, pos, implicit)
            continue
        if tag in WANTED:
            found[WANTED[tag]] = data[pos : pos + length]
        pos += length
        if pos > end:
            raise Truncated(
                f"element ({tag >> 16:04X},{tag & 0xFFFF:04X}) runs {pos - end} bytes "
                "past the end of the dataset"
            )
    return found


def _element(data: bytes, pos: int, implicit: bool) -> tuple[int, int, int]:
    """(tag, value length, header size) of the element at ``pos``."""
    if pos + 8 > len(data):
        raise Truncated(f"dataset truncated: element header at offset {pos} is cut short")
    group, elem = _TAG.unpack_from(data, pos)
    tag = group << 16 | elem
    if implicit or group == 0xFFFE:
        return tag, _U32.unpack_from(data, pos + 4)[0], 8
    vr = data[pos + 4 : pos + 6]
    if vr in LONG_VRS:
        if pos + 12 > len(data):
            raise Truncated(f"dataset truncated: element header at offset {pos} is cut short")
        return tag, _U32.unpack_from(data, pos + 8)[0], 12
    if not vr.isalpha():
        raise HeaderError(f"bad VR {vr!r} at offset {pos}")
    return tag, _U16.unpack_from(data, pos + 6)[0], 8


def _skip_sequence(data: bytes, pos: int, implicit: bool) -> int:
    """Past an undefined-length sequence: its items may nest further sequences."""
    while True:
        tag, length, header = _element(data, pos, True)
        pos += header
        if tag == SEQ_END:
            return pos
        if tag != ITEM:
            raise HeaderError(f"expected an item at offset {pos - header}")
        pos = _skip_item(data, pos, implicit) if length == UNDEFINED else pos + length


def _skip_item(data: bytes, pos: int, implicit: bool) -> int:
    while True:
        tag, length, header = _element(data, pos, implicit)
        pos += header
        if tag == ITEM_END:
            return pos
        pos = _skip_sequence(data, pos, implicit) if length == UNDEFINED else pos + length


def _decode(raw: dict[str, bytes]) -> dict[str, str]:
    charsets = raw.pop("SpecificCharacterSet", b"").decode("ascii", "replace").strip()
    encodings = convert_encodings([c.strip() for c in charsets.split("\\")] if charsets else None)
    out = {}
    for key, value in raw.items():
        text = (
            decode_bytes(value, encodings, set())
            if key in TEXT_WITH_CHARSET
            else value.decode("ascii", "replace")
        )
        out[key] = _strip(text.split("\\"))
    return out


def _strip(values: list[str]) -> str:
    """Each value without its padding (spaces, NUL; PS3.5 6.2), joined by backslash again.

    Other whitespace, such as a no-break space, is content and stays.
    """
    return "\\".join(v.strip("\x00 ") for v in values)


def _with_pydicom(data: bytes, transfer_syntax: str) -> dict[str, str]:
    uid = UID(transfer_syntax)
    try:
        if uid == DeflatedExplicitVRLittleEndian:
            data = zlib.decompress(data, -zlib.MAX_WBITS)
        ds = read_dataset(
            BytesIO(data),
            uid.is_implicit_VR,
            uid.is_little_endian,
            stop_when=lambda tag, vr, length: tag > LAST_WANTED,
        )
        return {
            kw: _text(ds[kw].value)
            for kw in WANTED.values()
            if kw != "SpecificCharacterSet" and kw in ds
        }
    except Exception as exc:  # pydicom raises many kinds; all mean "cannot understand"
        raise HeaderError(f"cannot read the dataset: {exc}") from exc


def _text(value: object) -> str:
    """A pydicom value as the walker gives it: "" when empty, values joined by backslash."""
    if value is None:
        return ""
    if isinstance(value, MultiValue):
        return _strip([str(v) for v in value])
    return _strip(str(value).split("\\"))
