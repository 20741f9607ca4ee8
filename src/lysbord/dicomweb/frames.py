"""WADO-RS frames and bulk data (PS3.18 10.4.1.1.3 and 10.4.1.1.4).

What a viewer asks for each image: ``.../frames/1`` with ``transfer-syntax=*`` (OHIF
decodes the stored encoding itself); and what the BulkDataURIs of the metadata point
at. Each answer is multipart/related, one part per frame or value.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydicom import Dataset

from lysbord.dicomweb import multipart
from lysbord.dicomweb.dicomjson import PIXEL_DATA, find_element
from lysbord.dicomweb.errors import DicomWebError, bad_request, not_acceptable
from lysbord.dicomweb.framedata import OCTET, choose_frames, frame, number_of_frames
from lysbord.dicomweb.media import choose_multipart, parse_accept
from lysbord.dicomweb.resources import BlobsDep, Unreadable, find_instances, read_dataset
from lysbord.http.context import ContextDep
from lysbord.services.core.context import Context
from lysbord.store.blobs import BlobStore

router = APIRouter(tags=["dicomweb"])
INSTANCE = "/studies/{study}/series/{series}/instances/{instance}"
BINARY_VRS = {"OB", "OD", "OF", "OL", "OV", "OW", "UN"}


@router.get(INSTANCE + "/frames/{frames}")
def retrieve_frames(request: Request, ctx: ContextDep, blobs: BlobsDep, frames: str) -> Response:
    """WADO-RS: frames of an image (``1`` or ``1,2,3``), as stored or uncompressed."""
    numbers = frame_numbers(frames)
    return frames_response(request, _dataset(ctx, blobs, request), numbers)


@router.get(INSTANCE + "/bulkdata/{path:path}")
def retrieve_bulkdata(request: Request, ctx: ContextDep, blobs: BlobsDep, path: str) -> Response:
    """WADO-RS: a bulk data value named by a BulkDataURI of the metadata."""
    ds = _dataset(ctx, blobs, request)
    if path.strip("/").upper() == f"{PIXEL_DATA:08X}":
        return frames_response(request, ds, list(range(1, number_of_frames(ds) + 1)))
    elem = find_element(ds, path)
    if elem is None or elem.VR not in BINARY_VRS or elem.value is None:
        raise DicomWebError(404, "no bulk data value at this path", field="path", value=path)
    accept = request.headers.get("accept", "")
    if choose_multipart(parse_accept(accept), (OCTET,)) is None:
        raise not_acceptable(accept, f'multipart/related; type="{OCTET}"')
    return _multipart([(OCTET, bytes(elem.value))])


def frame_numbers(text: str) -> list[int]:
    """``1,3,5`` -> [1, 3, 5]; frame numbers start at 1 (PS3.18 8.3.1.3)."""
    parts = [p.strip() for p in text.split(",")]
    if not all(p.isdigit() and int(p) >= 1 for p in parts):
        raise bad_request(
            "a comma-separated list of frame numbers from 1", field="frames", value=text
        )
    return [int(p) for p in parts]


def _dataset(ctx: Context, blobs: BlobStore, request: Request) -> Dataset:
    """The instance the path names, read whole."""
    uids = {k: request.path_params[k] for k in ("study", "series", "instance")}
    instance = uids["instance"]
    item = find_instances(ctx, **uids)[0]
    try:
        return read_dataset(blobs, item)
    except Unreadable as exc:
        raise DicomWebError(404, "stored, but its file cannot be read", field="instance",
                            value=instance) from exc  # fmt: skip


def frames_response(request: Request, ds: Dataset, numbers: list[int]) -> Response:
    if "PixelData" not in ds:
        raise DicomWebError(404, "the instance has no pixel data", field="frames")
    count = number_of_frames(ds)
    beyond = [n for n in numbers if n > count]
    if beyond:
        raise DicomWebError(404, f"the instance has {count} frame(s)", field="frames",
                            value=",".join(map(str, beyond)))  # fmt: skip
    accept = request.headers.get("accept", "")
    stored = str(ds.file_meta.TransferSyntaxUID)
    choice = choose_frames(parse_accept(accept), stored)
    if choice is None:
        raise not_acceptable(accept, f'multipart/related; type="{OCTET}"')
    return _multipart([(choice.part_type, frame(ds, n, choice.native)) for n in numbers])


def _multipart(parts: list[tuple[str, bytes]]) -> Response:
    boundary = multipart.new_boundary()
    body = b"".join(multipart.write(((t, [data]) for t, data in parts), boundary))
    part_type = parts[0][0].split(";")[0]
    return Response(body, media_type=multipart.content_type(part_type, boundary))
