"""Instances to send and raw multipart bodies, for the DICOMweb tests."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path
from typing import Any

import httpx2 as httpx
import numpy as np
from pydicom import Dataset, dcmread
from pydicom.uid import ExplicitVRLittleEndian, RLELossless

from lysbord.services.core.context import Context
from tests.dicomdata import ct_series
from tests.helpers import random_cpr

BOUNDARY = "lysbord-test-boundary"
TIMEOUT = 60.0  # seconds: the machine is shared, httpx's 5 s default is too tight
MULTIPART_DICOM = f'multipart/related; type="application/dicom"; boundary={BOUNDARY}'


def without_sign_in(ctx: Context) -> Context:
    """``ctx`` with DICOMweb open to anyone: the protocol tests' server (sign-in itself is
    tested in test_dicomweb_auth.py), as a closed test network would run it. Changed in
    place, so a test may still tune ``ctx.settings.dicomweb`` after the server started."""
    ctx.settings.dicomweb.require_sign_in = False
    return ctx


def ct(folder: Path, n: int = 3, **kwargs: Any) -> list[Dataset]:
    """``n`` CT images of one new series (Part 10 files read back, preamble and all)."""
    return [dcmread(p) for p in ct_series(folder, n, **kwargs)]


def part10(ds: Dataset) -> bytes:
    """``ds`` as the Part 10 file a STOW-RS part carries."""
    out = BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def body(*parts: tuple[str, bytes], closing: bool = True) -> bytes:
    """A multipart/related body: each (Content-Type, bytes) a part."""
    out = b""
    for content_type, data in parts:
        out += f"--{BOUNDARY}\r\nContent-Type: {content_type}\r\n\r\n".encode() + data + b"\r\n"
    return out + (f"--{BOUNDARY}--\r\n".encode() if closing else b"")


def post(url: str, data: bytes, content_type: str = MULTIPART_DICOM, **headers: str) -> Any:
    headers = {"Content-Type": content_type, **headers}
    return httpx.post(url, content=data, headers=headers, timeout=TIMEOUT)


def get(url: str, **headers: str) -> Any:
    return httpx.get(url, headers=headers, timeout=TIMEOUT)


def multiframe(folder: Path, frames: int = 3, *, compressed: bool = False) -> Dataset:
    """A 3-frame 16-bit image with distinct frames; RLE Lossless when ``compressed``."""
    ds = ct(folder, 1, patient_id=random_cpr())[0]
    ds.NumberOfFrames = frames
    pixels = np.arange(frames * 64 * 64, dtype=np.uint16).reshape(frames, 64, 64) % 4096
    ds.PixelData = pixels.tobytes()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    if compressed:
        ds.compress(RLELossless, pixels, generate_instance_uid=False)
    return ds
