"""The Part 10 file header written in front of the bytes as received (PS3.10 7.1).

Built by hand, not by pydicom: it is on the store path of every instance.
"""

from __future__ import annotations

import struct

# Lysbord's Implementation Class UID: a UUID-derived UID (PS3.5 B.2), fixed forever.
IMPLEMENTATION_UID = "2.25.149361734129576416380542618432970452011"
IMPLEMENTATION_VERSION = "LYSBORD_01"

PREAMBLE = b"\x00" * 128 + b"DICM"


def _element(group: int, elem: int, vr: bytes, value: bytes) -> bytes:
    if vr in (b"OB", b"UN", b"UT", b"SQ"):
        return struct.pack("<HH2sHI", group, elem, vr, 0, len(value)) + value
    return struct.pack("<HH2sH", group, elem, vr, len(value)) + value


def _uid(value: str) -> bytes:
    raw = value.encode("ascii")
    return raw + b"\x00" if len(raw) % 2 else raw


def _text(value: str) -> bytes:
    raw = value.encode("ascii")
    return raw + b" " if len(raw) % 2 else raw


_FIXED_TAIL = _element(0x0002, 0x0012, b"UI", _uid(IMPLEMENTATION_UID)) + _element(
    0x0002, 0x0013, b"SH", _text(IMPLEMENTATION_VERSION)
)


def file_meta(sop_class_uid: str, sop_instance_uid: str, transfer_syntax: str) -> bytes:
    """Preamble, 'DICM' and the File Meta Information group, explicit VR little endian."""
    body = (
        _element(0x0002, 0x0001, b"OB", b"\x00\x01")
        + _element(0x0002, 0x0002, b"UI", _uid(sop_class_uid))
        + _element(0x0002, 0x0003, b"UI", _uid(sop_instance_uid))
        + _element(0x0002, 0x0010, b"UI", _uid(transfer_syntax))
        + _FIXED_TAIL
    )
    length = _element(0x0002, 0x0000, b"UL", struct.pack("<I", len(body)))
    return PREAMBLE + length + body
