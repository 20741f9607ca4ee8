"""A radiograph (DX, or CR from a CR room): the phantom seen through, one frame.

The attenuation along the beam (``phantom.projection``) becomes 12-bit values, bone
and heart light, lungs dark, rounded to steps of 8 so the flat parts RLE-compress.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from pydicom.uid import ComputedRadiographyImageStorage, DigitalXRayImageStorageForPresentation

from lysbord.demo.images.dataset import Exam, Frame, Instance, frame, image, series, study
from lysbord.demo.images.phantom import part, projection

COLUMNS = 384
STEP = 8


@cache
def radiograph(body_part: str, scale: float) -> tuple[Frame, float]:
    """The encoded frame and its pixel spacing (mm); made once per body part and build."""
    p = part(body_part)
    rows = max(128, round(COLUMNS * (p.bottom - p.top) / p.fov))
    att = projection(body_part, rows, COLUMNS, scale)
    stored = (300 + 3400 * att**0.8) // STEP * STEP
    return frame(stored.astype(np.uint16), 12), p.fov / COLUMNS


def dx_image(exam: Exam) -> list[Instance]:
    cr = exam.modality == "CR"
    sop = ComputedRadiographyImageStorage if cr else DigitalXRayImageStorageForPresentation
    pixels, spacing = radiograph(exam.body_part, 1.0)  # one build: the beam flattens it
    chest = exam.body_part == "CHEST"
    tags: dict[str, object] = {
        "ViewPosition": "PA" if chest else "AP",
        "PatientOrientation": ["L", "F"],
        "ImagerPixelSpacing": [spacing, spacing],
        "KVP": 125 if chest else 70,
        "WindowCenter": 2200,
        "WindowWidth": 3600,
    }
    if not cr:
        tags.update(PresentationIntentType="FOR PRESENTATION", PixelSpacing=[spacing, spacing])
    base = series(study(exam, str(sop)), 1, exam.code_name, pixels, **tags)
    return [image(base, 1, pixels)]
