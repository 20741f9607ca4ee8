"""The archive's corrections put into an instance as it leaves: the effective patient and
accession (after a merge or a reassignment), in a character set that can carry them."""

from __future__ import annotations

from collections.abc import Iterable

from pydicom import Dataset
from pydicom.charset import convert_encodings

from lysbord.services.archive.catalog import Correction


def correct(ds: Dataset, c: Correction) -> None:
    """Put the effective patient and accession into the dataset, in a character set that
    can carry them (UTF-8 when the dataset's own cannot)."""
    values = {
        "PatientID": c.patient_id,
        "PatientName": c.patient_name,
        "AccessionNumber": c.accession,
    }
    if not _fits(ds, values.values()):
        ds.SpecificCharacterSet = "ISO_IR 192"
    for keyword, value in values.items():
        setattr(ds, keyword, value)


def _fits(ds: Dataset, texts: Iterable[str]) -> bool:
    if all(text.isascii() for text in texts):
        return True
    charset = ds.get("SpecificCharacterSet")
    if not charset or not isinstance(charset, str):
        return False  # the default repertoire is ASCII; code extensions are not worth it
    codec = convert_encodings(charset)[0]
    try:
        for text in texts:
            text.encode(codec)
    except UnicodeEncodeError:
        return False
    return True
