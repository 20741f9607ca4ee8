"""Rendered WADO-RS over HTTP, on both backends: stored instances rendered, every error named.

Instances are stored as the C-STORE door stores them (services.archive.storing.store_instance
with the door's file meta and header reader), then fetched through the app, over
``bare_ctx``: rendering needs no region.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from pydicom import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pydicom.uid import JPEG2000Lossless

from lysbord.app import create_app
from lysbord.dicomcodec.header import read_header
from lysbord.dicomcodec.meta import file_meta
from lysbord.dicomweb.render import PNG, RenderOptions, render
from lysbord.services.archive.storing import Received, store_instance
from lysbord.services.core.context import Context
from lysbord.store.blobs import BlobStore
from tests.dicomweb.helpers import without_sign_in
from tests.dicomweb.test_render import ct, expected, rgb
from tests.helpers import random_cpr
from tests.integration.api_fixtures import problem


@pytest.fixture(name="api")
def api_fixture(bare_ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(without_sign_in(bare_ctx))) as client:
        yield client


def put(ctx: Context, ds: Dataset, patient_id: str | None = None) -> str:
    """Store ``ds`` as the DICOM door would; its WADO-RS instance URL."""
    ds.PatientID = patient_id or random_cpr()
    ds.PatientName = "Hansen^Jens"
    ds.StudyDate = ds.get("StudyDate") or "20261123"
    ds.StudyTime, ds.AccessionNumber = "081500", ""
    ts = str(ds.file_meta.TransferSyntaxUID)
    fp = DicomBytesIO()
    fp.is_implicit_VR, fp.is_little_endian = False, True
    write_dataset(fp, ds)
    data = bytes(fp.getvalue())
    item = Received(ds.SOPClassUID, ds.SOPInstanceUID, ts, read_header(data, ts), "AAACT1")
    blobs = BlobStore(ctx.settings.data_dir / "blobs")
    outcome = store_instance(
        ctx, blobs, item, [file_meta(ds.SOPClassUID, ds.SOPInstanceUID, ts), data]
    )
    assert outcome.status == "stored"
    return (
        f"/dicomweb/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}"
        f"/instances/{ds.SOPInstanceUID}"
    )


def decoded(response: Any, media_type: str) -> np.ndarray[Any, Any]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == media_type
    return np.asarray(Image.open(io.BytesIO(response.content)))


def test_instance_rendered_as_jpeg_and_png(bare_ctx: Context, api: TestClient) -> None:
    ds = ct()
    url = put(bare_ctx, ds)
    jpeg = decoded(api.get(f"{url}/rendered"), "image/jpeg")
    assert jpeg.shape == (64, 64)
    png = decoded(api.get(f"{url}/rendered", params={"accept": PNG}), PNG)
    assert np.abs(png.astype(int) - expected(ds).astype(int)).max() <= 1
    by_header = api.get(f"{url}/rendered", headers={"Accept": "image/png;q=0.9, image/jpeg;q=0.5"})
    assert np.array_equal(decoded(by_header, PNG), png)


def test_window_viewport_and_quality(bare_ctx: Context, api: TestClient) -> None:
    ds = ct()
    url = put(bare_ctx, ds)
    params = {"window": "-600,1500,sigmoid", "viewport": "32,32", "accept": PNG}
    got = decoded(api.get(f"{url}/rendered", params=params), PNG)
    assert got.shape == (32, 32)
    low, high = (api.get(f"{url}/rendered", params={"quality": q}) for q in ("10", "100"))
    assert decoded(low, "image/jpeg").shape == decoded(high, "image/jpeg").shape == (64, 64)
    assert len(low.content) < len(high.content)


def test_frames_of_a_multi_frame_instance(bare_ctx: Context, api: TestClient) -> None:
    ds = ct(frames=3)
    url = put(bare_ctx, ds)
    for frame in (1, 3):
        got = decoded(api.get(f"{url}/frames/{frame}/rendered", params={"accept": PNG}), PNG)
        assert np.abs(got.astype(int) - expected(ds, frame).astype(int)).max() <= 1
    problem(api.get(f"{url}/frames/4/rendered"), 404, "frames")
    problem(api.get(f"{url}/frames/x/rendered"), 400, "frames")


def test_compressed_and_colour_sources(bare_ctx: Context, api: TestClient) -> None:
    ds = ct()
    want = render(ds, 1, RenderOptions(media_type=PNG))
    ds.compress(JPEG2000Lossless)
    got = api.get(f"{put(bare_ctx, ds)}/rendered", params={"accept": PNG})
    assert np.array_equal(decoded(got, PNG), np.asarray(Image.open(io.BytesIO(want))))
    colour = decoded(api.get(f"{put(bare_ctx, rgb())}/rendered", params={"accept": PNG}), PNG)
    assert colour.shape == (48, 48, 3)


def test_thumbnails_of_instance_series_and_study(bare_ctx: Context, api: TestClient) -> None:
    ds = ct(size=256)
    url = put(bare_ctx, ds)
    series = url.rsplit("/instances/", 1)[0]
    study = series.rsplit("/series/", 1)[0]
    for base in (url, series, study):
        assert decoded(api.get(f"{base}/thumbnail"), "image/jpeg").shape == (128, 128)
    sized = api.get(f"{study}/thumbnail", params={"viewport": "64,64", "accept": PNG})
    assert decoded(sized, PNG).shape == (64, 64)


@pytest.mark.parametrize(
    ("params", "headers", "status", "field", "word"),
    [
        ({"window": "40"}, {}, 400, "window", "center,width"),
        ({"window": "40,0"}, {}, 400, "window", "at least 1"),
        ({"window": "40,400,cubic"}, {}, 400, "window", "cubic"),
        ({"viewport": "0,10"}, {}, 400, "viewport", "1 to 8192"),
        ({"viewport": "10,10,0,0,500,500"}, {}, 400, "viewport", "outside the 64x64 image"),
        ({"quality": "101"}, {}, 400, "quality", "1 to 100"),
        ({}, {"Accept": "application/dicom"}, 406, "Accept", "application/dicom"),
        ({"accept": "image/gif"}, {}, 406, "Accept", "image/gif"),
    ],
)
def test_bad_parameters_are_named(
    bare_ctx: Context,
    api: TestClient,
    params: dict[str, str],
    headers: dict[str, str],
    status: int,
    field: str,
    word: str,
) -> None:
    url = put(bare_ctx, ct())
    body = problem(api.get(f"{url}/rendered", params=params, headers=headers), status, field)
    assert word in body["detail"]


def test_unknown_uids_are_404(bare_ctx: Context, api: TestClient) -> None:
    url = put(bare_ctx, ct())
    unknown = url.rsplit("/", 1)[0] + "/1.2.3.4"
    problem(api.get(f"{unknown}/rendered"), 404, "instance")
    problem(api.get(f"{unknown}x/rendered"), 400, "instance")
    problem(api.get("/dicomweb/studies/1.2.3/thumbnail"), 404, "study")


def test_series_and_study_rendered_as_multipart(bare_ctx: Context, api: TestClient) -> None:
    first = ct(frames=2)
    url = put(bare_ctx, first)
    second = ct()
    second.StudyInstanceUID, second.SeriesInstanceUID = (
        first.StudyInstanceUID,
        first.SeriesInstanceUID,
    )
    put(bare_ctx, second)
    report = ct()  # no pixel data, as a report or a PDF: no rendering, left out
    report.StudyInstanceUID = first.StudyInstanceUID
    del report.PixelData
    put(bare_ctx, report)
    series = url.rsplit("/instances/", 1)[0]
    study = series.rsplit("/series/", 1)[0]
    accept = {"Accept": 'multipart/related; type="image/png"'}
    for base, count in ((series, 2), (study, 2)):
        response = api.get(f"{base}/rendered", headers=accept)
        assert response.status_code == 200, response.text
        images = parts(response)
        assert len(images) == count
        want = [expected(first, 1), expected(second, 1)]
        for got, ds_want in zip(images, want, strict=True):
            assert np.abs(got.astype(int) - ds_want.astype(int)).max() <= 1


def parts(response: Any) -> list[np.ndarray[Any, Any]]:
    """The images of a multipart/related answer, decoded."""
    ctype = response.headers["content-type"]
    assert ctype.startswith('multipart/related; type="image/png"'), ctype
    boundary = ctype.split("boundary=", 1)[1].split(";")[0]
    chunks = response.content.split(f"--{boundary}".encode())[1:-1]
    bodies = [chunk.split(b"\r\n\r\n", 1)[1][:-2] for chunk in chunks]
    return [np.asarray(Image.open(io.BytesIO(body))) for body in bodies]
