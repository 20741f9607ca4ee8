"""What a WADO-RS path names: the stored instances, their bytes and their datasets.

Lookups use the same matching and catalog as C-MOVE/C-GET, so a study's effective
patient and accession (after assignment from the unmatched queue, or a merge) are
applied here exactly as ``lysbord.dicom.retrieve`` applies them (``correct``).
"""

from __future__ import annotations

import logging
import re
from typing import Annotated

from fastapi import Depends, Request
from pydicom import Dataset, dcmread
from pydicom.errors import InvalidDicomError

from lysbord.dicomcodec.correct import correct
from lysbord.dicomweb.errors import DicomWebError, bad_request
from lysbord.services.archive import catalog
from lysbord.services.archive.catalog import StoredInstance
from lysbord.services.archive.matching import clauses
from lysbord.services.core.context import Context
from lysbord.store.blobs import BlobStore

log = logging.getLogger(__name__)
PREFIX = "/dicomweb"
UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")
#: Path parameter -> (DICOM keyword, Q/R level), from the top down.
PATH_KEYS = (
    ("study", "StudyInstanceUID", "STUDY"),
    ("series", "SeriesInstanceUID", "SERIES"),
    ("instance", "SOPInstanceUID", "IMAGE"),
)


class Unreadable(Exception):
    """A stored blob could not be read back (missing file, or not DICOM any more)."""


def blob_store(request: Request) -> BlobStore:
    """One BlobStore per application, over the data directory's ``blobs``."""
    store: BlobStore | None = getattr(request.app.state, "blobs", None)
    if store is None:
        ctx: Context = request.app.state.ctx
        store = request.app.state.blobs = BlobStore(ctx.settings.data_dir / "blobs")
    return store


BlobsDep = Annotated[BlobStore, Depends(blob_store)]


def service_url(request: Request) -> str:
    """The DICOMweb service's absolute URL, which RetrieveURLs and BulkDataURIs extend.

    The configured ``public_url`` if any (behind a proxy), else the address this server
    listens on: never the request's Host or X-Forwarded-* headers, which the client
    chooses (a forged one would point a viewer's next requests at another host).
    """
    ctx: Context = request.app.state.ctx
    if ctx.settings.dicomweb.public_url:
        return ctx.settings.dicomweb.public_url.rstrip("/")
    host, port = request.scope.get("server") or (ctx.settings.http_host, ctx.settings.http_port)
    host = f"[{host}]" if ":" in host else host  # an IPv6 address
    where = host if port in (None, 80) else f"{host}:{port}"
    return f"http://{where}{PREFIX}"


def check_uid(name: str, value: str) -> str:
    """A UID in a path: digits and dots, at most 64 characters (PS3.5 9.1)."""
    if len(value) > 64 or not UID.match(value):
        raise bad_request("not a UID (digits and dots, at most 64)", field=name, value=value)
    return value


def path_keys(**uids: str | None) -> tuple[str, dict[str, str]]:
    """The Q/R level and unique keys that ``study``/``series``/``instance`` name."""
    level, keys = "STUDY", {}
    for name, keyword, at in PATH_KEYS:
        value = uids.get(name)
        if value is not None:
            keys[keyword] = check_uid(name, value)
            level = at
    return level, keys


def find_instances(ctx: Context, **uids: str | None) -> list[StoredInstance]:
    """The stored instances under the path's UIDs, in order; 404 naming the deepest UID."""
    level, keys = path_keys(**uids)
    found = catalog.instances(ctx, clauses(level, keys))
    if not found:
        name = next(n for n, _, at in reversed(PATH_KEYS) if uids.get(n) is not None)
        raise DicomWebError(404, "no such stored object", field=name, value=uids[name])
    return found


def read_dataset(blobs: BlobStore, item: StoredInstance, *, pixels: bool = True) -> Dataset:
    """The stored instance as a dataset, with the study's effective patient and accession."""
    try:
        ds = dcmread(blobs.path(item.blob_key), stop_before_pixels=not pixels)
    except (OSError, InvalidDicomError) as exc:
        log.error("cannot read instance %s: %s", item.sop_instance_uid, exc)
        raise Unreadable(item.sop_instance_uid) from exc
    if item.correction is not None:
        correct(ds, item.correction)
    return ds
