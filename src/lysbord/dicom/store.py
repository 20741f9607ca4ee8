"""C-STORE: the received bytes go to the archive as they are; the answer waits for them.

PS3.4 B.2.3 statuses used: 0x0000 success; 0xA700 out of resources (the disk or the
database failed: the sender should retry); 0xA900 the dataset does not match the
SOP class (a UID is missing or contradicts the request); 0xC000 cannot understand;
0xC001 refused, SOP Instance UID already stored with other bytes (kept as a conflict).
"""

from __future__ import annotations

import logging
from typing import Any, cast

from pydicom import Dataset
from pynetdicom import AE, evt
from pynetdicom.dimse_primitives import C_STORE
from pynetdicom.events import Event
from sqlalchemy.exc import SQLAlchemyError

from lysbord.dicom.deps import DoorDeps, Handler
from lysbord.dicom.peers import allowed, refused
from lysbord.dicomcodec.header import HeaderError, read_header
from lysbord.dicomcodec.meta import file_meta
from lysbord.dicomcodec.sop import STORAGE_SOP_CLASSES, TRANSFER_SYNTAXES
from lysbord.services.archive.storing import InstanceIds, Received, store_instance
from lysbord.services.core.context import Context
from lysbord.store.blobs import BlobStore

log = logging.getLogger(__name__)
REQUIRED = ("SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID")


def failure(status: int, comment: str) -> Dataset:
    ds = Dataset()
    ds.Status = status
    ds.ErrorComment = comment[:64]
    return ds


def install(ae: AE, deps: DoorDeps) -> list[Handler]:
    for uid in STORAGE_SOP_CLASSES:
        ae.add_supported_context(uid, list(TRANSFER_SYNTAXES))
    return [(evt.EVT_C_STORE, handle_store, [deps.ctx, deps.blobs, deps.ids])]


def handle_store(event: Event, ctx: Context, blobs: BlobStore, ids: InstanceIds) -> Any:
    """pynetdicom's way in: with the fast paths on, ``fast.store`` serves most requests
    before they get here (the door hands it ``receive``)."""
    req = cast(C_STORE, event.request)
    return receive(
        ctx,
        blobs,
        ids,
        event.assoc.requestor.ae_title,
        str(req.AffectedSOPClassUID),
        str(req.AffectedSOPInstanceUID),
        str(event.context.transfer_syntax),
        event.encoded_dataset(include_meta=False),
    )


def receive(
    ctx: Context,
    blobs: BlobStore,
    ids: InstanceIds,
    calling_ae: str,
    sop_class: str,
    sop_uid: str,
    ts: str,
    data: bytes,
) -> int | Dataset:
    """Store one instance; the status is sent only after the bytes and index are durable."""
    if not allowed(ctx, calling_ae, "store"):
        return refused(calling_ae, "store")
    try:
        header = read_header(data, ts)
    except HeaderError as exc:
        return failure(0xC000, str(exc))
    problem = _mismatch(header, sop_class, sop_uid)
    if problem:
        return failure(0xA900, problem)
    item = Received(sop_class, sop_uid, ts, header, calling_ae)
    try:
        outcome = store_instance(ctx, blobs, item, [file_meta(sop_class, sop_uid, ts), data], ids)
    except (OSError, SQLAlchemyError) as exc:
        log.exception("cannot store %s", sop_uid)
        return failure(0xA700, f"storage failed: {type(exc).__name__}")
    if outcome.status == "conflict":
        return failure(
            0xC001, f"UID stored with other content; kept as conflict {outcome.conflict_id}"
        )
    return 0x0000


def _mismatch(header: dict[str, str], sop_class: str, sop_uid: str) -> str | None:
    for key in REQUIRED:
        if not header.get(key):
            return f"missing {key}"
    if header.get("SOPInstanceUID", sop_uid) != sop_uid:
        return "SOPInstanceUID differs from the request"
    if header.get("SOPClassUID", sop_class) != sop_class:
        return "SOPClassUID differs from the request"
    return None
