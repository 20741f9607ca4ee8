"""An MR series: a T2-like axial stack of the phantom, fluid bright, 16 slices."""

from __future__ import annotations

from functools import cache

import numpy as np
from pydicom.uid import MRImageStorage

from lysbord.demo.images.dataset import Exam, Frame, Instance, axial_stack, frame, study
from lysbord.demo.images.phantom import Tissue, part, section, values

SIZE = 256
SLICES = 16
#: T2-weighted signal per tissue (12-bit stored values).
SIGNAL = {
    Tissue.AIR: 0, Tissue.FAT: 1500, Tissue.SOFT: 520, Tissue.LUNG: 40, Tissue.BONE: 60,
    Tissue.MARROW: 1100, Tissue.BLOOD: 180, Tissue.LIVER: 380, Tissue.KIDNEY: 900,
    Tissue.BRAIN: 800, Tissue.CSF: 2600, Tissue.FLUID: 2800,
}  # fmt: skip


@cache
def stack(body_part: str, scale: float) -> tuple[tuple[Frame, float], ...]:
    p = part(body_part)
    out = []
    for level in np.linspace(p.top, p.bottom, SLICES):
        signal = values(section(p.region, float(level), SIZE, p.fov, scale), SIGNAL)
        out.append((frame(signal.astype(np.uint16), 12), float(level)))
    return tuple(out)


def mr_series(exam: Exam) -> list[Instance]:
    return axial_stack(
        study(exam, str(MRImageStorage)),
        3,
        "T2 TSE aksial",
        stack(exam.body_part, exam.build),
        part(exam.body_part).fov,
        MagneticFieldStrength=1.5,
        ScanningSequence="SE",
        SequenceVariant="SK",
        RepetitionTime=4000,
        EchoTime=100,
        WindowCenter=1300,
        WindowWidth=2600,
    )
