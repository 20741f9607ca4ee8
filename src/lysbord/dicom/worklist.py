"""Modality Worklist C-FIND (PS3.4 K): the scanner asks which patients are booked in its room.

The door decodes the identifier into a ``WorklistQuery``, the service answers with
one SQL query, and each item goes back with only the keys the scanner asked for
(PS3.4 C.2.2.1.3); keys we do not know come back empty. Names are Danish, so every
answer says Specific Character Set ISO_IR 192 (UTF-8). Dates and times are
Copenhagen wall time, as the scanner's operator reads them.

Date and time ranges are read with ``dicom/matching.py`` (the archive's C-FIND
uses the same rules); wildcard matching against the booking tables lives in
``lysbord.services.pathway.worklist``, since services may not import the doors.
"""

from __future__ import annotations

import logging
from calendar import monthrange
from collections.abc import Iterator
from datetime import date, time
from typing import Any

from pydicom import Dataset
from pydicom.multival import MultiValue
from pynetdicom import AE, evt
from pynetdicom.events import Event
from pynetdicom.sop_class import ModalityWorklistInformationFind  # type: ignore[attr-defined]
from sqlalchemy.exc import SQLAlchemyError

from lysbord.dicom.deps import DoorDeps, Handler
from lysbord.dicom.encoding import Prebuilt, text
from lysbord.dicom.peers import allowed, refused
from lysbord.dicom.store import failure
from lysbord.domain.errors import LysbordError, Msg
from lysbord.services.archive.matching import (
    DicomQueryError,
    is_universal,
    parse_range,
    upper_bound,
)
from lysbord.services.core.context import Context
from lysbord.services.pathway.worklist import (
    TooManyMatches,
    WorklistItem,
    WorklistQuery,
    find_items,
)

log = logging.getLogger(__name__)
MWL_FIND = str(ModalityWorklistInformationFind)
UTF8 = "ISO_IR 192"
SPS = "ScheduledProcedureStepSequence"
START_DATE, START_TIME = "ScheduledProcedureStepStartDate", "ScheduledProcedureStepStartTime"
CODING_SCHEME = "SKS"  # the Danish health classification system (procedure codes)
PRIORITIES = {"acute": "STAT", "cancer-pathway": "HIGH", "urgent": "HIGH"}
STEP_STATUS = {"booked": "SCHEDULED", "arrived": "ARRIVED"}
SPECIFIC_CHARACTER_SET = 0x00080005
# The keys a query asks for: (tag, VR, keys asked inside a sequence's item, if any).
Shape = list[tuple[int, str, "Shape | None"]]
# What an item can answer: tag -> (VR, encoded value, or a sequence's items).
Item = dict[int, tuple[str, "bytes | list[Item]"]]


def install(ae: AE, deps: DoorDeps) -> list[Handler]:
    ae.add_supported_context(MWL_FIND)
    return [(evt.EVT_C_FIND, handle_find, [deps.ctx])]


def handle_find(event: Event, ctx: Context) -> Iterator[tuple[int | Dataset, Prebuilt | None]]:
    """Yield one pending answer per scheduled step, then pynetdicom sends the final success."""
    calling = event.assoc.requestor.ae_title
    if not allowed(ctx, calling, "worklist"):
        yield refused(calling, "worklist"), None
        return
    if str(event.request.AffectedSOPClassUID) != MWL_FIND:
        yield failure(0xC000, "this handler answers Modality Worklist queries only"), None
        return
    try:
        query = event.identifier
        items = find_items(ctx, parse_query(query))
        shape = request_shape(query)
    except TooManyMatches as exc:
        yield failure(0xA700, exc.message), None
        return
    except LysbordError as exc:  # a malformed date or time range
        yield failure(0xC000, exc.message), None
        return
    except SQLAlchemyError as exc:
        log.exception("worklist query failed")
        yield failure(0xA700, f"database failed: {type(exc).__name__}"), None
        return
    for item in items:
        if event.is_cancelled:
            yield 0xFE00, None
            return
        yield 0xFF00, answer(shape, item)


def parse_query(ds: Dataset) -> WorklistQuery:
    """The matching keys of an MWL identifier (PS3.4 K.6.1.2.2), scheduled step keys included."""
    sps = _first_item(ds, SPS)
    date_from, date_to = parse_date_range(_text(sps, START_DATE))
    time_from, time_to = parse_time_range(_text(sps, START_TIME))
    return WorklistQuery(
        date_from=date_from,
        date_to=date_to,
        time_from=time_from,
        time_to=time_to,
        modality=_text(sps, "Modality"),
        ae_title=_text(sps, "ScheduledStationAETitle"),
        performing_physician=_text(sps, "ScheduledPerformingPhysicianName"),
        patient_id=_text(ds, "PatientID"),
        patient_name=_text(ds, "PatientName"),
        accession=_text(ds, "AccessionNumber"),
        study_uids=_uids(ds, "StudyInstanceUID"),
    )


def _first_item(ds: Dataset, keyword: str) -> Dataset:
    seq = ds.get(keyword)
    return seq[0] if seq else Dataset()


def _text(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword)
    return "" if value is None else str(value).strip()


def _uids(ds: Dataset, keyword: str) -> tuple[str, ...]:
    value = ds.get(keyword)
    if not value:
        return ()
    values = value if isinstance(value, MultiValue | list) else str(value).split("\\")
    return tuple(str(v).strip() for v in values if str(v).strip())


def parse_date_range(text: str) -> tuple[date | None, date | None]:
    """DA single value or range, open at either end (PS3.4 C.2.2.2.5), as Copenhagen days."""
    if is_universal(text):
        return None, None
    low, high = parse_range(START_DATE, "DA", text)
    return (_day(low, upper=False) if low else None), (_day(high, upper=True) if high else None)


def _day(text: str, *, upper: bool) -> date:
    """A DA value or its prefix (``202611`` is November) as the first or last day it names."""
    try:
        year = int(text[:4])
        month = int(text[4:6] or (12 if upper else 1))
        last = monthrange(year, month)[1]
        return date(year, month, int(text[6:8] or (last if upper else 1)))
    except ValueError:
        raise DicomQueryError(Msg("not a calendar date"), field=START_DATE, value=text) from None


def parse_time_range(text: str) -> tuple[time | None, time | None]:
    """TM single value or range; a bound covers its whole precision (``10`` is 10:00–10:59)."""
    if is_universal(text):
        return None, None
    low, high = parse_range(START_TIME, "TM", text)
    return (
        _clock(low + "000000.000000"[len(low) :]) if low else None,
        _clock(upper_bound("TM", high)) if high else None,
    )


def _clock(text: str) -> time:
    """``HHMMSS.FFFFFF`` (fraction optional) as a time of day."""
    whole, _, fraction = text.partition(".")
    try:
        return time(int(whole[:2]), int(whole[2:4]), int(whole[4:6]), int(fraction.ljust(6, "0")))
    except ValueError:
        raise DicomQueryError(Msg("not a time of day"), field=START_TIME, value=text) from None


def request_shape(ds: Dataset) -> Shape:
    """The keys asked for, once per query: (tag, VR, the keys asked inside a sequence item)."""
    shape: Shape = []
    for elem in ds:
        tag = elem.tag
        if tag.is_private or tag.element == 0 or tag == SPECIFIC_CHARACTER_SET:
            continue
        vr = str(elem.VR)[:2]
        inner = elem.value[0] if vr == "SQ" and elem.value else None
        shape.append(
            (int(tag), vr, request_shape(inner) if inner is not None and len(inner) else None)
        )
    return shape


def answer(shape: Shape, item: WorklistItem) -> Prebuilt:
    """The requested keys filled from ``item``, nothing more (PS3.4 C.2.2.1.3)."""
    rsp = _fill(shape, item_values(item))
    rsp.add_text(SPECIFIC_CHARACTER_SET, "CS", UTF8)
    return rsp


def _fill(shape: Shape, values: Item) -> Prebuilt:
    """A sequence asked for with no item or an empty one comes back whole."""
    out = Prebuilt()
    for tag, vr, inner in shape:
        have = values.get(tag)
        if have is None:
            out.add(tag, vr, [] if vr == "SQ" else b"")
        elif isinstance(have[1], list):
            out.add(tag, "SQ", [_fill(inner, v) if inner else _whole(v) for v in have[1]])
        else:
            out.add(tag, have[0], have[1])
    return out


def _whole(values: Item) -> Prebuilt:
    return _fill([(tag, vr, None) for tag, (vr, _) in values.items()], values)


def _v(vr: str, value: str) -> tuple[str, bytes]:
    return vr, text(value, vr) if value else b""


def item_values(item: WorklistItem) -> Item:
    """Every attribute this worklist can tell about one scheduled step (PS3.4 K.6.1.2.2)."""
    return {
        0x00080050: _v("SH", item.accession),
        0x00080090: _v("PN", _pn(item.referring_unit)),
        0x00100010: _v("PN", _pn(item.family_name, item.given_name)),
        0x00100020: _v("LO", item.patient_id),
        0x00100021: _v("LO", item.issuer),
        0x00100030: _v("DA", item.birth_date.strftime("%Y%m%d")),
        0x00100040: _v("CS", item.sex),
        0x0020000D: _v("UI", item.study_uid),
        0x00321060: _v("LO", item.code_name[:64]),
        0x00321064: ("SQ", [_code(item)]),
        0x00401001: _v("SH", item.accession),
        0x00401003: _v("SH", PRIORITIES.get(item.priority, "ROUTINE")),
        0x00400100: ("SQ", [_step(item)]),
    }


def _step(item: WorklistItem) -> Item:
    local = item.local_start
    return {
        0x00080060: _v("CS", item.modality),
        0x00400001: _v("AE", item.ae_title),
        0x00400002: _v("DA", local.strftime("%Y%m%d")),
        0x00400003: _v("TM", local.strftime("%H%M%S")),
        0x00400006: ("PN", b""),  # ScheduledPerformingPhysicianName: none is scheduled
        0x00400007: _v("LO", item.code_name[:64]),
        0x00400008: ("SQ", [_code(item)]),
        0x00400009: _v("SH", item.accession),  # one step per requested procedure
        0x00400010: _v("SH", item.room_name[:16]),
        0x00400011: _v("SH", item.site_code[:16]),
        0x00400020: _v("CS", STEP_STATUS.get(item.state, "SCHEDULED")),
    }


def _code(item: WorklistItem) -> Item:
    return {
        0x00080100: _v("SH", item.code),
        0x00080102: _v("SH", CODING_SCHEME),
        0x00080104: _v("LO", item.code_name[:64]),
    }


def _pn(*components: Any) -> str:
    """A DICOM PN ``Family^Given``; delimiters inside a name would shift its components."""
    clean = [str(c).translate(str.maketrans("^=\\", "   ")).strip()[:64] for c in components]
    while len(clean) > 1 and not clean[-1]:
        clean.pop()
    return "^".join(clean)
