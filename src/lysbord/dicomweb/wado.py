"""WADO-RS (PS3.18 10.4): retrieve studies, series and instances, and their metadata.

Instances leave as ``multipart/related; type="application/dicom"`` parts, streamed:
the stored Part 10 files as they are for ``transfer-syntax=*`` (or when the stored
syntax is the one asked for), otherwise transcoded (``encoding``). Metadata is a
DICOM JSON array, one dataset per instance, its bulk data as BulkDataURIs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydicom.uid import UID

from lysbord.dicomweb import multipart
from lysbord.dicomweb.dicomjson import dataset_json
from lysbord.dicomweb.encoding import as_stored, can_send, part10, sent_syntax
from lysbord.dicomweb.errors import DicomWebError, not_acceptable
from lysbord.dicomweb.media import accepts, choose_multipart, parse_accept
from lysbord.dicomweb.qido import JSON_TYPES
from lysbord.dicomweb.resources import (
    BlobsDep,
    Unreadable,
    find_instances,
    read_dataset,
    service_url,
)
from lysbord.http.context import ContextDep
from lysbord.services.archive.catalog import StoredInstance
from lysbord.services.core.context import Context
from lysbord.store.blobs import BlobStore

log = logging.getLogger(__name__)
router = APIRouter(tags=["dicomweb"])
DICOM = "application/dicom"
MULTIPART_DICOM = f'multipart/related; type="{DICOM}"'


LEVELS = (
    ("/studies/{study}", "a study"),
    ("/studies/{study}/series/{series}", "a series"),
    ("/studies/{study}/series/{series}/instances/{instance}", "an instance"),
)


def retrieve_route(request: Request, ctx: ContextDep, blobs: BlobsDep) -> StreamingResponse:
    """As stored with `transfer-syntax=*`, else Explicit VR Little Endian (decoded when
    stored compressed); another syntax is 406. Corrected patient and accession applied.
    With a Content-Length when every instance leaves as stored."""
    return retrieve(request, ctx, blobs, **request.path_params)


def metadata_route(request: Request, ctx: ContextDep, blobs: BlobsDep) -> StreamingResponse:
    """DICOM JSON of each instance; Pixel Data and other large values as BulkDataURIs."""
    return metadata(request, ctx, blobs, **request.path_params)


for _path, _what in LEVELS:
    router.add_api_route(
        _path,
        retrieve_route,
        methods=["GET"],
        summary=f"WADO-RS: every instance of {_what} (multipart/related, application/dicom)",
        response_class=StreamingResponse,
    )
    router.add_api_route(
        f"{_path}/metadata",
        metadata_route,
        methods=["GET"],
        summary=f"WADO-RS: the metadata of every instance of {_what} (DICOM JSON)",
        response_class=StreamingResponse,
    )


def retrieve(request: Request, ctx: Context, blobs: BlobStore, **uids: str) -> StreamingResponse:
    """The instances under the path as Part 10 parts, in the negotiated transfer syntax."""
    accept = request.headers.get("accept", "")
    choice = choose_multipart(parse_accept(accept), (DICOM,))
    if choice is None:
        raise not_acceptable(accept, MULTIPART_DICOM)
    items = find_instances(ctx, **uids)
    target = choice.transfer_syntax
    refused = sorted({i.transfer_syntax for i in items if not can_send(i.transfer_syntax, target)})
    if refused:
        raise DicomWebError(
            406,
            f"instances stored in {', '.join(refused)} cannot be sent in {target}",
            field="Accept",
            value=accept,
        )
    boundary = multipart.new_boundary()
    headers = {}
    if all(as_stored(i, target) for i in items):
        items, length = _sized(blobs, items, target, boundary)
        headers["Content-Length"] = str(length)
    body = _body(blobs, items, target, boundary)
    media_type = multipart.content_type(DICOM, boundary)
    return StreamingResponse(body, media_type=media_type, headers=headers)


def _sized(
    blobs: BlobStore, items: list[StoredInstance], target: str, boundary: str
) -> tuple[list[StoredInstance], int]:
    """The instances whose file is there, and the body's length when all are sent as stored.

    With a Content-Length the server writes the parts as they are, without chunked
    framing (a copy of every chunk); a viewer can show progress. Should a file change
    after this, the server finds the length wrong and closes the connection: the client
    sees an incomplete answer, never a silently shorter study.
    """
    found, length = [], len(multipart.closing(boundary))
    for item in items:
        try:
            size = blobs.path(item.blob_key).stat().st_size
        except OSError:
            log.exception("cannot send instance %s", item.sop_instance_uid)
            continue
        found.append(item)
        length += len(_head(boundary, item, target)) + size + len(multipart.CRLF)
    return found, length


def _head(boundary: str, item: StoredInstance, target: str) -> bytes:
    return multipart.head(boundary, f"{DICOM}; transfer-syntax={sent_syntax(item, target)}")


async def _body(
    blobs: BlobStore, items: list[StoredInstance], target: str, boundary: str
) -> AsyncIterator[bytes | memoryview]:
    """Each instance's part, its head and its chunks yielded apart (no copies of pixels)."""
    after = b""
    for item in items:
        try:
            chunks = await part10(blobs, item, target)
        except Exception:  # one unreadable or undecodable instance must not end the study
            log.exception("cannot send instance %s", item.sop_instance_uid)
            continue
        yield after + _head(boundary, item, target)
        async with aclosing(chunks):  # the file is closed even if the client goes away
            async for chunk in chunks:
                yield chunk
        after = multipart.CRLF
    yield after + multipart.closing(boundary)


def metadata(request: Request, ctx: Context, blobs: BlobStore, **uids: str) -> StreamingResponse:
    """A JSON array of the instances' datasets, written one instance at a time."""
    accept = request.headers.get("accept", "")
    if accepts(parse_accept(accept), *JSON_TYPES) is None:
        raise not_acceptable(accept, " or ".join(JSON_TYPES))
    items = find_instances(ctx, **uids)
    return StreamingResponse(
        _json_array(blobs, items, service_url(request)), media_type=JSON_TYPES[0]
    )


def _json_array(blobs: BlobStore, items: list[StoredInstance], base: str) -> Iterator[bytes]:
    yield b"["
    first = True
    for item in items:
        try:
            body = instance_json(blobs, item, base)
        except Unreadable:
            continue
        yield (b"" if first else b",") + json.dumps(body, ensure_ascii=False).encode()
        first = False
    yield b"]"


def instance_json(blobs: BlobStore, item: StoredInstance, base: str) -> dict[str, object]:
    """One instance's DICOM JSON; Pixel Data (not read) as a BulkDataURI."""
    ds = read_dataset(blobs, item, pixels=False)
    url = f"{base}/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}"
    url += f"/instances/{item.sop_instance_uid}"
    pixel_vr = None
    if "Rows" in ds:
        compressed = UID(item.transfer_syntax).is_compressed
        pixel_vr = "OB" if compressed or int(ds.get("BitsAllocated", 16)) <= 8 else "OW"
    return dataset_json(ds, url, pixel_vr)
