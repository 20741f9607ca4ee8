"""One STOW-RS part stored the C-STORE way, in two steps, with the outcome for the response.

``make_durable`` checks the part and writes its blob (renamed, fsynced); ``index`` then
indexes a batch of durable parts in one transaction (``groupcommit`` gathers them).

Failure reasons are the C-STORE statuses (PS3.4 B.2.3) the DICOM door answers for
the same fault, so a sender sees one meaning whichever door it used: 0xA700 storage
failed, 0xA900 UIDs missing or contradicting (the file meta, the path's study),
0xC000 cannot understand (not DICOM, not application/dicom), 0xC001 the SOP Instance
UID is stored with other bytes (kept as a conflict), 0x0122 SOP class and 0xC122
transfer syntax not accepted by the archive.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from lysbord.dicomcodec.header import HeaderError, read_header
from lysbord.dicomcodec.meta import file_meta
from lysbord.dicomcodec.sop import STORAGE_SOP_CLASSES, TRANSFER_SYNTAXES
from lysbord.dicomweb.media import parse_media_type
from lysbord.dicomweb.multipart import Part
from lysbord.dicomweb.part10 import NotPart10, split
from lysbord.services.archive.storing import InstanceIds, Received, StoreOutcome, index_instances
from lysbord.services.core.context import Context
from lysbord.store.blobs import BlobStore, Stored

log = logging.getLogger(__name__)
REQUIRED = ("SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID")
ACCEPTED_CLASSES = frozenset(STORAGE_SOP_CLASSES)
ACCEPTED_SYNTAXES = frozenset(TRANSFER_SYNTAXES)


@dataclass(frozen=True, slots=True)
class Result:
    """What became of one part: stored, or failed with a reason code and words."""

    stored: bool
    reason_code: int = 0
    reason: str = ""
    sop_class_uid: str = ""
    sop_instance_uid: str = ""
    study_uid: str = ""
    series_uid: str = ""
    part: int = 0

    def describe(self) -> str:
        uid = f" ({self.sop_instance_uid})" if self.sop_instance_uid else ""
        where = f"part {self.part}{uid}: " if self.part else ""
        return f"{where}{self.reason} [0x{self.reason_code:04X}]"


class Refused(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


def failure(code: int, reason: str, **uids: Any) -> Result:
    return outcome(False, code, reason, **uids)


def outcome(stored: bool, code: int, reason: str, **uids: Any) -> Result:
    return Result(stored, code, reason, **uids)


def ids_for(state: Any) -> InstanceIds:
    """The process's cache of study and series row ids, shared by every STOW request."""
    ids: InstanceIds | None = getattr(state, "instance_ids", None)
    if ids is None:
        ids = state.instance_ids = InstanceIds()
    return ids


@dataclass(frozen=True, slots=True)
class Durable:
    """A checked part whose bytes are durable (renamed, fsynced), waiting to be indexed."""

    received: Received
    blob: Stored
    part: int
    uids: dict[str, str]


def make_durable(blobs: BlobStore, part: Part, study: str | None) -> Durable | Result:
    """Check one part and write its blob; a failure Result for what the sender got wrong."""
    uids: dict[str, str] = {}
    try:
        received, dataset = _received(part, study, uids)
        meta = file_meta(
            received.sop_class_uid, received.sop_instance_uid, received.transfer_syntax
        )
        blob = blobs.put([meta, dataset])
    except Refused as exc:
        return failure(exc.code, exc.reason, part=part.number, **uids)
    except OSError as exc:
        log.exception("STOW-RS cannot store part %d", part.number)
        return failure(0xA700, f"storage failed: {type(exc).__name__}", part=part.number, **uids)
    return Durable(received, blob, part.number, uids)


def index(ctx: Context, ids: InstanceIds, batch: list[Durable]) -> list[Result]:
    """Index durable parts in one transaction; if it fails, each alone, so that a part
    the database refuses fails by itself."""
    try:
        done = index_instances(ctx, [(d.received, d.blob) for d in batch], ids)
    except (OSError, SQLAlchemyError) as exc:
        if len(batch) > 1:
            return [result for d in batch for result in index(ctx, ids, [d])]
        log.exception("STOW-RS cannot index part %d", batch[0].part)
        reason = f"storage failed: {type(exc).__name__}"
        return [failure(0xA700, reason, part=batch[0].part, **batch[0].uids)]
    return [_indexed(d, o) for d, o in zip(batch, done, strict=True)]


def _indexed(d: Durable, done: StoreOutcome) -> Result:
    if done.status == "conflict":
        reason = f"SOP Instance UID stored with other content; kept as conflict {done.conflict_id}"
        return failure(0xC001, reason, part=d.part, **d.uids)
    return outcome(True, 0, "", part=d.part, **d.uids)


def _received(part: Part, study: str | None, uids: dict[str, str]) -> tuple[Received, bytes]:
    """The part as a Received instance and its dataset bytes; fills ``uids`` as it learns them."""
    media = parse_media_type(part.content_type or "application/dicom").media_type
    if media != "application/dicom":
        raise Refused(0xC000, f"a part of type {media!r}, not application/dicom")
    try:
        p10 = split(part.body)
        header = read_header(p10.dataset, p10.transfer_syntax)
    except (NotPart10, HeaderError) as exc:
        raise Refused(0xC000, f"cannot read the part: {exc}") from exc
    sop_class = header.get("SOPClassUID") or p10.sop_class_uid
    uids.update(
        sop_class_uid=sop_class,
        sop_instance_uid=header.get("SOPInstanceUID") or p10.sop_instance_uid,
        study_uid=header.get("StudyInstanceUID", ""),
        series_uid=header.get("SeriesInstanceUID", ""),
    )
    _check(header, p10.sop_class_uid, p10.sop_instance_uid, p10.transfer_syntax, study)
    received = Received(sop_class, header["SOPInstanceUID"], p10.transfer_syntax, header)
    return received, p10.dataset


def _check(header: dict[str, str], meta_class: str, meta_uid: str, syntax: str,
           study: str | None) -> None:  # fmt: skip
    for key in (*REQUIRED, "SOPClassUID"):
        if not header.get(key):
            raise Refused(0xA900, f"missing {key}")
    if meta_uid and header["SOPInstanceUID"] != meta_uid:
        raise Refused(0xA900, "SOPInstanceUID differs from the file meta's")
    if meta_class and header["SOPClassUID"] != meta_class:
        raise Refused(0xA900, "SOPClassUID differs from the file meta's")
    if study is not None and header["StudyInstanceUID"] != study:
        raise Refused(
            0xA900, f"StudyInstanceUID {header['StudyInstanceUID']} is not the study in the path"
        )
    if header["SOPClassUID"] not in ACCEPTED_CLASSES:
        raise Refused(0x0122, f"SOP class {header['SOPClassUID']} is not one the archive stores")
    if syntax not in ACCEPTED_SYNTAXES:
        raise Refused(0xC122, f"transfer syntax {syntax} is not one the archive takes")
