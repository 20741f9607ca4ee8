"""A CT series: an axial stack of the phantom in Hounsfield units, 24 to 32 slices.

Stored values are HU + 1024 in 12 bits (Rescale Intercept -1024), 256 x 256 over the
body part's field of view, with the geometry a viewer stacks by (Image Position and
Orientation, Slice Location, Pixel Spacing) and the windows a radiologist starts from.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from pydicom.uid import CTImageStorage

from lysbord.demo.images.dataset import Exam, Frame, Instance, axial_stack, frame, study
from lysbord.demo.images.phantom import HU, part, section, values

SIZE = 256
INTERCEPT = -1024
#: (centre, width) pairs per body part; the first is the default view.
WINDOWS = {"HEAD": ((40, 80), (600, 2800)), "CHEST": ((40, 400), (-600, 1500))}
SOFT_TISSUE = ((50, 400), (400, 1800))


def slices_for(body_part: str) -> int:
    """More slices for a longer body part: 24 up to 32."""
    p = part(body_part)
    return int(np.clip(round((p.bottom - p.top) / 12), 24, 32))


@cache
def stack(body_part: str, scale: float) -> tuple[tuple[Frame, float], ...]:
    """The encoded slices and their levels (mm from the crown), top first; made once."""
    p = part(body_part)
    n = slices_for(body_part)
    levels = np.linspace(p.top, p.bottom, n)
    out = []
    for level in levels:
        hu = values(section(p.region, float(level), SIZE, p.fov, scale), HU)
        out.append((frame((hu - INTERCEPT).astype(np.uint16), 12), float(level)))
    return tuple(out)


def ct_series(exam: Exam) -> list[Instance]:
    centres, widths = zip(*WINDOWS.get(exam.body_part, SOFT_TISSUE), strict=True)
    return axial_stack(
        study(exam, str(CTImageStorage)),
        2,
        f"{exam.code_name} aksial",
        stack(exam.body_part, exam.build),
        part(exam.body_part).fov,
        KVP=120,
        RescaleIntercept=INTERCEPT,
        RescaleSlope=1,
        RescaleType="HU",
        WindowCenter=list(centres),
        WindowWidth=list(widths),
    )
