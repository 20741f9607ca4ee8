"""STOW-RS (PS3.18 10.5): store instances sent as multipart/related application/dicom.

Each part goes the C-STORE way: its UIDs checked, its bytes made durable, indexed and
reconciled by ``services.archive.storing.index_instances``; the same bytes twice are stored
once, other bytes under a stored SOP Instance UID are kept as a conflict. Parts are
written as they arrive, a few at a time (``dicomweb.stow_parallel``), and indexed by
group commit (``groupcommit``): a part is listed as stored only once its blob is
durable and its index row committed. The answer (PS3.18 Annex I) lists each part in
ReferencedSOPSequence or FailedSOPSequence with a FailureReason, and a Warning header
says why in words: 200 all stored, 202 some, 409 none; 400 when the body cannot be
read as multipart at all (nothing stored), 415 for another media type.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from lysbord.dicomweb.errors import DicomWebError, bad_request, not_acceptable, warning_header
from lysbord.dicomweb.groupcommit import group_commit_for, in_thread
from lysbord.dicomweb.media import accepts, parse_accept, parse_media_type
from lysbord.dicomweb.multipart import MultipartError, Part, Reader
from lysbord.dicomweb.qido import JSON_TYPES
from lysbord.dicomweb.resources import BlobsDep, check_uid, service_url
from lysbord.dicomweb.storing import Result, failure, ids_for, make_durable
from lysbord.http.context import ContextDep
from lysbord.services.core.context import Context
from lysbord.store.blobs import BlobStore

log = logging.getLogger(__name__)
router = APIRouter(tags=["dicomweb"])
MAX_WARNINGS = 20


@router.post("/studies")
async def store_instances(request: Request, ctx: ContextDep, blobs: BlobsDep) -> Response:
    """STOW-RS: store instances of any studies."""
    return await store(request, ctx, blobs, None)


@router.post("/studies/{study}")
async def store_study_instances(
    request: Request, ctx: ContextDep, blobs: BlobsDep, study: str
) -> Response:
    """STOW-RS: store instances of one study; others are refused per instance."""
    return await store(request, ctx, blobs, check_uid("study", study))


async def store(request: Request, ctx: Context, blobs: BlobStore, study: str | None) -> Response:
    """Write each part's blob as it arrives, up to ``stow_parallel`` at a time (their fsyncs
    overlap), index the durable ones by group commit; answer once every part is stored or
    refused."""
    accept = request.headers.get("accept", "")
    if accepts(parse_accept(accept), *JSON_TYPES) is None:
        raise not_acceptable(accept, " or ".join(JSON_TYPES))
    settings = ctx.settings.dicomweb
    reader = Reader(_boundary(request), settings.stow_max_instance_mb << 20)
    commits = group_commit_for(request.app.state, ctx, ids_for(request.app.state))
    slots = asyncio.Semaphore(settings.stow_parallel)
    pending: list[asyncio.Task[Result]] = []

    async def one(part: Part) -> Result:
        try:
            ready = await in_thread(make_durable, blobs, part, study)
        finally:
            slots.release()  # the part's bytes are on disk (or refused): take the next
        return ready if isinstance(ready, Result) else await commits.submit(ready)

    broken: MultipartError | None = None
    try:
        async for chunk in request.stream():
            for part in reader.feed(chunk):
                await slots.acquire()  # at most stow_parallel parts held in memory
                pending.append(asyncio.create_task(one(part)))
        reader.close()
    except MultipartError as exc:
        broken = exc
    results = list(await asyncio.gather(*pending))
    return _outcome(request, results, broken, study)


def _outcome(
    request: Request, results: list[Result], broken: MultipartError | None, study: str | None
) -> Response:
    if broken is not None:
        if not results:
            raise bad_request(str(broken), field="body") from broken
        results.append(failure(0xC000, f"the rest of the body: {broken}"))
    if not results:
        raise bad_request("no parts between the first and the closing boundary", field="body")
    return answer(results, service_url(request), study)


def _boundary(request: Request) -> str:
    text = request.headers.get("content-type", "")
    media = parse_media_type(text)
    if media.media_type != "multipart/related":
        raise DicomWebError(415, 'STOW-RS takes multipart/related; type="application/dicom"',
                            field="Content-Type", value=text)  # fmt: skip
    part_type = media.params.get("type", "application/dicom").lower()
    if part_type != "application/dicom":
        reason = "only application/dicom parts are taken (not DICOM JSON + bulk data)"
        raise DicomWebError(415, reason, field="Content-Type", value=text)
    boundary = media.params.get("boundary", "")
    if not boundary:
        raise bad_request("no boundary parameter", field="Content-Type", value=text)
    return boundary


def answer(results: list[Result], base: str, study: str | None) -> JSONResponse:
    """The Store Instances Response Module (PS3.18 Annex I) and its status."""
    stored = [r for r in results if r.stored]
    failed = [r for r in results if not r.stored]
    body: dict[str, Any] = {}
    studies = {r.study_uid for r in stored} | ({study} if study else set())
    if len(studies) == 1:
        body["00081190"] = _ur(f"{base}/studies/{studies.pop()}")
    if failed:
        body["00081198"] = {"vr": "SQ", "Value": [_failed(r) for r in failed]}
    if stored:
        body["00081199"] = {"vr": "SQ", "Value": [_referenced(r, base) for r in stored]}
    status = 200 if not failed else 202 if stored else 409
    headers = warning_header([r.describe() for r in failed[:MAX_WARNINGS]])
    return JSONResponse(body, status_code=status, media_type=JSON_TYPES[0], headers=headers)


def _ur(url: str) -> dict[str, Any]:
    return {"vr": "UR", "Value": [url]}


def _uids(r: Result) -> dict[str, Any]:
    found = {}
    if r.sop_class_uid:
        found["00081150"] = {"vr": "UI", "Value": [r.sop_class_uid]}
    if r.sop_instance_uid:
        found["00081155"] = {"vr": "UI", "Value": [r.sop_instance_uid]}
    return found


def _failed(r: Result) -> dict[str, Any]:
    return {**_uids(r), "00081197": {"vr": "US", "Value": [r.reason_code]}}


def _referenced(r: Result, base: str) -> dict[str, Any]:
    url = f"{base}/studies/{r.study_uid}/series/{r.series_uid}/instances/{r.sop_instance_uid}"
    return {**_uids(r), "00081190": _ur(url)}
