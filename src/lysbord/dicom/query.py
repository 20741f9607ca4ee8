"""C-FIND SCP for the Patient Root and Study Root Query/Retrieve Information Models.

PS3.4 C.4.1: the identifier names a QueryRetrieveLevel, the unique key of each level
above it (C.4.1.2.1: one value each) and the keys to match and return. Every match is
one Pending (0xFF00) response carrying only the requested keys, QueryRetrieveLevel and,
when a value is not ASCII, SpecificCharacterSet ISO_IR 192. Failures carry an Error
Comment: 0xA900 the identifier does not fit the SOP class (no or unknown level, a
missing unique key), 0xC000 a value cannot be matched (a malformed date range), 0xA700
the database failed. A C-CANCEL ends the responses with 0xFE00.

Lenient on purpose: keys of the levels above that are not unique keys (PatientName
in a Patient Root STUDY query) are matched and returned rather than refused; keys the
archive does not index are returned empty (C.2.2.1.3).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, cast

from pydicom import Dataset
from pydicom.charset import convert_encodings, decode_bytes
from pydicom.datadict import dictionary_VR, keyword_for_tag
from pydicom.dataelem import RawDataElement
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag
from pynetdicom import AE, evt
from pynetdicom.events import Event
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    PatientRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelFind,
)
from sqlalchemy.exc import SQLAlchemyError

from lysbord.dicom import worklist
from lysbord.dicom.deps import DoorDeps, Handler
from lysbord.dicom.encoding import Prebuilt
from lysbord.dicom.peers import allowed, refused
from lysbord.dicom.store import failure
from lysbord.domain.errors import Msg, ProtocolError
from lysbord.services.archive import catalog
from lysbord.services.archive.matching import (
    LEVELS,
    UNIQUE_KEYS,
    DicomQueryError,
    attributes,
    clauses,
    has_wildcard,
    is_universal,
)
from lysbord.services.core.context import Context

log = logging.getLogger(__name__)

FIND_MODELS: dict[str, tuple[str, ...]] = {
    str(PatientRootQueryRetrieveInformationModelFind): LEVELS,
    str(StudyRootQueryRetrieveInformationModelFind): LEVELS[1:],
}
TEXT_VRS = {"PN", "LO", "SH", "LT", "ST", "UT", "UC"}
PENDING, CANCELLED = 0xFF00, 0xFE00
SPECIFIC_CHARACTER_SET, QUERY_RETRIEVE_LEVEL = 0x00080005, 0x00080052
Status = tuple[int | Dataset, Dataset | Prebuilt | None]


class IdentifierError(ProtocolError):
    """The identifier does not fit the information model (answered with 0xA900)."""


@dataclass(frozen=True, slots=True)
class Identifier:
    """A Q/R identifier read as text: its level, its keys and what to send back."""

    level: str
    keys: dict[str, str]
    requested: list[tuple[BaseTag, str, str]]  # (tag, keyword, VR), as asked


def install(ae: AE, deps: DoorDeps) -> list[Handler]:
    """Add the Q/R FIND contexts; must come after ``worklist.install`` (see route_find)."""
    for uid in FIND_MODELS:
        ae.add_supported_context(uid)
    return [(evt.EVT_C_FIND, route_find, [deps.ctx])]


def route_find(event: Event, ctx: Context) -> Iterator[Status]:
    """pynetdicom keeps one EVT_C_FIND handler per AE (the last bound): route by SOP class,
    Q/R models here and everything else (Modality Worklist) to ``worklist.handle_find``."""
    if str(cast(Any, event.request).AffectedSOPClassUID) in FIND_MODELS:
        return handle_find(event, ctx)
    return worklist.handle_find(event, ctx)


def handle_find(event: Event, ctx: Context) -> Iterator[Status]:
    """Answer one C-FIND: all matches come from one query, then one Pending each."""
    calling = event.assoc.requestor.ae_title
    if not allowed(ctx, calling, "query"):
        yield refused(calling, "query"), None
        return
    try:
        ident, rows = _search(event, ctx)
    except IdentifierError as exc:
        yield failure(0xA900, exc.message), None
        return
    except DicomQueryError as exc:
        yield failure(0xC000, exc.message), None
        return
    except SQLAlchemyError as exc:
        log.exception("C-FIND failed")
        yield failure(0xA700, f"query failed: {type(exc).__name__}"), None
        return
    for row in rows:
        if event.is_cancelled:
            yield CANCELLED, None
            return
        yield PENDING, response(ident, row, ctx.settings.ae_title)


def _search(event: Event, ctx: Context) -> tuple[Identifier, list[dict[str, Any]]]:
    model = str(cast(Any, event.request).AffectedSOPClassUID)
    ident = decode_identifier(event)
    check_hierarchy(FIND_MODELS.get(model, ()), ident.level, ident.keys)
    wanted = {keyword for _, keyword, _ in ident.requested}
    known = attributes(ident.level)
    columns = {k: attr.column for k, attr in known.items() if k in wanted}
    where = clauses(ident.level, ident.keys)
    return ident, catalog.find(ctx, ident.level, where, columns, wanted)


def decode_identifier(event: Event) -> Identifier:
    """The request's identifier; anything pydicom cannot decode is an IdentifierError."""
    try:
        return read_identifier(event.identifier)
    except (IdentifierError, DicomQueryError):
        raise
    except Exception as exc:  # pydicom raises many kinds; all mean "cannot decode"
        raise IdentifierError(Msg("cannot decode the identifier: {exc}", exc=exc)) from exc


def read_identifier(ds: Dataset) -> Identifier:
    """Keys as text, decoded with the identifier's own character set (PS3.5 6.1)."""
    encodings = convert_encodings(_charsets(ds))
    keys: dict[str, str] = {}
    requested: list[tuple[BaseTag, str, str]] = []
    for tag in ds.keys():
        elem = ds.get_item(tag)
        vr = _vr(elem)
        keyword = keyword_for_tag(tag) or f"{int(tag):08X}"
        if keyword in ("SpecificCharacterSet", "QueryRetrieveLevel"):
            keys[keyword] = _text(elem, vr, encodings)
            continue
        keys[keyword] = "" if vr == "SQ" else _text(elem, vr, encodings)
        requested.append((tag, keyword, vr))
    level = keys.pop("QueryRetrieveLevel", "").strip().upper()
    if not level:
        raise IdentifierError(Msg("missing"), field="QueryRetrieveLevel")
    return Identifier(level, keys, requested)


def _charsets(ds: Dataset) -> list[str] | None:
    if 0x00080005 not in ds:
        return None
    raw = _text(ds.get_item(0x00080005), "CS", ["iso8859"])
    return [c.strip() for c in raw.split("\\")] or None


def _vr(elem: Any) -> str:
    vr = elem.VR
    if vr is None:
        try:
            vr = dictionary_VR(elem.tag)
        except KeyError:
            return "UN"
    return str(vr)[:2] if len(str(vr)) > 2 else str(vr)


def _text(elem: Any, vr: str, encodings: list[str]) -> str:
    """The element's value as stripped text, multiple values joined by backslash."""
    if isinstance(elem, RawDataElement):
        raw = elem.value or b""
        if not isinstance(raw, bytes):
            return ""
        delimiters = {0x5C, 0x3D, 0x5E} if vr == "PN" else {0x5C}
        if vr in TEXT_VRS:
            return decode_bytes(raw, encodings, delimiters).strip("\x00 ")
        return raw.decode("ascii", "replace").strip("\x00 ")
    value = elem.value
    if value is None:
        return ""
    if isinstance(value, list | tuple | MultiValue):
        return "\\".join(str(v).strip() for v in value)
    return str(value).strip()


def check_hierarchy(
    levels: tuple[str, ...], level: str, keys: Mapping[str, str], *, retrieve: bool = False
) -> None:
    """PS3.4 C.4.1.2.1 / C.4.2.2.1: one value for each unique key above ``level``.

    For a retrieval the unique key of ``level`` itself must name what to send (one
    value or a list of UIDs, no universal or wildcard matching).
    """
    if not levels:
        raise IdentifierError(Msg("not a Query/Retrieve information model"), field="SOP Class")
    if level not in levels:
        raise IdentifierError(
            Msg("not one of {levels}", levels="/".join(levels)),
            field="QueryRetrieveLevel",
            value=level,
        )
    for upper in levels[: levels.index(level)]:
        key = UNIQUE_KEYS[upper]
        value = keys.get(key, "")
        if not value or has_wildcard(value) or "\\" in value:
            raise IdentifierError(
                Msg("one value needed above {level}", level=level), field=key, value=value
            )
    key = UNIQUE_KEYS[level]
    value = keys.get(key, "")
    if retrieve and (is_universal(value) or has_wildcard(value)):
        raise IdentifierError(
            Msg("must name what to retrieve at {level}", level=level), field=key, value=value
        )


def response(ident: Identifier, row: Mapping[str, Any], ae_title: str) -> Prebuilt:
    """One Pending identifier: exactly the requested keys, with the matched values."""
    ds = Prebuilt()
    ds.add_text(QUERY_RETRIEVE_LEVEL, "CS", ident.level)
    ascii_only = True
    for tag, keyword, vr in ident.requested:
        value = _answer(keyword, vr, row, ae_title)
        if vr == "SQ":
            ds.add(tag, vr, [])
            continue
        text = "\\".join(value) if isinstance(value, list) else value
        ascii_only = ascii_only and (text is None or text.isascii())
        ds.add_text(tag, vr, text)
    if not ascii_only:
        ds.add_text(SPECIFIC_CHARACTER_SET, "CS", "ISO_IR 192")
    return ds


def _answer(keyword: str, vr: str, row: Mapping[str, Any], ae_title: str) -> Any:
    if vr == "SQ":
        return []
    if keyword == "ModalitiesInStudy" and keyword in row:
        modalities = sorted({m for m in (row[keyword] or "").split(",") if m})
        return modalities if len(modalities) != 1 else modalities[0]
    if keyword in row:
        value = row[keyword]
        return None if value is None or value == "" else str(value)
    if keyword == "RetrieveAETitle":
        return ae_title
    if keyword == "InstanceAvailability":
        return "ONLINE"
    return None
