"""C-MOVE and C-GET SCP for the Patient Root and Study Root Q/R Information Models.

PS3.4 C.4.2 / C.4.3: the identifier names the level and the unique keys of what to
send; each matching instance is one C-STORE sub-operation, to the Move Destination
(a known peer, on a new association) or back over the C-GET association (the
requestor takes the Storage SCP role, PS3.7 D.3.3.4).

Instances leave as they were received: pydicom reads the stored Part 10 file into raw
elements and pynetdicom writes those raw values back unchanged when the peer accepted
the stored transfer syntax (an uncompressed one may be converted to another). Only a
study whose patient or accession was corrected after arrival (its effective values
differ from ``received_*``) is decoded, to carry the corrected PatientID, PatientName
and AccessionNumber.

Statuses: no match is Success with zero sub-operations (C.4.2.1.5: the counts say how
many were done, and none were asked for); 0xA801 unknown Move Destination; 0xA900 the
identifier does not fit the SOP class; 0xC000 a value cannot be matched; 0xA701 the
database failed; a sub-operation that fails (blob unreadable, no accepted context)
counts as failed and the final status is Warning 0xB000 or Failure 0xA702.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any, cast

from pydicom import Dataset, dcmread
from pydicom.errors import InvalidDicomError
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE, build_context, evt
from pynetdicom.events import Event
from pynetdicom.presentation import PresentationContext
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    PatientRootQueryRetrieveInformationModelGet,
    PatientRootQueryRetrieveInformationModelMove,
    StudyRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelMove,
    Verification,
)
from sqlalchemy.exc import SQLAlchemyError

from lysbord.dicom.deps import DoorDeps, Handler
from lysbord.dicom.peers import allowed, destination, refused
from lysbord.dicom.query import (
    CANCELLED,
    PENDING,
    IdentifierError,
    check_hierarchy,
    decode_identifier,
)
from lysbord.dicom.store import failure
from lysbord.dicomcodec.correct import correct
from lysbord.dicomcodec.sop import STORAGE_SOP_CLASSES, TRANSFER_SYNTAXES
from lysbord.services.archive import catalog
from lysbord.services.archive.catalog import StoredInstance
from lysbord.services.archive.matching import LEVELS, UNIQUE_KEYS, DicomQueryError, clauses
from lysbord.services.core.context import Context
from lysbord.store.blobs import BlobStore

log = logging.getLogger(__name__)


GET_MODELS: dict[str, tuple[str, ...]] = {
    str(PatientRootQueryRetrieveInformationModelGet): LEVELS,
    str(StudyRootQueryRetrieveInformationModelGet): LEVELS[1:],
}


MOVE_MODELS: dict[str, tuple[str, ...]] = {
    str(PatientRootQueryRetrieveInformationModelMove): LEVELS,
    str(StudyRootQueryRetrieveInformationModelMove): LEVELS[1:],
}


MAX_CONTEXTS = 128  # PS3.8 9.3.2.2: odd context IDs 1..255


UNCOMPRESSED = [str(ExplicitVRLittleEndian), str(ImplicitVRLittleEndian)]


def install(ae: AE, deps: DoorDeps) -> list[Handler]:
    """Add the Q/R MOVE and GET contexts, and accept the SCP role for storage (C-GET).

    Must come after ``store.install`` in INSTALLERS: add_supported_context() without
    roles resets the roles set here.
    """
    for uid in (*GET_MODELS, *MOVE_MODELS):
        ae.add_supported_context(uid)
    for uid in STORAGE_SOP_CLASSES:
        ae.add_supported_context(uid, list(TRANSFER_SYNTAXES), scu_role=True, scp_role=True)
    return [
        (evt.EVT_C_GET, handle_get, [deps.ctx, deps.blobs]),
        (evt.EVT_C_MOVE, handle_move, [deps.ctx, deps.blobs]),
    ]


def handle_get(event: Event, ctx: Context, blobs: BlobStore) -> Iterator[Any]:
    """pynetdicom's C-GET protocol: the number of sub-operations, then one dataset each."""
    plan = _permitted(event, ctx) or resolve(event, ctx, GET_MODELS)
    if isinstance(plan, Dataset):
        yield 1
        yield plan, None
        return
    yield len(plan)
    yield from _datasets(event, blobs, plan)


def handle_move(event: Event, ctx: Context, blobs: BlobStore) -> Iterator[Any]:
    """pynetdicom's C-MOVE protocol: destination, number of sub-operations, datasets."""
    where = destination(ctx, event.move_destination or "")
    if where is None:
        log.warning("C-MOVE to unknown destination %r", event.move_destination)
        yield None, None  # pynetdicom answers 0xA801 Move Destination unknown
        return
    plan = _permitted(event, ctx) or resolve(event, ctx, MOVE_MODELS)
    if isinstance(plan, Dataset):
        # pynetdicom sends a failure only after associating with the destination
        yield (*where, {"contexts": [build_context(Verification)]})
        yield 1
        yield plan, None
        return
    yield (*where, {"contexts": store_contexts(plan)})
    yield len(plan)
    yield from _datasets(event, blobs, plan)


def _permitted(event: Event, ctx: Context) -> Dataset | None:
    """None if the calling AE may retrieve, else the 0x0124 refusal."""
    calling = event.assoc.requestor.ae_title
    return None if allowed(ctx, calling, "retrieve") else refused(calling, "retrieve")


def resolve(
    event: Event, ctx: Context, models: dict[str, tuple[str, ...]]
) -> list[StoredInstance] | Dataset:
    """The instances the identifier names, or the failure status to answer with."""
    try:
        ident = decode_identifier(event)
        levels = models.get(str(cast(Any, event.request).AffectedSOPClassUID), ())
        check_hierarchy(levels, ident.level, ident.keys, retrieve=True)
        unique = {
            UNIQUE_KEYS[level]: ident.keys[UNIQUE_KEYS[level]]
            for level in levels[: levels.index(ident.level) + 1]
        }
        return catalog.instances(ctx, clauses(ident.level, unique))
    except IdentifierError as exc:
        return failure(0xA900, exc.message)
    except DicomQueryError as exc:
        return failure(0xC000, exc.message)
    except SQLAlchemyError as exc:
        log.exception("cannot resolve a retrieval")
        return failure(0xA701, f"query failed: {type(exc).__name__}")


def store_contexts(items: Iterable[StoredInstance]) -> list[PresentationContext]:
    """Contexts to propose to a Move Destination: each stored syntax, then uncompressed."""
    pairs = dict.fromkeys((i.sop_class_uid, i.transfer_syntax) for i in items)
    contexts = [build_context(sop, ts) for sop, ts in pairs]
    for sop in dict.fromkeys(sop for sop, _ in pairs):
        contexts.append(build_context(sop, UNCOMPRESSED))
    return contexts[:MAX_CONTEXTS]


def _datasets(event: Event, blobs: BlobStore, items: list[StoredInstance]) -> Iterator[Any]:
    for item in items:
        if event.is_cancelled:
            yield CANCELLED, None
            return
        yield PENDING, load(blobs, item)


def load(blobs: BlobStore, item: StoredInstance) -> Dataset:
    """The stored instance as raw elements, corrected when its study was corrected."""
    try:
        ds = dcmread(blobs.path(item.blob_key))
    except (OSError, InvalidDicomError) as exc:
        log.error("cannot read instance %s: %s", item.sop_instance_uid, exc)
        return _unsendable(item)
    if item.correction is not None:
        correct(ds, item.correction)
    return ds


def _unsendable(item: StoredInstance) -> Dataset:
    """A dataset without file meta: pynetdicom's C-STORE refuses it, counting the
    sub-operation as failed with this SOP Instance UID in the Failed SOP Instance UID List."""
    ds = Dataset()
    ds.SOPClassUID = item.sop_class_uid
    ds.SOPInstanceUID = item.sop_instance_uid
    return ds
