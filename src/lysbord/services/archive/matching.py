"""C-FIND attribute matching (PS3.4 C.2.2.2) as SQLAlchemy WHERE clauses over the archive.

One table maps each DICOM keyword to its indexed column per level; ``clauses`` turns
an identifier's values into conditions. The DICOM door (C-FIND, C-MOVE, C-GET) and
later QIDO-RS share it, so a query means the same through every door.

Kinds of matching, chosen per value and VR:

* universal: an empty value, or only ``*``, filters nothing (the key is just returned);
* single value: equality; trailing spaces are not significant (values are stripped);
* wildcard: ``*`` and ``?`` in any string VR except UI, DA, TM and DT, as SQL LIKE with
  ``%`` and ``_`` escaped. Case-sensitive as the standard asks: GLOB on SQLite, whose
  LIKE ignores ASCII case;
* range: ``A-B``, ``A-`` and ``-B`` for DA, TM and DT; a partial upper bound covers its
  whole period (``-1200`` ends at 12:00:59.999999);
* list: values separated by ``\\`` match any of them (list of UID matching, C.2.2.2.2,
  applied to every VR as QIDO-RS does).

PN values match case-insensitively, which the standard allows (C.2.2.2.1): with
``lower()`` on both sides. SQLite's ``lower()`` folds ASCII only, so there ``ø`` and
``Ø`` differ; PostgreSQL folds them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Boolean, String, and_, exists, func, literal, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from lysbord.domain.errors import Msg, ProtocolError
from lysbord.store.archive_models import Instance, Series, Study

LEVELS = ("PATIENT", "STUDY", "SERIES", "IMAGE")
UNIQUE_KEYS = {
    "PATIENT": "PatientID",
    "STUDY": "StudyInstanceUID",
    "SERIES": "SeriesInstanceUID",
    "IMAGE": "SOPInstanceUID",
}
RANGE_VRS = {"DA", "TM", "DT"}
NO_WILDCARD_VRS = RANGE_VRS | {"UI"}
# A partial upper bound is padded from here: 2026 -> 20261231, 12 -> 125959.999999.
_UPPER = {"DA": "99991231", "TM": "235959.999999", "DT": "99991231235959.999999"}
_FORMATS = {
    "DA": re.compile(r"\d{4}(\d{2}(\d{2})?)?"),
    "TM": re.compile(r"\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?"),
    "DT": re.compile(r"\d{4}(\d{2}(\d{2}(\d{2}(\d{2}(\d{2}(\.\d{1,6})?)?)?)?)?)?"),
}
_FORMAT_NAMES = {"DA": "YYYYMMDD", "TM": "HHMMSS.FFFFFF", "DT": "YYYYMMDDHHMMSS.FFFFFF"}


class DicomQueryError(ProtocolError):
    """A key's value cannot be used for matching (a malformed date range, say)."""


@dataclass(frozen=True, slots=True)
class Attribute:
    """Where a DICOM attribute lives in the archive index, and its VR."""

    column: Any  # an ORM column attribute, e.g. Study.study_date
    vr: str


ATTRIBUTES: dict[str, dict[str, Attribute]] = {
    "PATIENT": {
        "PatientID": Attribute(Study.patient_key, "LO"),
        "IssuerOfPatientID": Attribute(Study.issuer, "LO"),
        "PatientName": Attribute(Study.patient_name, "PN"),
        "PatientBirthDate": Attribute(Study.birth_date, "DA"),
        "PatientSex": Attribute(Study.sex, "CS"),
    },
    "STUDY": {
        "StudyInstanceUID": Attribute(Study.study_uid, "UI"),
        "StudyDate": Attribute(Study.study_date, "DA"),
        "StudyTime": Attribute(Study.study_time, "TM"),
        "AccessionNumber": Attribute(Study.accession, "SH"),
        "StudyID": Attribute(Study.study_id, "SH"),
        "StudyDescription": Attribute(Study.description, "LO"),
        "ReferringPhysicianName": Attribute(Study.referring_physician, "PN"),
    },
    "SERIES": {
        "SeriesInstanceUID": Attribute(Series.series_uid, "UI"),
        "Modality": Attribute(Series.modality, "CS"),
        "SeriesNumber": Attribute(Series.series_number, "IS"),
        "SeriesDescription": Attribute(Series.description, "LO"),
        "BodyPartExamined": Attribute(Series.body_part, "CS"),
    },
    "IMAGE": {
        "SOPInstanceUID": Attribute(Instance.sop_instance_uid, "UI"),
        "SOPClassUID": Attribute(Instance.sop_class_uid, "UI"),
        "InstanceNumber": Attribute(Instance.instance_number, "IS"),
    },
}


def attributes(level: str) -> dict[str, Attribute]:
    """The matchable attributes of ``level`` and of every level above it."""
    if level not in LEVELS:
        raise DicomQueryError(
            Msg("not one of {levels}", levels=", ".join(LEVELS)),
            field="QueryRetrieveLevel",
            value=level,
        )
    found: dict[str, Attribute] = {}
    for name in LEVELS[: LEVELS.index(level) + 1]:
        found.update(ATTRIBUTES[name])
    return found


def clauses(level: str, keys: Mapping[str, str]) -> list[ColumnElement[bool]]:
    """WHERE clauses for the keys of ``level`` and the levels above; other keys are ignored.

    ``ModalitiesInStudy`` (STUDY level and below) matches a study having a series of any
    of the given modalities.
    """
    known = attributes(level)
    found: list[ColumnElement[bool]] = []
    for keyword, value in keys.items():
        if keyword in known:
            clause = match(keyword, known[keyword], value)
        elif keyword == "ModalitiesInStudy" and level != "PATIENT":
            clause = _modalities_in_study(value)
        else:
            continue
        if clause is not None:
            found.append(clause)
    return found


def match(keyword: str, attr: Attribute, value: str) -> ColumnElement[bool] | None:
    """The condition for one key, or None for universal matching."""
    values = [v.strip() for v in value.split("\\")]
    if all(is_universal(v) for v in values):
        return None
    if attr.vr == "UI":
        uids: ColumnElement[bool] = (
            attr.column.in_(values) if len(values) > 1 else attr.column == values[0]
        )
        return uids
    conditions = [_single(keyword, attr, v) for v in values]
    return conditions[0] if len(conditions) == 1 else or_(*conditions)


def is_universal(value: str) -> bool:
    """Empty, or nothing but ``*`` (PS3.4 C.2.2.2.3: "*" alone is universal matching)."""
    return value.strip("*") == ""


def _single(keyword: str, attr: Attribute, value: str) -> ColumnElement[bool]:
    column = attr.column
    if attr.vr in RANGE_VRS:
        low, high = parse_range(keyword, attr.vr, value)
        if low == high and "-" not in value:
            return column == low  # type: ignore[no-any-return]
        return and_(column != "", *_bounds(column, attr.vr, low, high))
    if has_wildcard(value) and attr.vr not in NO_WILDCARD_VRS:
        if attr.vr == "PN":
            return column.ilike(like_pattern(value), escape="!")  # type: ignore[no-any-return]
        return Wildcard(column, value)
    if attr.vr == "PN":
        return func.lower(column) == func.lower(literal(value, String()))
    return column == value  # type: ignore[no-any-return]


def _bounds(column: Any, vr: str, low: str, high: str) -> list[ColumnElement[bool]]:
    found = []
    if low:
        found.append(column >= low)
    if high:
        found.append(column <= upper_bound(vr, high))
    return found


def parse_range(keyword: str, vr: str, value: str) -> tuple[str, str]:
    """(low, high) of a DA/TM/DT value; a single value gives (value, value); '' is open."""
    parts = value.split("-")
    if len(parts) == 1:
        parts = [value, value]
    if len(parts) != 2 or parts == ["", ""]:
        raise DicomQueryError(
            Msg("not a value or a range A-B, A- or -B"), field=keyword, value=value
        )
    fmt = _FORMATS[vr]
    for part in parts:
        if part and not fmt.fullmatch(part.replace(":", "")):
            raise DicomQueryError(
                Msg(
                    "{part!r} is not {form} (or a prefix of it)", part=part, form=_FORMAT_NAMES[vr]
                ),
                field=keyword,
                value=value,
            )
    low, high = (p.replace(":", "") for p in parts)
    return low, high


def upper_bound(vr: str, value: str) -> str:
    """Pad a partial upper bound to the last moment it names: '1200' -> '120059.999999'."""
    template = _UPPER[vr]
    return value + template[len(value) :] if len(value) < len(template) else value


def has_wildcard(value: str) -> bool:
    return "*" in value or "?" in value


def like_pattern(value: str) -> str:
    """DICOM wildcards as a LIKE pattern with ``!`` as the escape character."""
    escaped = value.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return escaped.replace("*", "%").replace("?", "_")


def glob_pattern(value: str) -> str:
    """DICOM wildcards as an SQLite GLOB pattern: only ``[`` needs escaping."""
    return value.replace("[", "[[]")


def _modalities_in_study(value: str) -> ColumnElement[bool] | None:
    modality = Attribute(Series.modality, "CS")
    condition = match("ModalitiesInStudy", modality, value)
    if condition is None:
        return None
    return exists(select(Series.id).where(Series.study_id == Study.id, condition))


class Wildcard(ColumnElement[bool]):
    """``column`` matches a DICOM wildcard pattern, case-sensitively on every backend."""

    __visit_name__ = "lysbord_wildcard"
    inherit_cache = True
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("like_bind", InternalTraversal.dp_clauseelement),
        ("glob_bind", InternalTraversal.dp_clauseelement),
    ]
    type = Boolean()

    def __init__(self, column: Any, value: str) -> None:
        self.column = column
        self.like_bind: BindParameter[str] = literal(like_pattern(value), String())
        self.glob_bind: BindParameter[str] = literal(glob_pattern(value), String())


@compiles(Wildcard)
def _compile_like(element: Wildcard, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column.like(element.like_bind, escape="!"), **kw)


@compiles(Wildcard, "sqlite")
def _compile_glob(element: Wildcard, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column.op("GLOB")(element.glob_bind), **kw)
