"""QIDO-RS query parameters (PS3.18 8.3.4) read into C-FIND terms: keys, fields, paging.

Keys are keywords or tag numbers (``PatientID`` or ``00100020``); values keep C-FIND's
meaning (``*`` and ``?`` wildcards, ``A-B`` ranges, ``\\`` lists), and a comma also
separates a list of UIDs or codes. ``fuzzymatching=true`` lets a person name match the
start of any of its components (``smi`` finds ``Smith^John`` and ``John^Smith``).
``includefield`` (comma separated, repeated, or ``all``) adds returned attributes.
Attributes that exist but are not indexed are not matched: the answer says so in a
``Warning`` header, as PS3.18 8.3.4.3 allows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from pydicom.datadict import keyword_for_tag, tag_for_keyword

from lysbord.dicomweb.errors import bad_request
from lysbord.http.paging import MAX_OFFSET
from lysbord.services.archive.catalog import COMPUTED
from lysbord.services.archive.matching import attributes, has_wildcard

RESERVED = {"limit", "offset", "includefield", "fuzzymatching"}
LIST_WITH_COMMA = {"UI", "CS"}  # a comma cannot be part of these values
STUDY = ["StudyDate", "StudyTime", "AccessionNumber", "InstanceAvailability",
         "ModalitiesInStudy", "ReferringPhysicianName", "RetrieveURL", "PatientName",
         "PatientID", "PatientBirthDate", "PatientSex", "StudyInstanceUID", "StudyID",
         "StudyDescription", "NumberOfStudyRelatedSeries",
         "NumberOfStudyRelatedInstances"]  # fmt: skip
SERIES = ["Modality", "SeriesDescription", "RetrieveURL", "SeriesInstanceUID", "SeriesNumber",
          "StudyInstanceUID", "NumberOfSeriesRelatedInstances", "BodyPartExamined"]  # fmt: skip
IMAGE = ["SOPClassUID", "SOPInstanceUID", "InstanceAvailability", "RetrieveURL",
         "InstanceNumber", "StudyInstanceUID", "SeriesInstanceUID"]  # fmt: skip
DEFAULTS = {"STUDY": STUDY, "SERIES": SERIES, "IMAGE": IMAGE}
ALWAYS = {"InstanceAvailability", "RetrieveURL"}


@dataclass
class Search:
    """One QIDO-RS request as C-FIND terms."""

    level: str
    keys: dict[str, str] = field(default_factory=dict)
    fields: list[str] = field(default_factory=list)
    limit: int | None = None
    offset: int = 0
    warnings: list[str] = field(default_factory=list)


def read_search(level: str, params: Iterable[tuple[str, str]], above: Iterable[str]) -> Search:
    """The search a query string asks for at ``level``; ``above`` are the levels whose
    UID is not in the path (their default attributes are returned too, PS3.18 Table 6.7.1-2a)."""
    search = Search(level)
    includes: list[str] = []
    fuzzy = False
    for name, value in params:
        if name == "includefield":
            includes += [v.strip() for v in value.split(",") if v.strip()]
        elif name == "limit":
            search.limit = _count(name, value)
        elif name == "offset":
            search.offset = _count(name, value)
        elif name == "fuzzymatching":
            fuzzy = _boolean(name, value)
        else:
            _add_key(search, keyword(name), value)
    if fuzzy:
        _fuzzy_names(search)
    search.fields = _fields(level, includes, above)
    return search


def keyword(name: str) -> str:
    """A query key as a DICOM keyword: ``00100020`` -> ``PatientID``; unknown: 400."""
    if len(name) == 8 and all(c in "0123456789abcdefABCDEF" for c in name):
        found = keyword_for_tag(int(name, 16))
        if found:
            return found
    elif tag_for_keyword(name) is not None:
        return name
    raise bad_request("not a DICOM keyword or tag (e.g. PatientID or 00100020)",
                      field=name)  # fmt: skip


def _add_key(search: Search, key: str, value: str) -> None:
    known = attributes(search.level)
    if key not in known and not (key == "ModalitiesInStudy" and search.level != "PATIENT"):
        search.warnings.append(f"{key} is not supported for matching and was ignored")
        return
    vr = known[key].vr if key in known else "CS"
    if vr in LIST_WITH_COMMA:
        value = value.replace(",", "\\")
    previous = search.keys.get(key)
    search.keys[key] = value if previous is None else f"{previous}\\{value}"


def _fuzzy_names(search: Search) -> None:
    """A name without wildcards matches the start of any of its components."""
    known = attributes(search.level)
    for key, value in search.keys.items():
        if known.get(key) is None or known[key].vr != "PN" or has_wildcard(value) or not value:
            continue
        search.keys[key] = f"{value}*\\*^{value}*\\* {value}*"


def _fields(level: str, includes: list[str], above: Iterable[str]) -> list[str]:
    if "all" in includes:
        wanted = [*attributes(level), *COMPUTED[level], *ALWAYS]
    else:
        wanted = list(DEFAULTS[level])
        for upper in above:
            wanted += [k for k in DEFAULTS[upper] if k not in COMPUTED[upper] and k not in ALWAYS]
        wanted += [keyword(name) for name in includes]
    return list(dict.fromkeys(wanted))


def _count(name: str, value: str) -> int:
    if not value.isdigit() or int(value) > MAX_OFFSET:
        raise bad_request(f"not a whole number from 0 to {MAX_OFFSET}", field=name, value=value)
    return int(value)


def _boolean(name: str, value: str) -> bool:
    if value.lower() not in ("true", "false"):
        raise bad_request("must be true or false", field=name, value=value)
    return value.lower() == "true"
