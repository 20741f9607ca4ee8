"""An ultrasound frame: the fan of a curved probe, speckle, a dark fluid-filled structure."""

from __future__ import annotations

from functools import cache

import numpy as np
from pydicom.uid import UltrasoundImageStorage

from lysbord.demo.images.dataset import Exam, Frame, Instance, frame, image, series, study

ROWS, COLUMNS = 360, 480
APEX_ROW = -40
SPREAD = 0.6  # half the fan's angle, radians


@cache
def fan(body_part: str) -> Frame:
    """One 8-bit grey frame, the same for every patient (the speckle is seeded)."""
    y, x = np.mgrid[0:ROWS, 0:COLUMNS].astype(np.float32)
    dy, dx = y - APEX_ROW, x - COLUMNS / 2
    radius, angle = np.hypot(dx, dy), np.arctan2(dx, dy)
    inside = (np.abs(angle) < SPREAD) & (radius > 60) & (radius < ROWS + 10)
    rng = np.random.default_rng(sum(map(ord, body_part)))
    speckle = rng.rayleigh(1.0, (ROWS, COLUMNS)).astype(np.float32)
    depth_gain = 1.2 - 0.7 * np.clip((radius - 60) / ROWS, 0, 1)
    grey = 70 * speckle * depth_gain
    cyst = ((x - COLUMNS * 0.55) / 50) ** 2 + ((y - ROWS * 0.55) / 32) ** 2 < 1
    grey[cyst] *= 0.12
    grey[(np.abs(y - ROWS * 0.3) < 3)] += 60  # a bright fascia line
    out = np.where(inside, np.clip(grey, 0, 255), 0).astype(np.uint8)
    return frame(out, 8)


def us_image(exam: Exam) -> list[Instance]:
    pixels = fan(exam.body_part)
    base = series(study(exam, str(UltrasoundImageStorage)), 1, exam.code_name, pixels)
    return [image(base, 1, pixels)]
