"""DICOM JSON (PS3.18 F.2) for query answers and instance metadata.

Query rows are written directly (a handful of text values per row, no pydicom on
that path); instance metadata comes from pydicom's ``to_json_dict`` with every
binary value above the threshold replaced by a BulkDataURI that WADO-RS answers
(``.../bulkdata/{tag}[/{item}/{tag}...]``). Pixel Data is never read for metadata:
its BulkDataURI is added by hand.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pydicom import Dataset
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import DataElement
from pydicom.tag import Tag

BULK_THRESHOLD = 1024  # bytes; smaller binary values are sent inline (base64)
PIXEL_DATA = 0x7FE00010


def tag_key(tag: int) -> str:
    return f"{tag:08X}"


def element(tag: int, value: Any, vr: str | None = None) -> dict[str, Any]:
    """One DICOM JSON attribute from a text value (or a list of them); empty: no Value."""
    vr = vr or _vr(tag)
    values = value if isinstance(value, list) else [value]
    values = [v for v in values if v is not None and v != ""]
    if not values:
        return {"vr": vr}
    if vr == "PN":
        return {"vr": vr, "Value": [{"Alphabetic": str(v)} for v in values]}
    if vr in ("IS", "US", "UL", "SS", "SL"):
        numbers = [_integer(v) for v in values]
        if None in numbers:
            return {"vr": vr}  # not a number: better empty than invalid JSON
        return {"vr": vr, "Value": numbers}
    return {"vr": vr, "Value": [str(v) for v in values]}


def _vr(tag: int) -> str:
    try:
        return str(dictionary_VR(tag)).split(" or ")[0]
    except KeyError:
        return "UN"


def _integer(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def row_json(values: Mapping[int, Any]) -> dict[str, Any]:
    """A query answer: tags to values, ordered by tag as DICOM JSON examples are."""
    return {tag_key(tag): element(tag, values[tag]) for tag in sorted(values)}


def dataset_json(ds: Dataset, bulk_base: str, pixel_vr: str | None) -> dict[str, Any]:
    """An instance's metadata; ``bulk_base`` is the instance URL the BulkDataURIs extend.

    ``pixel_vr`` (OB or OW) adds Pixel Data as a BulkDataURI, for datasets read without it.
    """
    paths = dict(_binary_paths(ds, ""))
    body = ds.to_json_dict(
        bulk_data_threshold=BULK_THRESHOLD,
        bulk_data_element_handler=lambda elem: f"{bulk_base}/bulkdata/{paths[id(elem)]}",
        suppress_invalid_tags=True,
    )
    if pixel_vr is not None:
        body[tag_key(PIXEL_DATA)] = {
            "vr": pixel_vr,
            "BulkDataURI": f"{bulk_base}/bulkdata/{tag_key(PIXEL_DATA)}",
        }
    return body


def _binary_paths(ds: Dataset, prefix: str) -> Iterator[tuple[int, str]]:
    """(id of element, path) for every element, sequences included, so that the bulk
    data handler (which sees only the element) can name where the value is."""
    for elem in ds:
        path = f"{prefix}{tag_key(elem.tag)}"
        yield id(elem), path
        if elem.VR == "SQ":
            for index, item in enumerate(elem.value):
                yield from _binary_paths(item, f"{path}/{index}/")


def find_element(ds: Dataset, path: str) -> DataElement | None:
    """The element a bulk data path names (``00540016/0/00181072``), or None."""
    parts = path.strip("/").split("/")
    current: Dataset = ds
    for i in range(0, len(parts), 2):
        try:
            tag = Tag(int(parts[i], 16))
        except ValueError:
            return None
        if tag not in current:
            return None
        elem = current[tag]
        if i + 1 == len(parts):
            return elem
        if elem.VR != "SQ" or not parts[i + 1].isdigit() or int(parts[i + 1]) >= len(elem.value):
            return None
        current = elem.value[int(parts[i + 1])]
    return None
