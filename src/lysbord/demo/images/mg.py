"""Mammography: the four views (right and left, CC and MLO), breast against the chest wall.

Each view is a half-ellipse of fatty tissue with denser glandular patches towards the
nipple; the MLO views show the pectoral muscle in the upper corner. The left breast's
images are the right's mirrored, with the chest wall on the other side, as the
hanging of a mammography reading expects (PatientOrientation says which way is which).
"""

from __future__ import annotations

from functools import cache

import numpy as np
from pydicom.uid import DigitalMammographyXRayImageStorageForPresentation

from lysbord.demo.images.dataset import Array, Exam, Frame, Instance, frame, image, series, study

ROWS, COLUMNS = 416, 320
SPACING = 0.6
VIEWS = (("R", "CC"), ("L", "CC"), ("R", "MLO"), ("L", "MLO"))
#: (laterality, view) -> Patient Orientation (row, column directions).
ORIENTATION = {("R", "CC"): ["P", "L"], ("L", "CC"): ["A", "R"],
               ("R", "MLO"): ["P", "F"], ("L", "MLO"): ["A", "F"]}  # fmt: skip


def breast(view: str, scale: float) -> Array:
    """A right breast, chest wall at the right edge, as 12-bit values (dense is light)."""
    y, x = np.mgrid[0:ROWS, 0:COLUMNS].astype(np.float32)
    cx, cy = COLUMNS - 1, ROWS / 2
    depth, height = 0.85 * COLUMNS * scale**0.5, 0.45 * ROWS * scale**0.5
    r = ((x - cx) / depth) ** 2 + ((y - cy) / height) ** 2
    out = np.full((ROWS, COLUMNS), 80, np.float32)
    inside = r <= 1
    out[inside] = 1400 + 500 * (1 - r[inside])  # fatty tissue, thicker at the chest wall
    for i, (px, py, rad) in enumerate(((0.55, 0.45, 0.16), (0.7, 0.6, 0.12), (0.45, 0.55, 0.1))):
        g = ((x - px * COLUMNS) ** 2 + (y - py * ROWS) ** 2) / (rad * COLUMNS) ** 2
        out += np.where(inside & (g < 1), 700 - 150 * i, 0) * (1 - np.minimum(g, 1)) ** 0.5
    if view == "MLO":
        muscle = (COLUMNS - x) < (0.35 * COLUMNS) * (1 - y / (0.55 * ROWS))
        out[muscle & inside] = 2600
    return (np.clip(out, 0, 4095) // 16 * 16).astype(np.uint16)


@cache
def views(scale: float) -> tuple[tuple[str, str, Frame], ...]:
    """The four encoded views of a breast of this build; made once."""
    out = []
    for side, view in VIEWS:
        pixels = breast(view, scale)
        out.append((side, view, frame(pixels if side == "R" else pixels[:, ::-1], 12)))
    return tuple(out)


def mg_images(exam: Exam) -> list[Instance]:
    """One series per view, as mammography units send them."""
    base = study(exam, str(DigitalMammographyXRayImageStorageForPresentation))
    base.BodyPartExamined = "BREAST"
    out = []
    for n, (side, view, pixels) in enumerate(views(exam.build), start=1):
        view_series = series(
            base,
            n,
            f"{side} {view}",
            pixels,
            PresentationIntentType="FOR PRESENTATION",
            ImageLaterality=side,
            Laterality=side,
            ViewPosition=view,
            PatientOrientation=ORIENTATION[side, view],
            ImagerPixelSpacing=[SPACING, SPACING],
            PixelSpacing=[SPACING, SPACING],
            WindowCenter=1800,
            WindowWidth=3000,
        )
        out.append(image(view_series, 1, pixels))
    return out
