"""C-FIND answers written as bytes: one per match, so pydicom's per-element cost adds up.

A ``Prebuilt`` holds (tag, VR, value) elements with values already encoded (text
padded to even length, PS3.5 6.2) or, for a sequence, its items. It encodes itself in
Implicit or Explicit VR Little Endian (PS3.5 7.1) with defined lengths throughout;
``lysbord.dicom.fast.dimse`` lets pynetdicom send those bytes as they are. For any
other transfer syntax, and with the fast paths off, it becomes a pydicom Dataset again
(``to_dataset``, ``as_datasets``).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from io import BytesIO
from typing import Any

from pydicom import Dataset
from pydicom.filereader import read_dataset

# VRs whose explicit encoding has a 4-byte length (PS3.5 Table 7.1-1).
LONG_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"})
_ITEM = struct.pack("<HH", 0xFFFE, 0xE000)
_IMPLICIT = struct.Struct("<HHI")
_SHORT = struct.Struct("<HH2sH")
_LONG = struct.Struct("<HH2s2xI")

Value = bytes | list["Prebuilt"]


def text(value: str, vr: str = "LO") -> bytes:
    """A string value as UTF-8 (ISO_IR 192 when not ASCII), padded to even length."""
    raw = value.encode("utf-8")
    if len(raw) % 2:
        raw += b"\x00" if vr == "UI" else b" "
    return raw


class Prebuilt:
    """A data set of encoded elements, added in any order and written in tag order."""

    __slots__ = ("elements",)

    def __init__(self) -> None:
        self.elements: dict[int, tuple[str, Value]] = {}

    def add(self, tag: int, vr: str, value: Value) -> None:
        self.elements[tag] = (vr, value)

    def add_text(self, tag: int, vr: str, value: str | None) -> None:
        """A text element; None or "" gives the element with no value."""
        self.elements[tag] = (vr, text(value, vr) if value else b"")

    def __contains__(self, tag: int) -> bool:
        return tag in self.elements

    def encode(self, *, implicit: bool) -> bytes:
        out = []
        for tag in sorted(self.elements):
            vr, value = self.elements[tag]
            if isinstance(value, list):
                value = b"".join(_item(i.encode(implicit=implicit)) for i in value)
            out.append(_header(tag, vr, len(value), implicit))
            out.append(value)
        return b"".join(out)

    def to_dataset(self) -> Dataset:
        """The same data set as pydicom reads it (for transfer syntaxes not written here)."""
        return read_dataset(BytesIO(self.encode(implicit=True)), True, True)


FindHandler = Callable[..., Iterator[tuple[Any, Any]]]


def as_datasets(find: FindHandler) -> FindHandler:
    """``find`` with each Prebuilt answer as a Dataset: what plain pynetdicom can encode."""

    def handler(event: Any, *args: Any) -> Iterator[tuple[Any, Any]]:
        for status, answer in find(event, *args):
            yield status, answer.to_dataset() if isinstance(answer, Prebuilt) else answer

    return handler


def _item(body: bytes) -> bytes:
    return _ITEM + struct.pack("<I", len(body)) + body


def _header(tag: int, vr: str, length: int, implicit: bool) -> bytes:
    group, elem = tag >> 16, tag & 0xFFFF
    if implicit:
        return _IMPLICIT.pack(group, elem, length)
    code = vr.encode("ascii")
    if vr in LONG_VRS:
        return _LONG.pack(group, elem, code, length)
    return _SHORT.pack(group, elem, code, length)
