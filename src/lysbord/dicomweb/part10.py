"""A STOW-RS part as a DICOM Part 10 file (PS3.10 7.1): its file meta and its dataset.

Read by hand, like the C-STORE path: the archive keeps the dataset bytes as received
behind a file meta header it writes itself (``lysbord.dicom.meta``), so the same
instance sent by C-STORE and by STOW-RS is the same blob, stored once.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

PREAMBLE = 128
LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"UC", b"UN", b"UR", b"UT"}


class NotPart10(ValueError):
    """The bytes are not a DICOM Part 10 file."""


@dataclass(frozen=True, slots=True)
class Part10:
    sop_class_uid: str
    sop_instance_uid: str
    transfer_syntax: str
    dataset: bytes


def split(data: bytes) -> Part10:
    """The file meta's UIDs and the dataset that follows it."""
    if data[PREAMBLE : PREAMBLE + 4] == b"DICM":
        pos = PREAMBLE + 4
    elif data[:2] == b"\x02\x00":
        pos = 0  # no preamble: tolerated, as pydicom does
    else:
        raise NotPart10("not a DICOM Part 10 file: no 'DICM' after the 128-byte preamble")
    meta, pos = _meta(data, pos)
    syntax = meta.get(0x0010, "")
    if not syntax:
        raise NotPart10("no Transfer Syntax UID (0002,0010) in the file meta")
    return Part10(meta.get(0x0002, ""), meta.get(0x0003, ""), syntax, data[pos:])


def _meta(data: bytes, pos: int) -> tuple[dict[int, str], int]:
    """Group 0002 elements (explicit VR little endian, PS3.10 7.1) as text, and where it ends."""
    found: dict[int, str] = {}
    while pos + 8 <= len(data):
        group, elem = struct.unpack_from("<HH", data, pos)
        if group != 0x0002:
            break
        vr = data[pos + 4 : pos + 6]
        if vr in LONG_VRS:
            if pos + 12 > len(data):
                raise NotPart10("the file meta is cut short")
            (length,) = struct.unpack_from("<I", data, pos + 8)
            start = pos + 12
        else:
            (length,) = struct.unpack_from("<H", data, pos + 6)
            start = pos + 8
        if start + length > len(data):
            raise NotPart10(f"file meta element (0002,{elem:04X}) is cut short")
        if vr == b"UI":
            found[elem] = data[start : start + length].decode("ascii", "replace").strip("\x00 ")
        pos = start + length
    if not found:
        raise NotPart10("no file meta information (group 0002)")
    return found, pos
