"""WADO-RS rendered resources and thumbnails (PS3.18 10.4.1.1.3, 10.4.1.1.4, 8.3.5).

``.../instances/{i}/rendered``, ``.../frames/{n}/rendered``, the series' and study's
``rendered`` (each image's first frame, one part each of multipart/related) and the
thumbnails of instances, series and studies (a series' or study's thumbnail is its middle
instance's first frame). The media type comes from the ``accept`` query parameter,
else the Accept header (q-values honoured; ``image/*`` and ``*/*`` mean JPEG), else
JPEG; anything else is 406. Instances are found and read with the WADO-RS helpers
(``resources``), so unknown UIDs are 404 as everywhere in DICOMweb; a malformed
``window``, ``viewport`` or ``quality`` is 400 naming the parameter. Rendering is CPU
work: the routes are plain functions, so FastAPI runs them in its thread pool.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import StreamingResponse

from lysbord.dicomweb.errors import DicomWebError, bad_request, not_acceptable
from lysbord.dicomweb.media import parse_accept
from lysbord.dicomweb.multipart import content_type, new_boundary, write
from lysbord.dicomweb.render import (
    FUNCTIONS,
    JPEG,
    MEDIA_TYPES,
    PNG,
    THUMBNAIL,
    RenderOptions,
    Viewport,
    Window,
    render,
)
from lysbord.dicomweb.resources import BlobsDep, Unreadable, find_instances, read_dataset
from lysbord.domain.errors import InvalidValue
from lysbord.http.context import ContextDep
from lysbord.services.archive.catalog import StoredInstance
from lysbord.store.blobs import BlobStore

log = logging.getLogger(__name__)
router = APIRouter(tags=["dicomweb"])

AcceptParam = Annotated[str | None, Query(alias="accept")]
AcceptHeader = Annotated[str | None, Header(alias="accept")]
QualityParam = Annotated[str | None, Query(description="JPEG quality, 1-100")]
WindowParam = Annotated[str | None, Query(description="center,width[,linear|linear-exact|sigmoid]")]
ViewportParam = Annotated[str | None, Query(description="vw,vh[,sx,sy,sw,sh]")]
CACHE = {"Cache-Control": "private, max-age=3600"}  # stored instances never change
THUMB = f"{THUMBNAIL[0]},{THUMBNAIL[1]}"
KNOWN = 100_000


def stored(
    study: str, series: str, instance: str, request: Request, ctx: ContextDep
) -> StoredInstance:
    """``find_instances``, remembered per application (up to KNOWN entries): an instance's
    blob never changes once stored, rendering needs no patient correction, and viewers
    ask for the same frames again and again; this saves a database round trip each."""
    known: dict[tuple[str, str, str], StoredInstance] | None = getattr(
        request.app.state, "rendered_known", None
    )
    if known is None or len(known) > KNOWN:
        known = request.app.state.rendered_known = {}
    key = (study, series, instance)
    if key not in known:
        known[key] = find_instances(ctx, study=study, series=series, instance=instance)[0]
    return known[key]


def rendering(
    accept_q: AcceptParam = None,
    accept_h: AcceptHeader = None,
    quality: QualityParam = None,
    window: WindowParam = None,
    viewport: ViewportParam = None,
) -> RenderOptions:
    """The request's rendering parameters, each checked; 400/406 name the one refused."""
    return RenderOptions(
        media_type=media_type(accept_q, accept_h),
        quality=_quality(quality),
        window=parse_window(window) if window else None,
        viewport=parse_viewport(viewport) if viewport else None,
    )


def thumbnail(
    accept_q: AcceptParam = None, accept_h: AcceptHeader = None, viewport: ViewportParam = None
) -> RenderOptions:
    """A thumbnail: 128 x 128 unless the request gives a viewport."""
    return rendering(accept_q, accept_h, None, None, viewport or THUMB)


InstanceDep = Annotated[StoredInstance, Depends(stored)]
Rendering = Annotated[RenderOptions, Depends(rendering)]
Thumbnail = Annotated[RenderOptions, Depends(thumbnail)]


@router.get("/studies/{study}/series/{series}/instances/{instance}/rendered")
def rendered_instance(item: InstanceDep, blobs: BlobsDep, opts: Rendering) -> Response:
    """An instance's first frame, rendered as JPEG or PNG."""
    return answer(blobs, item, 1, opts)


@router.get("/studies/{study}/series/{series}/instances/{instance}/frames/{frames}/rendered")
def rendered_frame(frames: str, item: InstanceDep, blobs: BlobsDep, opts: Rendering) -> Response:
    """One frame of an instance, rendered as JPEG or PNG."""
    if not frames.isdigit() or int(frames) < 1:
        raise bad_request("one frame number, counted from 1", field="frames", value=frames)
    return answer(blobs, item, int(frames), opts)


@router.get("/studies/{study}/series/{series}/rendered")
def rendered_series(
    study: str, series: str, ctx: ContextDep, blobs: BlobsDep, opts: Rendering
) -> Response:
    """Every image of the series (first frames), rendered, as multipart/related."""
    return many(blobs, find_instances(ctx, study=study, series=series), opts)


@router.get("/studies/{study}/rendered")
def rendered_study(study: str, ctx: ContextDep, blobs: BlobsDep, opts: Rendering) -> Response:
    """Every image of the study (first frames), rendered, as multipart/related."""
    return many(blobs, find_instances(ctx, study=study), opts)


@router.get("/studies/{study}/series/{series}/instances/{instance}/thumbnail")
def thumbnail_instance(item: InstanceDep, blobs: BlobsDep, opts: Thumbnail) -> Response:
    """A small rendering of an instance's first frame."""
    return answer(blobs, item, 1, opts)


@router.get("/studies/{study}/series/{series}/thumbnail")
def thumbnail_series(
    study: str, series: str, ctx: ContextDep, blobs: BlobsDep, opts: Thumbnail
) -> Response:
    """A small rendering of the series' middle instance, as viewers pick one."""
    return answer(blobs, middle(find_instances(ctx, study=study, series=series)), 1, opts)


@router.get("/studies/{study}/thumbnail")
def thumbnail_study(study: str, ctx: ContextDep, blobs: BlobsDep, opts: Thumbnail) -> Response:
    """A small rendering of the study's middle instance (in series, then instance order)."""
    return answer(blobs, middle(find_instances(ctx, study=study)), 1, opts)


def middle(items: list[StoredInstance]) -> StoredInstance:
    return items[len(items) // 2]


def answer(blobs: BlobStore, item: StoredInstance, frame: int, opts: RenderOptions) -> Response:
    return Response(rendered(blobs, item, frame, opts), media_type=opts.media_type, headers=CACHE)


def many(blobs: BlobStore, items: list[StoredInstance], opts: RenderOptions) -> Response:
    """Each image's first frame as one part of multipart/related, streamed. Instances
    without pixel data (reports, PDFs) have no rendering and are left out; the status is
    sent before the parts, so one that fails mid-stream is logged and left out too."""
    boundary = new_boundary()
    media = content_type(opts.media_type, boundary)
    body = write(_parts(blobs, items, opts), boundary)
    return StreamingResponse(body, media_type=media, headers=CACHE)


def _parts(
    blobs: BlobStore, items: list[StoredInstance], opts: RenderOptions
) -> Iterator[tuple[str, list[bytes]]]:
    for item in items:
        try:
            yield opts.media_type, [rendered(blobs, item, 1, opts)]
        except DicomWebError as exc:
            log.warning("rendered %s left out: %s", item.sop_instance_uid, exc.detail)


def rendered(blobs: BlobStore, item: StoredInstance, frame: int, opts: RenderOptions) -> bytes:
    """Read and render; a frame beyond the last is 404, a bad viewport region 400."""
    uid = item.sop_instance_uid
    try:
        return render(read_dataset(blobs, item), frame, opts)
    except Unreadable as exc:
        raise DicomWebError(404, "stored, but its file cannot be read", field="instance",
                            value=uid) from exc  # fmt: skip
    except InvalidValue as exc:
        status = 404 if exc.field in ("frames", "instance") else 400
        value = None if exc.value is None else str(exc.value)
        raise DicomWebError(status, f"{exc.reason} ({uid})", field=exc.field or "instance",
                            value=value) from exc  # fmt: skip


def media_type(query: str | None, header: str | None) -> str:
    """The ``accept`` query parameter, else the Accept header (PS3.18 8.3.3.1); 406 if
    neither admits JPEG or PNG. ``multipart/related; type=...`` names its part type."""
    for r in parse_accept(query or header):
        kind = r.params.get("type", "") if r.media_type == "multipart/related" else ""
        for offered in MEDIA_TYPES:
            if kind == offered or (not kind and r.matches(offered)):
                return offered
    raise not_acceptable(query or header or "", f"{JPEG} or {PNG}")


def _quality(text: str | None) -> int:
    if text is None:
        return 90
    if not text.isdigit() or not 1 <= int(text) <= 100:
        raise bad_request("an integer from 1 to 100", field="quality", value=text)
    return int(text)


def parse_window(text: str) -> Window:
    """``center,width[,function]``; the function as the standard spells it, in any case."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) not in (2, 3):
        raise bad_request("expected center,width[,linear|linear-exact|sigmoid]", field="window",
                          value=text)  # fmt: skip
    function = (parts[2] if len(parts) == 3 else "linear").upper().replace("-", "_")
    try:
        center, width = float(parts[0]), float(parts[1])
    except ValueError as exc:
        raise bad_request("center and width must be numbers", field="window", value=text) from exc
    if function not in FUNCTIONS:
        raise bad_request(f"unknown function {parts[2]!r}", field="window", value=text)
    if width <= 0 or (function == "LINEAR" and width < 1):
        raise bad_request("the width must be at least 1", field="window", value=text)
    return Window(center, width, function)


def parse_viewport(text: str) -> Viewport:
    """``vw,vh[,sx,sy,sw,sh]``; sx, sy, sw, sh may each be empty (their defaults)."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) not in (2, 6) or not all(p.lstrip("-").isdigit() for p in parts[2:] if p):
        raise bad_request("expected vw,vh[,sx,sy,sw,sh] as integers", field="viewport",
                          value=text)  # fmt: skip
    if not all(p.isdigit() and 1 <= int(p) <= 8192 for p in parts[:2]):
        raise bad_request("vw and vh must be from 1 to 8192", field="viewport", value=text)
    rest = [int(p) if p else None for p in parts[2:]] or [None] * 4
    return Viewport(int(parts[0]), int(parts[1]), rest[0] or 0, rest[1] or 0, rest[2], rest[3])
