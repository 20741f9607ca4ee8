"""Real DICOM images for the demo: one generator per modality, stored the C-STORE way.

``ct``, ``mr``, ``dx`` (also CR), ``mg`` and ``us`` each turn an ``Exam`` (what the
scanner read from its worklist) into the instances of one study, drawn from the same
phantom (``phantom``); ``store`` writes them through the archive's own store path.
"""

from __future__ import annotations

from collections.abc import Callable

from lysbord.demo.images.ct import ct_series
from lysbord.demo.images.dataset import Exam, Instance
from lysbord.demo.images.dx import dx_image
from lysbord.demo.images.mg import mg_images
from lysbord.demo.images.mr import mr_series
from lysbord.demo.images.us import us_image

__all__ = ["GENERATORS", "Exam", "Instance", "instances"]

GENERATORS: dict[str, Callable[[Exam], list[Instance]]] = {
    "CT": ct_series,
    "MR": mr_series,
    "DX": dx_image,
    "CR": dx_image,
    "MG": mg_images,
    "US": us_image,
}


def instances(exam: Exam) -> list[Instance]:
    """The study a scanner of the exam's modality would send for it."""
    return GENERATORS[exam.modality](exam)
