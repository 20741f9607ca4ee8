"""Frames of an instance's Pixel Data (WADO-RS frames and bulk data, PS3.18 8.7.3.3).

A frame leaves in its stored (native) encoding when the client takes it
(``transfer-syntax=*``, or the compressed image type of the stored syntax, e.g.
``image/jls``); otherwise decoded, as uncompressed little-endian bytes
(``application/octet-stream``, Explicit VR Little Endian, the default).
"""

from __future__ import annotations

from dataclasses import dataclass

from pydicom import Dataset
from pydicom.encaps import generate_frames
from pydicom.pixels.utils import pixel_array
from pydicom.uid import UID

from lysbord.dicomweb.encoding import UNCOMPRESSED_TARGETS, can_send
from lysbord.dicomweb.media import ANY_SYNTAX, EXPLICIT_LE, MediaRange, part_type

OCTET = "application/octet-stream"
#: The image media type of each compressed transfer syntax (PS3.18 Table 8.7.3-3).
IMAGE_TYPES = {
    "1.2.840.10008.1.2.4.50": "image/jpeg",
    "1.2.840.10008.1.2.4.51": "image/jpeg",
    "1.2.840.10008.1.2.4.57": "image/jpeg",
    "1.2.840.10008.1.2.4.70": "image/jpeg",
    "1.2.840.10008.1.2.4.80": "image/jls",
    "1.2.840.10008.1.2.4.81": "image/jls",
    "1.2.840.10008.1.2.4.90": "image/jp2",
    "1.2.840.10008.1.2.4.91": "image/jp2",
    "1.2.840.10008.1.2.4.92": "image/jpx",
    "1.2.840.10008.1.2.4.93": "image/jpx",
    "1.2.840.10008.1.2.5": "image/dicom-rle",
}


@dataclass(frozen=True, slots=True)
class FrameChoice:
    """The part media type, and whether frames leave as stored (native) or decoded."""

    part_type: str
    native: bool


def choose_frames(accept: list[MediaRange], stored: str) -> FrameChoice | None:
    """The first acceptable representation of frames stored in ``stored``, or None."""
    image_type = IMAGE_TYPES.get(stored)
    for r in accept:
        if not r.matches("multipart/related"):
            continue
        part = part_type(r, (OCTET, image_type) if image_type else (OCTET,))
        syntax = r.params.get("transfer-syntax", "")
        if part == OCTET:
            target = syntax or EXPLICIT_LE
            if target in (ANY_SYNTAX, stored) or not UID(stored).is_compressed:
                return FrameChoice(f"{OCTET}; transfer-syntax={_label(stored)}", True)
            if target in UNCOMPRESSED_TARGETS and can_send(stored, target):
                return FrameChoice(f"{OCTET}; transfer-syntax={EXPLICIT_LE}", False)
        elif image_type is not None and part == image_type and syntax in ("", ANY_SYNTAX, stored):
            return FrameChoice(f"{image_type}; transfer-syntax={stored}", True)
    return None


def _label(stored: str) -> str:
    """Uncompressed frames are the same bytes in every little-endian syntax."""
    return stored if UID(stored).is_compressed or stored == "1.2.840.10008.1.2.2" else EXPLICIT_LE


def number_of_frames(ds: Dataset) -> int:
    value = ds.get("NumberOfFrames")
    try:
        return max(1, int(value)) if value not in (None, "") else 1
    except (TypeError, ValueError):
        return 1


def frame(ds: Dataset, number: int, native: bool) -> bytes:
    """Frame ``number`` (1-based) of ``ds``, as stored or decoded."""
    stored = UID(ds.file_meta.TransferSyntaxUID)
    if stored.is_compressed:
        if native:
            frames = generate_frames(ds.PixelData, number_of_frames=number_of_frames(ds))
            for i, encoded in enumerate(frames, start=1):
                if i == number:
                    return encoded
            raise IndexError(number)
        return bytes(pixel_array(ds, index=number - 1).tobytes())
    bits = int(ds.Rows) * int(ds.Columns) * int(ds.get("SamplesPerPixel", 1))
    bits *= int(ds.BitsAllocated)
    if bits % 8:
        return bytes(pixel_array(ds, index=number - 1).tobytes())
    size = bits // 8
    data: bytes = ds.PixelData
    return data[(number - 1) * size : number * size]
